"""Race the optimizers on an analytic landscape, as in the unit's contour plot of SGD against momentum.

Read top to bottom: config, the race, what is logged. The paths go to ``trajectories.json`` in the run
folder; the figures (trajectories over the contours, loss against step, an optional GIF) are drawn
from that file.
"""

from __future__ import annotations

import itertools
import json
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
from matplotlib.animation import FuncAnimation, PillowWriter
from matplotlib.figure import Figure

from descentlab.config import RunConfig, param
from descentlab.errors import Interrupted, ParameterError
from descentlab.experiments.declaration import Experiment, SearchSpace, TourSettings
from descentlab.landscape import LANDSCAPES
from descentlab.landscape.functions import Point
from descentlab.landscape.race import RACE_OPTIMIZERS, RATES, default_lr, race
from descentlab.report import Bound, Claim, Section, fmt
from descentlab.runs import Run, RunRecord, StopFlag
from descentlab.runs.checkpoint import atomic_write_bytes
from descentlab.training.landscape_figures import contours, race_paths


@dataclass(frozen=True)
class RaceConfig(RunConfig):
    """Settings of ``descentlab optim race``."""

    landscape: str = param("rosenbrock", "the surface to race on", choices=tuple(LANDSCAPES))
    optimizers: str = param("all", f"'all' or a comma list of: {', '.join(RACE_OPTIMIZERS)}")
    start: str = param("", "starting point 'X,Y' (default: the landscape's customary start)")
    steps: int = param(500, "steps per optimizer", low=1, high=100_000)
    noise: float = param(0.0, "std of Gaussian noise added to each gradient coordinate", low=0.0, high=100.0)
    rates: str = param(
        "signature",
        "learning rates: signature (each optimizer's character; set for rosenbrock) or "
        "tuned (each one's best after 500 steps)",
        choices=RATES,
    )
    lr: str = param("", "learning-rate overrides 'NAME=VALUE,NAME=VALUE' (default: those of --rates)")
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
            valid = f"all, or a comma list of {', '.join(RACE_OPTIMIZERS)}"
            raise ParameterError("optimizers", f"{self.optimizers!r} is not valid; valid: {valid}")
        return names

    def start_point(self) -> Point:
        if not self.start:
            return LANDSCAPES[self.landscape].start
        try:
            x, y = (float(v) for v in self.start.split(","))
        except ValueError:
            raise ParameterError(
                "start", f"{self.start!r} is not valid; valid: two numbers 'X,Y', e.g. -1.5,2"
            ) from None
        if not (math.isfinite(x) and math.isfinite(y)):
            raise ParameterError("start", f"{self.start!r} is not finite; valid: two finite numbers 'X,Y'")
        return x, y

    def learning_rates(self) -> dict[str, float]:
        lrs = {name: default_lr(self.landscape, name, self.rates) for name in self.names()}
        for item in filter(None, (s.strip() for s in self.lr.split(","))):
            name, _, value = item.partition("=")
            try:
                rate = float(value)
            except ValueError:
                rate = -1.0
            if name not in lrs or not 0 < rate < math.inf:
                valid = f"NAME=VALUE with NAME among {', '.join(lrs)} and VALUE > 0"
                raise ParameterError("lr", f"{item!r} is not valid; valid: {valid}")
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
        raise Interrupted(str(run.save_restart_checkpoint()))
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
    run.save_final_checkpoint(metrics, cfg.steps)
    return metrics


# ---- figures, table, report, tour, search ---------------------------------------------------------


def race_animation(data: dict[str, Any], path: str | Path, max_frames: int = 60) -> None:
    """An animated GIF of the race: each optimizer's path drawn up to the frame's step."""
    fig, ax = plt.subplots(figsize=(6, 5))
    contours(ax, data["landscape"])
    lines = [ax.plot([], [], "-", color=f"C{i % 10}", label=p["name"])[0] for i, p in enumerate(data["paths"])]
    ax.legend(fontsize=7, loc="upper right")
    longest = max(len(p["points"]) for p in data["paths"])
    frames = min(max_frames, longest)

    def draw(frame: int) -> list[Any]:
        upto = max(1, round(longest * (frame + 1) / frames))
        for line, p in zip(lines, data["paths"], strict=True):
            xs, ys = zip(*p["points"][:upto], strict=True)
            line.set_data(xs, ys)
        return lines

    FuncAnimation(fig, draw, frames=frames, blit=True).save(path, writer=PillowWriter(fps=12))
    plt.close(fig)


def figures(record: RunRecord) -> dict[str, Figure]:
    """Trajectories over the contours and f against step, from ``trajectories.json``; a GIF if asked."""
    data = json.loads((record.path / "trajectories.json").read_text())
    out = {"race.png": race_paths(data, apart=bool(record.config.get("noise")))}
    if record.config.get("gif"):
        race_animation(data, record.path / "race.gif")
    return out


