"""Running an experiment as a run: folder, seeding, Ctrl-C, checkpoint, summary, figures.

:func:`start` and :func:`resume` do the same for every :class:`~descentlab.experiments.declaration.Experiment`;
:func:`as_command` makes an experiment a command of the command line (``--out``, ``--name``, ``--resume``
and its settings), whose :func:`run_experiment` starts or resumes the run and prints its table.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt

from descentlab.config import Options, command_line, from_mapping, param, to_dict
from descentlab.errors import CheckpointError, Interrupted, Pruned, UserError, first_line, shown
from descentlab.experiments.declaration import Call, Command, Experiment
from descentlab.runs import (
    DEFAULT_CHECKPOINT_SECONDS,
    Run,
    SilentRun,
    StopFlag,
    atomic_write_bytes,
    distributed,
    format_table,
    load_run,
    select_device,
    stop_on_signals,
)
from descentlab.runs.distributed import World


def _failed(run: Run | SilentRun) -> None:
    """Mark the run failed, if the disk still lets us (the error that failed it may be a full disk)."""
    try:
        run.finish("failed")
    except OSError:
        run.close()


def _group(exp: Experiment, cfg: Any) -> World:
    """The torchrun group this process belongs to, joined; one process without torchrun. An experiment that
    does not train data-parallel refuses to start under torchrun (N copies would each write a run)."""
    world = distributed.from_environment()
    if not world.distributed:
        return world
    if not exp.data_parallel:
        raise UserError(f"{exp.invocation} runs in one process; start it without torchrun (WORLD_SIZE={world.size})")
    return distributed.init(select_device(cfg.device))


def _in_group(world: World, exp: Experiment, cfg: Any, open_run: Callable[[], tuple[Run, dict[str, Any] | None]],
              checkpoint_seconds: float) -> Path:  # fmt: skip
    """Train as one rank of a data-parallel group: rank 0 opens the run folder (``open_run``) and sends the
    checkpoint state it read to the others, which write nothing."""
    run: Run | SilentRun
    state = None
    if world.main:
        run, state = open_run()
    where = distributed.broadcast((str(run.path), run.start_step) if world.main else None, world)
    state = distributed.broadcast(state, world)
    if not world.main:
        run = SilentRun(where[0], exp.name, where[1])
    with stop_on_signals(checkpoint_seconds) as stop:
        return _finish(exp, cfg, run, stop, state)


def _earlier_run(record: Path | None) -> Path | None:
    """The run a group started before torchrun restarted it, if it is there and not complete."""
    if record is None or not distributed.restarted() or not record.is_file():
        return None
    path = Path(record.read_text(encoding="utf-8").strip())
    return path if path.is_dir() and load_run(path).status != "complete" else None


def _from_the_checkpoint(e: BaseException) -> bool:
    """Whether ``e`` is what a checkpoint of another run causes when training loads it: a key the state lacks
    (``KeyError``), or an error raised inside a ``load_state_dict`` (a tensor of another shape, an optimizer
    of other groups). Anything else a resumed run raises before its first record is the code's fault."""
    if isinstance(e, KeyError):
        return True
    tb = e.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_name in ("load_state_dict", "__setstate__"):
            return True
        tb = tb.tb_next
    return False


def _finish(exp: Experiment, cfg: Any, run: Run | SilentRun, stop: StopFlag, state: dict[str, Any] | None) -> Path:
    try:
        if state is not None and state.get("final") and "metrics" in state:
            metrics = dict(state["metrics"])  # see Run.save_final_checkpoint
        else:
            metrics = exp.train(cfg, run, stop, state)
    except Interrupted as e:
        run.finish("interrupted", step=max((r["step"] for r in run.metrics()), default=0))
        raise Interrupted(e.checkpoint, f"{exp.invocation} --resume {run.path}", stop.signum) from None
    except Pruned:
        run.finish("pruned", step=max((r["step"] for r in run.metrics()), default=0))
        raise Pruned(str(run.path)) from None  # the search records which run it stopped
    except Exception as e:
        if state is None or run.accepted:
            _failed(run)
            raise
        run.abandon()  # the resumed run failed before its first record: nothing in its folder changes
        if isinstance(e, UserError) or not _from_the_checkpoint(e):
            raise  # a fault of the training code keeps its type and traceback
        raise CheckpointError(
            f"--resume {run.path}: the checkpoint does not fit this run ({first_line(e)}); nothing in the run "
            "folder was changed"
        ) from None
    except BaseException:
        _failed(run)
        raise
    run.finish("complete", metrics=metrics)
    if isinstance(run, SilentRun):  # rank 0 draws the figures
        return run.path
    record = load_run(run.path)
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
    checkpoint_seconds: float = DEFAULT_CHECKPOINT_SECONDS,
) -> Path:
    """Run ``exp`` with ``cfg`` in a new folder under ``out``; returns the folder.

    ``on_log(step, metrics)`` is called after every logged record; raising :class:`Pruned` from it
    stops the run with status ``pruned``. An experiment that can resume mid-run writes a checkpoint every
    ``checkpoint_seconds`` of wall-clock time, and whenever a stop signal arrives.
    """
    if exp.check is not None:
        exp.check(cfg)
    world = _group(exp, cfg)
    command = command_line(cfg, exp.invocation)

    def create() -> tuple[Run, dict[str, Any] | None]:
        run = Run.create(out, exp.name, cfg.run_name if name is None else name, cfg.seed, to_dict(cfg), command)
        if on_log is not None:
            run.listeners.append(on_log)
        return run, None

    if world.distributed:
        return _in_group(world, exp, cfg, partial(_open_in_group, exp, out, create), checkpoint_seconds)
    run, _ = create()
    with stop_on_signals(checkpoint_seconds) as stop:
        return _finish(exp, cfg, run, stop, None)


