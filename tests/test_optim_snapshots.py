"""Snapshot ensembles: the cyclic cosine schedule, and an ensemble that beats its best snapshot on MNIST."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from descentlab import optim as dl
from descentlab.optim.snapshots import SnapshotEnsemble, cycle_ends, cyclic_cosine, cyclic_cosine_scheduler
from descentlab.training.mnist import TrainConfig, load_splits, make_model


def test_cyclic_cosine_follows_huang_et_al() -> None:
    lr = cyclic_cosine(0.2, total_steps=100, cycles=4)  # period 25
    assert lr(1) == pytest.approx(0.2) and lr(26) == pytest.approx(0.2) and lr(76) == pytest.approx(0.2)  # restarts
    assert lr(13) == pytest.approx(0.1 * (math.cos(math.pi * 12 / 25) + 1))
    assert lr(25) == pytest.approx(0.1 * (math.cos(math.pi * 24 / 25) + 1)) and lr(25) < 0.002  # end of a cycle
    assert cycle_ends(100, 4) == [25, 50, 75, 100] and cycle_ends(10, 3) == [4, 8, 10]
    with pytest.raises(ValueError, match="Invalid cyclic cosine schedule"):
        cyclic_cosine(0.1, total_steps=10, cycles=11)


def test_scheduler_sets_the_schedule_on_an_optimizer() -> None:
    w = torch.zeros(1, requires_grad=True)
    opt = dl.SGD([w], lr=0.2)
    sched = cyclic_cosine_scheduler(opt, total_steps=100, cycles=4)
    schedule = cyclic_cosine(0.2, 100, 4)
    for t in range(1, 101):
        assert opt.param_groups[0]["lr"] == pytest.approx(schedule(t))
        opt.step()
        sched.step()


def test_snapshot_ensemble_beats_its_best_snapshot_on_mnist() -> None:
    torch.manual_seed(0)
    data = load_splits(TrainConfig(train_size=5000))
    x, y = data["train"]
    x_test, y_test = data["test"]
    model = make_model(128)
    opt = dl.Momentum(model.parameters(), lr=0.1)
    cycles, epochs_per_cycle, regime = 4, 3, dl.mini_batch(32)
    total = regime.steps_per_epoch(len(y)) * cycles * epochs_per_cycle
    sched = cyclic_cosine_scheduler(opt, total, cycles)
    ends, ensemble, step = set(cycle_ends(total, cycles)), SnapshotEnsemble(model), 0
    for epoch in range(cycles * epochs_per_cycle):
        for idx in regime.batches(len(y), epoch, seed=0):
            loss = F.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            if step in ends:
                ensemble.take()
    assert len(ensemble.snapshots) == cycles

    def accuracy(proba: torch.Tensor) -> float:
        return (proba.argmax(1) == y_test).float().mean().item()

    singles = [accuracy(ensemble.member_proba(i, x_test)) for i in range(cycles)]
    combined = accuracy(ensemble.predict_proba(x_test))
    assert combined > max(singles), (combined, singles)  # measured: 93.14% against 91.79%
    assert accuracy(ensemble.predict_proba(x_test, last=1)) == singles[-1]
