"""``descentlab landscape steep``: high curvature, one of the unit's ways training goes wrong, and its remedies.

From (-2, -1) on Rosenbrock the curvature (the Hessian's largest eigenvalue) is about 5,300, so a step size
that is stable near the minimum (curvature about 1,000) throws gradient descent off the map within two
steps. Clipping the gradient's norm bounds the step; an adaptive method scales it.

Read top to bottom: config, the variants it runs, what is logged (``pathology.json``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import torch
from matplotlib.figure import Figure

from descentlab import optim
from descentlab.config import RunConfig, param
from descentlab.experiments.declaration import Experiment, TourSettings
from descentlab.landscape import LANDSCAPES
from descentlab.landscape.race import descend
from descentlab.optim import transforms as T
from descentlab.report import Bound, Claim, Section
from descentlab.runs import Run, RunRecord, StopFlag
from descentlab.runs.checkpoint import atomic_write_bytes
from descentlab.training.landscape_figures import race_paths


@dataclass(frozen=True)
class SteepConfig(RunConfig):
    """Settings of ``descentlab landscape steep``."""

    lr: float = param(1.5e-3, "step size of gradient descent (stable near the minimum below 2e-3)",
                      low=0.0, low_open=True, high=1e-2)  # fmt: skip
    clip: float = param(
        10.0, "clip the gradient to this L2 norm in the 'gd + clip' variant", low=0.0, low_open=True, high=1e6
    )
    rmsprop_lr: float = param(0.01, "step size of RMSProp", low=0.0, low_open=True, high=1.0)
    adam_lr: float = param(0.02, "step size of Adam", low=0.0, low_open=True, high=1.0)
    steps: int = param(5000, "steps per variant", low=1, high=1_000_000)

    @property
    def run_name(self) -> str:
        return "rosenbrock"


def steep_variants(cfg: SteepConfig) -> dict[str, Any]:
    return {
        "gd": lambda p: optim.SGD(p, lr=cfg.lr),
        "gd + clip": lambda p: optim.SGD(p, lr=cfg.lr, gradient_transform=T.clip_by_global_norm(cfg.clip)),
        "rmsprop": lambda p: optim.RMSProp(p, lr=cfg.rmsprop_lr),
        "adam": lambda p: optim.Adam(p, lr=cfg.adam_lr),
    }


def steep_train(cfg: SteepConfig, run: Run, stop: StopFlag, state: dict[str, Any] | None = None) -> dict[str, float]:
    """Each variant from (-2, -1) on Rosenbrock: final f, the step it diverged at, its longest step."""
    landscape = LANDSCAPES["rosenbrock"]
    metrics: dict[str, float] = {}
    paths = []
    lrs = {"gd": cfg.lr, "gd + clip": cfg.lr, "rmsprop": cfg.rmsprop_lr, "adam": cfg.adam_lr}
    for name, make in steep_variants(cfg).items():
        path = descend(landscape, make, (-2.0, -1.0), cfg.steps, name=name, lr=lrs[name])
        pts = torch.tensor(path.points, dtype=torch.float64)
        metrics[f"{name}/final_loss"] = path.losses[-1]  # the last finite f when it diverged
        metrics[f"{name}/diverged_at"] = float(len(path.losses)) if path.diverged else -1.0
        metrics[f"{name}/longest_step"] = float((pts[1:] - pts[:-1]).norm(dim=1).max()) if len(pts) > 1 else 0.0
        paths.append(asdict(path))
    run.log(0, metrics)
    record = {"landscape": "rosenbrock", "paths": paths, "metrics": metrics}
    atomic_write_bytes(run.path / "pathology.json", json.dumps(record).encode())
    run.save_final_checkpoint(metrics)
    return metrics


def steep_figures(record: RunRecord) -> dict[str, Figure]:
    return {"steep.png": race_paths(json.loads((record.path / "pathology.json").read_text()))}


def steep_table(record: RunRecord) -> tuple[list[str], list[list[str]]]:
    m = json.loads((record.path / "pathology.json").read_text())["metrics"]
    rows = []
    for name in ("gd", "gd + clip", "rmsprop", "adam"):
        at = m[f"{name}/diverged_at"]
        final = "-" if at >= 0 else f"{m[f'{name}/final_loss']:.4g}"
        rows.append([name, final, "no" if at < 0 else f"at step {at:.0f}",
                     f"{m[f'{name}/longest_step']:.3g}"])  # fmt: skip
    return ["method", "final f", "diverged", "longest step"], rows


def steep_claims(record: RunRecord) -> list[Claim]:
    m = json.loads((record.path / "pathology.json").read_text())["metrics"]
    at = {name: m[f"{name}/diverged_at"] for name in ("gd", "gd + clip", "rmsprop", "adam")}
    steps = float(record.config.get("steps", 5000))
    diverged = {k: v if v >= 0 else math.inf for k, v in at.items()}  # the step it diverged at; inf: never
    return [Claim(
        "Gradient descent with a step size that is stable near the minimum diverges from the steep wall; with its "
        "gradient clipped, and RMSProp and Adam, do not",
        ", ".join(f"{k}: {'diverged at step ' + format(v, '.0f') if v >= 0 else 'finite'}" for k, v in at.items()),
        [Bound("the step at which gradient descent diverged", diverged["gd"], "<", steps + 1)]
        + [Bound(f"the step at which {k} diverged", diverged[k], ">", steps + 1) for k in ("gd + clip", "rmsprop", "adam")],
    )]  # fmt: skip


def steep_sections(runs: Sequence[RunRecord]) -> list[Section]:
    """'High curvature' from ``descentlab landscape steep`` runs."""
    return [
        Section(
            id="steep",
            title="A steep wall: divergence, and clipping or adaptive steps",
            caption="From (-2, -1) on Rosenbrock's function, where the curvature (the largest eigenvalue of the "
            "Hessian) is about 5,300, against about 1,000 at the minimum.",
            figures=[race_paths(json.loads((r.path / "pathology.json").read_text()))],
            table=steep_table(r),
            commands=[str(r.meta.get("command"))],
            claims=steep_claims(r),
        )
        for r in runs
        if r.status == "complete"
    ]


def steep_tour(settings: TourSettings) -> list[SteepConfig]:
    return [SteepConfig(seed=settings.seed, device=settings.device, steps=1500 if settings.quick else 5000)]


LANDSCAPE_STEEP = Experiment(
    command="landscape steep",
    help="high curvature: gradient descent diverges; clipping or an adaptive method does not",
    description=(
        "From (-2, -1) on Rosenbrock, where the curvature is about 5,300, gradient descent with a step\n"
        "size that is stable near the minimum diverges; with its gradient clipped, or with RMSProp or\n"
        "Adam, it does not. Writes pathology.json and steep.png."
    ),
    examples=("descentlab landscape steep", "descentlab landscape steep --clip 1 --steps 20000"),
    config=SteepConfig,
    train=steep_train,
    figures=steep_figures,
    table=steep_table,
    sections=steep_sections,
    tour=steep_tour,
    headline=lambda r: steep_claims(r)[0].evidence,
)
