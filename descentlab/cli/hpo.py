"""Hyperparameter search with Optuna: the unit's last remedy, "wrong hyperparameters -> search them".

``descentlab hpo EXPERIMENT --trials N`` runs an experiment N times with settings proposed by Optuna's
TPE sampler. Every trial is an ordinary run folder (``runs/hpo/STUDY/EXPERIMENT/trial-K__...``) with
its metrics and figures, so a trial can be listed, compared and reported like any run.

* What is searched: the ``search`` space each experiment declares (``optim train``: learning rate,
  momentum, batch size; ``optim race``: the raced optimizer's learning rate). Settings given on the
  command line (or in ``--config``) are held fixed and not searched; the rest keep their defaults.
* Pruning: a training run reports its validation loss at every evaluation; the median pruner stops a
  trial whose loss is worse than the median of earlier trials at the same step (status ``pruned``).
* Storage: a SQLite file under ``runs/hpo/`` by default, or any SQLAlchemy URL, for example
  ``postgresql://user@host/db``. Several ``descentlab hpo`` processes given the same ``--storage`` and
  ``--study`` share the study: each asks the storage for the next trial, and all stop once the study
  holds N finished (complete or pruned) trials.
* Resuming: a study is loaded when it exists, so running the same command again continues it, with the
  sampler seeded by ``--sampler-seed`` plus the number of trials the study holds (so it proposes new
  settings, not the first trials' again). A trial stopped by Ctrl-C or SIGTERM is failed and its settings
  are queued to be tried first by the next worker; so is a trial left "running" by a worker of this
  machine that was killed (another machine's is failed by Optuna once its heartbeat is 30 s old).
* The result is ``runs/hpo/STUDY/best.toml``, the full config of the best trial, which ``--config``
  accepts: ``descentlab optim train --config runs/hpo/STUDY/best.toml``.
"""

from __future__ import annotations

import errno
import json
import math
import os
import shlex
import socket
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import optuna
from matplotlib.figure import Figure
from optuna.trial import TrialState
from sqlalchemy.engine import make_url

from descentlab.cli.flags import flag
from descentlab.config import Options, config_toml, param, to_dict
from descentlab.errors import Interrupted, ParameterError, Pruned, UserError
from descentlab.experiments import EXPERIMENTS, Call, Command, Experiment, SearchSpace, start
from descentlab.runs import format_table, load_run
from descentlab.runs.checkpoint import atomic_write_bytes

SEARCHABLE: dict[str, Experiment] = {e.name: e for e in EXPERIMENTS if e.search is not None}


@dataclass
class SearchResult:
    study: str
    folder: Path  # runs/hpo/STUDY
    best_value: float
    best_config: Any
    config_file: Path  # best.toml
    trials: list[dict[str, Any]]  # number, state, params, value, run


VALID_STORAGE = "valid: sqlite:///PATH.db or postgresql://USER[:PASSWORD]@HOST[:PORT]/DB"


def open_storage(url: str) -> Any:
    """An Optuna RDB storage with heartbeats (a killed worker's trial is failed, not left running).

    An in-memory SQLite URL is refused: a study lives in a file or a server that outlives the process."""
    try:
        parsed = make_url(url)
    except Exception:
        raise UserError(f"--storage {_safe_url(url)}: not a database URL; {VALID_STORAGE}") from None
    if parsed.get_backend_name() == "sqlite":
        if parsed.database in (None, "", ":memory:"):
            raise UserError(f"--storage {url}: an in-memory database forgets the study when the process ends; "
                            "valid: sqlite:///PATH.db (a file)")  # fmt: skip
        _check_folder_for(Path(parsed.database), "--storage")
    try:
        with warnings.catch_warnings():  # heartbeats are marked experimental in Optuna 4 and 5
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.storages.RDBStorage(url, heartbeat_interval=10, grace_period=30)
    except Exception as e:  # a bad URL, a missing driver, a server that does not answer
        _raise_if_disk_full(e, url)
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise UserError(f"--storage {_safe_url(url)}: cannot open: {first}; {VALID_STORAGE}") from None


DISK_FULL = ("database or disk is full", "no space left on device", "disk full")


