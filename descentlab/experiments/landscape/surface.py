"""``descentlab landscape surface RUN_DIR``: the loss surface around a trained network (Li et al. 2018).

Loads an ``optim train`` run's final weights, rebuilds its initial weights (the run's seed draws them,
exactly as training did), and evaluates the training loss

* along the line from the initial to the trained weights, and on to a second run's trained weights
  when ``other`` is given (the barrier, if any, between two minima);
* on the plane through the trained weights spanned by two filter-normalized random directions.

Writes ``surface.json``, ``surface_1d.png`` and ``surface_2d.png`` (contours and a 3D view) into the run folder.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from torch import nn

from descentlab.config import Options, from_mapping, param
from descentlab.errors import UserError
from descentlab.experiments.declaration import Call, Command, TourSettings
from descentlab.landscape.surface import LossSurface, filter_normalized_direction
from descentlab.report import Bound, Claim, Section
from descentlab.runs import RunRecord, load_checkpoint, load_run, seed_everything
from descentlab.runs.checkpoint import atomic_write_bytes
from descentlab.training.mnist import OPTIM_TRAIN_RUNS, TrainConfig, load_splits, make_model, trained_run

EXPERIMENT = OPTIM_TRAIN_RUNS  # the runs it analyses


def _config(run_dir: str | Path) -> TrainConfig:
    record = load_run(run_dir)
    if record.experiment != EXPERIMENT:
        raise UserError(f"{run_dir}: 'landscape surface' needs an {EXPERIMENT} run; this one is {record.experiment}")
    return from_mapping(TrainConfig, record.config, source=str(Path(run_dir) / "config.json"))


def initial_model(cfg: TrainConfig) -> nn.Module:
    """The network as the run's training began: ``train`` seeds, then builds the model, on the CPU."""
    seed_everything(cfg.seed)
    return make_model(cfg.hidden)


def trained_model(run_dir: str | Path, cfg: TrainConfig) -> nn.Module:
    model = make_model(cfg.hidden)
    model.load_state_dict(load_checkpoint(Path(run_dir) / "checkpoint.pt")["model"])
    return model


def analyze_surface(
    run_dir: str | Path,
    other: str | Path | None = None,
    examples: int = 2000,
    grid: int = 21,
    span: float = 1.0,
    seed: int = 0,
) -> dict[str, Any]:
    """Evaluate the 1D and 2D loss surfaces; write them and their figures into ``run_dir``."""
    cfg = _config(run_dir)
    trained = trained_model(run_dir, cfg)
    splits = load_splits(cfg)
    train_x, train_y = (t[:examples] for t in splits["train"])
    val_x, val_y = (t[:examples] for t in splits["val"])
    on_train = LossSurface(trained, F.cross_entropy, train_x, train_y)
    on_val = LossSurface(trained, F.cross_entropy, val_x, val_y)
    theta = on_train.weights()
    theta0 = LossSurface(initial_model(cfg), F.cross_entropy, train_x, train_y).weights()

    alphas = [round(-0.5 + 0.05 * i, 10) for i in range(41)]  # exactly 0 and 1 among them
    lines = [
        {
            "name": "initial -> trained",
            "alphas": alphas,
            "train": on_train.interpolate(theta0, theta, alphas),
            "val": on_val.interpolate(theta0, theta, alphas),
        }
    ]
    if other is not None:
        other_cfg = _config(other)
        if other_cfg.hidden != cfg.hidden:
            raise UserError(f"--other {other}: its network has {other_cfg.hidden} hidden units, this one {cfg.hidden}")
        theta1 = [p.detach() for p in trained_model(other, other_cfg).parameters()]
        lines.append(
            {
                "name": f"trained -> {Path(other).name}",
                "alphas": alphas,
                "train": on_train.interpolate(theta, theta1, alphas),
                "val": on_val.interpolate(theta, theta1, alphas),
            }
        )

    gen = torch.Generator().manual_seed(seed)
    d1, d2 = filter_normalized_direction(theta, gen), filter_normalized_direction(theta, gen)
    coords = [round(-span + 2 * span * i / (grid - 1), 10) for i in range(grid)]  # 0 in the middle when grid is odd
    plane = on_train.plane(theta, d1, d2, coords)
    result = {
        "run": str(run_dir),
        "other": str(other) if other is not None else None,
        "examples": len(train_y),
        "lines": lines,
        "coords": coords,
        "plane": plane.tolist(),
        "center_loss": on_train.loss(theta),
        "seed": seed,
    }
    atomic_write_bytes(Path(run_dir) / "surface.json", json.dumps(result, indent=1).encode())
    for name, fig in (("surface_1d.png", loss_interpolation(result)), ("surface_2d.png", loss_plane(result))):
        fig.savefig(Path(run_dir) / name, dpi=110, bbox_inches="tight")
        plt.close(fig)
    return result


