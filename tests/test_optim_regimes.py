"""The data regimes that tell GD, SGD and mini-batch GD apart, and the unit's list of eight."""

from __future__ import annotations

import pytest
import torch

from descentlab import optim as dl


def test_full_batch_is_every_example_once_in_order() -> None:
    (batch,) = list(dl.FULL_BATCH.batches(10, epoch=3, seed=1))
    assert batch.tolist() == list(range(10))
    assert dl.FULL_BATCH.steps_per_epoch(10) == 1


def test_stochastic_is_one_example_at_a_time_reshuffled_each_epoch() -> None:
    epochs = [torch.cat(list(dl.STOCHASTIC.batches(50, epoch=e, seed=0))) for e in range(3)]
    for order in epochs:
        assert sorted(order.tolist()) == list(range(50))  # a permutation: every example once
    assert not torch.equal(epochs[0], epochs[1]) and not torch.equal(epochs[1], epochs[2])
    assert all(len(b) == 1 for b in dl.STOCHASTIC.batches(50))
    assert torch.equal(torch.cat(list(dl.STOCHASTIC.batches(50, epoch=1, seed=0))), epochs[1])  # reproducible
    assert dl.STOCHASTIC.steps_per_epoch(50) == 50


def test_mini_batches_of_32_by_default() -> None:
    sizes = [len(b) for b in dl.MINI_BATCH.batches(100)]
    assert sizes == [32, 32, 32, 4] and dl.MINI_BATCH.steps_per_epoch(100) == 4
    assert [len(b) for b in dl.mini_batch(25).batches(100)] == [25] * 4
    with pytest.raises(ValueError, match="Invalid mini-batch size: 0"):
        dl.mini_batch(0)


def test_the_unit_lists_eight_optimizers_in_its_order() -> None:
    names = [u.name for u in dl.UNIT_OPTIMIZERS]
    assert names == [
        "gradient descent",
        "stochastic gradient descent",
        "SGD with momentum",
        "mini-batch gradient descent",
        "Adagrad",
        "RMSProp",
        "AdaDelta",
        "Adam",
    ]
    regimes = {u.name: u.regime for u in dl.UNIT_OPTIMIZERS}
    assert regimes["gradient descent"] is dl.FULL_BATCH and regimes["stochastic gradient descent"] is dl.STOCHASTIC
    for unit in dl.UNIT_OPTIMIZERS:  # each builds a working torch optimizer
        w = torch.ones(3, requires_grad=True)
        opt = unit.optimizer([w])
        assert isinstance(opt, torch.optim.Optimizer)
        (w**2).sum().backward()
        opt.step()
        assert (w < 1).all(), unit.name  # a step downhill