def _raise_if_disk_full(e: BaseException, url: str) -> None:
    """A storage error that is the disk's (full, or failing a write: SQLite's "disk I/O error", which is what a
    file-size limit gives it) is a system error (exit 1), not a bad ``--storage`` (exit 2)."""
    text = str(e).lower()
    where = make_url(url).database if url.startswith("sqlite") else _safe_url(url)
    if (isinstance(e, OSError) and e.errno == errno.ENOSPC) or any(m in text for m in DISK_FULL):
        raise OSError(errno.ENOSPC, "No space left on device (the study's storage)", where) from None
    if "disk i/o error" in text:
        raise OSError(errno.EIO, "disk I/O error writing the study's storage (is the disk full?)", where) from None


def _check_folder_for(path: Path, what: str) -> None:
    """Make the folder ``path`` goes in, or say in one line why it cannot be made or written."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"{what} {path}: cannot make its folder {path.parent}: {e.strerror}") from None
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise UserError(f"{what} {path}: its folder {path.parent} is not writable")


def _process_gone(worker: Any) -> bool:
    """Whether ``worker`` ("HOST:PID") is a process of this machine that no longer runs."""
    host, _, pid = str(worker).rpartition(":")
    if host != socket.gethostname() or not pid.isdigit() or os.name != "posix":
        return False  # another machine's worker: its heartbeat tells (Optuna fails it after the grace period)
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


def _fail_abandoned(study: Any, log: Callable[[str], None]) -> None:
    """Trials left "running" by a worker of this machine that was killed are failed, their settings queued."""
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if _process_gone(t.user_attrs.get("worker")):
            study._storage.set_trial_state_values(t._trial_id, state=TrialState.FAIL)
            if t.params:
                study.enqueue_trial(t.params)  # tried again first, as after Ctrl-C
            log(f"trial {t.number} was left running by a worker that is gone ({t.user_attrs['worker']}): failed")


def _safe_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.split("@")[-1] if "@" in url else url


def search(
    experiment: str,
    cfg: Any,
    trials: int,
    out: str | Path = "runs",
    storage: str | None = None,
    study_name: str | None = None,
    fixed: frozenset[str] = frozenset(),
    sampler_seed: int = 0,
    prune: bool = True,
    resume_command: str = "",
    log: Callable[[str], None] = print,
) -> SearchResult:
    """Run (or continue) the study until it holds ``trials`` finished trials; write ``best.toml``.

    ``fixed``: the config fields a user set, which are not searched.
    """
    if experiment not in SEARCHABLE:
        raise ParameterError("experiment", f"{experiment!r} is not searchable; valid: {', '.join(SEARCHABLE)}")
    if trials < 1:
        raise ParameterError("trials", f"{trials} is out of range; valid: an integer >= 1")
    if not isinstance(sampler_seed, int) or isinstance(sampler_seed, bool) or not 0 <= sampler_seed < 2**31:
        raise ParameterError("sampler_seed", f"{sampler_seed!r} is out of range; valid: an integer from 0 to 2**31 - 1")
    exp = SEARCHABLE[experiment]
    space = exp.search
    assert space is not None
    if space.check is not None:
        space.check(cfg)
    name, folder, url = _where(experiment, cfg, out, storage, study_name)
    study = _open_study(url, name, prune)
    _fail_abandoned(study, log)
    # A continued study must not propose its first trials again: the seed moves on with the trials it holds.
    study.sampler = optuna.samplers.TPESampler(seed=sampler_seed + len(study.get_trials(deepcopy=False)))
    settings = {k: v for k, v in to_dict(cfg).items() if k not in _searched(space, cfg, fixed)}
    _claim(study, experiment, settings)
    worker = f"{socket.gethostname()}:{os.getpid()}"

    def objective(trial: Any) -> float:
        overrides = space.suggest(trial, cfg, fixed)
        trial.set_user_attr("overrides", overrides)
        trial.set_user_attr("worker", worker)
        trial_cfg = replace(cfg, **overrides)

        def report(step: int, metrics: dict[str, float]) -> None:
            if space.prune_on in metrics:
                # Trials may differ in batch size, so they are compared at the same epoch, not step.
                at = round(metrics["val/epoch"] * 1000) if "val/epoch" in metrics else step
                trial.report(metrics[space.prune_on], at)
                if trial.should_prune():
                    raise Pruned()

        try:
            path = start(exp, trial_cfg, folder, name=f"trial-{trial.number}", on_log=report)
        except Pruned as e:
            trial.set_user_attr("run", str(e))
            raise optuna.TrialPruned() from None
        except Interrupted as e:
            study.enqueue_trial(trial.params)  # the next worker tries these settings first
            raise Interrupted(e.checkpoint, resume_command, e.signum) from None
        trial.set_user_attr("run", str(path))
        return space.value(cfg, load_run(path).final())

    def announce(study: Any, trial: Any) -> None:
        params = ", ".join(f"{k}={_short(v)}" for k, v in trial.params.items())
        if trial.state == TrialState.COMPLETE:
            value = f"{space.objective(cfg)} {trial.value:.6g}"
        else:
            value = f"{trial.state.name.lower()} (last report {trial.last_step})"
        log(f"trial {trial.number} [{params}]: {value}")

    finished = (TrialState.COMPLETE, TrialState.PRUNED)
    done = len(study.get_trials(deepcopy=False, states=finished))
    if done < trials:
        log(f"study {name!r} in {_safe_url(url)}: {done} of {trials} trials finished; running the rest")
        try:
            study.optimize(
                objective,
                n_trials=trials - done,
                callbacks=[optuna.study.MaxTrialsCallback(trials, states=finished), announce],
            )
        except Exception as e:
            _raise_if_disk_full(e, url)
            raise
    else:
        log(f"study {name!r} already holds {done} finished trials (asked for {trials})")
    return _write_result(study, name, folder, cfg, space, url)


def _where(experiment: str, cfg: Any, out: str | Path, storage: str | None, study_name: str | None
           ) -> tuple[str, Path, str]:  # fmt: skip
    """The study's name, its folder under ``out`` (best.toml, trials) and its storage URL."""
    name = study_name or f"{experiment}-{cfg.run_name}"
    if not name or "/" in name or name.startswith("."):
        raise ParameterError("study", f"{name!r} is not valid; valid: a name without '/' that does not start with '.'")
    folder = Path(out) / "hpo" / name
    _check_folder_for(folder / "best.toml", "--out")
    return name, folder, storage or f"sqlite:///{Path(out) / 'hpo' / 'optuna.db'}"