def barrier(line: dict[str, Any]) -> float:
    """The largest rise of the training loss above the straight line joining its ends (alpha in [0, 1])."""
    inside = [(a, v) for a, v in zip(line["alphas"], line["train"], strict=True) if 0 <= a <= 1]
    (a0, v0), (a1, v1) = inside[0], inside[-1]
    return max(v - (v0 + (v1 - v0) * (a - a0) / (a1 - a0)) for a, v in inside)


def loss_interpolation(result: dict[str, Any]) -> Figure:
    """Training and validation loss along the lines of ``surface.json`` (alpha 0 and 1 marked)."""
    lines = result["lines"]
    fig, axes = plt.subplots(1, len(lines), figsize=(6 * len(lines), 3.8), squeeze=False)
    for ax, line in zip(axes[0], lines, strict=True):
        ax.plot(line["alphas"], line["train"], label="training loss", color="C0")
        ax.plot(line["alphas"], line["val"], label="validation loss", color="C1", linestyle="--")
        for a in (0.0, 1.0):
            ax.axvline(a, color="0.6", linewidth=0.8)
        ax.set_yscale("log")
        ax.set(xlabel="alpha", ylabel="cross-entropy", title=line["name"])
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def loss_plane(result: dict[str, Any]) -> Figure:
    """The loss on the plane of two filter-normalized directions: contours (log scale) and a 3D view."""
    coords = np.array(result["coords"])
    a, b = np.meshgrid(coords, coords)  # rows: b, columns: a (as LossSurface.plane)
    z = np.log10(np.array(result["plane"]))
    fig = plt.figure(figsize=(12, 4.8))
    ax = fig.add_subplot(1, 2, 1)
    filled = ax.contourf(a, b, z, levels=30, cmap="viridis")
    ax.contour(a, b, z, levels=15, colors="k", linewidths=0.4)
    ax.plot(0, 0, "r*", markersize=12, label="trained weights")
    fig.colorbar(filled, ax=ax, label="log10 training loss")
    ax.set(xlabel="direction 1 (filter-normalized)", ylabel="direction 2", title="loss surface, contours")
    ax.legend(fontsize=8, loc="upper right")
    ax3 = fig.add_subplot(1, 2, 2, projection="3d")
    ax3.plot_surface(a, b, z, cmap="viridis", linewidth=0, antialiased=True)
    ax3.set(xlabel="direction 1", ylabel="direction 2", zlabel="log10 loss", title="loss surface, 3D")
    fig.tight_layout()
    return fig


def claims(result: dict[str, Any]) -> list[Claim]:
    first = result["lines"][0]
    inside = [v for a, v in zip(first["alphas"], first["train"], strict=True) if 0 <= a <= 1]
    out = [Claim(
        "Along the straight line from the initial to the trained weights the training loss falls all the way, "
        "with no bump (Goodfellow et al. 2015)",
        f"loss {inside[0]:.3g} at the initial weights, {inside[-1]:.3g} at the trained; barrier above the chord "
        f"{barrier(first):.3g}",
        [Bound("the largest rise between neighbouring points of the line", max(b - a for a, b in itertools.pairwise(inside)),
               "<", 0)],
    )]  # fmt: skip
    if len(result["lines"]) > 1:
        other = result["lines"][1]
        ends = [v for a, v in zip(other["alphas"], other["train"], strict=True) if a in (0.0, 1.0)]
        height = barrier(other)
        descent = inside[0] - max(ends)  # how far training brought the loss down
        out.append(Claim(
            "Two networks trained from the same initial weights by different optimizers lie in one basin: on the "
            "line between them the loss rises above the chord by less than 5% of the descent from the initial "
            "weights",
            f"barrier {height:.3g} above losses {ends[0]:.3g} and {ends[-1]:.3g} at the two ends; descent from the "
            f"initial weights {descent:.3g}",
            [Bound("the barrier over the descent", height / descent, "<", 0.05)],
        ))  # fmt: skip
    return out


