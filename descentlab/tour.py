"""``descentlab tour``: a short run of every experiment that declares tour entries, then the report of them.

The plan is derived from :data:`descentlab.experiments.DECLARATIONS`, in its order: each experiment's
``tour(settings)`` gives the configs to run (shorter ones with ``--quick``), and each command with a
``tour(settings, paths)`` step works on the runs made so far (the Hessian and loss surface of the
trained networks). Then ``runs/tour/report.html`` is built from all of them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from descentlab.config import Options, RunConfig, param
from descentlab.experiments import DECLARATIONS, Call, Command, Declaration, Experiment, TourSettings, start
from descentlab.labbook import build_report
from descentlab.runs import list_table, load_run


@dataclass(frozen=True)
class TourConfig(RunConfig):
    """Settings of ``descentlab tour``."""

    quick: bool = param(False, "a short version on 2,000-image subsets (about a minute on 2 CPU cores)")

    def settings(self) -> TourSettings:
        return TourSettings(seed=self.seed, device=self.device, quick=self.quick)


def plan(cfg: TourConfig) -> list[tuple[Declaration, Any]]:
    """The tour in order: ``(experiment, config)`` for each run, ``(command, None)`` for each command's
    step on the runs made before it; all as the declarations give them."""
    settings = cfg.settings()
    steps: list[tuple[Declaration, Any]] = []
    for d in DECLARATIONS:
        if isinstance(d, Experiment) and d.tour is not None:
            steps += [(d, config) for config in d.tour(settings)]
        elif isinstance(d, Command) and d.tour is not None:
            steps.append((d, None))
    return steps


def run_tour(cfg: TourConfig, out: str | Path, log: Callable[[str], None] = print) -> Path:
    """Run the tour's plan under ``out/tour`` and write ``out/tour/report.html``; returns its path."""
    root = Path(out) / "tour"
    started = time.time()
    paths: list[Path] = []
    steps = plan(cfg)
    runs = sum(isinstance(d, Experiment) for d, _ in steps)
    for decl, config in steps:
        t0 = time.time()
        if isinstance(decl, Experiment):
            paths.append(start(decl, config, root))
            log(f"[{len(paths)}/{runs}] {decl.invocation} ({config.run_name}) done in {time.time() - t0:.1f} s: "
                f"{paths[-1]}")  # fmt: skip
        elif decl.tour is not None:
            decl.tour(cfg.settings(), paths)
            log(f"{decl.invocation} on the runs so far done in {time.time() - t0:.1f} s")
    report = build_report(paths, root / "report.html", title="descentlab tour")
    log(list_table([load_run(p) for p in paths]))
    log(f"tour finished in {time.time() - started:.1f} s; report: {report}")
    return report


@dataclass(frozen=True)
class TourOptions(Options):
    out: str = param("runs", "root folder of run folders; the tour writes OUT/tour", metavar="DIR")


def run(call: Call) -> int:
    run_tour(call.settings, call.options.out)
    return 0


TOUR = Command(
    command="tour",
    help="tour: a short run of every experiment and the report of them (runs/tour/report.html)",
    description="Run a short version of every experiment on the bundled data and write runs/tour/report.html.",
    examples=("descentlab tour", "descentlab tour --quick --device cpu"),
    run=run,
    options=TourOptions,
    settings=TourConfig,
)
