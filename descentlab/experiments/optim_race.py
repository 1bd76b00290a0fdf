"""Race the optimizers on an analytic landscape, as in the unit's contour plot of SGD against momentum.

Read top to bottom: config, the race, what is logged. The paths go to ``trajectories.json`` in the run
folder; the figures (trajectories over the contours, loss against step, an optional GIF) are drawn
from that file.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from descentlab.config import RunConfig, param
from descentlab.errors import ConfigError, Interrupted
from descentlab.landscape import LANDSCAPES
from descentlab.landscape.functions import Point
from descentlab.landscape.race import RACE_OPTIMIZERS, default_lr, race
from descentlab.runs import Run, RunRecord, StopFlag
from descentlab.runs.checkpoint import atomic_write_bytes

EXPERIMENT = "optim-race"


@dataclass(frozen=True)
class RaceConfig(RunConfig):
    """Settings of ``descentlab optim race``."""

    landscape: str = param("rosenbrock", "the surface to race on", choices=tuple(LANDSCAPES))
    optimizers: str = param("all", f"'all' or a comma list of: {', '.join(RACE_OPTIMIZERS)}")
    start: str = param("", "starting point 'X,Y' (default: the landscape's customary start)")
    steps: int = param(500, "steps per optimizer", low=1, high=100_000)
    noise: float = param(0.0, "std of Gaussian noise added to each gradient coordinate", low=0.0, high=100.0)
    lr: str = param("", "learning-rate overrides 'NAME=VALUE,NAME=VALUE' (default: the tuned ones)")
    tol: float = param(1e-3, "f within tol of the minimum counts as reached", low=0.0, low_open=True, high=1e3)
    gif: bool = param(False, "also write an animated race.gif")

    def __post_init__(self) -> None:
        super().__post_init__()
        self.names()
        self.start_point()
        self.learning_rates()

    def names(self) -> list[str]:
        if self.optimizers == "all":
            return list(RACE_OPTIMIZERS)
        names = [n.strip() for n in self.optimizers.split(",") if n.strip()]
        unknown = [n for n in names if n not in RACE_OPTIMIZERS]
        if unknown or not names:
            raise ConfigError(
                f"optimizers: {self.optimizers!r} is not valid; valid: all, or a comma list of {', '.join(RACE_OPTIMIZERS)}"
            )
        return names

    def start_point(self) -> Point:
        if not self.start:
            return LANDSCAPES[self.landscape].start
        try:
            x, y = (float(v) for v in self.start.split(","))
        except ValueError:
            raise ConfigError(f"start: {self.start!r} is not valid; valid: two numbers 'X,Y', e.g. -1.5,2") from None
        if not (math.isfinite(x) and math.isfinite(y)):
            raise ConfigError(f"start: {self.start!r} is not finite; valid: two finite numbers 'X,Y'")
        return x, y

    def learning_rates(self) -> dict[str, float]:
        lrs = {name: default_lr(self.landscape, name) for name in self.names()}
        for item in filter(None, (s.strip() for s in self.lr.split(","))):
            name, _, value = item.partition("=")
            try:
                rate = float(value)
            except ValueError:
                rate = -1.0
            if name not in lrs or not 0 < rate < math.inf:
                raise ConfigError(
                    f"lr: {item!r} is not valid; valid: NAME=VALUE with NAME among {', '.join(lrs)} and VALUE > 0"
                )
            lrs[name] = rate
        return lrs

    @property
    def run_name(self) -> str:
        return self.landscape


def train(cfg: RaceConfig, run: Run, stop: StopFlag, state: dict[str, Any] | None = None) -> dict[str, float]:
    """Run the race, log every optimizer's f by step, write ``trajectories.json``; final metrics."""
    landscape = LANDSCAPES[cfg.landscape]
    if state is not None and state.get("final"):
        return dict(json.loads((run.path / "trajectories.json").read_text())["metrics"])
    paths = race(landscape, cfg.learning_rates(), cfg.start_point(), cfg.steps, cfg.noise, cfg.seed)
    if stop.requested:  # the race is short: an interrupted one starts again on --resume
        raise Interrupted(str(run.save_checkpoint({"step": 0, "final": False})))
    every = max(1, cfg.steps // 200)
    for step in range(0, cfg.steps + 1, every):
        run.log(step, {f"loss/{p.name}": p.losses[step] for p in paths if step < len(p.losses)})
    target = landscape.minimum_value if landscape.minimum_value is not None else 0.0
    metrics: dict[str, float] = {}
    for p in paths:
        nearest = landscape.nearest_minimum(p.points[-1])
        reached = p.steps_to(target, cfg.tol) if landscape.minima else None
        metrics[f"{p.name}/final_loss"] = p.losses[-1]
        metrics[f"{p.name}/distance"] = nearest[1] if nearest else math.nan
        metrics[f"{p.name}/steps_to_tol"] = float(reached) if reached is not None else -1.0
        metrics[f"{p.name}/diverged"] = float(p.diverged)
    record = {
        "landscape": cfg.landscape,
        "tol": cfg.tol,
        "paths": [
            {"name": p.name, "lr": p.lr, "points": p.points, "losses": p.losses, "diverged": p.diverged} for p in paths
        ],
        "metrics": metrics,
    }
    atomic_write_bytes(run.path / "trajectories.json", json.dumps(record).encode())
    run.save_checkpoint({"step": cfg.steps, "final": True})
    return metrics


def figures(record: RunRecord) -> dict[str, Any]:
    """Trajectories over the contours and f against step, from ``trajectories.json``; a GIF if asked."""
    from descentlab.report.figures import race_animation, race_paths

    data = json.loads((record.path / "trajectories.json").read_text())
    out = {"race.png": race_paths(data)}
    if record.config.get("gif"):
        race_animation(data, record.path / "race.gif")
    return out
