"""Escape from a saddle point: gradient descent against a negative-curvature step and gradient noise.

Read top to bottom: config, the three runs from the same start, what is logged (``escapes.json``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from matplotlib.figure import Figure

from descentlab.config import RunConfig, param
from descentlab.experiments.declaration import Experiment, TourSettings
from descentlab.landscape import LANDSCAPES
from descentlab.landscape.saddles import METHODS, escape
from descentlab.report import Bound, Claim, Section
from descentlab.runs import Run, RunRecord, StopFlag
from descentlab.runs.checkpoint import atomic_write_bytes
from descentlab.training.landscape_figures import race_paths

STARTS = {"saddle": (-1.5, 1e-6), "monkey-saddle": (1.0, 1e-6)}  # a hair off the stable manifold


@dataclass(frozen=True)
class SaddleConfig(RunConfig):
    """Settings of ``descentlab landscape saddle``."""

    landscape: str = param("saddle", "the saddle to start beside", choices=tuple(STARTS))
    lr: float = param(0.05, "gradient-descent step size eta", low=0.0, low_open=True, high=0.2)
    steps: int = param(3000, "give up after this many steps", low=1, high=1_000_000)
    noise: float = param(0.01, "std of the gradient noise of the 'noise' method", low=0.0, low_open=True, high=10.0)
    depth: float = param(1.0, "escaped once f is this far below f(saddle)", low=0.0, low_open=True, high=100.0)

    @property
    def run_name(self) -> str:
        return self.landscape


def train(cfg: SaddleConfig, run: Run, stop: StopFlag, state: dict[str, Any] | None = None) -> dict[str, float]:
    """Each method from the same start; steps to escape (-1: never) as metrics, paths to escapes.json."""
    landscape = LANDSCAPES[cfg.landscape]
    start = STARTS[cfg.landscape]
    results = [escape(landscape, m, start, cfg.lr, cfg.steps, cfg.depth, cfg.noise, seed=cfg.seed) for m in METHODS]
    metrics = {f"{e.method}/steps_to_escape": float(e.escaped_at if e.escaped_at is not None else -1) for e in results}
    run.log(0, metrics)
    record = {
        "landscape": cfg.landscape,
        "start": start,
        "paths": [{"name": e.method, "lr": cfg.lr, "points": e.points, "losses": [landscape.value(p) for p in e.points],
                   "diverged": False} for e in results],
    }  # fmt: skip
    atomic_write_bytes(run.path / "escapes.json", json.dumps(record).encode())
    run.save_final_checkpoint(metrics)
    return metrics


def figures(record: RunRecord) -> dict[str, Figure]:
    data = json.loads((record.path / "escapes.json").read_text())
    return {"escape.png": race_paths(data)}


def escape_table(record: RunRecord) -> tuple[list[str], list[list[str]]]:
    m = record.final()
    rows = []
    for method in METHODS:
        steps = m.get(f"{method}/steps_to_escape", -1.0)
        rows.append([method, "never" if steps < 0 or math.isnan(steps) else f"{steps:.0f}"])
    return ["method", f"steps until f <= f(saddle) - {record.config.get('depth')}"], rows


def claims(record: RunRecord) -> list[Claim]:
    m = record.final()
    gd, noise, hessian = (m.get(f"{k}/steps_to_escape", -1.0) for k in ("gd", "noise", "hessian"))
    never = [k for k, v in (("gd", gd), ("noise", noise), ("hessian", hessian)) if v < 0]
    steps = {k: v if v >= 0 else math.inf for k, v in (("gd", gd), ("noise", noise), ("hessian", hessian))}
    return [Claim(
        "A step along the Hessian's most negative eigenvector, and noise on the gradient, each leave the saddle in "
        "fewer steps than plain gradient descent",
        f"steps to escape: Hessian step {hessian:.0f}, gradient noise {noise:.0f}, gradient descent {gd:.0f}"
        + (f" (never: {', '.join(never)})" if never else ""),
        [Bound("steps to escape with a Hessian step", steps["hessian"], "<", steps["gd"]),
         Bound("steps to escape with gradient noise", steps["noise"], "<", steps["gd"])],
    )]  # fmt: skip


def sections(runs: Sequence[RunRecord]) -> list[Section]:
    """'Saddle points' from ``descentlab landscape saddle`` runs."""
    return [
        Section(
            id=f"saddle-{r.config.get('landscape')}",
            title=f"Escaping the {r.config.get('landscape')}",
            caption=(
                f"Three methods from the same start a hair off the saddle's stable manifold, step size "
                f"{r.config.get('lr')}; each has escaped once f is {r.config.get('depth')} below the saddle."
            ),
            figures=[race_paths(json.loads((r.path / "escapes.json").read_text()))],
            table=escape_table(r),
            commands=[str(r.meta.get("command"))],
            claims=claims(r),
        )
        for r in runs
        if r.status == "complete"
    ]


def tour(settings: TourSettings) -> list[SaddleConfig]:
    return [SaddleConfig(seed=settings.seed, device=settings.device)]


LANDSCAPE_SADDLE = Experiment(
    command="landscape saddle",
    help="steps to escape a saddle: gradient descent, a negative-curvature step, gradient noise",
    description="From a hair off a saddle's stable manifold, count each method's steps until f is well below the saddle.",
    examples=("descentlab landscape saddle", "descentlab landscape saddle --landscape monkey-saddle --noise 0.05"),
    config=SaddleConfig,
    train=train,
    figures=figures,
    table=escape_table,
    sections=sections,
    tour=tour,
    headline=lambda r: "steps to escape: " + ", ".join(f"{k} {v:.0f}" for k, v in r.final().items()),
)
