"""``descentlab generalize mnist``: the same multilayer perceptron on MNIST without and with dropout.

Variants ``plain`` and ``dropout`` (keep 0.8 on the inputs, 0.5 on the hidden layers) of a 784-1024-1024-10
ReLU network, same data order and optimizer; learning curves of training and validation loss and error,
the generalization gap, and the test error, measured once at the end of each variant.

The variants of a run train one after another; a run's checkpoint records the finished variants and
the state of the current one, so Ctrl-C and ``--resume`` work as for every run. Steps are counted
across variants, so each record also carries ``VARIANT/epoch``.

Read top to bottom: config, the experiment, figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from matplotlib.figure import Figure
from torch import nn

from descentlab.config import RunConfig, param
from descentlab.errors import ParameterError
from descentlab.experiments.declaration import Experiment, TourSettings, checkpoint_every_param
from descentlab.experiments.generalize.common import check_fits, hidden_widths
from descentlab.optim.by_name import OPTIMIZERS
from descentlab.optim.regimes import mini_batch
from descentlab.report import Bound, Claim, Section
from descentlab.report.plots import variant_curves
from descentlab.runs import Run, RunRecord, StopFlag, select_device
from descentlab.training.mnist import DEFAULT_LR, TrainConfig, make_optimizer
from descentlab.training.supervised import Variant, load_data, make_mlp, run_variants


@dataclass(frozen=True)
class GeneralizeConfig(RunConfig):
    """Settings of ``descentlab generalize mnist``."""

    hidden: str = param("1024,1024", "hidden layer widths, comma-separated (ReLU after each)")
    keep_input: float = param(0.8, "dropout variant: probability of keeping an input pixel", low=0.0, low_open=True,
                              high=1.0)  # fmt: skip
    keep_hidden: float = param(0.5, "dropout variant: probability of keeping a hidden unit", low=0.0, low_open=True,
                               high=1.0)  # fmt: skip
    variants: str = param("plain,dropout", "which variants to train, in order: plain, dropout, or both")
    optimizer: str = param("momentum", "optimizer of both variants", choices=OPTIMIZERS)
    lr: float | None = param(0.05, "learning rate (default: the optimizer's usual one)", low=0.0, low_open=True,
                             high=10.0)  # fmt: skip
    momentum: float = param(0.9, "momentum coefficient, for --optimizer momentum", low=0.0, high=1.0, high_open=True)
    batch_size: int = param(128, "examples per step", low=1, high=60_000)
    epochs: int = param(30, "passes over the training split (at most)", low=1, high=10_000)
    schedule: str = param(
        "constant", "learning rate: constant, or cosine decay to 0 over --epochs", choices=("constant", "cosine")
    )
    patience: int = param(
        0, "early stopping: evaluations without a better validation loss (0: off)", low=0, high=10_000
    )
    max_seconds: float = param(0.0, "training-time budget per variant in seconds (0: none)", low=0.0, high=1e7)
    train_size: int = param(0, "training images (0: all 55,000)", low=0, high=55_000)
    val_size: int = param(5000, "validation images held out of the 60,000", low=100, high=30_000)
    eval_every: int = param(11_000, "training examples between validation passes", low=1, high=10**9)
    checkpoint_every: int = checkpoint_every_param()

    def __post_init__(self) -> None:
        super().__post_init__()
        self.widths()
        self.variant_names()

    def widths(self) -> list[int]:
        return hidden_widths(self.hidden)

    def variant_names(self) -> list[str]:
        names = [v.strip() for v in self.variants.split(",") if v.strip()]
        if not names or any(v not in ("plain", "dropout") for v in names) or len(set(names)) != len(names):
            valid = "plain, dropout, or plain,dropout"
            raise ParameterError("variants", f"{self.variants!r} is not valid; valid: {valid}")
        return names

    @property
    def learning_rate(self) -> float:
        return self.lr if self.lr is not None else DEFAULT_LR[self.optimizer]

    @property
    def run_name(self) -> str:
        return f"mlp-{self.hidden.replace(',', 'x')}"


# ---- the experiment ----------------------------------------------------------------------------


def mnist_train(
    cfg: GeneralizeConfig, run: Run, stop: StopFlag, state: dict[str, Any] | None = None
) -> dict[str, float]:
    """Train the plain and the dropout network with the same optimizer, data order and initial weights."""
    device = select_device(cfg.device)
    data = load_data(cfg.val_size, cfg.train_size, device)

    def build(name: str) -> Variant:
        keep_in, keep_hid = (cfg.keep_input, cfg.keep_hidden) if name == "dropout" else (1.0, 1.0)
        model = make_mlp(cfg.widths(), keep_in, keep_hid).to(device)
        return Variant(name, model, _optimizer(cfg, model), mini_batch(cfg.batch_size), cfg.epochs,
                       cfg.max_seconds, None, cfg.patience, cfg.schedule,
                       checkpoint_every=cfg.checkpoint_every)  # fmt: skip

    return run_variants(cfg.variant_names(), build, data, cfg.eval_every, cfg.seed, run, stop, state)


def _optimizer(cfg: GeneralizeConfig, model: nn.Module) -> torch.optim.Optimizer:
    return make_optimizer(TrainConfig(optimizer=cfg.optimizer, lr=cfg.learning_rate, momentum=cfg.momentum),
                          model.parameters())  # fmt: skip


def mnist_figures(record: RunRecord) -> dict[str, Figure]:
    return {"learning_curves.png": variant_curves(record)}


def gap_table(record: RunRecord) -> tuple[list[str], list[list[str]]]:
    m = record.final()
    rows = []
    for name in [v for v in ("plain", "dropout") if f"{v}/test/error" in m]:
        rows.append([name, f"{100 * m[f'{name}/train/error']:.2f}", f"{100 * m[f'{name}/val/error']:.2f}",
                     f"{100 * m[f'{name}/gap/error']:.2f}", f"{m[f'{name}/gap/loss']:.4f}",
                     f"{100 * m[f'{name}/test/error']:.2f}", f"{m[f'{name}/epochs']:.1f}",
                     f"{m[f'{name}/train_seconds']:.0f}"])  # fmt: skip
    head = ["variant", "train error %", "val error %", "gap (val-train) pts", "gap in loss", "test error %", "epochs",
            "train s"]  # fmt: skip
    return head, rows


def dropout_claims(record: RunRecord) -> list[Claim]:
    m = record.final()
    if "plain/gap/loss" not in m or "dropout/gap/loss" not in m:
        return []
    plain, dropout = m["plain/gap/loss"], m["dropout/gap/loss"]
    return [Claim(
        "Dropout narrows the generalization gap: the validation loss minus the training loss is smaller with "
        "dropout than without",
        f"gap in loss: dropout {dropout:.3f}, without {plain:.3f}; test error: dropout "
        f"{100 * m['dropout/test/error']:.2f}%, without {100 * m['plain/test/error']:.2f}%",
        [Bound("the gap in loss with dropout", dropout, "<", plain)],
    )]  # fmt: skip


def dropout_sections(runs: Sequence[RunRecord]) -> list[Section]:
    """'Generalization and dropout' from ``descentlab generalize mnist`` runs."""
    return [
        Section(
            id="dropout",
            title="The same network without and with dropout",
            caption=(
                f"A 784-{r.config.get('hidden', '').replace(',', '-')}-10 ReLU network, {r.config.get('optimizer')} "
                f"at learning rate {r.config.get('lr')}, {r.config.get('train_size') or 55_000:,} training images, "
                f"{r.config.get('epochs')} epochs; dropout keeps inputs with probability "
                f"{r.config.get('keep_input')} and hidden units with {r.config.get('keep_hidden')}."
            ),
            figures=[variant_curves(r)],
            table=gap_table(r),
            commands=[str(r.meta.get("command"))],
            claims=dropout_claims(r),
        )
        for r in runs
        if r.status == "complete"
    ]


def mnist_tour(settings: TourSettings) -> list[GeneralizeConfig]:
    q = settings.quick
    return [GeneralizeConfig(seed=settings.seed, device=settings.device, hidden="256,256" if q else "1024,1024",
                             train_size=3000 if q else 10_000, epochs=3 if q else 5,
                             eval_every=1000 if q else 2500)]  # fmt: skip


GENERALIZE_MNIST = Experiment(
    check=lambda cfg: check_fits(cfg.widths(), cfg.batch_size, "generalize mnist"),
    command="generalize mnist",
    help="a 784-1024-1024-10 MLP without and with dropout: learning curves, generalization gap, test error",
    description=(
        "The same network, optimizer, initial weights and data order, trained plainly and with dropout\n"
        "(keep 0.8 on inputs, 0.5 on hidden units; --keep-* use the unit's convention, the probability\n"
        "of keeping a unit). Writes learning_curves.png and prints the generalization gap and test error."
    ),
    examples=("descentlab generalize mnist", "descentlab generalize mnist --variants dropout --epochs 50"),
    config=GeneralizeConfig,
    train=mnist_train,
    figures=mnist_figures,
    table=gap_table,
    sections=dropout_sections,
    tour=mnist_tour,
    headline=lambda r: dropout_claims(r)[0].evidence if dropout_claims(r) else "",
    data_parallel=True,
)