def _open_study(url: str, name: str, prune: bool = True) -> Any:
    """The study, made if the storage has none of that name."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)  # we print one line per trial; errors re-raise
    return optuna.create_study(
        storage=open_storage(url),
        study_name=name,
        direction="minimize",
        pruner=optuna.pruners.MedianPruner(n_startup_trials=3) if prune else optuna.pruners.NopPruner(),
        load_if_exists=True,
    )


def _worker(kwargs: dict[str, Any]) -> None:
    """One helper worker of ``--workers N`` (a process of its own): ``search`` on the shared study; an error or
    a stop signal ends it with the CLI's one line and exit code."""
    import sys

    try:
        search(**kwargs)
    except Interrupted as e:
        sys.exit(128 + e.signum)
    except UserError as e:
        print(f"descentlab: error: {e}", file=sys.stderr)
        sys.exit(2)


def search_with_workers(workers: int, **kwargs: Any) -> SearchResult:
    """:func:`search` in ``workers`` processes on one study: this one and ``workers - 1`` helpers started with
    ``multiprocessing`` (spawn), each with its own sampler seed (``sampler_seed + i``). The study is made
    first, so that the helpers find it; each asks the storage for its next trial, and all stop once the study
    holds the trials asked for. A stop signal here stops the helpers too (each fails and re-queues its trial)."""
    import multiprocessing

    if workers == 1:
        return search(**kwargs)
    name, folder, url = _where(kwargs["experiment"], kwargs["cfg"], kwargs.get("out", "runs"), kwargs.get("storage"),
                          kwargs.get("study_name"))  # fmt: skip
    _open_study(url, name, kwargs.get("prune", True))
    seed = kwargs.pop("sampler_seed", 0)
    context = multiprocessing.get_context("spawn")
    helpers = [context.Process(target=_worker, args=({**kwargs, "sampler_seed": seed + i},)) for i in range(1, workers)]
    for helper in helpers:
        helper.start()
    try:
        search(**kwargs, sampler_seed=seed)  # this process is worker 0
    except BaseException:
        for helper in helpers:
            helper.terminate()  # SIGTERM: each checkpoints, fails its trial and queues its settings again
        raise
    finally:
        for helper in helpers:
            helper.join()
    failed = [h.exitcode for h in helpers if h.exitcode != 0]
    if failed:
        raise UserError(f"--workers {workers}: {len(failed)} helper worker(s) failed (exit codes "
                        f"{', '.join(map(str, failed))}); the study keeps the trials they finished")  # fmt: skip
    space = SEARCHABLE[kwargs["experiment"]].search
    assert space is not None
    # written again now that every worker has stopped, so that the result holds all their trials
    return _write_result(_open_study(url, name, kwargs.get("prune", True)), name, folder, kwargs["cfg"], space, url)