def race_table(record: RunRecord) -> tuple[list[str], list[list[str]]]:
    """Final loss, distance to the nearest minimum (or saddle) and steps to reach it, per optimizer."""
    m, cfg = record.final(), record.config
    names = [k.split("/")[0] for k in m if k.endswith("/final_loss")]
    rows = []
    for name in names:
        steps = m.get(f"{name}/steps_to_tol", -1.0)
        rows.append([name, fmt(m.get(f"{name}/final_loss"), ".4g"), fmt(m.get(f"{name}/distance"), ".4g"),
                     "never" if steps < 0 else f"{steps:.0f}", "yes" if m.get(f"{name}/diverged") else "no"])  # fmt: skip
    tol = f"steps to |f - f*| <= {cfg.get('tol')}"
    return ["optimizer", "final f", "distance to nearest minimum", tol, "diverged"], rows


def _steps(path: dict[str, Any]) -> list[float]:
    """The length of each step of a logged path."""
    return [math.dist(p, q) for p, q in itertools.pairwise(path["points"])]


def _shrink(path: dict[str, Any]) -> float:
    """Mean step over the first tenth of the run over the mean step over the last tenth."""
    steps = _steps(path)
    k = max(1, len(steps) // 10)
    return (sum(steps[:k]) / k) / max(sum(steps[-k:]) / k, 1e-300)


def _turn_cosine(path: dict[str, Any]) -> float:
    """The mean cosine of the angle between consecutive steps of a logged path (zero-length steps left out)."""
    steps = [(q[0] - p[0], q[1] - p[1]) for p, q in itertools.pairwise(path["points"])]
    cosines = [(a[0] * b[0] + a[1] * b[1]) / (math.hypot(*a) * math.hypot(*b))
               for a, b in itertools.pairwise(steps) if math.hypot(*a) > 0 and math.hypot(*b) > 0]  # fmt: skip
    return statistics.fmean(cosines) if cosines else math.nan


def claims(data: dict[str, Any], noise: float) -> list[Claim]:
    """What the race shows, from its logged paths (``trajectories.json``)."""
    paths = {p["name"]: p for p in data["paths"]}
    out = []
    sgd, momentum = paths.get("sgd"), paths.get("momentum")
    if sgd is not None and momentum is not None and noise:
        t_s, t_m = _turn_cosine(sgd), _turn_cosine(momentum)
        half = len(sgd["losses"]) // 2
        f_s, f_m = statistics.fmean(sgd["losses"][half:]), statistics.fmean(momentum["losses"][half:])
        out.append(Claim(
            "With noisy gradients plain descent zig-zags and momentum runs on: the mean cosine between consecutive "
            "steps is below 0 for gradient descent (each step turns back) and above 0 for momentum",
            f"mean cosine between consecutive steps: gradient descent {t_s:.2f}, momentum {t_m:.2f}",
            [Bound("gradient descent's mean cosine", t_s, "<", 0.0), Bound("momentum's mean cosine", t_m, ">", 0.0)],
        ))  # fmt: skip
        out.append(Claim(
            f"Momentum at learning rate {momentum['lr']:g} (a steady step of {momentum['lr'] / (1 - 0.9):g} times the "
            f"gradient, at beta 0.9) ends closer to the minimum than gradient descent at {sgd['lr']:g}: its mean f over "
            "the second half of the run is lower",
            f"mean f over steps {half}-{len(sgd['losses']) - 1}: momentum {f_m:.3g}, gradient descent {f_s:.3g}",
            [Bound("momentum's mean f over the second half", f_m, "<", f_s)],
        ))  # fmt: skip
    elif sgd is not None and momentum is not None and sgd["lr"] == momentum["lr"]:
        f_s, f_m = sgd["losses"][-1], momentum["losses"][-1]
        out.append(Claim(
            f"At the same learning rate ({sgd['lr']:g}), momentum ends lower on {data['landscape']} than plain "
            "gradient descent: it accumulates the small gradient along the valley's floor",
            f"final f: momentum {f_m:.3g}, gradient descent {f_s:.3g}",
            [Bound("momentum's final f", f_m, "<", f_s)],
        ))  # fmt: skip
    adagrad, rmsprop = paths.get("adagrad"), paths.get("rmsprop")
    if adagrad is not None and rmsprop is not None and not noise:
        a, r = _shrink(adagrad), _shrink(rmsprop)
        out.append(Claim(
            "Adagrad's steps shrink as its sum of squared gradients grows (its mean step over the first tenth of "
            "the run is more than 3 times that over the last tenth); RMSProp's, divided by a moving average, shrink "
            "far less (Adagrad's ratio is more than 3 times RMSProp's)",
            f"first-tenth over last-tenth mean step: Adagrad {a:.1f}, RMSProp {r:.1f}",
            [Bound("Adagrad's first-tenth over last-tenth mean step", a, ">", 3),
             Bound("Adagrad's ratio over RMSProp's", a / r, ">", 3)],
        ))  # fmt: skip
    return out


def sections(runs: Sequence[RunRecord]) -> list[Section]:
    """Each race: its paths over the contours, its table and its claims."""
    out = []
    for r in [r for r in runs if r.status == "complete"]:
        data = json.loads((r.path / "trajectories.json").read_text())
        landscape = str(r.config.get("landscape"))
        noise = float(r.config.get("noise", 0.0))
        rates = (
            "as set: " + str(r.config.get("lr")).replace("=", " ").replace(",", ", ")
            if r.config.get("lr")
            else "tuned to each one's best after 500 steps"
            if r.config.get("rates") == "tuned"
            else "that show each one's character"
        )
        names = [p["name"] for p in data["paths"]]
        title = (
            f"Gradient descent against momentum with noisy gradients, on {landscape}"
            if noise and names == ["sgd", "momentum"]
            else f"The optimizers racing on {landscape}"
        )
        out.append(
            Section(
                id=f"race-{landscape}",
                title=title,
                caption=(
                    f"{'Every optimizer' if len(names) > 2 else ' and '.join(names).capitalize()} from the same start, "
                    f"{r.config.get('steps')} steps, learning rates {rates}"
                    + (
                        f", gradient noise of standard deviation {noise:g} on each coordinate"
                        if noise
                        else ", exact gradients"
                    )
                    + ". The table counts the steps until f is within the tolerance of the minimum."
                ),
                figures=[race_paths(data, apart=bool(noise))],
                table=race_table(r),
                commands=[str(r.meta.get("command"))],
                claims=claims(data, noise),
            )
        )
    return out


def tour(settings: TourSettings) -> list[RaceConfig]:
    # tol 0.5: in a few hundred steps no optimizer gets within 0.001 of Rosenbrock's minimum; within 0.5
    # tells the ones that reach the valley's floor near the minimum from the ones still on its way
    # and the unit's picture of SGD's noisy path beside momentum's on an ill-conditioned bowl (curvatures 1 and
    # 25): plain descent at a rate that zig-zags across the bowl (|1 - 25 x 0.07| = 0.75), momentum (beta 0.9) at
    # a tenth of it, the same steady step lr / (1 - beta), as the unit advises for a high momentum
    return [RaceConfig(seed=settings.seed, device=settings.device, landscape="rosenbrock",
                       steps=300 if settings.quick else 500, tol=0.5),
            RaceConfig(seed=settings.seed, device=settings.device, landscape="quadratic-bowl",
                       optimizers="sgd,momentum", lr="sgd=0.07,momentum=0.007", noise=1.0, steps=200, tol=0.01)]  # fmt: skip


def headline(record: RunRecord) -> str:
    m = record.final()
    names = [k.split("/")[0] for k in m if k.endswith("/final_loss")]
    best = min(names, key=lambda n: m[f"{n}/final_loss"], default="-")
    return f"lowest final f: {best} ({m.get(f'{best}/final_loss', math.nan):.3g})"


def search_space(trial: Any, cfg: RaceConfig, fixed: frozenset[str]) -> dict[str, Any]:
    """The one raced optimizer's learning rate, log scale from 1e-5 to 10."""
    if "lr" in fixed:
        return {}
    (name,) = cfg.names()
    return {"lr": f"{name}={trial.suggest_float('lr', 1e-5, 10.0, log=True)!r}"}


def _one_optimizer(cfg: RaceConfig) -> None:
    if len(cfg.names()) != 1:
        raise ParameterError("optimizers", f"{cfg.optimizers!r}: a search tunes one optimizer's learning rate; "
                             f"valid: one of {', '.join(RaceConfig().names())}")  # fmt: skip


def _final_f(cfg: RaceConfig, final: dict[str, float]) -> float:
    """Final f; a diverged path (its last finite f can look good) ranks last."""
    name = cfg.names()[0]
    return math.inf if final.get(f"{name}/diverged") else final.get(f"{name}/final_loss", math.nan)


OPTIM_RACE = Experiment(
    command="optim race",
    help="race the optimizers on an analytic landscape: paths over contours, loss, table",
    description=(
        f"Every optimizer from one start on an analytic surface ({', '.join(LANDSCAPES)}), with learning\n"
        "rates that show each one's character (--rates signature) or tuned to its best (--rates tuned);\n"
        "writes race.png (and race.gif with --gif) and a table of final loss, distance to the nearest\n"
        "minimum and steps to reach it."
    ),
    examples=(
        "descentlab optim race --landscape rosenbrock",
        "descentlab optim race --landscape rastrigin --optimizers sgd,momentum,adam --noise 2 --gif",
        "descentlab optim race --landscape saddle --start -1.5,0.001 --lr sgd=0.01,adam=0.05",
    ),
    config=RaceConfig,
    train=train,
    figures=figures,
    table=race_table,
    sections=sections,
    tour=tour,
    headline=headline,
    search=SearchSpace(
        "the learning rate of one optimizer of 'optim race'; minimizes its final f",
        search_space,
        lambda cfg: f"{cfg.names()[0]}/final_loss",
        check=_one_optimizer,
        score=_final_f,
    ),
)
