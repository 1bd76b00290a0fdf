"""Flat regions and high curvature: two of the unit's ways training goes wrong, each with its remedies.

* ``descentlab landscape plateau``: on the ``plateau`` landscape, f = 1 - exp(-r^2 / 2), the gradient
  r exp(-r^2 / 2) all but vanishes far from the well, so the steps gradient descent needs to leave the
  plateau grow like exp(r^2 / 2). Momentum accumulates the small gradients (up to 1 / (1 - beta) times
  the step); RMSProp and Adam divide by the gradient's own scale, so their steps stay about lr long.
* ``descentlab landscape steep``: from (-2, -1) on Rosenbrock the curvature (the Hessian's largest
  eigenvalue) is about 5,300, so a step size that is stable near the minimum (curvature about 1,000)
  throws gradient descent off the map within two steps. Clipping the gradient's norm bounds the step;
  an adaptive method scales it.

Read top to bottom: configs, the variants each runs, what is logged (``pathology.json``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure

from descentlab import optim
from descentlab.config import RunConfig, param
from descentlab.errors import ParameterError
from descentlab.experiments.declaration import Experiment, TourSettings
from descentlab.landscape import LANDSCAPES
from descentlab.landscape.race import Trajectory, descend
from descentlab.optim import transforms as T
from descentlab.report import Bound, Claim, Section
from descentlab.runs import Run, RunRecord, StopFlag
from descentlab.runs.checkpoint import atomic_write_bytes
from descentlab.training.landscape_figures import race_paths

LEAVE = 0.5  # f below this: off the plateau, on the well's slope
ANGLE = 0.2  # starts lie on the ray at this angle (radians) from the x axis


@dataclass(frozen=True)
class PlateauConfig(RunConfig):
    """Settings of ``descentlab landscape plateau``."""

    radii: str = param("3,4,5", "comma list of starting distances from the well's centre")
    lr: float = param(1.0, "step size of gradient descent and momentum", low=0.0, low_open=True, high=1.9)
    adaptive_lr: float = param(0.05, "step size of RMSProp and Adam", low=0.0, low_open=True, high=1.0)
    steps: int = param(40_000, "give up after this many steps", low=1, high=1_000_000)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.distances()

    def distances(self) -> list[float]:
        try:
            radii = [float(r) for r in self.radii.split(",")]
        except ValueError:
            radii = []
        if not radii or not all(0 < r <= 6 for r in radii):
            valid = "a comma list of numbers in (0, 6], e.g. 3,4,5"
            raise ParameterError("radii", f"{self.radii!r} is not valid; valid: {valid}")
        return radii

    @property
    def run_name(self) -> str:
        return "plateau"


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


def plateau_variants(cfg: PlateauConfig) -> dict[str, Any]:
    return {
        "gd": lambda p: optim.SGD(p, lr=cfg.lr),
        "momentum": lambda p: optim.Momentum(p, lr=cfg.lr, momentum=0.9),
        "rmsprop": lambda p: optim.RMSProp(p, lr=cfg.adaptive_lr),
        "adam": lambda p: optim.Adam(p, lr=cfg.adaptive_lr),
    }


def steep_variants(cfg: SteepConfig) -> dict[str, Any]:
    return {
        "gd": lambda p: optim.SGD(p, lr=cfg.lr),
        "gd + clip": lambda p: optim.SGD(p, lr=cfg.lr, gradient_transform=T.clip_by_global_norm(cfg.clip)),
        "rmsprop": lambda p: optim.RMSProp(p, lr=cfg.rmsprop_lr),
        "adam": lambda p: optim.Adam(p, lr=cfg.adam_lr),
    }


def _path(p: Trajectory) -> dict[str, Any]:
    return {"name": p.name, "lr": p.lr, "points": p.points, "losses": p.losses, "diverged": p.diverged}


def plateau_train(
    cfg: PlateauConfig, run: Run, stop: StopFlag, state: dict[str, Any] | None = None
) -> dict[str, float]:
    """Steps to leave the plateau (f < 0.5) from each distance; the paths from the farthest start."""
    landscape = LANDSCAPES["plateau"]
    metrics: dict[str, float] = {}
    paths = []
    radii = cfg.distances()
    for name, make in plateau_variants(cfg).items():
        for r in radii:
            start = (r * math.cos(ANGLE), r * math.sin(ANGLE))
            lr = cfg.lr if name in ("gd", "momentum") else cfg.adaptive_lr
            path = descend(landscape, make, start, cfg.steps, name=name, lr=lr, stop_below=1e-4)
            left = next((i for i, v in enumerate(path.losses) if v < LEAVE), None)
            metrics[f"{name}/steps_to_leave@r={r:g}"] = float(left) if left is not None else -1.0
            if r == max(radii):
                paths.append(_path(path))
    run.log(0, metrics)
    record = {"landscape": "plateau", "radii": radii, "paths": paths, "metrics": metrics}
    atomic_write_bytes(run.path / "pathology.json", json.dumps(record).encode())
    run.save_final_checkpoint(metrics)
    return metrics


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
        paths.append(_path(path))
    run.log(0, metrics)
    record = {"landscape": "rosenbrock", "paths": paths, "metrics": metrics}
    atomic_write_bytes(run.path / "pathology.json", json.dumps(record).encode())
    run.save_final_checkpoint(metrics)
    return metrics


def plateau_steps(data: dict[str, Any]) -> Figure:
    """Steps to leave the plateau against the starting distance, one line per method (log scale)."""
    fig, ax = plt.subplots(figsize=(6, 4))
    radii = data["radii"]
    for i, name in enumerate(("gd", "momentum", "rmsprop", "adam")):
        steps = [data["metrics"].get(f"{name}/steps_to_leave@r={r:g}", -1.0) for r in radii]
        pts = [(r, s) for r, s in zip(radii, steps, strict=True) if s > 0]
        if pts:
            ax.plot(*zip(*pts, strict=True), "o-", color=f"C{i}", label=name)
    ax.set_yscale("log")
    ax.set(xlabel="distance of the start from the well's centre", ylabel="steps until f < 0.5",
           title="a flat region: steps to leave it")  # fmt: skip
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def _data(record: RunRecord) -> dict[str, Any]:
    return dict(json.loads((record.path / "pathology.json").read_text()))


def plateau_figures(record: RunRecord) -> dict[str, Figure]:
    data = _data(record)
    return {"plateau.png": race_paths(data), "plateau_steps.png": plateau_steps(data)}


def steep_figures(record: RunRecord) -> dict[str, Figure]:
    return {"steep.png": race_paths(_data(record))}


def plateau_table(record: RunRecord) -> tuple[list[str], list[list[str]]]:
    m = json.loads((record.path / "pathology.json").read_text())
    radii = m["radii"]
    rows = []
    for name in ("gd", "momentum", "rmsprop", "adam"):
        cells = [m["metrics"].get(f"{name}/steps_to_leave@r={r:g}", -1.0) for r in radii]
        rows.append([name, *("never" if c < 0 else f"{c:.0f}" for c in cells)])
    return ["method", *(f"steps to f < {LEAVE} from r = {r:g}" for r in radii)], rows


def steep_table(record: RunRecord) -> tuple[list[str], list[list[str]]]:
    m = json.loads((record.path / "pathology.json").read_text())["metrics"]
    rows = []
    for name in ("gd", "gd + clip", "rmsprop", "adam"):
        at = m[f"{name}/diverged_at"]
        final = "-" if at >= 0 else f"{m[f'{name}/final_loss']:.4g}"
        rows.append([name, final, "no" if at < 0 else f"at step {at:.0f}",
                     f"{m[f'{name}/longest_step']:.3g}"])  # fmt: skip
    return ["method", "final f", "diverged", "longest step"], rows


def plateau_claims(record: RunRecord) -> list[Claim]:
    data = _data(record)
    radii, m = data["radii"], data["metrics"]
    near, far = min(radii), max(radii)

    def growth(name: str) -> float:
        a, b = m.get(f"{name}/steps_to_leave@r={near:g}", -1.0), m.get(f"{name}/steps_to_leave@r={far:g}", -1.0)
        return math.inf if a <= 0 or b <= 0 else b / a

    gd, rms, adam = growth("gd"), growth("rmsprop"), growth("adam")
    exit_radius = math.sqrt(-2 * math.log(1 - LEAVE))  # where f = LEAVE
    distance = (far - exit_radius) / (near - exit_radius)  # how much farther there is to go
    return [Claim(
        f"From r = {near:g} to r = {far:g} the distance to go grows {distance:.2f} times; the steps gradient descent "
        "needs to leave the plateau grow more than 3 times as much as that (its steps shrink with the gradient), "
        "RMSProp's and Adam's less than twice as much, since their steps keep their size",
        f"growth of the steps to leave: gradient descent {gd:.1f}x, RMSProp {rms:.2f}x, Adam {adam:.2f}x; "
        f"distance to go {distance:.2f}x",
        [Bound("growth of gradient descent's steps to leave", gd, ">", 3 * distance),
         Bound("growth of RMSProp's steps to leave", rms, "<", 2 * distance),
         Bound("growth of Adam's steps to leave", adam, "<", 2 * distance)],
    )]  # fmt: skip


def steep_claims(record: RunRecord) -> list[Claim]:
    m = _data(record)["metrics"]
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


def plateau_sections(runs: Sequence[RunRecord]) -> list[Section]:
    """'Flat regions' from ``descentlab landscape plateau`` runs."""
    return [
        Section(
            id="plateau",
            title="Steps to leave a plateau",
            caption="Each method from starts at several distances r from the well of f = 1 - exp(-r^2/2).",
            figures=[plateau_steps(_data(r)), race_paths(_data(r))],
            table=plateau_table(r),
            commands=[str(r.meta.get("command"))],
            claims=plateau_claims(r),
        )
        for r in runs
        if r.status == "complete"
    ]


def steep_sections(runs: Sequence[RunRecord]) -> list[Section]:
    """'High curvature' from ``descentlab landscape steep`` runs."""
    return [
        Section(
            id="steep",
            title="A steep wall: divergence, and clipping or adaptive steps",
            caption="From (-2, -1) on Rosenbrock's function, where the curvature (the largest eigenvalue of the "
            "Hessian) is about 5,300, against about 1,000 at the minimum.",
            figures=[race_paths(_data(r))],
            table=steep_table(r),
            commands=[str(r.meta.get("command"))],
            claims=steep_claims(r),
        )
        for r in runs
        if r.status == "complete"
    ]


def plateau_tour(settings: TourSettings) -> list[PlateauConfig]:
    return [PlateauConfig(seed=settings.seed, device=settings.device, radii="3,4" if settings.quick else "3,4,5")]


def steep_tour(settings: TourSettings) -> list[SteepConfig]:
    return [SteepConfig(seed=settings.seed, device=settings.device, steps=1500 if settings.quick else 5000)]


LANDSCAPE_PLATEAU = Experiment(
    command="landscape plateau",
    help="a flat region: steps to leave it for gradient descent, momentum, RMSProp and Adam",
    description=(
        "On f = 1 - exp(-r^2/2) the gradient all but vanishes far from the well. Counts each method's\n"
        "steps until f < 0.5 from several distances. Writes pathology.json, plateau.png, plateau_steps.png."
    ),
    examples=("descentlab landscape plateau", "descentlab landscape plateau --radii 2,3,4,5,5.5"),
    config=PlateauConfig,
    train=plateau_train,
    figures=plateau_figures,
    table=plateau_table,
    sections=plateau_sections,
    tour=plateau_tour,
    headline=lambda r: plateau_claims(r)[0].evidence,
)

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