def sections(runs: Sequence[RunRecord]) -> list[Section]:
    """'Loss surface of a trained network' from the ``surface.json`` files that ``landscape surface`` wrote."""
    results = [(r, json.loads((r.path / "surface.json").read_text())) for r in runs if r.experiment == EXPERIMENT
               and r.status == "complete" and (r.path / "surface.json").is_file()]  # fmt: skip
    if not results:
        return []
    rows = []
    for r, s in results:
        for line in s["lines"]:
            train = line["train"]
            at = line["alphas"].index
            rows.append([r.path.name, line["name"], f"{train[at(0.0)]:.4g}", f"{train[at(1.0)]:.4g}",
                         f"{barrier(line):.4g}"])  # fmt: skip
    return [
        Section(
            id="surface",
            title="The loss surface of a trained network",
            caption=(
                "The training loss along the line from the initial to the trained weights (and on to a second "
                "trained network's), and on the plane of two filter-normalized random directions."
            ),
            figures=[f(s) for _, s in results[:1] for f in (loss_interpolation, loss_plane)],
            table=(["run", "line", "train loss at alpha 0", "at alpha 1", "barrier above the chord"], rows),
            commands=[
                f"descentlab landscape surface {r.path}" + (f" --other {s['other']}" if s["other"] else "")
                for r, s in results
            ],
            claims=[c for _, s in results[:1] for c in claims(s)],
        )
    ]


def tour(settings: TourSettings, paths: Sequence[Path]) -> None:
    """The tour draws the loss surface around its Adam network, and the line on to its momentum network."""
    adam, momentum = trained_run(paths, "adam"), trained_run(paths, "momentum")
    if adam is not None:
        analyze_surface(adam, momentum, examples=500 if settings.quick else 1000, grid=9 if settings.quick else 17,
                        seed=settings.seed)  # fmt: skip


@dataclass(frozen=True)
class SurfaceOptions(Options):
    run_dir: str = param("", "a finished or interrupted optim-train run", positional=True, metavar="RUN_DIR")
    other: str | None = param(None, "a second optim-train run: interpolate between the two", metavar="RUN_DIR")
    examples: int = param(2000, "training images in the loss", low=1, high=60_000)
    grid: int = param(21, "points per side of the 2D plane", low=3, high=201)
    span: float = param(1.0, "the plane covers [-SPAN, SPAN]^2", low=0.0, low_open=True, high=1000.0)
    seed: int = param(0, "seed of the random directions", low=0, high=2**31 - 1)


def run_surface(call: Call) -> int:
    opts: SurfaceOptions = call.options
    result = analyze_surface(opts.run_dir, opts.other, opts.examples, opts.grid, opts.span, opts.seed)
    print(f"training loss at the trained weights ({result['examples']:,} images): {result['center_loss']:.4g}")
    for line in result["lines"]:
        start, end = line["train"][line["alphas"].index(0.0)], line["train"][line["alphas"].index(1.0)]
        print(f"{line['name']}: loss {start:.4g} -> {end:.4g}, barrier {barrier(line):.4g} above the straight line")
    plane = [v for row in result["plane"] for v in row]
    print(f"plane of {opts.grid}x{opts.grid} points in [-{opts.span:g}, {opts.span:g}]^2: "
          f"loss {min(plane):.4g} .. {max(plane):.4g}")  # fmt: skip
    names = ", ".join(str(Path(opts.run_dir) / n) for n in ("surface.json", "surface_1d.png", "surface_2d.png"))
    print(f"written: {names}")
    return 0


LANDSCAPE_SURFACE = Command(
    command="landscape surface",
    help="loss surface of an optim-train run: 1D interpolations and a filter-normalized 2D plane",
    description=(
        "Li et al. (2018): the training loss along the line from the run's initial to its trained\n"
        "weights (and on to --other's trained weights), and on the plane through the trained weights\n"
        "spanned by two filter-normalized random directions. Writes surface.json, surface_1d.png and\n"
        "surface_2d.png into the run folder."
    ),
    examples=(
        "descentlab landscape surface runs/optim-train/mnist-adam__0__20261126-120000",
        "descentlab landscape surface RUN_A --other RUN_B --grid 31 --span 0.5",
    ),
    run=run_surface,
    options=SurfaceOptions,
    sections=sections,
    tour=tour,
    reads=("optim-train",),
)
