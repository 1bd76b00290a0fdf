"""Optimizer races on analytic landscapes: the unit's contour plot of SGD against momentum, for all of them.

Every optimizer starts from the same point and takes the same number of steps; Gaussian noise on the
gradient (``noise``) stands in for the noise of stochastic gradients. Default learning rates come from
``default_lrs.json``, made by :func:`tune_lr` (an Optuna search; see that file for its provenance).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import torch

from descentlab.landscape.functions import Landscape, Point
from descentlab.optim.by_name import RACE_OPTIMIZERS as RACE_NAMES
from descentlab.optim.by_name import REGISTRY

#: the race's optimizers by name (descentlab.optim's registry): (params, lr) -> optimizer
RACE_OPTIMIZERS: dict[str, Callable[[list[torch.Tensor], float], torch.optim.Optimizer]] = {
    name: REGISTRY[name].make for name in RACE_NAMES
}
LR_RANGE = (1e-5, 10.0)  # the search range of tune_lr (log scale)
LR_FILE = Path(__file__).with_name("default_lrs.json")


@dataclass
class Trajectory:
    """One optimizer's path: the points visited and f there, from the start (index 0) on."""

    name: str
    lr: float
    points: list[Point] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    diverged: bool = False  # f became infinite or NaN (the path stops there)

    def steps_to(self, target: float, tol: float) -> int | None:
        """The first step at which f is within ``tol`` of ``target``; None if never."""
        return next((i for i, v in enumerate(self.losses) if abs(v - target) <= tol), None)


def run_one(
    landscape: Landscape, name: str, lr: float, start: Point, steps: int, noise: float = 0.0, seed: int = 0
) -> Trajectory:
    """``steps`` steps of optimizer ``name`` from ``start``; gradient noise N(0, noise^2) per coordinate."""
    return descend(landscape, lambda p: RACE_OPTIMIZERS[name](p, lr), start, steps, noise, seed, name=name, lr=lr)


def descend(
    landscape: Landscape,
    make_optimizer: Callable[[list[torch.Tensor]], torch.optim.Optimizer],
    start: Point,
    steps: int,
    noise: float = 0.0,
    seed: int = 0,
    name: str = "",
    lr: float = math.nan,
    stop_below: float | None = None,
) -> Trajectory:
    """``steps`` steps of any optimizer from ``start`` (stopping early once f < ``stop_below``)."""
    xy = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    opt = make_optimizer([xy])
    gen = torch.Generator().manual_seed(seed)
    path = Trajectory(name, lr, [start], [landscape.value(start)])
    for _ in range(steps):
        opt.zero_grad()
        loss = landscape(xy[0], xy[1])
        loss.backward()
        if noise > 0:
            assert xy.grad is not None
            xy.grad += noise * torch.randn(2, generator=gen, dtype=torch.float64)
        opt.step()
        x, y = (float(c) for c in xy.detach())
        value = landscape.value((x, y))
        if not (math.isfinite(value) and math.isfinite(x) and math.isfinite(y)) or abs(value) > 1e12:
            path.diverged = True
            break
        path.points.append((x, y))
        path.losses.append(value)
        if stop_below is not None and value < stop_below:
            break
    return path


def descend_together(
    landscape: Landscape,
    starts: Sequence[Point],
    make_optimizer: Callable[[list[torch.Tensor]], torch.optim.Optimizer],
    steps: int,
) -> list[Trajectory]:
    """Many descents at once, without noise: a point per start, one optimizer over all of them
    (``make_optimizer(points)``, with a parameter group per point where their settings differ) and one
    backward a step. Each path is the one :func:`descend` takes with that point's settings: the points share
    no state, and the gradient of a sum reaches each term unchanged. A path stops where it diverges, as
    :func:`descend`'s does, and the others go on."""
    points = [torch.tensor(s, dtype=torch.float64, requires_grad=True) for s in starts]
    opt = make_optimizer(points)
    paths = [Trajectory("", math.nan, [(s[0], s[1])], [landscape.value(s)]) for s in starts]
    live = list(range(len(points)))
    for _ in range(steps):
        if not live:
            break
        opt.zero_grad()  # a diverged point keeps no gradient, so the optimizer leaves it alone
        xy = torch.stack([points[k] for k in live])
        landscape(xy[:, 0], xy[:, 1]).sum().backward()
        opt.step()
        with torch.no_grad():
            now = torch.stack([points[k] for k in live])
            values = landscape(now[:, 0], now[:, 1]).tolist()
        for k, (x, y), value in zip(list(live), now.tolist(), values, strict=True):
            if not (math.isfinite(value) and math.isfinite(x) and math.isfinite(y)) or abs(value) > 1e12:
                paths[k].diverged = True
                live.remove(k)
                continue
            paths[k].points.append((x, y))
            paths[k].losses.append(value)
    return paths


def race(
    landscape: Landscape,
    lrs: dict[str, float],
    start: Point | None = None,
    steps: int = 500,
    noise: float = 0.0,
    seed: int = 0,
) -> list[Trajectory]:
    """Every optimizer of ``lrs`` (name -> learning rate) from the same start, with the same noise seed."""
    begin = start if start is not None else landscape.start
    return [run_one(landscape, name, lr, begin, steps, noise, seed) for name, lr in lrs.items()]


def tune_lr(landscape: Landscape, name: str, steps: int, trials: int = 30, seed: int = 0) -> float:
    """The learning rate with the lowest final f from the landscape's start (no noise), found by
    Optuna's TPE sampler (seeded, so the search is repeatable) over ``trials`` rates, log-uniform
    in [1e-5, 10]. A diverged run scores +inf; among equal scores the earliest trial wins.
    """
    import optuna

    def objective(trial: optuna.Trial) -> float:
        path = run_one(landscape, name, trial.suggest_float("lr", *LR_RANGE, log=True), landscape.start, steps)
        return math.inf if path.diverged else path.losses[-1]

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.create_study(direction="minimize", sampler=optuna.samplers.TPESampler(seed=seed))
    study.optimize(objective, n_trials=trials)
    return float(study.best_params["lr"])


@cache
def _stored() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(LR_FILE.read_text(encoding="utf-8"))
    return data


#: Learning rates that show each optimizer's character on Rosenbrock's valley rather than its best (500 steps
#: from (-1.5, 2)): gradient descent and momentum at the same rate (momentum ends 1,000 times lower), Adagrad's
#: steps shrinking fifteenfold, RMSProp's staying about the rate, Adam reaching the minimum.
SIGNATURE_LRS: dict[str, dict[str, float]] = {
    "rosenbrock": {name: r.signature_lr for name, r in REGISTRY.items() if r.signature_lr is not None}  # registry's
}
RATES = ("signature", "tuned")


def default_lr(landscape: str, optimizer: str, rates: str = "tuned") -> float:
    """The learning rate of ``optimizer`` on ``landscape``: ``tuned``, each optimizer's best after 500 steps
    (``default_lrs.json``), or ``signature`` (:data:`SIGNATURE_LRS`; the tuned one where none is set)."""
    if rates not in RATES:
        raise ValueError(f"Invalid rates: {rates!r} (valid: {', '.join(RATES)})")
    if rates == "signature" and optimizer in SIGNATURE_LRS.get(landscape, {}):
        return SIGNATURE_LRS[landscape][optimizer]
    return float(_stored()["lrs"][landscape][optimizer])
