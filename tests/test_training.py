"""descentlab.training's per-step control: what a training loop's ranks agree on after each step (in one
process, the numbers themselves)."""

from __future__ import annotations

import torch

from descentlab.runs import StopFlag, distributed
from descentlab.training.control import StepControl


class Clock(StopFlag):
    """A stop flag whose wall-clock checkpoint timer fires at the steps listed."""

    def __init__(self, fires: set[int]) -> None:
        super().__init__()
        self.fires, self.calls = fires, 0

    def checkpoint_due(self) -> bool:
        self.calls += 1
        return self.calls in self.fires


def test_checkpoints_every_k_steps_and_on_the_clock_stop_and_the_time_budget() -> None:
    stop = Clock({5})
    control = StepControl(stop, distributed.current(), torch.device("cpu"), checkpoint_every=3, max_seconds=10.0)
    seen = [control.after_step(k, 0.25 * k, seconds=2.0 * k) for k in range(1, 8)]
    assert [a.loss for a in seen] == [0.25 * k for k in range(1, 8)]  # this rank's share is the whole loss
    assert [k for k, a in enumerate(seen, 1) if a.checkpoint] == [3, 5, 6]  # every 3 steps, and the clock at 5
    assert [k for k, a in enumerate(seen, 1) if a.out_of_time] == [5, 6, 7]  # 10 s spent at step 5
    assert stop.calls == 7 and not any(a.stop for a in seen)  # the clock is read every step
    stop.requested = True
    assert control.after_step(8, 0.0, 0.0).stop
    unbudgeted = StepControl(StopFlag(), distributed.current(), torch.device("cpu"))
    assert unbudgeted.after_step(10**6, 1.0, 1e9) == (1.0, False, False, False)  # no budget, no period
