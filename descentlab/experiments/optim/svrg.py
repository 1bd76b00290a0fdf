"""``descentlab optim svrg``: stochastic variance-reduced gradient against SGD with the same constant rate.

Softmax regression with an L2 penalty on MNIST images (a convex loss, so its minimum is unique) is trained
by SGD and by SVRG (Johnson and Zhang 2013, :class:`descentlab.optim.SVRG`) on mini-batches, with the same
constant learning rate and the same batches. SVRG takes the full gradient at a snapshot of the weights once
per epoch and corrects each batch gradient with it, so its gradient noise vanishes as it converges; SGD's
does not, and with a constant rate SGD stalls at a noise floor. Each epoch SVRG computes three gradients per
example (the snapshot's full gradient, and the batch gradient at the weights and at the snapshot), SGD one:
SGD is given three times as many epochs, the same number of example gradients.

Read top to bottom: config, the problem, the two runs, figures, claims, declaration.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure

from descentlab import optim
from descentlab.config import RunConfig, param
from descentlab.data import mnist
from descentlab.experiments.declaration import Experiment, TourSettings, check_mnist
from descentlab.report import Bound, Claim, Section
from descentlab.runs import Run, RunRecord, StopFlag, seed_everything
from descentlab.training.mnist import MEAN, STD


@dataclass(frozen=True)
class SvrgConfig(RunConfig):
    """Settings of ``descentlab optim svrg``."""

    train_size: int = param(1000, "training images", low=10, high=60_000)
    epochs: int = param(15, "SVRG's epochs (SGD gets three times as many: the same example gradients)", low=1,
                        high=10_000)  # fmt: skip
    batch_size: int = param(10, "examples per step", low=1, high=60_000)
    lr: float = param(0.05, "the constant learning rate of both", low=0.0, low_open=True, high=10.0)
    l2: float = param(1e-2, "the L2 penalty lambda, which makes the loss strongly convex", low=0.0, high=10.0)

    @property
    def run_name(self) -> str:
        return f"softmax-{self.train_size}"


def objective(w: torch.Tensor, x: torch.Tensor, y: torch.Tensor, l2: float) -> torch.Tensor:
    """Mean cross-entropy of softmax regression (weights (785, 10), bias in the last row) plus (l2/2)|W|^2."""
    logits = x @ w[:-1] + w[-1]  # (N, 10)
    return F.cross_entropy(logits, y) + 0.5 * l2 * (w[:-1] ** 2).sum()


def _fit(cfg: SvrgConfig, x: torch.Tensor, y: torch.Tensor, svrg: bool, log: Callable[[int, float], None]) -> float:
    w = torch.zeros(785, 10, dtype=torch.float64, requires_grad=True)
    opt: Any = optim.SVRG([w], lr=cfg.lr) if svrg else optim.SGD([w], lr=cfg.lr)
    regime = optim.mini_batch(cfg.batch_size)

    def loss(idx: torch.Tensor) -> torch.Tensor:
        opt.zero_grad()
        value = objective(w, x[idx], y[idx], cfg.l2)
        value.backward()
        return value

    everything = torch.arange(len(y))
    epochs = cfg.epochs if svrg else 3 * cfg.epochs
    for epoch in range(epochs):
        if isinstance(opt, optim.SVRG):
            opt.snapshot(lambda: loss(everything))
        for idx in regime.batches(len(y), epoch, cfg.seed):
            opt.step(lambda idx=idx: loss(idx))
        with torch.no_grad():
            log(epoch + 1, float(objective(w, x, y, cfg.l2)))
    with torch.no_grad():
        return float(objective(w, x, y, cfg.l2))


def minimum(cfg: SvrgConfig, x: torch.Tensor, y: torch.Tensor) -> float:
    """The objective's minimum f*, found on the full set by L-BFGS (torch.optim.LBFGS, strong Wolfe line search)
    in 200 iterations (on 1,000 images within about 2e-7 of the minimum, a ten-thousandth of SVRG's excess after
    15 epochs): the reference each method's excess f - f* is measured from."""
    w = torch.zeros(785, 10, dtype=torch.float64, requires_grad=True)
    solver = torch.optim.LBFGS([w], lr=1, max_iter=200, tolerance_grad=1e-9, tolerance_change=0,
                               history_size=20, line_search_fn="strong_wolfe")  # fmt: skip

    def closure() -> torch.Tensor:
        solver.zero_grad()
        value = objective(w, x, y, cfg.l2)
        value.backward()
        return value

    solver.step(closure)
    with torch.no_grad():
        return float(objective(w, x, y, cfg.l2))


