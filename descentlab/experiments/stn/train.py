"""``descentlab stn train``: a CNN and a spatial-transformer CNN on distorted MNIST (Jaderberg et al. 2015).

Both models get the same data, data order, optimizer and budget (epochs and a time cap). The ST-CNN
is the same classifier behind a spatial transformer whose localisation network looks at the whole
input and whose sampler writes a ``out_size`` x ``out_size`` image for the classifier. The trained
weights of each model are saved in the run folder (``cnn.pt``, ``st-cnn.pt``), and the figure
``transformed.png`` shows test digits beside what the transformer made of them.

Read top to bottom: config, data, models, the run, figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure
from torch import nn

from descentlab import optim
from descentlab.config import RunConfig, param
from descentlab.experiments.declaration import Experiment, TourSettings, check_mnist, checkpoint_every_param
from descentlab.optim.regimes import mini_batch
from descentlab.report import Bound, Claim, Section
from descentlab.report.plots import variant_curves
from descentlab.runs import Run, RunRecord, StopFlag, load_checkpoint, save_checkpoint, select_device
from descentlab.stn import GENERATORS, cnn, st_cnn
from descentlab.stn.distort import DISTORTIONS, distorted_mnist
from descentlab.training.supervised import TRAIN_PROBE, Variant, run_variants

PAPER = {"r": {"cnn": 1.2, "st-cnn": 0.7}, "rts": {"cnn": 0.8, "st-cnn": 0.5}}  # test error %, Table 1 (affine)


@dataclass(frozen=True)
class StnConfig(RunConfig):
    """Settings of ``descentlab stn train``."""

    distortion: str = param("rts", "distorted MNIST: r, rts or clutter", choices=tuple(DISTORTIONS))
    transform: str = param("affine", "the transformer's family", choices=tuple(GENERATORS))
    localisation: str = param("conv", "localisation network: conv or fc", choices=("conv", "fc"))
    out_size: int = param(28, "side of the transformer's output image (the classifier's input)", low=20, high=128)
    variants: str = param("cnn,st-cnn", "models to train, in order", choices=("cnn,st-cnn", "cnn", "st-cnn"))
    lr: float = param(1e-3, "Adam's learning rate", low=0.0, low_open=True, high=1.0)
    loc_lr_scale: float = param(0.1, "the localisation network's lr, as a fraction of lr", low=0.0, high=10.0)
    batch_size: int = param(64, "examples per step", low=1, high=55_000)
    epochs: int = param(10, "passes over the training split (at most)", low=1, high=1000)
    max_seconds: float = param(1200.0, "training-time budget per model, in seconds (0: none)", low=0.0, high=1e7)
    train_size: int = param(0, "training images (0: all 55,000)", low=0, high=55_000)
    val_size: int = param(5000, "validation images held out of the 60,000", low=100, high=30_000)
    test_size: int = param(0, "test images scored at the end (0: all 10,000)", low=0, high=10_000)
    eval_every: int = param(11_000, "training examples between validation passes", low=1, high=10**9)
    checkpoint_every: int = checkpoint_every_param()

    @property
    def run_name(self) -> str:
        return f"{self.distortion}-{self.transform}"


def build_model(cfg: StnConfig, name: str) -> nn.Module:
    side = DISTORTIONS[cfg.distortion]
    if name == "cnn":
        return cnn((1, side, side))
    return st_cnn((1, side, side), cfg.transform, (cfg.out_size, cfg.out_size), cfg.localisation)


def _optimizer(cfg: StnConfig, model: nn.Module) -> torch.optim.Optimizer:
    """Adam; the localisation network's parameters at ``loc_lr_scale * lr`` (a transformer that moves too
    fast early on can lose the digit, so the paper trains it with a lower rate)."""
    loc = [p for n, p in model.named_parameters() if ".localisation." in f".{n}"]
    rest = [p for n, p in model.named_parameters() if ".localisation." not in f".{n}"]
    groups: list[dict[str, Any]] = [{"params": rest}]
    if loc:
        groups.append({"params": loc, "lr": cfg.lr * cfg.loc_lr_scale})
    return optim.Adam(groups, lr=cfg.lr)


def train(cfg: StnConfig, run: Run, stop: StopFlag, state: dict[str, Any] | None = None) -> dict[str, float]:
    device = select_device(cfg.device)
    data = distorted_mnist(cfg.distortion, cfg.val_size, cfg.seed, cfg.train_size, cfg.test_size)
    data = {k: (x.to(device), y.to(device)) for k, (x, y) in data.items()}

    def build(name: str) -> Variant:
        model = build_model(cfg, name).to(device)
        # the training loss of the learning curves is measured on as many images as the validation loss
        return Variant(name, model, _optimizer(cfg, model), mini_batch(cfg.batch_size), cfg.epochs, cfg.max_seconds,
                       probe=min(cfg.val_size, TRAIN_PROBE), checkpoint_every=cfg.checkpoint_every)  # fmt: skip

    def keep(v: Variant) -> None:
        save_checkpoint(run.path / f"{v.name}.pt", {"model": v.model.state_dict()})

    metrics = run_variants(cfg.variants.split(","), build, data, cfg.eval_every, cfg.seed, run, stop, state, keep)
    for name in cfg.variants.split(","):
        metrics[f"{name}/parameters"] = float(sum(p.numel() for p in build_model(cfg, name).parameters()))
    return metrics


def transformed_digits(inputs: Any, outputs: Any, title: str) -> Figure:
    """Input digits (top row) above what the spatial transformer made of them (bottom row)."""
    n = len(inputs)
    fig, axes = plt.subplots(2, n, figsize=(1.2 * n, 2.7), squeeze=False)
    for j in range(n):
        for row, images in enumerate((inputs, outputs)):
            axes[row, j].imshow(images[j, 0].numpy(), cmap="gray", vmin=0, vmax=1)
            axes[row, j].set_xticks([])
            axes[row, j].set_yticks([])
    axes[0, 0].set_ylabel("input", fontsize=8)
    axes[1, 0].set_ylabel("transformed", fontsize=8)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


def figures(record: RunRecord) -> dict[str, Figure]:
    cfg = StnConfig(**{k: v for k, v in record.config.items()})
    out = {"learning_curves.png": variant_curves(record, cfg.variants.split(","))}
    if (record.path / "st-cnn.pt").is_file():
        out["transformed.png"] = transformed_digits(*transformer_examples(record))
    return out


def transformer_examples(record: RunRecord, count: int = 10) -> tuple[torch.Tensor, torch.Tensor, str]:
    """The first ``count`` test digits and the trained transformer's output for them."""
    cfg = StnConfig(**{k: v for k, v in record.config.items()})
    model = build_model(cfg, "st-cnn")
    assert isinstance(model, nn.Sequential)
    model.load_state_dict(load_checkpoint(record.path / "st-cnn.pt")["model"])
    model.eval()
    x = distorted_mnist(cfg.distortion, cfg.val_size, cfg.seed, cfg.train_size, cfg.test_size)["test"][0][:count]
    with torch.no_grad():
        return x, model[0](x), f"{cfg.distortion}, {cfg.transform} transformer"


