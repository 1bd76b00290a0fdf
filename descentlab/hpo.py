"""Hyperparameter search with Optuna: the unit's last remedy, "wrong hyperparameters -> search them".

``descentlab hpo EXPERIMENT --trials N`` runs an experiment N times with settings proposed by Optuna's
TPE sampler. Every trial is an ordinary run folder (``runs/hpo/STUDY/EXPERIMENT/trial-K__...``) with
its metrics and figures, so a trial can be listed, compared and reported like any run.

* What is searched: :data:`SPACES`. Settings given on the command line (or in ``--config``) are held
  fixed and not searched; the rest of the experiment's settings keep their defaults.
* Pruning: a training run reports its validation loss at every evaluation; the median pruner stops a
  trial whose loss is worse than the median of earlier trials at the same step (status ``pruned``).
* Storage: a SQLite file under ``runs/hpo/`` by default, or any SQLAlchemy URL, for example
  ``postgresql://user@host/db``. Several ``descentlab hpo`` processes given the same ``--storage`` and
  ``--study`` share the study: each asks the storage for the next trial, and all stop once the study
  holds N finished (complete or pruned) trials.
* Resuming: a study is loaded when it exists, so running the same command again continues it. A trial
  stopped by Ctrl-C is failed and its settings are queued to be tried first by the next worker.
* The result is ``runs/hpo/STUDY/best.toml``, the full config of the best trial, which ``--config``
  accepts: ``descentlab optim train --config runs/hpo/STUDY/best.toml``.
"""

from __future__ import annotations

import json
import math
import os
import socket
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from descentlab.config import config_toml, flag, to_dict
from descentlab.errors import Interrupted, Pruned, UserError
from descentlab.experiments import EXPERIMENTS, start
from descentlab.experiments.optim_race import RaceConfig
from descentlab.experiments.optim_train import DEFAULT_LR, TrainConfig
from descentlab.runs import load_run
from descentlab.runs.checkpoint import atomic_write_bytes

Suggest = Callable[[Any, Any, frozenset[str]], dict[str, Any]]  # (trial, config, fixed fields) -> overrides


def _train_space(trial: Any, cfg: TrainConfig, fixed: frozenset[str]) -> dict[str, Any]:
    """Learning rate (log scale, 1/30 to 30 times the optimizer's usual one), momentum, batch size."""
    out: dict[str, Any] = {}
    if "lr" not in fixed:
        usual = DEFAULT_LR[cfg.optimizer]
        out["lr"] = trial.suggest_float("lr", usual / 30, min(usual * 30, 10.0), log=True)
    if cfg.optimizer == "momentum" and "momentum" not in fixed:
        out["momentum"] = trial.suggest_float("momentum", 0.5, 0.99)
    if cfg.regime == "mini-batch" and "batch_size" not in fixed:
        out["batch_size"] = trial.suggest_categorical("batch_size", [16, 32, 64, 128, 256])
    return out


def _race_space(trial: Any, cfg: RaceConfig, fixed: frozenset[str]) -> dict[str, Any]:
    """The one raced optimizer's learning rate, log scale from 1e-5 to 10."""
    if "lr" in fixed:
        return {}
    (name,) = cfg.names()
    return {"lr": f"{name}={trial.suggest_float('lr', 1e-5, 10.0, log=True)!r}"}


def _race_objective(cfg: RaceConfig) -> str:
    return f"{cfg.names()[0]}/final_loss"


def _race_score(cfg: RaceConfig, final: dict[str, float]) -> float:
    """Final f; a diverged path (its last finite f can look good) ranks last."""
    name = cfg.names()[0]
    return math.inf if final.get(f"{name}/diverged") else final.get(f"{name}/final_loss", math.nan)


