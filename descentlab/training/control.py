"""What the ranks of a training run agree on after each step, in one exchange.

A stop signal reaches the ranks of a data-parallel group at different steps, each rank's clock is its own,
and each holds only its share of the batch's loss: so after every step they exchange, at once, their share
of the loss and whether any of them was asked to stop, is due a checkpoint (every ``checkpoint_every``
steps, or ``checkpoint_seconds`` of wall-clock time) or has spent the time budget; all then stop, or
checkpoint, at the same step. In one process the exchange is the numbers themselves. Every training
experiment calls :meth:`StepControl.after_step` once a step.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from descentlab.runs import StopFlag, distributed


class Agreed(NamedTuple):
    """What every rank learns after a step."""

    loss: float  # the global batch's loss: the sum of the ranks' shares
    stop: bool  # some rank was asked to stop: checkpoint and stop
    checkpoint: bool  # some rank is due a checkpoint
    out_of_time: bool  # some rank has spent the time budget


class StepControl:
    """The per-step exchange of a training loop: stop, checkpoint and time budget, agreed by every rank."""

    def __init__(
        self,
        stop: StopFlag,
        world: distributed.World,
        device: torch.device,
        checkpoint_every: int = 0,
        max_seconds: float = 0.0,
    ) -> None:
        self.stop, self.world, self.device = stop, world, device
        self.checkpoint_every, self.max_seconds = checkpoint_every, max_seconds

    def after_step(self, completed: int, loss_share: float, seconds: float) -> Agreed:
        """After ``completed`` steps, ``seconds`` of training: this rank's ``loss_share`` and its flags in, what
        all agree on out (one ``all_reduce`` in a group)."""
        due = self.stop.checkpoint_due()  # the wall-clock timer, consulted every step
        due = due or (self.checkpoint_every > 0 and completed % self.checkpoint_every == 0)
        over = bool(self.max_seconds and seconds >= self.max_seconds)
        loss, stops, dues, overs = distributed.all_sum(
            [loss_share, self.stop.requested, due, over], self.world, self.device
        )
        return Agreed(loss, stops > 0, dues > 0, overs > 0)