def error_table(record: RunRecord) -> tuple[list[str], list[list[str]]]:
    m = record.final()
    cfg = record.config
    rows = []
    for name in str(cfg.get("variants", "cnn,st-cnn")).split(","):
        if f"{name}/test/error" not in m:
            continue
        paper = PAPER.get(str(cfg.get("distortion")), {}).get(name)
        rows.append([name, f"{m[f'{name}/parameters']:,.0f}", f"{100 * m[f'{name}/test/error']:.2f}",
                     f"{paper:.1f}" if paper is not None and cfg.get("transform") == "affine" else "-",
                     f"{m[f'{name}/epochs']:.1f}", f"{m[f'{name}/train_seconds']:.0f}"])  # fmt: skip
    return ["model", "parameters", "test error %", "paper (Table 1) %", "epochs", "train s"], rows


def claims(record: RunRecord) -> list[Claim]:
    m = record.final()
    if "cnn/test/error" not in m or "st-cnn/test/error" not in m:
        return []
    cnn_error, st_error = m["cnn/test/error"], m["st-cnn/test/error"]
    return [Claim(
        "The CNN behind a spatial transformer has a lower test error than the same CNN alone, with the same data, "
        "optimizer and epochs",
        f"test error: ST-CNN {100 * st_error:.2f}%, CNN {100 * cnn_error:.2f}%",
        [Bound("the ST-CNN's test error", st_error, "<", cnn_error)],
    )]  # fmt: skip


