"""What the exercises' cases are built from: seeded draws of dtypes, shapes, numbers and tensors.

Every exercise draws its cases from a ``torch.Generator`` seeded at check time (``--seed`` repeats them),
through these helpers, so that a chapter's exercises and a new one draw the same way.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

DTYPES = (torch.float32, torch.float64)


def randn(shape: tuple[int, ...], dtype: torch.dtype, gen: torch.Generator, scale: float = 1.0) -> Tensor:
    """Standard normal draws times ``scale``, drawn in float64 (the same numbers at every dtype) and cast."""
    return (torch.randn(shape, generator=gen, dtype=torch.float64) * scale).to(dtype)


def pick(gen: torch.Generator, values: tuple[Any, ...]) -> Any:
    """One of ``values``."""
    return values[int(torch.randint(len(values), (), generator=gen))]


def integer(gen: torch.Generator, low: int, high: int) -> int:
    """An integer in [low, high]."""
    return int(torch.randint(low, high + 1, (), generator=gen))


def dtype_name(dtype: torch.dtype) -> str:
    """``float32`` for ``torch.float32``: how a case names its dtype."""
    return str(dtype).removeprefix("torch.")
