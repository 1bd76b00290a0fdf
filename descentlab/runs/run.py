"""A run folder: resolved config, metrics, TensorBoard events, figures, checkpoint and summary.

Layout (``runs/<experiment>/<name>__<seed>__<time>/``)::

    config.json       experiment, name, seed, the command that reproduces it, the resolved config
    metrics.jsonl     one JSON object per logged step: {"step": 120, "train/loss": 0.31, ...}
    timing.jsonl      wall-clock seconds and rates by step, kept apart so that metrics.jsonl is reproducible
    events.out.tfevents.*   the same scalars for TensorBoard
    checkpoint.pt     the latest checkpoint (atomic write, weights_only load, SHA-256 verified)
    summary.json      status (running / interrupted / complete), final metrics, wall time
    *.png             figures the experiment drew
"""

from __future__ import annotations

import json
import math
import re
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

import torch

from descentlab import __version__
from descentlab.errors import CheckpointError, ParameterError, UserError, shown
from descentlab.runs.checkpoint import atomic_write_bytes, load_checkpoint, save_checkpoint

CHECKPOINT = "checkpoint.pt"
LOGGED = "_logged"
DEFAULT_CHECKPOINT_SECONDS = 300.0  # the key under which a run's checkpoint counts the records logged so far


RUN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+=,@-]{0,99}")


def check_run_name(name: str) -> None:
    """A run's name is one folder name of at most 100 characters, so that its folder stays under ``--out``."""
    if not isinstance(name, str) or RUN_NAME.fullmatch(name) is None:
        shown = repr(name) if len(str(name)) <= 40 else repr(str(name)[:40]) + f"... ({len(str(name))} characters)"
        raise ParameterError(
            "name",
            f"{shown} is not a run name; valid: 1 to 100 letters, digits and . _ + = , @ - (starting with a letter or "
            "digit), one folder name under --out",
        )


def _json_bytes(obj: Any) -> bytes:
    return (json.dumps(obj, indent=2, sort_keys=False) + "\n").encode()


def _regular(path: Path) -> None:
    """A FIFO, a socket or a device in a run folder would block or never end a read: refused first."""
    if path.exists() and not path.is_file():
        raise UserError(f"{path}: not a regular file")


def read_json(path: Path) -> Any:
    _regular(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path}: missing; is {path.parent} a descentlab run folder?") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise UserError(f"{path}: not valid JSON ({e})") from None
    except RecursionError:
        raise UserError(f"{path}: JSON nested too deeply to be a run's file") from None


