r"""Snapshot ensembles (Huang et al. 2017, "Snapshot ensembles: train 1, get M for free").

A cyclic cosine learning rate restarts :math:`M` times within :math:`T` steps,

.. math::
    \alpha(t) = \frac{\alpha_0}{2}\left(\cos\left(\frac{\pi\, \mathrm{mod}(t - 1, \lceil T/M \rceil)}{\lceil T/M \rceil}\right) + 1\right),

so each cycle ends in a (different) local minimum; the weights there are kept as snapshots, and at
test time the ensemble averages the snapshots' softmax outputs. One of the unit's remedies for bad
local minima: several minima for the cost of one training run.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable

import torch
from torch import Tensor, nn


def cyclic_cosine(lr0: float, total_steps: int, cycles: int) -> Callable[[float], float]:
    """The learning rate :math:`\\alpha(t)` at step ``t`` (1, 2, ..., ``total_steps``)."""
    if not lr0 > 0 or total_steps < 1 or not 1 <= cycles <= total_steps:
        raise ValueError(f"Invalid cyclic cosine schedule: lr0={lr0}, total_steps={total_steps}, cycles={cycles} "
                         "(valid: lr0 > 0, 1 <= cycles <= total_steps)")  # fmt: skip
    period = math.ceil(total_steps / cycles)

    def schedule(t: float) -> float:
        return lr0 / 2 * (math.cos(math.pi * ((t - 1) % period) / period) + 1)

    return schedule


def cyclic_cosine_scheduler(
    optimizer: torch.optim.Optimizer, total_steps: int, cycles: int
) -> torch.optim.lr_scheduler.LambdaLR:
    """The schedule as a ``torch.optim`` LR scheduler (call ``.step()`` after each optimizer step)."""
    lr0 = optimizer.param_groups[0]["lr"]
    schedule = cyclic_cosine(lr0, total_steps, cycles)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: schedule(step + 1) / lr0)


def cycle_ends(total_steps: int, cycles: int) -> list[int]:
    """The steps after which a snapshot is taken: the last step of each cycle."""
    period = math.ceil(total_steps / cycles)
    return [min(total_steps, period * (k + 1)) for k in range(cycles)]


class SnapshotEnsemble:
    """Copies of a model's weights taken during training; predicts with their mean softmax."""

    def __init__(self, model: nn.Module) -> None:
        self.model = model
        self.snapshots: list[dict[str, Tensor]] = []

    def take(self) -> None:
        self.snapshots.append(copy.deepcopy(self.model.state_dict()))

    @torch.no_grad()
    def member_proba(self, index: int, x: Tensor) -> Tensor:
        """Softmax outputs (N, classes) of snapshot ``index``."""
        member = copy.deepcopy(self.model)
        member.load_state_dict(self.snapshots[index])
        member.eval()
        return torch.softmax(member(x), dim=-1)

    @torch.no_grad()
    def predict_proba(self, x: Tensor, last: int | None = None) -> Tensor:
        """The mean softmax of the last ``last`` snapshots (all by default), (N, classes)."""
        if not self.snapshots:
            raise RuntimeError("the ensemble has no snapshots yet: call take() at the end of a cycle")
        chosen = range(len(self.snapshots))[-(last or len(self.snapshots)) :]
        return torch.stack([self.member_proba(i, x) for i in chosen]).mean(0)
