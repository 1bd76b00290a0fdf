"""The registry of :mod:`descentlab.optim`'s optimizers: one row each, read by every place that lists them.

A row gives the command-line name, the class (and the keywords the name fixes: ``nesterov`` is SGD with
momentum 0.9 and Nesterov's look-ahead), its usual learning rate for a small MLP on MNIST (the default of
``optim train`` and of every training command that takes ``--optimizer``; none for an optimizer those
commands do not offer) and its "signature" rate on Rosenbrock, where the race shows its character (none
for one the race leaves out). Adding an optimizer is its transformation, its class, a row here and,
optionally, a kernel.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import torch

from descentlab.optim import optimizers as dl_optim
from descentlab.optim.adapter import TORCH_NAMES, TransformOptimizer


@dataclass(frozen=True)
class Registered:
    """One optimizer of the registry."""

    name: str  # on the command line: --optimizer NAME, optim race --optimizers NAME,...
    cls: Any  # a TransformOptimizer subclass, taking lr
    lr: float | None  # its usual learning rate for a small MLP on MNIST; None: not offered for training
    signature_lr: float | None  # its character-showing rate on Rosenbrock (optim race); None: not in the race
    fixed: Mapping[str, Any] = field(default_factory=dict)  # keywords the name fixes

    @property
    def torch_name(self) -> str:
        """Its torch.optim counterpart's class name."""
        name = self.cls.__name__
        return TORCH_NAMES.get(name, name)

    def make(self, params: Any, lr: float, **kwargs: Any) -> TransformOptimizer:
        """An optimizer of ``params`` at learning rate ``lr`` (keywords: the class's, after the fixed ones)."""
        optimizer: TransformOptimizer = self.cls(params, lr=lr, **{**self.fixed, **kwargs})
        return optimizer


REGISTRY: dict[str, Registered] = {
    r.name: r
    for r in (
        Registered("sgd", dl_optim.SGD, lr=0.1, signature_lr=1e-3),
        Registered("momentum", dl_optim.Momentum, lr=0.01, signature_lr=1e-3),
        Registered("nesterov", dl_optim.SGD, lr=None, signature_lr=1e-3, fixed={"momentum": 0.9, "nesterov": True}),
        Registered("adagrad", dl_optim.Adagrad, lr=0.01, signature_lr=0.5),
        Registered("rmsprop", dl_optim.RMSProp, lr=1e-3, signature_lr=0.01),
        Registered("adadelta", dl_optim.AdaDelta, lr=1.0, signature_lr=5.0),
        Registered("adam", dl_optim.Adam, lr=1e-3, signature_lr=0.1),
        Registered("adamw", dl_optim.AdamW, lr=None, signature_lr=None),
    )
}
#: the names the training commands offer (``--optimizer``)
OPTIMIZERS = tuple(name for name, r in REGISTRY.items() if r.lr is not None)
#: the names ``optim race`` races
RACE_OPTIMIZERS = tuple(name for name, r in REGISTRY.items() if r.signature_lr is not None)


def usual_lr(name: str) -> float:
    """The usual learning rate of one of :data:`OPTIMIZERS` for a small MLP on MNIST."""
    lr = REGISTRY[name].lr
    if lr is None:
        raise ValueError(f"{name} is not offered for training; valid: {', '.join(OPTIMIZERS)}")
    return lr


def optimizer_by_name(
    name: str, params: Any, lr: float, momentum: float = 0.9, gradient_transform: Any = None
) -> torch.optim.Optimizer:
    """One of :data:`OPTIMIZERS` from descentlab.optim by name; ``momentum`` is used by ``"momentum"``."""
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; valid: {', '.join(OPTIMIZERS)}")
    extra = {"momentum": momentum} if name == "momentum" else {}
    return REGISTRY[name].make(params, lr, gradient_transform=gradient_transform, **extra)
