"""Running an experiment as a run: folder, seeding, Ctrl-C, checkpoint, summary, figures.

An :class:`Experiment` bundles what a run needs: its config dataclass, its training function and the
figures it draws from its own logged metrics. :func:`start` and :func:`resume` do the rest the same way
for every experiment.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from descentlab.config import command_line, from_mapping, to_dict
from descentlab.errors import Interrupted, Pruned, UserError
from descentlab.runs import Run, StopFlag, load_run, stop_on_sigint
from descentlab.runs.listing import RunRecord

TrainFn = Callable[[Any, Run, StopFlag, "dict[str, Any] | None"], "dict[str, float]"]
FigureFn = Callable[[RunRecord], "dict[str, Any]"]


@dataclass(frozen=True)
class Experiment:
    name: str  # folder under runs/, e.g. "optim-train"
    command: str  # the CLI command that runs it, e.g. "descentlab optim train"
    config: type  # its frozen config dataclass
    train: TrainFn  # (config, run, stop flag, checkpoint state or None) -> final metrics
    figures: FigureFn  # logged run -> {file name: matplotlib figure}


def _finish(exp: Experiment, cfg: Any, run: Run, stop: StopFlag, state: dict[str, Any] | None) -> Path:
    try:
        metrics = exp.train(cfg, run, stop, state)
    except Interrupted as e:
        run.finish("interrupted", step=max((r["step"] for r in run.metrics()), default=0))
        raise Interrupted(e.checkpoint, f"{exp.command} --resume {run.path}") from None
    except Pruned:
        run.finish("pruned", step=max((r["step"] for r in run.metrics()), default=0))
        raise Pruned(str(run.path)) from None  # the search records which run it stopped
    except BaseException:
        run.finish("failed")
        raise
    run.finish("complete", metrics=metrics)
    record = load_run(run.path)
    import matplotlib.pyplot as plt

    for filename, fig in exp.figures(record).items():
        fig.savefig(run.figure_path(filename), dpi=110, bbox_inches="tight")
        plt.close(fig)
    return run.path


def start(
    exp: Experiment,
    cfg: Any,
    out: str | Path,
    name: str | None = None,
    on_log: Callable[[int, dict[str, float]], None] | None = None,
) -> Path:
    """Run ``exp`` with ``cfg`` in a new folder under ``out``; returns the folder.

    ``on_log(step, metrics)`` is called after every logged record; raising :class:`Pruned` from it
    stops the run with status ``pruned``.
    """
    command = command_line(cfg, exp.command)
    run = Run.create(out, exp.name, name or cfg.run_name, cfg.seed, to_dict(cfg), command)
    if on_log is not None:
        run.listeners.append(on_log)
    with stop_on_sigint() as stop:
        return _finish(exp, cfg, run, stop, None)


def resume(experiments: dict[str, Experiment], path: str | Path) -> Path:
    """Continue the run in ``path`` from its checkpoint, with its stored config."""
    if not Path(path).is_dir():
        raise UserError(f"--resume {path}: no such run folder")
    record = load_run(path)  # validated before anything in the folder changes
    if record.status == "complete":
        raise UserError(f"--resume {path}: this run is already complete; start a new run instead")
    meta = record.meta
    exp = experiments.get(str(meta.get("experiment")))
    if exp is None:
        raise UserError(f"{path}: unknown experiment {meta.get('experiment')!r}; known: {', '.join(experiments)}")
    cfg: Any = from_mapping(exp.config, meta.get("config", {}), source=str(Path(path) / "config.json"))
    run, _, state = Run.resume(path)
    with stop_on_sigint() as stop:
        return _finish(exp, cfg, run, stop, state)