def _searched(space: SearchSpace, cfg: Any, fixed: frozenset[str]) -> set[str]:
    """The config fields the space may set, found by asking it with a stand-in trial."""
    names: set[str] = set()

    class Recorder:
        def __getattr__(self, attr: str) -> Any:
            def suggest(name: str, *args: Any, **kwargs: Any) -> Any:
                names.add(name)
                choices = args[0] if args and isinstance(args[0], list) else None
                return choices[0] if choices else (args[0] if args else 1.0)

            return suggest

    fields = set(space.suggest(Recorder(), cfg, fixed))
    return fields | names


def _claim(study: Any, experiment: str, settings: dict[str, Any]) -> None:
    """A study belongs to one experiment and one set of fixed settings; another command must not join it."""
    attrs = study.user_attrs
    if "experiment" not in attrs:
        study.set_user_attr("experiment", experiment)
        study.set_user_attr("settings", settings)
        return
    if attrs["experiment"] != experiment:
        raise UserError(
            f"--study {study.study_name}: it searches {attrs['experiment']}, not {experiment}; give another --study"
        )
    differ = [k for k in sorted(settings) if attrs["settings"].get(k) != settings[k] and k != "device"]
    if differ:
        theirs = ", ".join(f"{flag(k)} {attrs['settings'].get(k)}" for k in differ)
        raise UserError(
            f"--study {study.study_name}: it was started with {theirs}; use the same settings or another --study"
        )


