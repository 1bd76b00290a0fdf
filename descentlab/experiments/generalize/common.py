"""What the generalize group's two experiments share: the network's widths and the check that it fits."""

from __future__ import annotations

from descentlab.errors import ParameterError
from descentlab.generalize import mnist_splits
from descentlab.runs.resources import mlp_bytes, require_memory


def hidden_widths(hidden: str) -> list[int]:
    """The hidden layers' widths from ``--hidden`` (``1024,1024``)."""
    try:
        widths = [int(w) for w in hidden.split(",")]
    except ValueError:
        widths = []
    if not widths or not all(1 <= w <= 8192 for w in widths) or len(widths) > 16:
        valid = "1 to 16 widths 1..8192, comma-separated, e.g. 1024,1024"
        raise ParameterError("hidden", f"{hidden!r} is not valid; valid: {valid}")
    return widths


def check_fits(widths: list[int], batch: int, command: str) -> None:
    """The data set loads and the network with its batch fits in memory."""
    mnist_splits(val_size=5000, seed=0)
    require_memory(mlp_bytes([784, *widths, 10], batch, 70_000), f"{command} with hidden {','.join(map(str, widths))}")
