"""``descentlab generalize optimizers``: the unit's eight optimizers racing to a validation accuracy on MNIST.

Each optimizer in its data regime (``descentlab.optim.UNIT_OPTIMIZERS``) trains the same network under one
time budget; the score is the training time to reach a validation accuracy (as AlgoPerf scores
optimizers: time to a target) and the final test accuracy. The variants train one after another, as in
``generalize mnist``, with the same checkpoints and ``--resume``.

Read top to bottom: config, the experiment, figures.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from descentlab.config import RunConfig, param
from descentlab.experiments.declaration import Experiment, TourSettings
from descentlab.experiments.generalize.common import check_fits, hidden_widths
from descentlab.optim.regimes import UNIT_OPTIMIZERS, Regime
from descentlab.report import Bound, Claim, Section
from descentlab.runs import Run, RunRecord, StopFlag, select_device
from descentlab.training.supervised import Variant, load_data, make_mlp, run_variants


@dataclass(frozen=True)
class OptimizersConfig(RunConfig):
    """Settings of ``descentlab generalize optimizers``."""

    hidden: str = param("1024,1024", "hidden layer widths, comma-separated (ReLU after each)")
    target: float = param(0.97, "the validation accuracy each optimizer races to", low=0.0, low_open=True, high=1.0)
    max_seconds: float = param(
        120.0, "training-time budget per optimizer, in seconds", low=0.0, low_open=True, high=1e7
    )
    epochs: int = param(20, "at most this many epochs per optimizer", low=1, high=10_000)
    train_size: int = param(0, "training images (0: all 55,000)", low=0, high=55_000)
    val_size: int = param(5000, "validation images held out of the 60,000", low=100, high=30_000)
    eval_every: int = param(5500, "training examples between validation passes", low=1, high=10**9)

    def __post_init__(self) -> None:
        super().__post_init__()
        hidden_widths(self.hidden)

    @property
    def run_name(self) -> str:
        return f"mlp-{self.hidden.replace(',', 'x')}"


def unit_variants() -> dict[str, tuple[Any, Regime]]:
    """The unit's eight optimizers as ``key -> (optimizer factory, regime)``, keys like ``sgd-full-batch``."""
    return {unit.key: (unit.optimizer, unit.regime) for unit in UNIT_OPTIMIZERS}


def optimizers_train(
    cfg: OptimizersConfig, run: Run, stop: StopFlag, state: dict[str, Any] | None = None
) -> dict[str, float]:
    """Each of the unit's eight optimizers trains the network until the budget; time to the target."""
    device = select_device(cfg.device)
    data = load_data(cfg.val_size, cfg.train_size, device)
    widths = hidden_widths(cfg.hidden)
    table = unit_variants()

    def build(name: str) -> Variant:
        factory, regime = table[name]
        model = make_mlp(widths).to(device)
        return Variant(name, model, factory(model.parameters()), regime, cfg.epochs, cfg.max_seconds, cfg.target)

    return run_variants(list(table), build, data, cfg.eval_every, cfg.seed, run, stop, state)


# ---- figures and tables -----------------------------------------------------------------------


def time_to_target(record: RunRecord) -> Figure:
    """Validation accuracy of each optimizer against epochs (left: the same on every machine) and against
    seconds of training (right, log scale: they differ by orders of magnitude), the target marked and each
    one's first crossing of it circled."""
    seconds_at = record.seconds_at()
    target = float(record.config.get("target", 0.97))
    fig, (ax_epochs, ax_seconds) = plt.subplots(1, 2, figsize=(12, 4.8), sharey=True)
    lowest = 100 * target
    for i, name in enumerate(unit_variants()):
        steps, values = record.series(f"{name}/val/accuracy")
        at_epoch = dict(zip(*record.series(f"{name}/epoch"), strict=True))
        style = {"color": f"C{i}", "linestyle": ("-", "--", ":", "-.")[i % 4], "marker": "o" if len(steps) < 4 else "."}
        for ax, when in ((ax_epochs, at_epoch), (ax_seconds, seconds_at)):
            points = [(when[s], 100 * v) for s, v in zip(steps, values, strict=True) if s in when]
            if ax is ax_seconds:
                points = [(t, a) for t, a in points if t > 0]  # a log axis has no zero
            if not points:
                continue
            ax.plot([t for t, _ in points], [a for _, a in points], label=name if ax is ax_epochs else None, **style)
            first = next(((t, a) for t, a in points if a >= 100 * target), None)
            if first is not None:
                ax.plot(*first, "o", markersize=11, markerfacecolor="none", color=f"C{i}")
            lowest = min(lowest, min(a for _, a in points))
    for ax in (ax_epochs, ax_seconds):
        ax.axhline(
            100 * target,
            color="k",
            linewidth=0.8,
            linestyle=":",
            label=f"target {100 * target:g}%" if ax is ax_epochs else None,
        )
        ax.grid(alpha=0.3, which="both")
    ax_epochs.set(xlabel="epochs (the same on every machine)", ylabel="validation accuracy %",
                  title="against data seen", ylim=(max(0.0, lowest - 3), 100))  # fmt: skip
    ax_seconds.set(xlabel="seconds of training on this machine (evaluation excluded, log scale)",
                   title="against time (AlgoPerf-style)", xscale="log")  # fmt: skip
    fig.legend(loc="lower center", ncol=5, bbox_to_anchor=(0.5, 0.0))
    fig.tight_layout(rect=(0, 0.13, 1, 1))
    return fig


