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
import multiprocessing
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from descentlab.config import Options, RunConfig, param
from descentlab.experiments import DECLARATIONS, Call, Command, Declaration, Experiment, TourSettings, start
from descentlab.labbook import build_chapters, chapters, interactive_names, plan_names, write_book
from descentlab.labbook.explorers import explorer_html
from descentlab.report import Chapter
from descentlab.runs import RunRecord, load_run
from descentlab.runs.checkpoint import atomic_write_bytes

CHAPTERS = tuple(ch.id for ch in chapters())


@dataclass(frozen=True)
class TourConfig(RunConfig):
    """Settings of ``descentlab tour``."""

    quick: bool = param(False, "a short version on small subsets (about a minute and a half on two CPU cores)")
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


def run_tour(cfg: TourConfig, out: str | Path, log: Callable[[str], None] = print, jobs: int = 0) -> Path:
    """Run the tour's plan under ``out/tour`` and write the lab book (``out/tour/book/`` and
    ``out/tour/report.html``); returns the single page's path.

    ``jobs`` runs that many at once, each in a worker process with its share of torch's threads (0: one
    job for each of torch's threads, each run on one thread; 1: one after another in this process, on all
    of them). A run's numbers depend on its thread count, never on what runs beside it, so the lab book is
    the same whatever the jobs at that thread count. A command's step (``landscape hessian``) runs once
    every run before it in the plan has finished."""
    root = Path(out) / "tour"
    started = time.time()
    threads = torch.get_num_threads()
    steps = plan(cfg)
    runs = sum(isinstance(d, Experiment) for d, _ in steps)
    jobs = min(jobs or threads, max(runs, 1))
    each = max(1, threads // jobs)
    if jobs == 1:
        records = [load_run(p) for p in _in_turn(steps, cfg, root, runs, log)]
        built = build_chapters(records)
    else:
        context = multiprocessing.get_context("spawn")  # torch's thread pools do not survive fork
        with ProcessPoolExecutor(jobs, mp_context=context, initializer=_worker_threads, initargs=(each,)) as pool:
            try:
                # the interactive figures need no run: they are computed beside the runs, from the start
                figures = {
                    n: pool.submit(explorer_html, n) for n in interactive_names([cfg.chapter] if cfg.chapter else None)
                }
                records = [load_run(p) for p in _at_once(pool, steps, cfg, root, runs, log)]
                ready = {name: f.result() for name, f in figures.items()}
                built = build_chapters(records, map_sections=pool.map, interactive=ready)  # figures drawn side by side
            except BaseException:
                pool.shutdown(cancel_futures=True)
                raise
    title = "descentlab: the lab book of the unit 'Optimization and Generalization'"
    subtitle = f"{len(records)} runs of descentlab tour{' --quick' if cfg.quick else ''} (seed {cfg.seed})."
    write_book(built, root / "book", title, subtitle)
    report = write_book(built, root / "report.html", title, subtitle)
    for r in records:
        log(summary_line(r))
    verdicts = [c for ch in built for s in ch.sections for c in s.claims]
    write_claims(root / "claims.json", cfg, built, each)
    failed = [c for c in verdicts if not c.holds]
    log(f"claims: {len(verdicts) - len(failed)} of {len(verdicts)} hold in these runs"
        + "".join(f"\n  does not hold: {c.text} ({c.evidence})" for c in failed))  # fmt: skip
    log(
        f"tour finished in {time.time() - started:.1f} s; lab book: {root / 'book' / 'index.html'} (one page: {report})"
    )
    return report


def _step(declaration: int, config: Any, settings: TourSettings, root: str, paths: list[Path]) -> tuple[str, float]:
    """One step of the plan (in this process or a worker, which finds the declaration by its place in
    ``DECLARATIONS``): an experiment's run (its folder), or a command's step on ``paths``, the runs before it
    (""); and its seconds. A run may choose its own threads (the RL agents use one): the next starts afresh."""
    t0, threads = time.time(), torch.get_num_threads()
    decl = DECLARATIONS[declaration]
    try:
        if isinstance(decl, Experiment):
            return str(start(decl, config, root)), time.time() - t0
        if isinstance(decl, Command) and decl.tour is not None:
            decl.tour(settings, paths)
        return "", time.time() - t0
    finally:
        torch.set_num_threads(threads)


def _logged(decl: Declaration, config: Any, seconds: float, runs_done: int, runs: int) -> str:
    if isinstance(decl, Experiment):
        return f"[{runs_done}/{runs}] {decl.invocation} ({config.run_name}) {seconds:.1f} s"
    return f"{decl.invocation} on the runs before it {seconds:.1f} s"


def _in_turn(steps: list[tuple[Declaration, Any]], cfg: TourConfig, root: Path, runs: int,
             log: Callable[[str], None]) -> list[Path]:  # fmt: skip
    """The plan one step after another in this process; the runs' folders in the plan's order."""
    index = {id(d): i for i, d in enumerate(DECLARATIONS)}
    paths: list[Path] = []
    for decl, config in steps:
        path, seconds = _step(index[id(decl)], config, cfg.settings(), str(root), paths)
        if path:
            paths.append(Path(path))
        log(_logged(decl, config, seconds, len(paths), runs))
    return paths


def _at_once(pool: ProcessPoolExecutor, steps: list[tuple[Declaration, Any]], cfg: TourConfig, root: Path, runs: int,
             log: Callable[[str], None]) -> list[Path]:  # fmt: skip
    """The plan in ``pool``'s workers: every run is handed out at once, a command's step as soon as the runs
    before it have finished; the runs' folders in the plan's order."""
    index = {id(d): i for i, d in enumerate(DECLARATIONS)}  # workers find a declaration by its place
    done: dict[int, Path] = {}  # plan position -> run folder
    pending: dict[Future, int] = {}
    waiting = [i for i, (d, _) in enumerate(steps) if not isinstance(d, Experiment)]  # commands' steps
    for i, (decl, config) in enumerate(steps):
        if isinstance(decl, Experiment):
            pending[pool.submit(_step, index[id(decl)], config, cfg.settings(), str(root), [])] = i
    while pending or waiting:
        for i in [i for i in waiting if all(j in done for j in range(i) if isinstance(steps[j][0], Experiment))]:
            before = [done[j] for j in range(i) if j in done]
            pending[pool.submit(_step, index[id(steps[i][0])], None, cfg.settings(), str(root), before)] = i
            waiting.remove(i)
        ready, _ = wait(pending, return_when=FIRST_COMPLETED)
        for f in ready:
            i = pending.pop(f)
            path, seconds = f.result()
            if path:
                done[i] = Path(path)
            log(_logged(*steps[i], seconds, len(done), runs))
    return [done[i] for i in sorted(done)]


def _worker_threads(threads: int) -> None:
    torch.set_num_threads(threads)


def write_claims(path: Path, cfg: TourConfig, built: list[Chapter], threads: int) -> None:
    """``claims.json``: every claim of the lab book with its verdict, margin and bounds, by section (what
    ``benchmarks/claims.py`` collects over seeds and CPUs), and the settings and machine it ran under."""
    claims = [{"id": f"{s.id}#{i}", "chapter": ch.id, "section": s.id, **c.as_dict()}
              for ch in built for s in ch.sections for i, c in enumerate(s.claims, 1)]  # fmt: skip
    info = {"seed": cfg.seed, "quick": cfg.quick, "chapter": cfg.chapter, "torch": torch.__version__,
            "cpu_capability": torch.backends.cpu.get_cpu_capability(), "threads": threads,
            "claims": claims}  # fmt: skip
    atomic_write_bytes(path, (json.dumps(info, indent=1) + "\n").encode())


@dataclass(frozen=True)
class TourOptions(Options):
    out: str = param("runs", "root folder of run folders; the tour writes OUT/tour", metavar="DIR")
    jobs: int = param(0, "runs at once, each in a process with its share of the threads (0: one per thread, "
                      "each run on one thread; 1: one after another on all of them)", low=0, high=256)  # fmt: skip


def run(call: Call) -> int:
    run_tour(call.settings, call.options.out, jobs=call.options.jobs)
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
