"""Progress bars that stay quiet when output is not a terminal."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import TypeVar

from tqdm import tqdm

T = TypeVar("T")


def progress(iterable: Iterable[T], total: int | None = None, desc: str = "", initial: int = 0) -> Iterable[T]:
    """``tqdm`` on stderr when it is a terminal; the bare iterable otherwise (logs, CI, pipes)."""
    if not sys.stderr.isatty():
        return iterable
    return tqdm(iterable, total=total, desc=desc, initial=initial, leave=False, dynamic_ncols=True)
