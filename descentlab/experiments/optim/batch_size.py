"""``descentlab optim batch-size``: the batch size as a hyperparameter, and the noise behind it.

Mini-batch SGD on one MLP and one MNIST subset at several batch sizes: the same initial weights, the same
learning rate, the same number of epochs. Two things are measured.

* The gradient's noise. At the initial weights, the mean squared distance between a batch's gradient and
  the whole training set's, over ``noise_draws`` batches of each size. For batches drawn without
  replacement from N examples it is ``tr(Sigma) / B * (N - B) / (N - 1)`` in expectation, with Sigma the
  per-example gradients' covariance: four times the batch, a quarter of the noise.
* What a fixed budget of epochs buys. A batch of B makes N / B updates an epoch: small batches take many
  noisy steps, large ones few exact ones (and each epoch of them runs faster on vectorized hardware).

Read top to bottom: config, the noise, the training, figures, report.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from torch import nn

from descentlab import optim
from descentlab.config import RunConfig, param
from descentlab.data import MNIST_MEAN, MNIST_STD, mnist
from descentlab.errors import ParameterError
from descentlab.experiments.declaration import Experiment, TourSettings
from descentlab.optim.regimes import mini_batch
from descentlab.report import Bound, Claim, Section
from descentlab.runs import Run, RunRecord, StopFlag, seed_everything
from descentlab.runs.checkpoint import atomic_write_bytes

MEAN, STD = MNIST_MEAN, MNIST_STD  # descentlab.data's, as every experiment normalizes
SPLIT_SEED = 20_261_206  # the subset and validation images do not move with --seed


@dataclass(frozen=True)
class BatchSweepConfig(RunConfig):
    """Settings of ``descentlab optim batch-size``."""

    batch_sizes: str = param("8,32,128,512", "comma list of batch sizes, smallest first")
    lr: float = param(0.05, "learning rate of mini-batch SGD at every batch size", low=0.0, low_open=True, high=10.0)
    epochs: int = param(3, "epochs at every batch size", low=1, high=1000)
    train_size: int = param(4000, "training images (an MNIST subset)", low=2, high=59_000)
    val_size: int = param(1000, "validation images", low=1, high=10_000)
    hidden: int = param(128, "hidden units of the 784-hidden-10 ReLU network", low=1, high=8192)
    noise_draws: int = param(256, "batches of each size whose gradient is compared with the whole set's",
                             low=2, high=100_000)  # fmt: skip
    threads: int = param(1, "torch threads", low=1, high=256)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.sizes()

    def sizes(self) -> list[int]:
        try:
            sizes = [int(b) for b in self.batch_sizes.split(",")]
        except ValueError:
            sizes = []
        if len(sizes) < 2 or sizes != sorted(set(sizes)) or sizes[0] < 1 or sizes[-1] >= self.train_size:
            raise ParameterError("batch_sizes", f"{self.batch_sizes!r} is not valid; valid: two or more different "
                                 f"integers from 1 to below --train-size ({self.train_size}), smallest first, "
                                 "e.g. 8,32,128,512")  # fmt: skip
        return sizes

    @property
    def run_name(self) -> str:
        return f"mlp-{self.hidden}"


def load(cfg: BatchSweepConfig) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """The training subset and the validation images, normalized, as (N, 784) floats and labels."""
    images, labels = mnist("train")
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(SPLIT_SEED))
    val, train = order[: cfg.val_size], order[cfg.val_size : cfg.val_size + cfg.train_size]
    x = ((images.float() / 255.0 - MEAN) / STD).reshape(len(images), -1)
    return {"train": (x[train], labels[train]), "val": (x[val], labels[val])}


def make_model(cfg: BatchSweepConfig) -> nn.Module:
    return nn.Sequential(nn.Linear(784, cfg.hidden), nn.ReLU(), nn.Linear(cfg.hidden, 10))


def flat_gradient(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The gradient of the mean cross-entropy over (x, y), all parameters in one vector."""
    model.zero_grad()
    F.cross_entropy(model(x), y).backward()
    return torch.cat([p.grad.reshape(-1) for p in model.parameters() if p.grad is not None])


def gradient_noise(model: nn.Module, x: torch.Tensor, y: torch.Tensor, size: int, draws: int, seed: int) -> float:
    """Mean ||g_B - g||^2 over ``draws`` batches of ``size`` examples drawn without replacement, with g the
    whole set's gradient."""
    full = flat_gradient(model, x, y)
    gen = torch.Generator().manual_seed(seed)
    total = 0.0
    for _ in range(draws):
        idx = torch.randperm(len(y), generator=gen)[:size]
        total += float((flat_gradient(model, x[idx], y[idx]) - full).pow(2).sum())
    return total / draws


