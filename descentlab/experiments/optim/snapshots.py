"""``descentlab optim snapshots``: snapshot ensembles (Huang et al. 2017), the unit's figure run for real.

One network trains with a cyclic cosine learning rate (:func:`descentlab.optim.cyclic_cosine`): ``cycles``
times the rate starts high and falls to nearly zero, so each cycle ends in a minimum, and a snapshot of the
weights is taken there (:class:`descentlab.optim.SnapshotEnsemble`). At test time the snapshots vote: the
ensemble's prediction is the mean of their softmax outputs. The ensemble costs no more training than one
network.

Read top to bottom: config, the run, figures, claims, declaration.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure

from descentlab import optim
from descentlab.config import RunConfig, param
from descentlab.experiments.declaration import Experiment, TourSettings, check_mnist
from descentlab.report import Bound, Claim, Section
from descentlab.report.plots import colour_axis
from descentlab.runs import Run, RunRecord, StopFlag, seed_everything
from descentlab.training.mnist import TrainConfig, load_splits, make_model


@dataclass(frozen=True)
class SnapshotConfig(RunConfig):
    """Settings of ``descentlab optim snapshots``."""

    train_size: int = param(3000, "training images", low=100, high=55_000)
    hidden: int = param(128, "hidden units of the 784-hidden-10 network", low=1, high=8192)
    cycles: int = param(4, "learning-rate cycles, one snapshot at the end of each", low=1, high=100)
    epochs_per_cycle: int = param(3, "epochs in each cycle", low=1, high=1000)
    lr: float = param(0.1, "the learning rate at the start of each cycle (SGD with momentum 0.9)", low=0.0,
                      low_open=True, high=10.0)  # fmt: skip
    batch_size: int = param(32, "examples per step", low=1, high=55_000)

    @property
    def run_name(self) -> str:
        return f"{self.cycles}cycles"


def _accuracy(proba: torch.Tensor, y: torch.Tensor) -> float:
    return float((proba.argmax(1) == y).double().mean())


def train(cfg: SnapshotConfig, run: Run, stop: StopFlag, state: dict[str, Any] | None = None) -> dict[str, float]:
    """The learning rate and training loss by step; each snapshot's test accuracy and the ensemble's."""
    seed_everything(cfg.seed)
    data = load_splits(TrainConfig(train_size=cfg.train_size))
    x, y = data["train"]
    x_test, y_test = data["test"]
    model = make_model(cfg.hidden)
    opt = optim.Momentum(model.parameters(), lr=cfg.lr)
    regime = optim.mini_batch(cfg.batch_size)
    total = regime.steps_per_epoch(len(y)) * cfg.cycles * cfg.epochs_per_cycle
    schedule = optim.cyclic_cosine_scheduler(opt, total, cfg.cycles)
    ends, ensemble, step = set(optim.cycle_ends(total, cfg.cycles)), optim.SnapshotEnsemble(model), 0
    for epoch in range(cfg.cycles * cfg.epochs_per_cycle):
        for idx in regime.batches(len(y), epoch, cfg.seed):
            lr = opt.param_groups[0]["lr"]
            loss = F.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            schedule.step()
            step += 1
            if step % 10 == 0:
                run.log(step, {"train/loss": loss.item(), "charts/learning_rate": lr})
            if step in ends:
                ensemble.take()
                accuracy = _accuracy(ensemble.member_proba(len(ensemble.snapshots) - 1, x_test), y_test)
                run.log(step, {"snapshot/test_accuracy": accuracy})
    singles = [_accuracy(ensemble.member_proba(i, x_test), y_test) for i in range(len(ensemble.snapshots))]
    return {"ensemble/test_accuracy": _accuracy(ensemble.predict_proba(x_test), y_test),
            "best_snapshot/test_accuracy": max(singles), "last_snapshot/test_accuracy": singles[-1]}  # fmt: skip


def snapshots_figure(record: RunRecord) -> Figure:
    fig, (ax, ax_acc) = plt.subplots(1, 2, figsize=(12, 4))
    steps, rates = record.series("charts/learning_rate")
    ax.plot(steps, rates, color="C0")
    for s in record.series("snapshot/test_accuracy")[0]:
        ax.axvline(s, color="C3", ls=":", lw=1)
    ax.set(xlabel="step", ylabel="learning rate", title="cyclic cosine rate; a snapshot at each dotted line")
    twin = ax.twinx()
    loss_steps, losses = record.series("train/loss")
    twin.plot(loss_steps, losses, color="C1", alpha=0.5, lw=0.8)
    twin.set(ylabel="training loss (batch)", yscale="log")
    colour_axis(ax, "C0")
    colour_axis(twin, "C1", side="right")
    _, accuracies = record.series("snapshot/test_accuracy")
    m = record.final()
    ax_acc.bar([str(i + 1) for i in range(len(accuracies))] + ["ensemble"],
               [100 * a for a in accuracies] + [100 * m["ensemble/test_accuracy"]],
               color=["C0"] * len(accuracies) + ["C3"])  # fmt: skip
    low = 100 * min([*accuracies, m["ensemble/test_accuracy"]])
    ax_acc.set(ylim=(low - 2, 100), xlabel="snapshot", ylabel="test accuracy %", title="each snapshot and the ensemble")
    for a in (ax, ax_acc):
        a.grid(alpha=0.3)
    fig.set_layout_engine("tight", w_pad=4)  # room between the left panel's right axis and the right panel
    return fig


def claims(record: RunRecord) -> list[Claim]:
    m = record.final()
    ensemble, best = m["ensemble/test_accuracy"], m["best_snapshot/test_accuracy"]
    return [Claim(
        "The snapshots' vote is more accurate than the best single snapshot, at no extra training cost",
        f"test accuracy: ensemble {100 * ensemble:.2f}%, best snapshot {100 * best:.2f}%, last snapshot "
        f"{100 * m['last_snapshot/test_accuracy']:.2f}%",
        [Bound("the ensemble's test error", 1 - ensemble, "<", 1 - best)],
    )]  # fmt: skip


def sections(runs: Sequence[RunRecord]) -> list[Section]:
    return [
        Section(
            id="snapshot-ensembles",
            title="A snapshot ensemble",
            caption=(
                f"A 784-{r.config.get('hidden')}-10 network, SGD with momentum on {r.config.get('train_size'):,} "
                f"MNIST images, {r.config.get('cycles')} cycles of {r.config.get('epochs_per_cycle')} epochs from a "
                f"learning rate of {r.config.get('lr')}; a snapshot at the end of each cycle."
            ),
            figures=[snapshots_figure(r)],
            commands=[str(r.meta.get("command"))],
            claims=claims(r),
        )
        for r in runs
        if r.status == "complete"
    ]


def tour(settings: TourSettings) -> list[SnapshotConfig]:
    q = settings.quick
    return [SnapshotConfig(seed=settings.seed, device=settings.device, train_size=3000 if q else 10_000,
                           epochs_per_cycle=2 if q else 3)]  # fmt: skip


OPTIM_SNAPSHOTS = Experiment(
    check=check_mnist,
    command="optim snapshots",
    help="snapshot ensembles: a cyclic learning rate, a snapshot at each cycle's end, and their vote",
    description=(
        "Train one network with a cyclic cosine learning rate (Huang et al. 2017), take a snapshot of the\n"
        "weights at the end of each cycle, and compare each snapshot's test accuracy with their ensemble's.\n"
        "Writes snapshots.png."
    ),
    examples=("descentlab optim snapshots", "descentlab optim snapshots --cycles 6 --epochs-per-cycle 4"),
    config=SnapshotConfig,
    train=train,
    figures=lambda record: {"snapshots.png": snapshots_figure(record)},
    sections=sections,
    tour=tour,
    headline=lambda r: claims(r)[0].evidence,
)
