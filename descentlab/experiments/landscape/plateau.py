"""``descentlab landscape plateau``: a flat region, one of the unit's ways training goes wrong, and its remedies.

On the ``plateau`` landscape, f = 1 - exp(-r^2 / 2), the gradient r exp(-r^2 / 2) all but vanishes far from
the well, so the steps gradient descent needs to leave the plateau grow like exp(r^2 / 2). Momentum
accumulates the small gradients (up to 1 / (1 - beta) times the step); RMSProp and Adam divide by the
gradient's own scale, so their steps stay about lr long.

Read top to bottom: config, the variants it runs, what is logged (``pathology.json``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from descentlab import optim
from descentlab.config import RunConfig, param
from descentlab.errors import ParameterError
from descentlab.experiments.declaration import Experiment, TourSettings
from descentlab.landscape import LANDSCAPES
from descentlab.landscape.race import descend
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


def plateau_variants(cfg: PlateauConfig) -> dict[str, Any]:
    return {
        "gd": lambda p: optim.SGD(p, lr=cfg.lr),
        "momentum": lambda p: optim.Momentum(p, lr=cfg.lr, momentum=0.9),
        "rmsprop": lambda p: optim.RMSProp(p, lr=cfg.adaptive_lr),
        "adam": lambda p: optim.Adam(p, lr=cfg.adaptive_lr),
    }


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
                paths.append(asdict(path))
    run.log(0, metrics)
    record = {"landscape": "plateau", "radii": radii, "paths": paths, "metrics": metrics}
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


def plateau_figures(record: RunRecord) -> dict[str, Figure]:
    data = json.loads((record.path / "pathology.json").read_text())
    return {"plateau.png": race_paths(data), "plateau_steps.png": plateau_steps(data)}


def plateau_table(record: RunRecord) -> tuple[list[str], list[list[str]]]:
    m = json.loads((record.path / "pathology.json").read_text())
    radii = m["radii"]
    rows = []
    for name in ("gd", "momentum", "rmsprop", "adam"):
        cells = [m["metrics"].get(f"{name}/steps_to_leave@r={r:g}", -1.0) for r in radii]
        rows.append([name, *("never" if c < 0 else f"{c:.0f}" for c in cells)])
    return ["method", *(f"steps to f < {LEAVE} from r = {r:g}" for r in radii)], rows


def plateau_claims(record: RunRecord) -> list[Claim]:
    data = json.loads((record.path / "pathology.json").read_text())
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


def plateau_sections(runs: Sequence[RunRecord]) -> list[Section]:
    """'Flat regions' from ``descentlab landscape plateau`` runs."""
    return [
        Section(
            id="plateau",
            title="Steps to leave a plateau",
            caption="Each method from starts at several distances r from the well of f = 1 - exp(-r^2/2).",
            figures=[
                plateau_steps(json.loads((r.path / "pathology.json").read_text())),
                race_paths(json.loads((r.path / "pathology.json").read_text())),
            ],
            table=plateau_table(r),
            commands=[str(r.meta.get("command"))],
            claims=plateau_claims(r),
        )
        for r in runs
        if r.status == "complete"
    ]


def plateau_tour(settings: TourSettings) -> list[PlateauConfig]:
    return [PlateauConfig(seed=settings.seed, device=settings.device, radii="3,4" if settings.quick else "3,4,5")]


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