def noise_in_theory(per_example: float, n: int, size: float) -> float:
    """Expected ||g_B - g||^2 for a batch of ``size`` drawn without replacement from ``n`` examples whose
    gradients have total variance ``per_example``: the trace of their covariance, the mean over the n examples
    of their gradient's squared distance from g."""
    return per_example / size * (n - size) / (n - 1)


@torch.no_grad()
def val_loss(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    return float(F.cross_entropy(model(x), y))


def train(cfg: BatchSweepConfig, run: Run, stop: StopFlag, state: dict[str, Any] | None = None) -> dict[str, float]:
    """The noise at the initial weights, then each batch size from those weights for ``epochs`` epochs."""
    torch.set_num_threads(cfg.threads)
    data = load(cfg)
    (x, y), (xv, yv) = data["train"], data["val"]
    seed_everything(cfg.seed)
    start = make_model(cfg).state_dict()
    model = make_model(cfg)
    model.load_state_dict(start)
    metrics: dict[str, float] = {"train_size": float(len(y))}
    for size in cfg.sizes():
        metrics[f"b{size}/noise"] = gradient_noise(model, x, y, size, cfg.noise_draws, cfg.seed)
    for size in cfg.sizes():
        model.load_state_dict(start)
        opt = optim.SGD(model.parameters(), lr=cfg.lr)
        regime, updates, seconds = mini_batch(size), 0, 0.0
        run.log(0, {f"b{size}/val_loss": val_loss(model, xv, yv), f"b{size}/updates": 0.0})
        for epoch in range(cfg.epochs):
            began = time.perf_counter()
            for idx in regime.batches(len(y), epoch, cfg.seed):
                opt.zero_grad()
                F.cross_entropy(model(x[idx]), y[idx]).backward()
                opt.step()
                updates += 1
            seconds += time.perf_counter() - began
            run.log(epoch + 1, {f"b{size}/val_loss": val_loss(model, xv, yv), f"b{size}/updates": float(updates)})
        run.log_wallclock(cfg.epochs, {f"b{size}/train_seconds": seconds})
        metrics |= {f"b{size}/final_val_loss": val_loss(model, xv, yv), f"b{size}/updates": float(updates)}
    atomic_write_bytes(run.path / "batch_sizes.json", json.dumps({"metrics": metrics}).encode())
    run.save_final_checkpoint(metrics, cfg.epochs)
    return metrics


# ---- figures, table, claims, report -------------------------------------------------------------


def _sizes(record: RunRecord) -> list[int]:
    return [int(b) for b in str(record.config.get("batch_sizes", "")).split(",")]


def _per_example(m: dict[str, float], sizes: Sequence[int]) -> float:
    """tr(Sigma) estimated from the smallest batch's noise (the theory's one unknown)."""
    n, b = int(m["train_size"]), sizes[0]
    return m[f"b{b}/noise"] * b * (n - 1) / (n - b)


def sweep_figure(record: RunRecord) -> Figure:
    """Left: the gradient's noise against batch size with the theory's line through the smallest batch;
    right: validation loss against epoch for each batch size."""
    m, sizes = record.final(), _sizes(record)
    fig, (ax_noise, ax_loss) = plt.subplots(1, 2, figsize=(11, 4.2))
    ax_noise.loglog(sizes, [m[f"b{b}/noise"] for b in sizes], "o", ms=7, label="measured")
    trace = _per_example(m, sizes)
    grid = [sizes[0] * (sizes[-1] / sizes[0]) ** (i / 50) for i in range(51)]
    ax_noise.loglog(grid, [noise_in_theory(trace, int(m["train_size"]), b) for b in grid], "--", color="gray",
                    label="tr(Sigma)/B (N-B)/(N-1)")  # fmt: skip
    ax_noise.set(xlabel="batch size B", ylabel="mean ||g_B - g||^2", title="the gradient's noise at the start")
    ax_noise.grid(alpha=0.3, which="both")
    ax_noise.legend()
    for i, b in enumerate(sizes):
        pts = [(r["step"], r[f"b{b}/val_loss"]) for r in record.metrics if f"b{b}/val_loss" in r]
        ax_loss.plot(*zip(*pts, strict=True), marker="o", ms=3, color=f"C{i}", ls=("-", "--", "-.", ":")[i % 4],
                     label=f"B = {b} ({m[f'b{b}/updates']:.0f} updates)")  # fmt: skip
    ax_loss.set(xlabel="epoch", ylabel="validation loss", title="the same epochs at each batch size")
    ax_loss.grid(alpha=0.3)
    ax_loss.legend()
    fig.tight_layout()
    return fig


def table(record: RunRecord) -> tuple[list[str], list[list[str]]]:
    m, sizes = record.final(), _sizes(record)
    trace, n = _per_example(m, sizes), int(m["train_size"])
    seconds = {k: v for r in record.timing for k, v in r.items()}  # wall-clock, apart from the metrics
    rows = [[str(b), f"{m[f'b{b}/noise']:.4g}", f"{noise_in_theory(trace, n, b):.4g}", f"{m[f'b{b}/updates']:.0f}",
             f"{m[f'b{b}/final_val_loss']:.4f}", f"{seconds[f'b{b}/train_seconds']:.2f}"
             if f"b{b}/train_seconds" in seconds else "-"] for b in sizes]  # fmt: skip
    return ["batch size", "gradient noise", "theory (fit at the smallest)", "updates", "final val loss",
            "train s"], rows  # fmt: skip


def claims(record: RunRecord) -> list[Claim]:
    m, sizes = record.final(), _sizes(record)
    small, large, n = sizes[0], sizes[-1], int(m["train_size"])
    measured = m[f"b{small}/noise"] / m[f"b{large}/noise"]
    theory = noise_in_theory(1.0, n, small) / noise_in_theory(1.0, n, large)
    return [
        Claim(
            f"A batch's gradient is noisier the smaller the batch, as sampling theory says: from B = {small} to "
            f"B = {large} its mean squared distance from the whole set's gradient falls by a factor within 1.5 "
            f"of the theory's {theory:.1f} (B's ratio, corrected for drawing without replacement)",
            f"noise ratio {measured:.1f}, theory {theory:.1f}; noise at each size: "
            + ", ".join(f"B = {b}: {m[f'b{b}/noise']:.3g}" for b in sizes),
            [
                Bound("measured ratio over the theory's", measured / theory, "<", 1.5),
                Bound("measured ratio over the theory's", measured / theory, ">", 1 / 1.5),
            ],
        ),
        Claim(
            f"In the same {record.config.get('epochs')} epochs the smallest batches end with a lower validation loss "
            f"than the largest: B = {small} makes {m[f'b{small}/updates']:.0f} updates, B = {large} "
            f"{m[f'b{large}/updates']:.0f}",
            f"final validation loss: B = {small} {m[f'b{small}/final_val_loss']:.3f}, B = {large} "
            f"{m[f'b{large}/final_val_loss']:.3f}",
            [
                Bound(
                    f"B = {small}'s final validation loss",
                    m[f"b{small}/final_val_loss"],
                    "<",
                    m[f"b{large}/final_val_loss"],
                )
            ],
        ),
    ]


def sections(runs: Sequence[RunRecord]) -> list[Section]:
    return [
        Section(
            id="batch-size",
            title="The batch size: noise against updates",
            caption=(
                f"Mini-batch SGD at learning rate {r.config.get('lr')} on a 784-{r.config.get('hidden')}-10 ReLU "
                f"network, {r.config.get('train_size'):,} MNIST images, {r.config.get('epochs')} epochs at each batch "
                "size from the same initial weights. Left: the gradient's noise at those weights, "
                f"{r.config.get('noise_draws')} batches of each size; right: validation loss by epoch."
            ),
            figures=[sweep_figure(r)],
            table=table(r),
            commands=[str(r.meta.get("command"))],
            claims=claims(r),
        )
        for r in runs
        if r.status == "complete"
    ]


def tour(settings: TourSettings) -> list[BatchSweepConfig]:
    q = settings.quick
    return [BatchSweepConfig(seed=settings.seed, device=settings.device, train_size=2000 if q else 4000,
                             epochs=2 if q else 3, noise_draws=128 if q else 256)]  # fmt: skip


OPTIM_BATCH_SIZE = Experiment(
    command="optim batch-size",
    help="a batch-size sweep: the gradient's noise (against sampling theory) and what a fixed budget of epochs buys",
    description=(
        "Mini-batch SGD on one MLP at several batch sizes from the same initial weights: the mean\n"
        "squared distance of a batch's gradient from the whole set's (theory: tr(Sigma)/B (N-B)/(N-1)),\n"
        "and the validation loss after the same epochs. Writes batch_sizes.json and batch_size.png."
    ),
    examples=("descentlab optim batch-size", "descentlab optim batch-size --batch-sizes 1,4,16,64,256 --epochs 5"),
    config=BatchSweepConfig,
    train=train,
    figures=lambda record: {"batch_size.png": sweep_figure(record)},
    table=table,
    sections=sections,
    tour=tour,
    headline=lambda r: claims(r)[0].evidence,
)