def train(cfg: SvrgConfig, run: Run, stop: StopFlag, state: dict[str, Any] | None = None) -> dict[str, float]:
    """Each optimizer's full training objective after each epoch, logged at step = example gradients / n."""
    seed_everything(cfg.seed)
    images, labels = mnist("train")
    x = ((images[: cfg.train_size].double() / 255 - MEAN) / STD).reshape(cfg.train_size, -1)
    y = labels[: cfg.train_size]
    final_svrg = _fit(cfg, x, y, True, lambda epoch, f: run.log(3 * epoch, {"svrg/objective": f}))
    final_sgd = _fit(cfg, x, y, False, lambda epoch, f: run.log(epoch, {"sgd/objective": f}))
    return {"svrg/objective": final_svrg, "sgd/objective": final_sgd, "minimum/objective": minimum(cfg, x, y)}


def svrg_figure(record: RunRecord) -> Figure:
    fig, ax = plt.subplots(figsize=(7, 4))
    best = record.final().get("minimum/objective")
    for i, name in enumerate(("sgd", "svrg")):
        passes, values = record.series(f"{name}/objective")
        ax.plot(
            passes,
            [v - best for v in values] if best is not None else values,
            "o-",
            ms=3,
            color=f"C{i}",
            label=name.upper(),
        )
    ylabel = "f - f* (training objective above its minimum)" if best is not None else "training objective (loss + L2)"
    ax.set(xlabel="example gradients / training examples", ylabel=ylabel, yscale="log",
           title=f"constant learning rate {record.config.get('lr')}")  # fmt: skip
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    fig.tight_layout()
    return fig


def claims(record: RunRecord) -> list[Claim]:
    m = record.final()
    svrg, sgd, best = m["svrg/objective"], m["sgd/objective"], m.get("minimum/objective", 0.0)
    return [Claim(
        "With the same constant learning rate and the same number of example gradients, SVRG ends nearer the "
        "minimum than SGD, which stalls at its gradient noise: its excess training objective f - f* is smaller",
        f"final training objective: SVRG {svrg:.5f}, SGD {sgd:.5f}; the minimum f* {best:.5f} (L-BFGS on the full "
        f"set), so the excess: SVRG {svrg - best:.2e}, SGD {sgd - best:.2e}",
        [Bound("SVRG's excess training objective", svrg - best, "<", sgd - best)],
    )]  # fmt: skip


def sections(runs: Sequence[RunRecord]) -> list[Section]:
    return [
        Section(
            id="svrg",
            title="SVRG against SGD",
            caption=(
                f"Softmax regression with an L2 penalty of {r.config.get('l2')} on {r.config.get('train_size'):,} "
                f"MNIST images, batches of {r.config.get('batch_size')}, learning rate {r.config.get('lr')} for both: "
                f"{r.config.get('epochs')} epochs of SVRG, {3 * int(r.config.get('epochs', 1))} of SGD."
            ),
            figures=[svrg_figure(r)],
            commands=[str(r.meta.get("command"))],
            claims=claims(r),
        )
        for r in runs
        if r.status == "complete"
    ]


def tour(settings: TourSettings) -> list[SvrgConfig]:
    q = settings.quick
    return [
        SvrgConfig(seed=settings.seed, device=settings.device, train_size=1000 if q else 2000, epochs=15 if q else 20)
    ]


OPTIM_SVRG = Experiment(
    check=check_mnist,
    command="optim svrg",
    help="stochastic variance-reduced gradient against SGD with the same constant rate",
    description=(
        "Softmax regression with an L2 penalty on MNIST, trained by SVRG and by SGD with the same constant\n"
        "learning rate and batches, SGD for three times the epochs (the same example gradients): the training\n"
        "objective after each epoch. Writes svrg.png."
    ),
    examples=("descentlab optim svrg", "descentlab optim svrg --lr 0.2 --epochs 20"),
    config=SvrgConfig,
    train=train,
    figures=lambda record: {"svrg.png": svrg_figure(record)},
    sections=sections,
    tour=tour,
    headline=lambda r: claims(r)[0].evidence,
)