def read_metrics(path: Path) -> list[dict[str, Any]]:
    """The records of a ``metrics.jsonl`` file; a torn last line (a crash mid-write) is ignored."""
    records: list[dict[str, Any]] = []
    if not path.exists():
        return records
    _regular(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as e:
        raise UserError(f"{path}: not UTF-8 text (invalid byte at offset {e.start})") from None
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except RecursionError:
            raise UserError(f"{path}: line {i + 1} is nested too deeply to be a record") from None
        except json.JSONDecodeError:
            if i == len(lines) - 1:
                break
            raise UserError(f"{path}: line {i + 1} is not valid JSON") from None
    return records


@dataclass
class Run:
    """An open run folder. Create with :meth:`create`, reopen with :meth:`resume`."""

    path: Path
    experiment: str
    start_step: int = 0
    _trim_after: int | None = None  # resumed: records after this step go before the first new one (-1: all)
    _keep: dict[str, int] | None = None  # resumed: or, when the checkpoint says, the first N records of each log

    def __post_init__(self) -> None:
        self._previous_summary: bytes | None = None
        self._counts = {"metrics": 0, "timing": 0}  # records in each log: a checkpoint stores them
        self._metrics = open(self.path / "metrics.jsonl", "a", encoding="utf-8")  # noqa: SIM115
        self._timing = open(self.path / "timing.jsonl", "a", encoding="utf-8")  # noqa: SIM115
        self._writer: Any = None
        self._started = time.time()
        # Called as listener(step, metrics) after each log(); a hyperparameter search reports through it.
        self.listeners: list[Callable[[int, dict[str, float]], None]] = []

    # ---- creation ---------------------------------------------------------------------------
    @classmethod
    def create(
        cls, root: str | Path, experiment: str, name: str, seed: int, config: dict[str, Any], command: str
    ) -> Run:
        """Make a new, uniquely named run folder under ``root/experiment`` and write ``config.json``."""
        check_run_name(name)
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        parent = Path(root) / experiment
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise UserError(f"--out {root}: cannot create the run folder: {e.strerror}") from None
        base = f"{name}__{seed}__{stamp}"
        for k in range(1000):
            path = parent / (base if k == 0 else f"{base}-{k}")
            try:
                path.mkdir()
                break
            except FileExistsError:
                continue
        else:  # pragma: no cover - a thousand runs in the same second
            raise UserError(f"{parent}: too many runs named {base}")
        meta = {
            "experiment": experiment,
            "name": name,
            "seed": seed,
            "created": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "command": command,
            "descentlab_version": __version__,
            "torch_version": torch.__version__,
            "config": config,
        }
        atomic_write_bytes(path / "config.json", _json_bytes(meta))
        run = cls(path=path, experiment=experiment)
        run.write_summary({"status": "running"})
        return run

    @classmethod
    def resume(cls, path: str | Path) -> tuple[Run, dict[str, Any], dict[str, Any] | None]:
        """Reopen a run at its checkpoint: returns ``(run, config.json, checkpoint state)``; the state is
        ``None`` when the run was killed before it wrote one (it then starts over in the same folder).

        Nothing in the folder changes until the run logs its first record after the checkpoint (so a
        checkpoint that does not fit the run loses nothing: see :meth:`abandon`). Then the records logged
        after the checkpoint (the steps lost at the interruption) are dropped, so the resumed run's
        ``metrics.jsonl`` ends step for step as an unbroken run's would. Temporary files left by a write
        that was killed are removed.
        """
        path = Path(path)
        if not path.is_dir():
            raise UserError(f"--resume {shown(path)}: no such run folder")
        meta = read_json(path / "config.json")
        if not isinstance(meta, dict) or "experiment" not in meta or not isinstance(meta.get("config"), dict):
            raise UserError(f"{path / 'config.json'}: not a descentlab run config")
        state: dict[str, Any] | None = None
        step = -1  # no checkpoint: every record goes
        if (path / CHECKPOINT).exists():
            state = load_checkpoint(path / CHECKPOINT)
            step = state.get("step", -1)
            if not isinstance(step, int) or isinstance(step, bool) or step < 0:
                raise CheckpointError(f"{path / CHECKPOINT}: checkpoint has no valid 'step'")
        for stale in path.glob(".*.tmp"):  # an atomic write that was killed before its rename
            stale.unlink(missing_ok=True)
        summary = path / "summary.json"
        logged = state.get(LOGGED) if state is not None else None
        keep: dict[str, int] | None = None
        if isinstance(logged, dict) and all(
            isinstance(logged.get(k), int) and logged[k] >= 0 for k in ("metrics", "timing")
        ):
            keep = {k: logged[k] for k in ("metrics", "timing")}
        run = cls(path=path, experiment=str(meta["experiment"]), start_step=max(step, 0), _trim_after=step, _keep=keep)
        run._previous_summary = summary.read_bytes() if summary.is_file() else None
        run.write_summary({"status": "running", "resumed_from_step": max(step, 0)})
        return run, meta, state

    def _trim(self) -> None:
        """Drop the records logged after the checkpoint, once, before the resumed run logs its first."""
        if self._trim_after is None:
            return
        step, self._trim_after = self._trim_after, None
        for handle in (self._metrics, self._timing):
            handle.close()
        for log in ("metrics", "timing"):
            records = read_metrics(self.path / f"{log}.jsonl")
            if self._keep is not None:  # the checkpoint counted what had been logged when it was written
                kept = records[: self._keep[log]]
            else:
                kept = [r for r in records if r.get("step", math.inf) <= step]
            atomic_write_bytes(self.path / f"{log}.jsonl", "".join(json.dumps(r) + "\n" for r in kept).encode())
            self._counts[log] = len(kept)
        if step < 0:  # starting over: the old TensorBoard events go too
            for events in self.path.glob("events.out.tfevents.*"):
                events.unlink()
        self._metrics = open(self.path / "metrics.jsonl", "a", encoding="utf-8")  # noqa: SIM115
        self._timing = open(self.path / "timing.jsonl", "a", encoding="utf-8")  # noqa: SIM115

    @property
    def accepted(self) -> bool:
        """Whether the run has logged since it was resumed (so its checkpoint was taken): always for a new run."""
        return self._trim_after is None

    def abandon(self) -> None:
        """Leave a resumed run that has logged nothing as it was before the resume: its summary back, its
        logs untouched (used when the checkpoint does not fit the run)."""
        self.close()
        if self._previous_summary is not None:
            atomic_write_bytes(self.path / "summary.json", self._previous_summary)

    # ---- logging ----------------------------------------------------------------------------
    def log(self, step: int, metrics: dict[str, float]) -> None:
        """Append one record to ``metrics.jsonl`` and the same scalars to TensorBoard."""
        self._trim()
        record = {"step": step, **{k: float(v) for k, v in metrics.items()}}
        self._metrics.write(json.dumps(record) + "\n")
        self._metrics.flush()
        self._counts["metrics"] += 1
        writer = self._tensorboard()
        for key, value in metrics.items():
            writer.add_scalar(key, float(value), step)
        for listener in self.listeners:
            listener(step, metrics)

    def log_timing(self, step: int, seconds: float) -> None:
        """Append ``{"step", "elapsed_s"}`` to ``timing.jsonl`` (not reproducible, so not a metric)."""
        self._trim()
        self._timing.write(json.dumps({"step": step, "elapsed_s": round(seconds, 6)}) + "\n")
        self._timing.flush()
        self._counts["timing"] += 1

    def log_wallclock(self, step: int, rates: dict[str, float]) -> None:
        """Append wall-clock scalars such as ``charts/SPS`` (steps per second) to ``timing.jsonl`` and
        TensorBoard: they change from one machine or run to the next, so they are not metrics."""
        self._trim()
        self._timing.write(json.dumps({"step": step, **{k: float(v) for k, v in rates.items()}}) + "\n")
        self._timing.flush()
        self._counts["timing"] += 1
        writer = self._tensorboard()
        for key, value in rates.items():
            writer.add_scalar(key, float(value), step)

    def _tensorboard(self) -> Any:
        if self._writer is None:
            from torch.utils.tensorboard import SummaryWriter

            purge = self.start_step + 1 if self.start_step else None
            self._writer = SummaryWriter(log_dir=str(self.path), purge_step=purge)
        return self._writer

    def metrics(self) -> list[dict[str, Any]]:
        self._trim()
        self._metrics.flush()
        return read_metrics(self.path / "metrics.jsonl")

    # ---- checkpoints, figures, summary --------------------------------------------------------
    @property
    def checkpoint_path(self) -> Path:
        return self.path / CHECKPOINT

    def save_checkpoint(self, state: dict[str, Any]) -> Path:
        """Save ``state`` with how many records each log holds now, so that a resume keeps exactly those
        (a record logged after the checkpoint at the same step goes too)."""
        self._trim()
        save_checkpoint(self.checkpoint_path, {**state, LOGGED: dict(self._counts)})
        return self.checkpoint_path

    def save_final_checkpoint(self, metrics: dict[str, float], step: int = 0) -> Path:
        """A checkpoint that says: the run's result is logged and saved; a resume returns ``metrics`` at once
        (a kill between it and the summary leaves nothing to redo)."""
        return self.save_checkpoint({"step": step, "final": True, "metrics": dict(metrics)})

    def save_restart_checkpoint(self) -> Path:
        """A checkpoint that says: resume by starting over (a short run that keeps no state mid-way); the
        records logged so far go at the resume."""
        self._trim()
        save_checkpoint(self.checkpoint_path, {"step": 0, LOGGED: {"metrics": 0, "timing": 0}})
        return self.checkpoint_path

    def figure_path(self, name: str) -> Path:
        return self.path / name

    def write_summary(self, summary: dict[str, Any]) -> None:
        atomic_write_bytes(self.path / "summary.json", _json_bytes(summary))

    def finish(self, status: str, **summary: Any) -> None:
        """Write ``summary.json`` and close the logs."""
        self._trim()
        previous = {}
        if (self.path / "summary.json").exists():
            previous = read_json(self.path / "summary.json")
        wall = float(previous.get("wall_time_s", 0.0)) + (time.time() - self._started)
        self.write_summary({"status": status, "wall_time_s": round(wall, 3), **summary})
        self.close()

    def close(self) -> None:
        for log in (self._metrics, self._timing):
            if not log.closed:
                log.close()
        if self._writer is not None:
            self._writer.close()
            self._writer = None


class SilentRun:
    """What a rank other than 0 of a data-parallel group trains with: the same methods as :class:`Run`, writing
    nothing (rank 0 writes the run folder). ``path`` is rank 0's folder."""

    def __init__(self, path: str | Path, experiment: str, start_step: int = 0) -> None:
        self.path, self.experiment, self.start_step = Path(path), experiment, start_step
        self.listeners: list[Callable[[int, dict[str, float]], None]] = []
        self.accepted = True

    def log(self, step: int, metrics: dict[str, float]) -> None:
        pass

    def log_timing(self, step: int, seconds: float) -> None:
        pass

    def log_wallclock(self, step: int, rates: dict[str, float]) -> None:
        pass

    def metrics(self) -> list[dict[str, Any]]:
        return []

    @property
    def checkpoint_path(self) -> Path:
        return self.path / CHECKPOINT

    def save_checkpoint(self, state: dict[str, Any]) -> Path:
        return self.checkpoint_path

    def save_final_checkpoint(self, metrics: dict[str, float], step: int = 0) -> Path:
        return self.checkpoint_path

    def save_restart_checkpoint(self) -> Path:
        return self.checkpoint_path

    def figure_path(self, name: str) -> Path:
        return self.path / name

    def write_summary(self, summary: dict[str, Any]) -> None:
        pass

    def finish(self, status: str, **summary: Any) -> None:
        pass

    def abandon(self) -> None:
        pass

    def close(self) -> None:
        pass


class StopFlag:
    """Set by a stop signal (Ctrl-C's SIGINT, or SIGTERM or SIGHUP from a scheduler); the training loop
    checks ``requested`` after each step, checkpoints, and stops. ``signum`` is the signal that asked.

    ``checkpoint_due()`` is true once every ``checkpoint_seconds`` of wall-clock time: a loop that can
    resume mid-run writes a checkpoint then too, so that a run killed outright (SIGKILL, a power cut, an
    out-of-memory kill) loses at most that much work."""

    def __init__(self, checkpoint_seconds: float = DEFAULT_CHECKPOINT_SECONDS) -> None:
        self.requested = False
        self.signum = signal.SIGINT.value
        self.checkpoint_seconds = checkpoint_seconds
        self._last = time.monotonic()

    def checkpoint_due(self) -> bool:
        now = time.monotonic()
        if now - self._last < self.checkpoint_seconds:
            return False
        self._last = now
        return True


# What a user's Ctrl-C, a closed terminal and every scheduler (Slurm, Kubernetes, systemd, `timeout`) send.
STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGBREAK") if hasattr(signal, name)
)


@contextmanager
def stop_on_signals(checkpoint_seconds: float = DEFAULT_CHECKPOINT_SECONDS) -> Iterator[StopFlag]:
    """Turn the first stop signal into a request to checkpoint and stop; a second one interrupts at once."""
    flag = StopFlag(checkpoint_seconds)
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        if flag.requested:
            raise KeyboardInterrupt
        flag.requested, flag.signum = True, signum

    previous = {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS}
    try:
        yield flag
    finally:
        for sig, before in previous.items():
            signal.signal(sig, before)
