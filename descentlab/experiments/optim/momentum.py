"""``descentlab optim momentum``: the unit's warning that a large momentum passes the minimum.

Heavy-ball momentum (:class:`descentlab.optim.Momentum`) at several values of beta, one learning rate, from
the same start on the ill-conditioned ``quadratic-bowl`` (curvature 1 along x, 25 along y). Along a
direction of curvature h the iterate follows ``x_t = (1 + beta - lr h) x_{t-1} - beta x_{t-2}``, whose
characteristic roots are complex, so that the path crosses the minimum and swings back, exactly when
``(1 + beta - lr h)^2 < 4 beta``; their size is then ``sqrt(beta)``, the factor by which each swing shrinks.
A moderate beta speeds the slow direction up; a beta near 1 swings across the minimum for a long time.

Read top to bottom: config, the sweep, the theory it is checked against, figures, report.
"""

from __future__ import annotations

import functools
import itertools
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
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

LANDSCAPE = "quadratic-bowl"
SHALLOW = 1.0  # the bowl's curvature along x: the slow direction, where momentum matters


@dataclass(frozen=True)
class MomentumConfig(RunConfig):
    """Settings of ``descentlab optim momentum``."""

    betas: str = param("0,0.5,0.9,0.99", "comma list of momentum values beta, each in [0, 1)")
    lr: float = param(0.02, "learning rate of every run (stable for every beta below 1 up to 0.08)",
                      low=0.0, low_open=True, high=0.08)  # fmt: skip
    steps: int = param(300, "steps per beta", low=2, high=100_000)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.values()

    def values(self) -> list[float]:
        try:
            betas = [float(b) for b in self.betas.split(",")]
        except ValueError:
            betas = []
        if len(betas) < 2 or not all(0 <= b < 1 for b in betas) or len(set(betas)) != len(betas):
            raise ParameterError("betas", f"{self.betas!r} is not valid; valid: two or more different numbers in "
                                 "[0, 1), comma-separated, e.g. 0,0.5,0.9,0.99")  # fmt: skip
        return betas

    @property
    def run_name(self) -> str:
        return LANDSCAPE


def swings(beta: float, lr: float, curvature: float) -> bool:
    """Whether heavy-ball momentum crosses the minimum along a direction of this curvature: the roots of
    ``z^2 - (1 + beta - lr h) z + beta`` are complex."""
    return (1 + beta - lr * curvature) ** 2 < 4 * beta


def crossings(xs: Sequence[float]) -> int:
    """How many times a coordinate changes sign: the path crossing the minimum's line."""
    signs = [x > 0 for x in xs if x != 0]
    return sum(a != b for a, b in itertools.pairwise(signs))


def train(cfg: MomentumConfig, run: Run, stop: StopFlag, state: dict[str, Any] | None = None) -> dict[str, float]:
    """Each beta from the bowl's start: the path, f by step, the crossings of x = 0 and the final f."""
    landscape = LANDSCAPES[LANDSCAPE]
    metrics: dict[str, float] = {}
    paths: list[dict[str, Any]] = []
    for beta in cfg.values():
        name = f"beta={beta:g}"
        path = descend(landscape, functools.partial(optim.Momentum, lr=cfg.lr, momentum=beta), landscape.start,
                       cfg.steps, name=name, lr=cfg.lr)  # fmt: skip
        metrics[f"{name}/final_loss"] = path.losses[-1]
        metrics[f"{name}/crossings"] = float(crossings([x for x, _ in path.points]))
        metrics[f"{name}/diverged"] = float(path.diverged)
        paths.append({"name": name, "beta": beta, "lr": cfg.lr, "points": path.points, "losses": path.losses,
                      "diverged": path.diverged})  # fmt: skip
    every = max(1, cfg.steps // 200)
    for step in range(0, cfg.steps + 1, every):
        run.log(step, {f"loss/{p['name']}": p["losses"][step] for p in paths if step < len(p["losses"])})
    record = {"landscape": LANDSCAPE, "paths": paths, "metrics": metrics}
    atomic_write_bytes(run.path / "momentum.json", json.dumps(record).encode())
    run.save_final_checkpoint(metrics, cfg.steps)
    return metrics


# ---- figures, table, claims, report -------------------------------------------------------------


def _data(record: RunRecord) -> dict[str, Any]:
    return dict(json.loads((record.path / "momentum.json").read_text()))


def x_against_step(data: dict[str, Any]) -> Figure:
    """The slow coordinate x against step for each beta, with the minimum's x = 0: each crossing of the
    line is the path passing the minimum."""
    fig, ax = plt.subplots(figsize=(8, 3.8))
    for i, p in enumerate(data["paths"]):
        ax.plot([x for x, _ in p["points"]], color=f"C{i}", ls=("-", "--", "-.", ":")[i % 4], label=p["name"])
    ax.axhline(0, color="k", lw=0.8)
    ax.set(xlabel="step", ylabel="x (the minimum is at 0)", title="the slow direction: passing the minimum")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=len(data["paths"]))
    fig.tight_layout()
    return fig