def _open_in_group(exp: Experiment, out: str | Path, create: Callable[[], tuple[Run, dict[str, Any] | None]]
                   ) -> tuple[Run, dict[str, Any] | None]:  # fmt: skip
    """Rank 0's run of a group: the one the group had started when torchrun restarted it (resumed from its
    checkpoint), else a new one, noted for such a restart under ``out/<experiment>/.torchrun/<run id>``."""
    record = distributed.restart_record(out, exp.name)
    earlier = _earlier_run(record)
    if earlier is not None:
        run, _, state = Run.resume(earlier)
        return run, state
    run, state = create()
    if record is not None:
        record.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(record, str(run.path).encode())
    return run, state


def resume(
    experiments: Sequence[Experiment],
    path: str | Path,
    expected: Experiment | None = None,
    checkpoint_seconds: float = DEFAULT_CHECKPOINT_SECONDS,
) -> Path:
    """Continue the run in ``path`` from its checkpoint, with its stored config (a run killed before its
    first checkpoint starts over in its folder). ``expected``: the experiment the run must be of."""
    if not Path(path).is_dir():
        raise UserError(f"--resume {shown(path)}: no such run folder")
    record = load_run(path)  # validated before anything in the folder changes
    if record.status == "complete":
        raise UserError(f"--resume {path}: this run is already complete; start a new run instead")
    by_name = {e.name: e for e in experiments}
    exp = by_name.get(str(record.meta.get("experiment")))
    if exp is None:
        known = ", ".join(by_name)
        raise UserError(f"{path}: unknown experiment {record.meta.get('experiment')!r}; known: {known}")
    if expected is not None and exp is not expected:
        raise UserError(f"--resume {path}: a run of {exp.invocation}, not of {expected.invocation}; resume it with: "
                        f"{exp.invocation} --resume {path}")  # fmt: skip
    cfg: Any = from_mapping(exp.config, record.meta.get("config", {}), source=str(Path(path) / "config.json"))
    if exp.check is not None:
        exp.check(cfg)  # the data may have changed since the run started
    world = _group(exp, cfg)

    def reopen() -> tuple[Run, dict[str, Any] | None]:
        run, _, state = Run.resume(path)
        return run, state

    if world.distributed:
        return _in_group(world, exp, cfg, reopen, checkpoint_seconds)
    run, state = reopen()
    with stop_on_signals(checkpoint_seconds) as stop:
        return _finish(exp, cfg, run, stop, state)


@dataclass(frozen=True)
class ExperimentOptions(Options):
    """What every experiment's command takes besides its settings."""

    out: str = param("runs", "root folder of run folders", metavar="DIR")
    name: str | None = param(None, "run name (default: made from the settings, as in runs list)")
    resume: str | None = param(None, "continue this run from its checkpoint, with its config", metavar="RUN_DIR")
    checkpoint_seconds: float = param(DEFAULT_CHECKPOINT_SECONDS, "seconds between checkpoints of a long run (a "
                                      "stop signal also writes one)", low=1.0, high=86_400.0, metavar="S")  # fmt: skip


def run_experiment(exp: Experiment, experiments: Sequence[Experiment], call: Call) -> int:
    """Start a run from the settings, or ``--resume`` one; print where it is and its table."""
    opts: ExperimentOptions = call.options
    if opts.resume:
        extra = [f"--{f.replace('_', '-')}" for f in call.flags] + (["--config"] if call.config_file else [])
        if extra:
            raise UserError(f"--resume continues a run with its stored config; drop {', '.join(extra)}")
        path = resume(experiments, opts.resume, expected=exp, checkpoint_seconds=opts.checkpoint_seconds)
    else:
        path = start(exp, call.settings, opts.out, name=opts.name, checkpoint_seconds=opts.checkpoint_seconds)
    world = distributed.current()
    distributed.barrier(world)  # rank 0 has written the figures and summary
    distributed.shutdown()
    if world.main:
        print(f"run complete: {path}")
        if exp.table is not None:
            print(format_table(*exp.table(load_run(path))))
    return 0


def as_command(exp: Experiment, experiments: Sequence[Experiment]) -> Command:
    """The experiment as a command of the command line: ``descentlab optim train [settings]``."""
    return Command(
        command=exp.command,
        help=exp.help,
        description=exp.description,
        examples=exp.examples,
        run=partial(run_experiment, exp, experiments),
        options=ExperimentOptions,
        settings=exp.config,
    )
