"""Optimizers of :mod:`descentlab.optim` by their command-line names."""

from __future__ import annotations

from typing import Any

import torch

from descentlab.optim import optimizers as dl_optim

OPTIMIZERS = ("sgd", "momentum", "adagrad", "rmsprop", "adadelta", "adam")


def optimizer_by_name(
    name: str, params: Any, lr: float, momentum: float = 0.9, gradient_transform: Any = None
) -> torch.optim.Optimizer:
    """One of :data:`OPTIMIZERS` from descentlab.optim by name; ``momentum`` is used by ``"momentum"``."""
    if name == "momentum":
        return dl_optim.Momentum(params, lr=lr, momentum=momentum, gradient_transform=gradient_transform)
    classes: dict[str, Any] = {
        "sgd": dl_optim.SGD,
        "adagrad": dl_optim.Adagrad,
        "rmsprop": dl_optim.RMSProp,
        "adadelta": dl_optim.AdaDelta,
        "adam": dl_optim.Adam,
    }
    optimizer: torch.optim.Optimizer = classes[name](params, lr=lr, gradient_transform=gradient_transform)
    return optimizer