def sections(runs: Sequence[RunRecord]) -> list[Section]:
    """'Spatial transformer networks' from ``descentlab stn train`` runs."""
    out = []
    for r in [r for r in runs if r.status == "complete"]:
        figs = [variant_curves(r, str(r.config.get("variants", "cnn,st-cnn")).split(","))]
        if (r.path / "st-cnn.pt").is_file():
            figs.insert(0, transformed_digits(*transformer_examples(r)))
        kind = {"r": "rotated by up to 90 degrees", "rts": "rotated by up to 45 degrees, scaled by 0.7 to 1.2 and "
                "placed anywhere in a 42 x 42 image", "clutter": "placed anywhere in a 60 x 60 image with clutter"}  # fmt: skip
        out.append(
            Section(
                id=f"stn-{r.config.get('distortion')}",
                title=f"A CNN and an ST-CNN on {r.config.get('distortion')}-distorted MNIST",
                caption=(
                    f"Digits {kind.get(str(r.config.get('distortion')), '')}; {r.config.get('train_size') or 55_000:,} "
                    f"training images, {r.config.get('epochs')} epochs, an {r.config.get('transform')} transformer "
                    f"whose output is {r.config.get('out_size')} x {r.config.get('out_size')}. The top row of the first "
                    "figure is test digits, the bottom row what the trained transformer made of them. The paper's "
                    "column is Jaderberg et al.'s Table 1 (their networks, full training on the whole training set): a "
                    "scale for the error, not a target for a run this short. The ST-CNN is the same CNN with a "
                    "localisation network in front, so it has more parameters (the table counts both)."
                ),
                figures=figs,
                table=error_table(r),
                commands=[str(r.meta.get("command"))],
                claims=claims(r),
            )
        )
    return out


def tour(settings: TourSettings) -> list[StnConfig]:
    q = settings.quick
    return [StnConfig(seed=settings.seed, device=settings.device, distortion="rts", loc_lr_scale=1.0,
                      train_size=4000 if q else 10_000, epochs=3, val_size=500 if q else 2000,
                      test_size=1000 if q else 5000, eval_every=4000 if q else 5000)]  # fmt: skip


STN_TRAIN = Experiment(
    check=check_mnist,
    command="stn train",
    help="train a CNN and an ST-CNN with the same budget; test errors and the transformed digits",
    description=(
        "Distorted MNIST (r: rotated +-90 deg; rts: rotated +-45 deg, scaled 0.7-1.2, moved in 42x42;\n"
        "clutter: moved in 60x60 with 6x6 clutter), generated from the seed. Trains a CNN and the same\n"
        "CNN behind a spatial transformer (affine, translation, rst or projective) with the same\n"
        "optimizer, epochs and time cap; prints their test errors beside the paper's and writes\n"
        "learning_curves.png and transformed.png."
    ),
    examples=(
        "descentlab stn train --distortion rts",
        "descentlab stn train --distortion clutter --transform translation --out-size 28",
    ),
    config=StnConfig,
    train=train,
    figures=figures,
    table=error_table,
    sections=sections,
    tour=tour,
    headline=lambda r: claims(r)[0].evidence if claims(r) else "",
    data_parallel=True,
)