def figures(record: RunRecord) -> dict[str, Figure]:
    data = _data(record)
    return {"momentum.png": race_paths(data), "momentum_x.png": x_against_step(data)}


def table(record: RunRecord) -> tuple[list[str], list[list[str]]]:
    data = _data(record)
    m, lr = data["metrics"], float(record.config.get("lr", 0.02))
    rows = [[f"{p['beta']:g}", f"{m[p['name'] + '/final_loss']:.3g}", f"{m[p['name'] + '/crossings']:.0f}",
             "yes" if swings(p["beta"], lr, SHALLOW) else "no", f"{math.sqrt(p['beta']):.3f}"
             if swings(p["beta"], lr, SHALLOW) else "-"] for p in data["paths"]]  # fmt: skip
    return ["beta", "final f", "crossings of x = 0", "swings in theory", "each swing shrinks by (sqrt beta)"], rows


def claims(record: RunRecord) -> list[Claim]:
    data = _data(record)
    m, lr = data["metrics"], float(record.config.get("lr", 0.02))
    betas = sorted(p["beta"] for p in data["paths"])
    calm = [b for b in betas if not swings(b, lr, SHALLOW)]
    swinging = [b for b in betas if swings(b, lr, SHALLOW)]
    claims_out = []
    if calm and swinging:
        worst_calm = max(m[f"beta={b:g}/crossings"] for b in calm)
        fewest = min(m[f"beta={b:g}/crossings"] for b in swinging)
        claims_out.append(Claim(
            f"The theory tells which betas pass the minimum: at learning rate {lr:g} along the slow direction, "
            f"beta {', '.join(f'{b:g}' for b in calm)} never cross x = 0 (real roots), beta "
            f"{', '.join(f'{b:g}' for b in swinging)} cross it (complex roots)",
            "crossings of x = 0: " + ", ".join(f"beta {b:g}: {m[f'beta={b:g}/crossings']:.0f}" for b in betas),
            [Bound("most crossings among the betas that should not swing", worst_calm, "<", 1),
             Bound("fewest crossings among the betas that should swing", fewest, ">", 0)],
        ))  # fmt: skip
    large, moderate = max(betas), [b for b in betas if b < max(betas)]
    if moderate:
        best = min(moderate, key=lambda b: m[f"beta={b:g}/final_loss"])
        f_large, f_best = m[f"beta={large:g}/final_loss"], m[f"beta={best:g}/final_loss"]
        claims_out.append(Claim(
            f"A large momentum passes the minimum again and again: after {record.config.get('steps')} steps beta "
            f"{large:g}, whose swings shrink only by sqrt({large:g}) = {math.sqrt(large):.3f} a step, is still "
            f"swinging and ends higher than beta {best:g}, the best of the smaller ones",
            f"final f: beta {large:g} {f_large:.3g}, beta {best:g} {f_best:.3g}",
            [Bound(f"final f at beta {large:g}", f_large, ">", f_best)],
        ))  # fmt: skip
    return claims_out


def sections(runs: Sequence[RunRecord]) -> list[Section]:
    return [
        Section(
            id="momentum-sweep",
            title="A large momentum passes the minimum",
            caption=(
                f"Heavy-ball momentum at beta {r.config.get('betas', '').replace(',', ', ')}, learning rate "
                f"{r.config.get('lr')}, {r.config.get('steps')} steps from the same start on the bowl f = (x^2 + "
                "25 y^2) / 2. Above: the paths and f by step; below: the slow coordinate x by step, where each "
                "crossing of the line x = 0 is the path passing the minimum."
            ),
            figures=[race_paths(_data(r)), x_against_step(_data(r))],
            table=table(r),
            commands=[str(r.meta.get("command"))],
            claims=claims(r),
        )
        for r in runs
        if r.status == "complete"
    ]


def tour(settings: TourSettings) -> list[MomentumConfig]:
    return [MomentumConfig(seed=settings.seed, device=settings.device)]


OPTIM_MOMENTUM = Experiment(
    command="optim momentum",
    help="a momentum sweep: a moderate beta speeds descent up, a large one passes the minimum",
    description=(
        "Heavy-ball momentum at several betas and one learning rate on an ill-conditioned bowl; counts\n"
        "each beta's crossings of the minimum along the slow direction against the theory (complex\n"
        "roots of z^2 - (1 + beta - lr h) z + beta) and its final f. Writes momentum.json, momentum.png\n"
        "and momentum_x.png."
    ),
    examples=("descentlab optim momentum", "descentlab optim momentum --betas 0,0.8,0.95,0.999 --steps 2000"),
    config=MomentumConfig,
    train=train,
    figures=figures,
    table=table,
    sections=sections,
    tour=tour,
    headline=lambda r: claims(r)[-1].evidence if claims(r) else "",
)
