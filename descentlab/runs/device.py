"""Device selection for ``--device auto|cpu|cuda``."""

from __future__ import annotations

import torch

from descentlab.errors import UserError


def select_device(name: str) -> torch.device:
    """``auto`` picks CUDA when present, else the CPU; ``cuda`` without a GPU is a user error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda":
        if not torch.cuda.is_available():
            raise UserError("--device cuda: CUDA is not available on this machine; valid here: auto, cpu")
        return torch.device("cuda")
    raise UserError(f"--device {name!r} is not valid; valid: auto, cpu, cuda")