def _short(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _write_result(study: Any, name: str, folder: Path, cfg: Any, space: SearchSpace, url: str) -> SearchResult:
    rows = [
        {
            "number": t.number,
            "state": t.state.name.lower(),
            "params": t.params,
            "value": t.value,
            "last_step": t.last_step,
            "run": t.user_attrs.get("run"),
            "worker": t.user_attrs.get("worker"),
        }
        for t in study.get_trials(deepcopy=False)
    ]
    complete = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))]
    if not complete:
        raise UserError(f"study {name!r}: no trial completed, so there is no best config; run more --trials")
    best = min(complete, key=lambda t: t.value)
    best_cfg = replace(cfg, **best.user_attrs.get("overrides", {}))
    folder.mkdir(parents=True, exist_ok=True)
    comment = (
        f"Best of {len(complete)} complete trials of study {name!r} ({_safe_url(url)}), "
        f"written {datetime.now(UTC).isoformat(timespec='seconds')}:\n"
        f"trial {best.number}, {space.objective(cfg)} = {best.value:.6g}, run {best.user_attrs.get('run')}\n"
        f"Use it with: --config {folder / 'best.toml'}"
    )
    config_file = folder / "best.toml"
    atomic_write_bytes(config_file, config_toml(best_cfg, comment).encode())
    atomic_write_bytes(folder / "trials.json", json.dumps(rows, indent=1, default=str).encode())
    fig = search_history(rows, space.objective(cfg), name)
    fig.savefig(folder / "history.png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return SearchResult(name, folder, float(best.value), best_cfg, config_file, rows)


def trial_table(result: SearchResult) -> tuple[list[str], list[list[str]]]:
    names = sorted({k for r in result.trials for k in r["params"]})

    def objective(r: dict[str, Any]) -> str:
        if r["value"] is None:
            return ""
        if r["state"] == "pruned":  # the last value it reported; epochs x 1000 for optim-train
            return f"({r['value']:.4g} at report {r['last_step']})"
        return f"{r['value']:.6g}"

    rows = [[str(r["number"]), r["state"], *[_short(r["params"].get(k, "")) for k in names], objective(r)]
            for r in result.trials]  # fmt: skip
    return ["trial", "state", *names, "objective"], rows


def search_history(trials: list[dict[str, Any]], objective: str, study: str) -> Figure:
    """A hyperparameter search: each trial's objective (pruned trials marked) and the best so far."""
    fig, ax = plt.subplots(figsize=(7, 4))
    complete = [(t["number"], t["value"]) for t in trials if t["state"] == "complete" and t["value"] is not None]
    finite = [(n, v) for n, v in complete if math.isfinite(v)]
    if finite:
        ax.plot(*zip(*finite, strict=True), "o", color="C0", label="complete trial")
        best, line = math.inf, []
        for n, v in sorted(finite):
            best = min(best, v)
            line.append((n, best))
        ax.step(*zip(*line, strict=True), where="post", color="C3", label="best so far")
    pruned = [t["number"] for t in trials if t["state"] == "pruned"]
    if pruned:
        low = min((v for _, v in finite), default=0.0)
        ax.plot(pruned, [low] * len(pruned), "x", color="0.5", label="pruned (stopped early)")
    ax.set(xlabel="trial", ylabel=objective, title=f"study {study}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


# ---- the commands: descentlab hpo EXPERIMENT, one for each searchable experiment ------------------


@dataclass(frozen=True)
class SearchOptions(Options):
    trials: int = param(None, "finished trials the study should hold", low=1, high=100_000, metavar="N", required=True)
    storage: str | None = param(None, "SQLAlchemy URL (default: sqlite:///OUT/hpo/optuna.db)", metavar="URL")
    study: str | None = param(None, "study name (default: EXPERIMENT-RUNNAME)", metavar="NAME")
    sampler_seed: int = param(0, "TPE seed; give each parallel worker its own", low=0, high=2**31 - 1)
    workers: int = param(1, "worker processes on this machine sharing the study (worker i's TPE seed: "
                         "--sampler-seed + i)", low=1, high=256, metavar="N")  # fmt: skip
    no_prune: bool = param(False, "never stop a trial early")
    out: str = param("runs", "root folder of run folders", metavar="DIR")


def run_search(exp: Experiment, call: Call) -> int:
    opts: SearchOptions = call.options
    result = search_with_workers(
        opts.workers,
        experiment=exp.name,
        cfg=call.settings,
        trials=opts.trials,
        out=opts.out,
        storage=opts.storage,
        study_name=opts.study,
        fixed=frozenset(call.flags) | call.file_keys,
        sampler_seed=opts.sampler_seed,
        prune=not opts.no_prune,
        resume_command="descentlab " + shlex.join(call.argv) + "   # the same command continues the study",
    )
    print(format_table(*trial_table(result)))
    print(f"best: {result.best_value:.6g}; config: {result.config_file}; figure: {result.folder / 'history.png'}")
    return 0


def search_command(exp: Experiment) -> Command:
    """``descentlab hpo EXPERIMENT``: a search over what ``exp`` declares searchable."""
    assert exp.search is not None
    return Command(
        command=f"hpo {exp.name}",
        help=exp.search.about,
        description=f"Search {exp.search.about} ('{exp.invocation}'), with Optuna.",
        examples=(f"descentlab hpo {exp.name} --trials 20",),
        run=partial(run_search, exp),
        options=SearchOptions,
        settings=exp.config,
    )


COMMANDS: tuple[Command, ...] = tuple(search_command(e) for e in SEARCHABLE.values())

__all__ = ["COMMANDS", "SEARCHABLE", "SearchResult", "open_storage", "search", "trial_table"]
