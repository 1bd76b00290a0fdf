"""``descentlab landscape gradients``: small gradients in a deep sigmoid network, and the unit's two remedies.

Three networks of the same shape, ``depth`` hidden layers of ``width`` units on MNIST: sigmoid activations
with PyTorch's default initialization; ReLU with He initialization; and sigmoid with batch normalization
before each activation. At initialization the gradient of the loss is measured for every layer's weights
(backpropagation multiplies it by each layer's Jacobian, and a sigmoid's derivative is at most 1/4); then
each network trains with the same SGD steps and data, and the training loss shows whether the small
gradients matter.

Read top to bottom: config, networks, the run, figures, claims, declaration.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from torch import nn

from descentlab.config import RunConfig, param
from descentlab.data import mnist
from descentlab.experiments.declaration import Experiment, TourSettings, check_mnist
from descentlab.optim import SGD, mini_batch
from descentlab.report import Bound, Claim, Section
from descentlab.runs import Run, RunRecord, StopFlag, seed_everything
from descentlab.training.mnist import MEAN, STD

KINDS = ("sigmoid", "relu", "batchnorm")


@dataclass(frozen=True)
class GradientsConfig(RunConfig):
    """Settings of ``descentlab landscape gradients``."""

    depth: int = param(10, "hidden layers", low=2, high=100)
    width: int = param(64, "units per hidden layer", low=1, high=4096)
    train_size: int = param(2000, "training images", low=64, high=60_000)
    steps: int = param(600, "SGD steps of each network", low=1, high=1_000_000)
    lr: float = param(0.05, "SGD's learning rate (the same for the three; at 0.1 the deep ReLU network can diverge)",
                      low=0.0, low_open=True, high=10.0)  # fmt: skip

    @property
    def run_name(self) -> str:
        return f"depth{self.depth}"


def deep_network(kind: str, depth: int, width: int) -> nn.Sequential:
    """784 -> ``depth`` x (Linear[, BatchNorm], activation) -> 10."""
    layers: list[nn.Module] = []
    fan_in = 784
    for _ in range(depth):
        linear = nn.Linear(fan_in, width)
        if kind == "relu":  # He initialization keeps the ReLU activations' variance from layer to layer
            nn.init.kaiming_normal_(linear.weight, nonlinearity="relu")
            nn.init.zeros_(linear.bias)
        layers.append(linear)
        if kind == "batchnorm":
            layers.append(nn.BatchNorm1d(width))
        layers.append(nn.ReLU() if kind == "relu" else nn.Sigmoid())
        fan_in = width
    layers.append(nn.Linear(fan_in, 10))
    return nn.Sequential(*layers)


def layer_gradients(model: nn.Sequential, x: torch.Tensor, y: torch.Tensor) -> list[float]:
    """The norm of the loss's gradient for each linear layer's weights, input layer first."""
    model.zero_grad()
    F.cross_entropy(model(x), y).backward()
    return [float(m.weight.grad.norm()) for m in model if isinstance(m, nn.Linear) and m.weight.grad is not None]


def train(cfg: GradientsConfig, run: Run, stop: StopFlag, state: dict[str, Any] | None = None) -> dict[str, float]:
    """Gradients per layer at initialization (logged at step 0, one record per layer), then the training loss."""
    images, labels = mnist("train")
    x = ((images[: cfg.train_size].float() / 255 - MEAN) / STD).reshape(cfg.train_size, -1)
    y = labels[: cfg.train_size]
    metrics: dict[str, float] = {}
    regime = mini_batch(64)
    for kind in KINDS:
        seed_everything(cfg.seed)  # the same draws for each network
        model = deep_network(kind, cfg.depth, cfg.width)
        norms = layer_gradients(model, x[:512], y[:512])
        for layer, norm in enumerate(norms, 1):
            run.log(layer, {f"{kind}/grad_norm": norm})
        metrics[f"{kind}/first_over_last"] = norms[0] / norms[-2]  # input layer against the last hidden layer
        with torch.no_grad():
            metrics[f"{kind}/initial_loss"] = float(F.cross_entropy(model(x), y))
        opt = SGD(model.parameters(), lr=cfg.lr)
        step, epoch = 0, 0
        while step < cfg.steps:
            for idx in regime.batches(len(y), epoch, cfg.seed):
                loss = F.cross_entropy(model(x[idx]), y[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
                step += 1
                if step % 10 == 0 or step == cfg.steps:
                    run.log(cfg.depth + 1 + step, {f"{kind}/train/loss": loss.item()})
                if step == cfg.steps:
                    break
            epoch += 1
        with torch.no_grad():
            metrics[f"{kind}/final_loss"] = float(F.cross_entropy(model(x), y))
    return metrics


def gradients_figure(record: RunRecord) -> Figure:
    depth = int(record.config.get("depth", 10))
    fig, (ax, ax_loss) = plt.subplots(1, 2, figsize=(12, 4))
    for i, kind in enumerate(KINDS):
        layers, norms = record.series(f"{kind}/grad_norm")
        ax.plot(layers, norms, "o-", color=f"C{i}", label=kind)
        steps, losses = record.series(f"{kind}/train/loss")
        ax_loss.plot([s - depth - 1 for s in steps], losses, color=f"C{i}", label=kind)
    ax.set(xlabel="layer (1: the input layer)", ylabel="||dL/dW||", yscale="log",
           title="gradient of each layer's weights at initialization")  # fmt: skip
    ax_loss.axhline(math.log(10), color="gray", ls=":", label="ln 10: a uniform guess")
    ax_loss.set(xlabel="SGD step", ylabel="training loss (batch)", title="training")
    for a in (ax, ax_loss):
        a.grid(alpha=0.3, which="both")
        a.legend(fontsize=8)
    fig.tight_layout()
    return fig


def claims(record: RunRecord) -> list[Claim]:
    m = record.final()
    sig, relu, bn = (m[f"{k}/first_over_last"] for k in KINDS)
    depth = record.config.get("depth")
    loss = {k: m[f"{k}/final_loss"] for k in KINDS}
    # the loss on the whole set before training (runs logged before it was: the first logged batch's)
    start = {k: m.get(f"{k}/initial_loss", (record.series(f"{k}/train/loss")[1] or [math.nan])[0]) for k in KINDS}
    return [
        Claim(
            f"Through {depth} sigmoid layers the gradient vanishes: the input layer's weights get less than 1/10,000 "
            "of the last hidden layer's gradient; with ReLU (He initialization) and with batch normalization the two "
            "are within a factor 10",
            f"input layer over last hidden layer: sigmoid {sig:.2g}, ReLU {relu:.2g}, batch norm {bn:.2g}",
            [
                Bound("sigmoid: input layer's gradient over the last hidden layer's", sig, "<", 1e-4),
                *(
                    b
                    for k, r in (("ReLU", relu), ("batch norm", bn))
                    for b in (
                        Bound(f"{k}: input layer's gradient over the last hidden layer's", r, ">", 0.1),
                        Bound(f"{k}: input layer's gradient over the last hidden layer's", r, "<", 10),
                    )
                ),
            ],
        ),
        Claim(
            "The small gradients stall training: after the same SGD steps the sigmoid network's training loss is "
            "still within 0.1 of ln 10 = 2.30, the loss of a guess that knows only how often each digit occurs, "
            "while the ReLU and batch-normalized networks' losses are below 1",
            "training loss at the start and the end: "
            + ", ".join(f"{k} {start[k]:.3f} -> {loss[k]:.3f}" for k in KINDS),
            [
                Bound("how far the sigmoid network's loss fell below ln 10", math.log(10) - loss["sigmoid"], "<", 0.1),
                Bound("ReLU network's training loss", loss["relu"], "<", 1),
                Bound("batch-normalized network's training loss", loss["batchnorm"], "<", 1),
            ],
        ),
    ]


def sections(runs: Sequence[RunRecord]) -> list[Section]:
    return [
        Section(
            id="small-gradients",
            title=f"Small gradients in a {r.config.get('depth')}-layer network",
            caption=(
                f"{r.config.get('depth')} hidden layers of {r.config.get('width')} units on "
                f"{r.config.get('train_size'):,} MNIST images: sigmoid (PyTorch's default initialization), ReLU (He "
                f"initialization), sigmoid with batch normalization; then {r.config.get('steps')} steps of SGD at "
                f"{r.config.get('lr')} for each, with the same batches."
            ),
            figures=[gradients_figure(r)],
            commands=[str(r.meta.get("command"))],
            claims=claims(r),
        )
        for r in runs
        if r.status == "complete"
    ]


def tour(settings: TourSettings) -> list[GradientsConfig]:
    return [GradientsConfig(seed=settings.seed, device=settings.device, steps=600 if settings.quick else 1200)]


LANDSCAPE_GRADIENTS = Experiment(
    check=check_mnist,
    command="landscape gradients",
    help="small gradients: a deep sigmoid network against ReLU and batch normalization, layer by layer",
    description=(
        "The gradient of each layer's weights at initialization in three deep networks of the same shape\n"
        "(sigmoid; ReLU with He initialization; sigmoid with batch normalization), then their training loss\n"
        "under the same SGD steps. Writes gradients.png."
    ),
    examples=("descentlab landscape gradients", "descentlab landscape gradients --depth 20 --steps 1000"),
    config=GradientsConfig,
    train=train,
    figures=lambda record: {"gradients.png": gradients_figure(record)},
    sections=sections,
    tour=tour,
    headline=lambda r: claims(r)[0].evidence,
)
