"""MNIST for the experiments that train on it: ``optim train``'s settings, its splits, its network, its
optimizer and the evaluation every supervised experiment uses (``landscape hessian`` and ``landscape
surface`` rebuild an ``optim train`` run from these, ``optim snapshots`` trains the same network).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from descentlab.config import RunConfig, param
from descentlab.data import MNIST_MEAN, MNIST_STD, fashion_mnist, mnist
from descentlab.optim import transforms as T
from descentlab.optim.by_name import OPTIMIZERS, optimizer_by_name, usual_lr
from descentlab.optim.regimes import FULL_BATCH, STOCHASTIC, Regime, mini_batch
from descentlab.runs import load_run

MEAN, STD = MNIST_MEAN, MNIST_STD  # descentlab.data's, as every experiment normalizes
OPTIM_TRAIN_RUNS = "optim-train"  # the folder (and experiment name) of optim train's runs


REGIMES = ("full-batch", "stochastic", "mini-batch")


# Usual starting learning rates. Momentum's is smaller because its steady-state step for a constant
# gradient is lr / (1 - momentum): ten times lr at momentum 0.9 (the unit's "decrease the learning
# rate with a high momentum term"). AdaDelta's lr multiplies a step that is already scaled (PyTorch).
DEFAULT_LR = {name: usual_lr(name) for name in OPTIMIZERS}  # descentlab.optim's registry


VAL_SPLIT_SEED = 1234  # the validation images are the same for every seed, so runs stay comparable


@dataclass(frozen=True)
class TrainConfig(RunConfig):
    """Settings of ``descentlab optim train``."""

    dataset: str = param("mnist", "image data set", choices=("mnist", "fashion-mnist"))
    optimizer: str = param("sgd", "the unit's optimizer to train with", choices=OPTIMIZERS)
    lr: float | None = param(
        None, "learning rate eta (default: the optimizer's usual one)", low=0.0, low_open=True, high=10.0
    )
    momentum: float = param(
        0.9, "momentum coefficient beta, used by --optimizer momentum", low=0.0, high=1.0, high_open=True
    )
    regime: str = param(
        "mini-batch",
        "data per step: full-batch (all examples), stochastic (one), mini-batch (--batch-size)",
        choices=REGIMES,
    )
    batch_size: int = param(32, "examples per step of the mini-batch regime", low=1, high=60_000)
    clip_norm: float | None = param(
        None, "clip gradients to this global L2 norm (default: no clipping)", low=0.0, low_open=True, high=1e6
    )
    grad_noise: float = param(
        0.0, "eta of annealed gradient noise, variance eta/(1+t)^0.55 (0: none)", low=0.0, high=10.0
    )
    epochs: int = param(2, "passes over the training split", low=1, high=1000)
    hidden: int = param(256, "width of the hidden layer (784-hidden-10, ReLU)", low=1, high=8192)
    train_size: int = param(0, "training images to use; 0 uses the whole training split", low=0, high=60_000)
    val_size: int = param(5000, "images held out of the 60k training set for validation", low=100, high=30_000)
    log_every: int = param(50, "steps between logged training losses", low=1, high=1_000_000)
    eval_every: int = param(200, "steps between validation passes (also at the end of each epoch that is at least "
                            "this long, and of the run)", low=1, high=1_000_000)  # fmt: skip
    checkpoint_every: int = param(500, "steps between checkpoints (Ctrl-C also writes one)", low=1, high=1_000_000)

    @property
    def learning_rate(self) -> float:
        return self.lr if self.lr is not None else DEFAULT_LR[self.optimizer]

    @property
    def run_name(self) -> str:
        suffix = "" if self.regime == "mini-batch" else f"-{self.regime}"
        return f"{self.dataset}-{self.optimizer}{suffix}"

    def data_regime(self) -> Regime:
        if self.regime == "full-batch":
            return FULL_BATCH
        return STOCHASTIC if self.regime == "stochastic" else mini_batch(self.batch_size)


def load_splits(cfg: TrainConfig) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Train / validation / test as normalized float images (N, 784) and labels (N,)."""
    load = mnist if cfg.dataset == "mnist" else fashion_mnist
    images, labels = load("train")
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(VAL_SPLIT_SEED))
    val, train = order[: cfg.val_size], order[cfg.val_size :]
    if cfg.train_size:
        train = train[: cfg.train_size]
    test_images, test_labels = load("test")

    def prep(x: torch.Tensor) -> torch.Tensor:
        return ((x.float() / 255.0 - MEAN) / STD).reshape(len(x), -1)  # (N, 784)

    return {
        "train": (prep(images[train]), labels[train]),
        "val": (prep(images[val]), labels[val]),
        "test": (prep(test_images), test_labels),
    }


def make_model(hidden: int) -> nn.Module:
    return nn.Sequential(nn.Linear(784, hidden), nn.ReLU(), nn.Linear(hidden, 10))


def make_optimizer(cfg: TrainConfig, params: Any) -> torch.optim.Optimizer:
    """One of descentlab.optim's optimizers (tested equal to torch.optim's), with optional gradient
    clipping and annealed gradient noise (Neelakantan et al. 2015) applied to the gradients first."""
    extras = []
    if cfg.clip_norm is not None:
        extras.append(T.clip_by_global_norm(cfg.clip_norm))
    if cfg.grad_noise > 0:
        extras.append(T.add_noise(cfg.grad_noise, 0.55, seed=cfg.seed))
    gradient_transform = T.chain(*extras) if extras else None
    return optimizer_by_name(cfg.optimizer, params, cfg.learning_rate, cfg.momentum, gradient_transform)


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int = 5000) -> tuple[float, float]:
    """Mean cross-entropy and accuracy over a whole split."""
    model.eval()
    loss, correct = 0.0, 0
    for i in range(0, len(y), batch):
        logits = model(x[i : i + batch])  # (B, 10)
        loss += F.cross_entropy(logits, y[i : i + batch], reduction="sum").item()
        correct += int((logits.argmax(1) == y[i : i + batch]).sum())
    model.train()
    return loss / len(y), correct / len(y)


def trained_run(paths: Sequence[Path], optimizer: str) -> Path | None:
    """The ``optim train`` run of ``optimizer`` among ``paths`` (the tour's runs so far), if there is one."""
    for path in paths:
        record = load_run(path)
        if record.experiment == OPTIM_TRAIN_RUNS and record.config.get("optimizer") == optimizer:
            return path
    return None
