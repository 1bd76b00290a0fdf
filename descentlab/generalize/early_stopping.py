"""Early stopping: stop when the validation loss has not improved for ``patience`` evaluations, and
go back to the weights that had the best validation loss."""

from __future__ import annotations

import copy
import math
from typing import Any

from torch import nn


class EarlyStopping:
    """Call :meth:`step` after each validation pass; it returns True when training should stop.

    An evaluation improves when the loss is below the best so far by more than ``min_delta``. The
    best weights are copied at each improvement; :meth:`restore` loads them back.
    """

    def __init__(self, patience: int, min_delta: float = 0.0) -> None:
        if patience < 1:
            raise ValueError(f"EarlyStopping(patience={patience}): valid: an integer >= 1")
        if not min_delta >= 0:
            raise ValueError(f"EarlyStopping(min_delta={min_delta}): valid: a number >= 0")
        self.patience, self.min_delta = patience, min_delta
        self.best, self.best_step, self.bad = math.inf, -1, 0
        self.best_state: dict[str, Any] | None = None

    def step(self, val_loss: float, model: nn.Module, step: int = -1) -> bool:
        if val_loss < self.best - self.min_delta:
            self.best, self.best_step, self.bad = val_loss, step, 0
            self.best_state = copy.deepcopy(model.state_dict())
        else:
            self.bad += 1
        return self.bad >= self.patience

    def restore(self, model: nn.Module) -> None:
        if self.best_state is not None:
            model.load_state_dict(self.best_state)

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "best_step": self.best_step, "bad": self.bad, "best_state": self.best_state}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best, self.best_step, self.bad = state["best"], state["best_step"], state["bad"]
        self.best_state = state["best_state"]
