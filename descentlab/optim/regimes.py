"""Data regimes: what tells gradient descent, stochastic and mini-batch gradient descent apart.

The three use the same update :math:`w := w - \\eta \\nabla L(w)`; they differ in the examples each
gradient is computed on. Full batch: all of them, so one step per epoch. Stochastic: one example at
a time, reshuffled every epoch, so n noisy steps per epoch. Mini-batch: b examples at a time
(32 by default), reshuffled, so n / b steps per epoch.

The unit says mini-batch descent is faster than both "because fewer iterations are needed"; per
epoch it makes fewer updates than stochastic descent and more than full-batch descent. Its
advantage in wall-clock time comes from vectorized computation and lower gradient variance.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any, NamedTuple

import torch

from descentlab.optim.by_name import usual_lr
from descentlab.optim.optimizers import SGD, AdaDelta, Adagrad, Adam, Momentum, RMSProp


@dataclass(frozen=True)
class Regime:
    """How many examples each gradient sees, and whether their order is reshuffled every epoch."""

    name: str
    batch_size: int | None  # None: the whole training set (full batch)
    shuffle: bool
    kind: str = "mini-batch"  # full-batch, stochastic or mini-batch: the regime's name on the command line

    def batches(self, n: int, epoch: int = 0, seed: int = 0) -> Iterator[torch.Tensor]:
        """The example indices of each step of one epoch, reproducible from (seed, epoch)."""
        if n < 1:
            raise ValueError(f"Invalid number of examples: {n} (valid: n >= 1)")
        if self.shuffle:
            order = torch.randperm(n, generator=torch.Generator().manual_seed(seed * 1_000_003 + epoch))
        else:
            order = torch.arange(n)
        size = n if self.batch_size is None else self.batch_size
        yield from order.split(size)

    def steps_per_epoch(self, n: int) -> int:
        return 1 if self.batch_size is None else -(-n // self.batch_size)


FULL_BATCH = Regime("full batch", None, shuffle=False, kind="full-batch")
STOCHASTIC = Regime("stochastic (1 example)", 1, shuffle=True, kind="stochastic")


def mini_batch(size: int = 32) -> Regime:
    if size < 1:
        raise ValueError(f"Invalid mini-batch size: {size} (valid: size >= 1)")
    return Regime(f"mini-batch ({size})", size, shuffle=True)


MINI_BATCH = mini_batch(32)


class UnitOptimizer(NamedTuple):
    """One of the unit's eight optimizers: its name, how to build it, its regime and its rule."""

    name: str
    optimizer: Callable[..., Any]  # params -> torch.optim.Optimizer, with a starting learning rate
    regime: Regime
    rule: str  # the update in plain text

    @property
    def optimizer_name(self) -> str:
        """The optimizer's name in ``descentlab.optim.by_name``: ``sgd``, ``momentum``, ..."""
        factory = self.optimizer
        assert isinstance(factory, partial)  # the list below pairs each class with a starting lr
        return factory.func.__name__.lower()

    @property
    def lr(self) -> float:
        """The starting learning rate the list gives it."""
        assert isinstance(self.optimizer, partial)
        return float(self.optimizer.keywords["lr"])

    @property
    def key(self) -> str:
        """A short unique name: the optimizer, and the regime where it is not mini-batch, or for SGD
        (``sgd-full-batch``, ``sgd-stochastic``, ``sgd-mini-batch``, ``momentum``, ``adam``, ...)."""
        name = self.optimizer_name
        return name if self.regime.kind == "mini-batch" and name != "sgd" else f"{name}-{self.regime.kind}"


# The unit's list, in its order. Learning rates are starting points for a small MLP on MNIST: the registry's
# usual ones (descentlab.optim.by_name) in the mini-batch regime, their own for full-batch and single examples.
UNIT_OPTIMIZERS: tuple[UnitOptimizer, ...] = (
    UnitOptimizer("gradient descent", partial(SGD, lr=0.5), FULL_BATCH, "w := w - eta * dL/dw over all examples"),
    UnitOptimizer(
        "stochastic gradient descent", partial(SGD, lr=0.01), STOCHASTIC, "w := w - eta * dQ_i/dw for one example i"
    ),
    UnitOptimizer(
        "SGD with momentum", partial(Momentum, lr=usual_lr("momentum")), MINI_BATCH, "b := 0.9 b + g;  w := w - eta * b"
    ),
    UnitOptimizer(
        "mini-batch gradient descent",
        partial(SGD, lr=usual_lr("sgd")),
        MINI_BATCH,
        "w := w - eta * mean of g over a batch",
    ),
    UnitOptimizer(
        "Adagrad",
        partial(Adagrad, lr=usual_lr("adagrad")),
        MINI_BATCH,
        "a := a + g^2;  w := w - eta * g / (sqrt(a) + eps)",
    ),
    UnitOptimizer(
        "RMSProp",
        partial(RMSProp, lr=usual_lr("rmsprop")),
        MINI_BATCH,
        "v := 0.99 v + 0.01 g^2;  w := w - eta * g / (sqrt(v) + eps)",
    ),
    UnitOptimizer(
        "AdaDelta",
        partial(AdaDelta, lr=usual_lr("adadelta")),
        MINI_BATCH,
        "s := rho s + (1-rho) g^2;  d := sqrt(x + eps) / sqrt(s + eps) * g;  x := rho x + (1-rho) d^2;  w := w - d",
    ),
    UnitOptimizer(
        "Adam",
        partial(Adam, lr=usual_lr("adam")),
        MINI_BATCH,
        "m := b1 m + (1-b1) g;  v := b2 v + (1-b2) g^2;  w := w - eta * m/(1-b1^t) / (sqrt(v/(1-b2^t)) + eps)",
    ),
)
