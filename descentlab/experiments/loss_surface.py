"""``descentlab landscape surface RUN_DIR``: the loss surface around a trained network (Li et al. 2018).

Loads an ``optim train`` run's final weights, rebuilds its initial weights (the run's seed draws them,
exactly as training did), and evaluates the training loss

* along the line from the initial to the trained weights, and on to a second run's trained weights
  when ``other`` is given (the barrier, if any, between two minima);
* on the plane through the trained weights spanned by two filter-normalized random directions.

Writes ``surface.json``, ``surface_1d.png`` and ``surface_2d.png`` (contours and a 3D view) into the run folder.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from descentlab.config import from_mapping
from descentlab.errors import UserError
from descentlab.experiments.optim_train import EXPERIMENT, TrainConfig, load_splits, make_model
from descentlab.landscape.surface import LossSurface, filter_normalized_direction
from descentlab.runs import load_checkpoint, load_run, seed_everything
from descentlab.runs.checkpoint import atomic_write_bytes


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
    import matplotlib.pyplot as plt

    from descentlab.report.figures import loss_interpolation, loss_plane

    for name, fig in (("surface_1d.png", loss_interpolation(result)), ("surface_2d.png", loss_plane(result))):
        fig.savefig(Path(run_dir) / name, dpi=110, bbox_inches="tight")
        plt.close(fig)
    return result


def barrier(line: dict[str, Any]) -> float:
    """The largest rise of the training loss above the straight line joining its ends (alpha in [0, 1])."""
    inside = [(a, v) for a, v in zip(line["alphas"], line["train"], strict=True) if 0 <= a <= 1]
    (a0, v0), (a1, v1) = inside[0], inside[-1]
    return max(v - (v0 + (v1 - v0) * (a - a0) / (a1 - a0)) for a, v in inside)
