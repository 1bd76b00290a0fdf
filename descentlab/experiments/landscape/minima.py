"""Bad local minima: gradient descent from many random starts, plain and with annealed gradient noise.

Each start ends in some local minimum; the distribution of the final values shows how bad they are,
and the mean best of k runs shows what k restarts buy (the unit's first remedy). Annealed gradient
noise (Neelakantan et al. 2015) is the second. The runs are ``descentlab.landscape.minima``'s.

Read top to bottom: config, the two sets of runs from the same starts, what is logged (``minima.json``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from descentlab.config import RunConfig, param
from descentlab.experiments.declaration import Experiment, TourSettings
from descentlab.landscape import LANDSCAPES
from descentlab.landscape.minima import ManyStarts, descend_from_many, random_starts
from descentlab.report import Bound, Claim, Section
from descentlab.runs import Run, RunRecord, StopFlag
from descentlab.runs.checkpoint import atomic_write_bytes
from descentlab.training.landscape_figures import contours

MULTIMODAL = ("rastrigin", "ackley", "himmelblau", "six-hump-camel")
GLOBAL_TOL = 1e-3  # f within this of the global minimum value counts as found


@dataclass(frozen=True)
class MinimaConfig(RunConfig):
    """Settings of ``descentlab landscape minima``."""

    landscape: str = param("rastrigin", "a surface with many minima", choices=MULTIMODAL)
    starts: int = param(500, "random starts, uniform over the plotting window", low=1, high=100_000)
    lr: float = param(0.002, "gradient-descent step size", low=0.0, low_open=True, high=1.0)
    steps: int = param(2000, "steps (with noise, in the noisy runs)", low=1, high=1_000_000)
    settle: int = param(500, "further steps without noise, so that every run ends in a minimum", low=0, high=1_000_000)
    noise: float = param(400.0, "sigma of the gradient noise, annealed as sigma / (1 + t)^0.275", low=0.0, high=1e6)

    @property
    def run_name(self) -> str:
        return self.landscape


def best_of_k(values: torch.Tensor, ks: list[int]) -> list[float]:
    """The mean, over disjoint groups of k runs, of each group's best value: what k restarts find."""
    out = []
    for k in ks:
        groups = values[: len(values) // k * k].view(-1, k)
        out.append(float(groups.min(dim=1).values.mean()))
    return out


def _summary(result: ManyStarts, target: float, ks: list[int]) -> dict[str, Any]:
    return {
        "finals": result.finals.tolist(),
        "values": result.values.tolist(),
        "best_of": {"k": ks, "mean": best_of_k(result.values, ks)},
        "median": float(result.values.median()),
        "best": float(result.values.min()),
        "global_fraction": float(((result.values - target).abs() <= GLOBAL_TOL).double().mean()),
    }


def train(cfg: MinimaConfig, run: Run, stop: StopFlag, state: dict[str, Any] | None = None) -> dict[str, float]:
    """Plain and noisy descent from the same starts; medians, best values, global-minimum fractions."""
    landscape = LANDSCAPES[cfg.landscape]
    starts = random_starts(landscape, cfg.starts, seed=cfg.seed)
    plain = descend_from_many(landscape, starts, cfg.lr, cfg.steps, settle=cfg.settle)
    noisy = descend_from_many(landscape, starts, cfg.lr, cfg.steps, cfg.noise, seed=cfg.seed + 1, settle=cfg.settle)
    target = landscape.minimum_value if landscape.minimum_value is not None else float(plain.values.min())
    ks = [k for k in (1, 2, 5, 10, 20, 50, 100, 200) if k <= max(1, cfg.starts // 5) or k == 1]
    record: dict[str, Any] = {"landscape": cfg.landscape, "starts": starts.tolist(), "global_value": target}
    metrics: dict[str, float] = {}
    for key, result in (("plain", plain), ("noise", noisy)):
        record[key] = _summary(result, target, ks)
        for stat in ("median", "best", "global_fraction"):
            metrics[f"{key}/{stat}"] = record[key][stat]
        for k, mean in zip(ks, record[key]["best_of"]["mean"], strict=True):
            metrics[f"{key}/best_of_{k}"] = mean
    run.log(0, metrics)
    atomic_write_bytes(run.path / "minima.json", json.dumps(record).encode())
    run.save_final_checkpoint(metrics)
    return metrics


def many_starts(data: dict[str, Any]) -> Figure:
    """Many random starts: where they end (over the contours), the final values, and best-of-k restarts."""
    fig, (ax_map, ax_hist, ax_best) = plt.subplots(1, 3, figsize=(16, 4.6))
    contours(ax_map, data["landscape"])
    ax_map.set_title(f"{data['landscape']}: where {len(data['starts'])} runs end")
    labels = {"plain": "gradient descent", "noise": "with annealed gradient noise"}
    values = [np.array(data[k]["values"]) for k in labels]
    top = max(float(v.max()) for v in values)
    bins = np.linspace(min(float(v.min()) for v in values), top, 40)
    for i, (key, label) in enumerate(labels.items()):
        finals = np.array(data[key]["finals"])
        ax_map.plot(finals[:, 0], finals[:, 1], "o", color=f"C{i}", markersize=4 + 2 * (1 - i), alpha=0.5, label=label)
        ax_hist.hist(data[key]["values"], bins=bins, color=f"C{i}", alpha=0.55, label=label)
        ks = data[key]["best_of"]["k"]
        ax_best.plot(ks, data[key]["best_of"]["mean"], "o-", color=f"C{i}", label=label)
    ax_map.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12))  # below the map: no end point hidden
    ax_hist.set(xlabel="final f", ylabel="runs", title="final values of all runs")
    ax_hist.legend(fontsize=8)
    ax_best.set_xscale("log")
    ax_best.set(xlabel="restarts k", ylabel="mean best f of k runs", title="restarts: the best of k runs")
    ax_best.grid(alpha=0.3, which="both")
    ax_best.legend(fontsize=8)
    fig.tight_layout(w_pad=3)  # room between the map and the histogram's label
    return fig


def figures(record: RunRecord) -> dict[str, Figure]:
    return {"minima.png": many_starts(json.loads((record.path / "minima.json").read_text()))}


def minima_table(record: RunRecord) -> tuple[list[str], list[list[str]]]:
    m = record.final()
    ks = [k for k in (1, 10, 100) if f"plain/best_of_{k}" in m]
    rows = []
    for key, label in (("plain", "gradient descent"), ("noise", "+ annealed gradient noise")):
        rows.append([label, f"{m[f'{key}/median']:.3g}", f"{100 * m[f'{key}/global_fraction']:.1f}%",
                     *(f"{m[f'{key}/best_of_{k}']:.3g}" for k in ks), f"{m[f'{key}/best']:.3g}"])  # fmt: skip
    return ["method", "median final f", "found the global minimum", *(f"best of {k}" for k in ks), "best of all"], rows


def claims(record: RunRecord) -> list[Claim]:
    m = record.final()
    return [
        Claim(
            "Restarts pay: the best of 10 runs from random starts is lower than the median single run",
            f"best of 10 (mean over draws) {m['plain/best_of_10']:.3g}, median run {m['plain/median']:.3g}",
            [Bound("final f, best of 10", m["plain/best_of_10"], "<", m["plain/median"])],
        ),
        Claim(
            "Annealed gradient noise carries runs over the ridges between basins: its median final f is lower "
            "than plain gradient descent's",
            f"median final f: with noise {m['noise/median']:.3g}, plain {m['plain/median']:.3g}",
            [Bound("median final f with noise", m["noise/median"], "<", m["plain/median"])],
        ),
    ]


def sections(runs: Sequence[RunRecord]) -> list[Section]:
    """'Bad local minima' from ``descentlab landscape minima`` runs."""
    return [
        Section(
            id=f"minima-{r.config.get('landscape')}",
            title=f"{r.config.get('starts')} random starts on {r.config.get('landscape')}",
            caption=(
                "Gradient descent from each start, once plainly and once with gradient noise annealed to zero: "
                "where the runs end, the distribution of the final values, and the mean best of k runs."
            ),
            figures=[many_starts(json.loads((r.path / "minima.json").read_text()))],
            table=minima_table(r),
            commands=[str(r.meta.get("command"))],
            claims=claims(r),
        )
        for r in runs
        if r.status == "complete"
    ]


def tour(settings: TourSettings) -> list[MinimaConfig]:
    q = settings.quick
    return [MinimaConfig(seed=settings.seed, device=settings.device, starts=200 if q else 500,
                         steps=1000 if q else 2000)]  # fmt: skip


LANDSCAPE_MINIMA = Experiment(
    command="landscape minima",
    help="bad local minima: many random starts, plain and with gradient noise; what restarts buy",
    description=(
        "Gradient descent from many random starts (rastrigin by default), once plainly and once with\n"
        "annealed gradient noise: where the runs end, the distribution of final values, and the mean\n"
        "best of k runs (k restarts). Writes minima.json and minima.png."
    ),
    examples=("descentlab landscape minima", "descentlab landscape minima --starts 2000 --noise 200"),
    config=MinimaConfig,
    train=train,
    figures=figures,
    table=minima_table,
    sections=sections,
    tour=tour,
    headline=lambda r: (
        f"median final f {r.final()['plain/median']:.3g} plain, {r.final()['noise/median']:.3g} with noise"
    ),
)