def optimizers_figures(record: RunRecord) -> dict[str, Figure]:
    return {"time_to_target.png": time_to_target(record)}


def target_table(record: RunRecord) -> tuple[list[str], list[list[str]]]:
    m = record.final()
    target = record.config.get("target", 0.97)
    rows = []
    for name in unit_variants():
        if f"{name}/test/accuracy" not in m:
            continue
        reached, epochs = m[f"{name}/seconds_to_target"], epochs_to_target(record, name, target)
        rows.append([name, "not reached" if math.isinf(epochs) else f"{epochs:.2f}",
                     "not reached" if reached < 0 else f"{reached:.2f}",
                     f"{100 * (1 - m[f'{name}/val/error']):.2f}", f"{100 * m[f'{name}/test/accuracy']:.2f}",
                     f"{m[f'{name}/epochs']:.2f}", f"{m[f'{name}/train_seconds']:.2f}"])  # fmt: skip
    return ["optimizer", f"epochs to {100 * target:g}% val acc", f"seconds to {100 * target:g}%", "final val acc %",
            "test acc %", "epochs",
            "train s"], rows  # fmt: skip


def epochs_to_target(record: RunRecord, name: str, target: float) -> float:
    """The epochs variant ``name`` had trained when its validation accuracy first reached ``target`` (inf if
    never): read from its logged evaluations, so it does not depend on the machine's speed."""
    for row in record.metrics:
        if f"{name}/val/accuracy" in row and row[f"{name}/val/accuracy"] >= target:
            return float(row[f"{name}/epoch"])
    return math.inf


def target_claims(record: RunRecord) -> list[Claim]:
    target = float(record.config.get("target", 0.97))
    reached = {name: epochs_to_target(record, name, target) for name in unit_variants()}
    full = reached.pop("sgd-full-batch", math.inf)
    slow = [n for n, e in reached.items() if math.isinf(e)]
    words = ", ".join(f"{n} {e:.2f}" for n, e in reached.items() if not math.isinf(e))
    given = float(record.config.get("epochs", 20)) * (1 + 1e-9)  # reached at the last evaluation is within
    return [Claim(
        f"Every optimizer that updates on mini-batches or single examples reaches {100 * target:g}% validation "
        "accuracy within the epochs given; gradient descent, one update an epoch, does not",
        f"epochs to the target: {words}" + (f"; not reached: {', '.join(slow)}" if slow else "")
        + f"; gradient descent: {'not reached' if math.isinf(full) else format(full, '.2f')}",
        [Bound(f"{n}: epochs to the target", e, "<", given) for n, e in reached.items()]
        + [Bound("gradient descent: epochs to the target", full, ">", given)],
    )]  # fmt: skip


def time_to_target_sections(runs: Sequence[RunRecord]) -> list[Section]:
    """'Optimizers on a real task' from ``descentlab generalize optimizers`` runs."""
    return [
        Section(
            id="time-to-target",
            title="Time to a validation accuracy",
            caption=(
                f"Each of the unit's eight optimizers in its data regime trains a 784-"
                f"{r.config.get('hidden', '').replace(',', '-')}-10 network on {r.config.get('train_size') or 55_000:,} "
                f"images for at most {r.config.get('epochs')} epochs; the score is the training time (evaluations "
                f"excluded) until the validation accuracy first reaches {100 * float(r.config.get('target', 0.97)):g}%. "
                "Left, against epochs: how much data each needs, the same on every machine; right, against "
                "seconds on this machine: what each update costs counts too (one example at a time is slow)."
            ),
            figures=[time_to_target(r)],
            table=target_table(r),
            commands=[str(r.meta.get("command"))],
            claims=target_claims(r),
        )
        for r in runs
        if r.status == "complete"
    ]


def optimizers_tour(settings: TourSettings) -> list[OptimizersConfig]:
    q = settings.quick
    return [OptimizersConfig(seed=settings.seed, device=settings.device, hidden="128" if q else "256",
                             train_size=2000 if q else 10_000, val_size=1000, epochs=2 if q else 3, target=0.85 if q else 0.93,
                             max_seconds=600.0, eval_every=250 if q else 1250)]  # fmt: skip


GENERALIZE_OPTIMIZERS = Experiment(
    check=lambda cfg: check_fits(
        hidden_widths(cfg.hidden), 60_000 - cfg.val_size, "generalize optimizers"
    ),  # gradient descent's batch holds every image
    command="generalize optimizers",
    help="the unit's eight optimizers on the same network: seconds to 97% validation accuracy",
    description=(
        "Each of the unit's eight optimizers, in its data regime, trains the network for at most\n"
        "--max-seconds of training; the score is the training time to reach --target validation\n"
        "accuracy, as AlgoPerf scores optimizers. Writes time_to_target.png and a table."
    ),
    examples=("descentlab generalize optimizers", "descentlab generalize optimizers --hidden 256 --max-seconds 30"),
    config=OptimizersConfig,
    train=optimizers_train,
    figures=optimizers_figures,
    table=target_table,
    sections=time_to_target_sections,
    tour=optimizers_tour,
    headline=lambda r: target_claims(r)[0].evidence,
)
