"""``descentlab tour``: a short run of every demonstration of the lab book, then the lab book itself.

The plan follows the lab book's chapters (:func:`descentlab.labbook.plan_names`), in the unit's order: for
each ``@runs NAME`` of a chapter, the declaration's ``tour(settings)`` gives the configs to run (shorter ones
with ``--quick``), or, for a command such as ``landscape hessian``, its ``tour(settings, paths)`` step works
on the runs made so far. ``--chapter`` runs one chapter. Then the lab book is built, as pages in
``runs/tour/book/`` and as the single page ``runs/tour/report.html``; the terminal shows one line per run
with its headline numbers, and how many of the report's claims held.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from descentlab.config import Options, RunConfig, param
from descentlab.experiments import DECLARATIONS, Call, Command, Declaration, Experiment, TourSettings, start
from descentlab.labbook import build_chapters, chapters, plan_names, write_book
from descentlab.report import Chapter
from descentlab.runs import RunRecord, load_run
from descentlab.runs.checkpoint import atomic_write_bytes

CHAPTERS = tuple(ch.id for ch in chapters())


@dataclass(frozen=True)
class TourConfig(RunConfig):
    """Settings of ``descentlab tour``."""

    quick: bool = param(False, "a short version on small subsets (about two and a half minutes on one CPU core)")
    chapter: str = param("", "run one chapter of the lab book (default: all)", choices=("", *CHAPTERS))

    def settings(self) -> TourSettings:
        return TourSettings(seed=self.seed, device=self.device, quick=self.quick)


def plan(cfg: TourConfig) -> list[tuple[Declaration, Any]]:
    """The tour in order: ``(experiment, config)`` for each run, ``(command, None)`` for each command's
    step on the runs made before it; in the order of the lab book's chapters."""
    by_name = {d.name: d for d in DECLARATIONS}
    settings = cfg.settings()
    steps: list[tuple[Declaration, Any]] = []
    for name in plan_names(cfg.chapter):
        d = by_name[name]
        if isinstance(d, Experiment) and d.tour is not None:
            steps += [(d, config) for config in d.tour(settings)]
        elif isinstance(d, Command) and d.tour is not None:
            steps.append((d, None))
    return steps


def summary_line(record: RunRecord) -> str:
    """One line per run: its experiment and name, and its headline numbers."""
    decl = next((d for d in DECLARATIONS if isinstance(d, Experiment) and d.name == record.experiment), None)
    numbers = decl.headline(record) if decl is not None and decl.headline is not None else ""
    return f"{record.experiment} {record.path.name.split('__')[0]}: {record.status}" + (
        f"; {numbers}" if numbers else ""
    )


def run_tour(cfg: TourConfig, out: str | Path, log: Callable[[str], None] = print) -> Path:
    """Run the tour's plan under ``out/tour`` and write the lab book (``out/tour/book/`` and
    ``out/tour/report.html``); returns the single page's path."""
    root = Path(out) / "tour"
    started = time.time()
    threads = torch.get_num_threads()
    paths: list[Path] = []
    steps = plan(cfg)
    runs = sum(isinstance(d, Experiment) for d, _ in steps)
    for decl, config in steps:
        t0 = time.time()
        try:
            if isinstance(decl, Experiment):
                paths.append(start(decl, config, root))
                log(f"[{len(paths)}/{runs}] {decl.invocation} ({config.run_name}) {time.time() - t0:.1f} s")
            elif decl.tour is not None:
                decl.tour(cfg.settings(), paths)
                log(f"{decl.invocation} on the runs so far {time.time() - t0:.1f} s")
        finally:
            torch.set_num_threads(threads)  # a run may choose its own (the RL agents use one); the next starts afresh
    records = [load_run(p) for p in paths]
    built = build_chapters(records)
    title = "descentlab: the lab book of the unit 'Optimization and Generalization'"
    subtitle = f"{len(records)} runs of descentlab tour{' --quick' if cfg.quick else ''} (seed {cfg.seed})."
    write_book(built, root / "book", title, subtitle)
    report = write_book(built, root / "report.html", title, subtitle)
    for r in records:
        log(summary_line(r))
    verdicts = [c for ch in built for s in ch.sections for c in s.claims]
    write_claims(root / "claims.json", cfg, built)
    failed = [c for c in verdicts if not c.holds]
    log(f"claims: {len(verdicts) - len(failed)} of {len(verdicts)} hold in these runs"
        + "".join(f"\n  does not hold: {c.text} ({c.evidence})" for c in failed))  # fmt: skip
    log(
        f"tour finished in {time.time() - started:.1f} s; lab book: {root / 'book' / 'index.html'} (one page: {report})"
    )
    return report


def write_claims(path: Path, cfg: TourConfig, built: list[Chapter]) -> None:
    """``claims.json``: every claim of the lab book with its verdict, margin and bounds, by section (what
    ``benchmarks/claims.py`` collects over seeds and CPUs), and the settings and machine it ran under."""
    claims = [{"id": f"{s.id}#{i}", "chapter": ch.id, "section": s.id, **c.as_dict()}
              for ch in built for s in ch.sections for i, c in enumerate(s.claims, 1)]  # fmt: skip
    info = {"seed": cfg.seed, "quick": cfg.quick, "chapter": cfg.chapter, "torch": torch.__version__,
            "cpu_capability": torch.backends.cpu.get_cpu_capability(), "threads": torch.get_num_threads(),
            "claims": claims}  # fmt: skip
    atomic_write_bytes(path, (json.dumps(info, indent=1) + "\n").encode())


@dataclass(frozen=True)
class TourOptions(Options):
    out: str = param("runs", "root folder of run folders; the tour writes OUT/tour", metavar="DIR")


def run(call: Call) -> int:
    run_tour(call.settings, call.options.out)
    return 0


TOUR = Command(
    command="tour",
    help="tour: a short run of every demonstration and the lab book of them (runs/tour/book/index.html)",
    description=(
        "Run a short version of every demonstration of the lab book, chapter by chapter in the unit's order,\n"
        "and write the lab book: the unit's concepts, equations and diagrams, each run's figures and table,\n"
        "the claim it demonstrates with its verdict, and the unit's revision questions answered. Its pages go\n"
        "to runs/tour/book/ (open index.html), the same as one page for printing to runs/tour/report.html."
    ),
    examples=("descentlab tour", "descentlab tour --quick --device cpu", "descentlab tour --quick --chapter rnn"),
    run=run,
    options=TourOptions,
    settings=TourConfig,
)