@dataclass(frozen=True)
class SearchSpace:
    suggest: Suggest
    objective: Callable[[Any], str]  # config -> the final metric to minimize
    prune_on: str | None  # the metric reported during a run, for pruning
    check: Callable[[Any], None] = lambda cfg: None
    score: Callable[[Any, dict[str, float]], float] | None = None  # (config, final metrics) -> objective

    def value(self, cfg: Any, final: dict[str, float]) -> float:
        value = self.score(cfg, final) if self.score else final.get(self.objective(cfg), math.nan)
        return math.inf if math.isnan(value) else value  # NaN (a diverged run) ranks last


def _check_race(cfg: RaceConfig) -> None:
    if len(cfg.names()) != 1:
        raise UserError(
            f"--optimizers {cfg.optimizers}: a search tunes one optimizer's learning rate; "
            f"valid: one of {', '.join(RaceConfig().names())}"
        )


SPACES: dict[str, SearchSpace] = {
    "optim-train": SearchSpace(_train_space, lambda cfg: "val/loss", prune_on="val/loss"),
    "optim-race": SearchSpace(_race_space, _race_objective, prune_on=None, check=_check_race, score=_race_score),
}


@dataclass
class SearchResult:
    study: str
    folder: Path  # runs/hpo/STUDY
    best_value: float
    best_config: Any
    config_file: Path  # best.toml
    trials: list[dict[str, Any]]  # number, state, params, value, run


def open_storage(url: str) -> Any:
    """An Optuna RDB storage with heartbeats (a killed worker's trial is failed, not left running)."""
    import optuna

    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    try:
        with warnings.catch_warnings():  # heartbeats are marked experimental in Optuna 4 and 5
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.storages.RDBStorage(url, heartbeat_interval=10, grace_period=30)
    except Exception as e:  # a bad URL, a missing driver, a server that does not answer
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise UserError(
            f"--storage {_safe_url(url)}: cannot open: {first}; "
            "valid: sqlite:///PATH.db or postgresql://USER[:PASSWORD]@HOST[:PORT]/DB"
        ) from None


def _safe_url(url: str) -> str:
    try:
        from sqlalchemy.engine import make_url

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
    import optuna
    from optuna.trial import TrialState

    if experiment not in SPACES:
        raise UserError(f"hpo {experiment}: not searchable; valid: {', '.join(SPACES)}")
    if trials < 1:
        raise UserError(f"--trials {trials}: valid: an integer >= 1")
    space, exp = SPACES[experiment], EXPERIMENTS[experiment]
    space.check(cfg)
    name = study_name or f"{experiment}-{cfg.run_name}"
    if not name or "/" in name or name.startswith("."):
        raise UserError(f"--study {name!r}: valid: a name without '/' that does not start with '.'")
    folder = Path(out) / "hpo" / name
    url = storage or f"sqlite:///{Path(out) / 'hpo' / 'optuna.db'}"
    optuna.logging.set_verbosity(optuna.logging.ERROR)  # we print one line per trial; errors re-raise
    study = optuna.create_study(
        storage=open_storage(url),
        study_name=name,
        direction="minimize",
        sampler=optuna.samplers.TPESampler(seed=sampler_seed),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=3) if prune else optuna.pruners.NopPruner(),
        load_if_exists=True,
    )
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
            raise Interrupted(e.checkpoint, resume_command) from None
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
        study.optimize(
            objective,
            n_trials=trials - done,
            callbacks=[optuna.study.MaxTrialsCallback(trials, states=finished), announce],
        )
    else:
        log(f"study {name!r} already holds {done} finished trials (asked for {trials})")
    return _write_result(study, name, folder, cfg, space, url)


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
    from optuna.trial import TrialState

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
    from descentlab.report.figures import search_history

    fig = search_history(rows, space.objective(cfg), name)
    fig.savefig(folder / "history.png", dpi=110, bbox_inches="tight")
    import matplotlib.pyplot as plt

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


__all__ = ["SPACES", "SearchResult", "open_storage", "search", "trial_table"]
