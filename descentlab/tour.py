"""``descentlab tour``: a short run of every experiment that exists, then one report of them all."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from descentlab.config import RunConfig, param
from descentlab.experiments import OPTIM_TRAIN, Experiment, start
from descentlab.experiments.optim_train import TrainConfig
from descentlab.report import build_report
from descentlab.runs import list_table, load_run


@dataclass(frozen=True)
class TourConfig(RunConfig):
    """Settings of ``descentlab tour``."""

    quick: bool = param(False, "a sub-minute version: fewer runs on a 5,000-image subset")


def plan(cfg: TourConfig) -> list[tuple[Experiment, Any]]:
    """The runs of the tour, in order. Each later module adds its experiments here."""
    if cfg.quick:
        base = TrainConfig(seed=cfg.seed, device=cfg.device, epochs=1, train_size=5000, log_every=10, eval_every=50)
        optimizers: tuple[str, ...] = ("sgd", "momentum", "adam")
    else:
        base = TrainConfig(seed=cfg.seed, device=cfg.device, epochs=2, log_every=50, eval_every=200)
        optimizers = ("sgd", "momentum", "adagrad", "rmsprop", "adadelta", "adam")
    return [(OPTIM_TRAIN, replace(base, optimizer=name)) for name in optimizers]


def run_tour(cfg: TourConfig, out: str | Path, log: Any = print) -> Path:
    """Run the tour's plan under ``out/tour`` and write ``out/tour/report.html``; returns its path."""
    root = Path(out) / "tour"
    started = time.time()
    paths = []
    jobs = plan(cfg)
    for i, (exp, config) in enumerate(jobs, 1):
        t0 = time.time()
        paths.append(start(exp, config, root))
        log(f"[{i}/{len(jobs)}] {exp.command} ({config.run_name}) done in {time.time() - t0:.1f} s: {paths[-1]}")
    report = build_report(paths, root / "report.html", title="descentlab tour")
    log(list_table([load_run(p) for p in paths]))
    log(f"tour finished in {time.time() - started:.1f} s; report: {report}")
    return report
