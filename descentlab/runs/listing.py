"""Finding runs on disk, and comparing them: what ``descentlab runs list|compare`` prints."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from descentlab.errors import UserError, shown
from descentlab.runs.run import read_json, read_metrics


@dataclass(frozen=True)
class RunRecord:
    """What was logged in one run folder (read only; nothing is recomputed)."""

    path: Path
    meta: dict[str, Any]  # config.json
    summary: dict[str, Any]  # summary.json
    metrics: list[dict[str, Any]]  # metrics.jsonl
    timing: list[dict[str, Any]]  # timing.jsonl: {"step", "elapsed_s"} and wall-clock rates {"step", "charts/SPS"}

    @property
    def experiment(self) -> str:
        return str(self.meta.get("experiment", "?"))

    @property
    def config(self) -> dict[str, Any]:
        return dict(self.meta.get("config", {}))

    @property
    def status(self) -> str:
        return str(self.summary.get("status", "?"))

    @property
    def last_step(self) -> int:
        return max((int(r["step"]) for r in self.metrics if "step" in r), default=0)

    def series(self, key: str) -> tuple[list[int], list[float]]:
        """The (steps, values) at which ``key`` was logged."""
        points = [(int(r["step"]), float(r[key])) for r in self.metrics if key in r]
        return [s for s, _ in points], [v for _, v in points]

    def seconds_at(self) -> dict[int, float]:
        """Seconds spent in optimization steps by step, from ``timing.jsonl``."""
        return {int(t["step"]): float(t["elapsed_s"]) for t in self.timing if "elapsed_s" in t}

    @property
    def train_seconds(self) -> float | None:
        """Seconds spent in optimization steps, from ``timing.jsonl`` (None if not logged)."""
        seconds = [float(t["elapsed_s"]) for t in self.timing if "elapsed_s" in t]
        return seconds[-1] if seconds else None

    def final(self) -> dict[str, float]:
        """Final metrics from the summary, else the last logged value of each key."""
        if isinstance(self.summary.get("metrics"), dict):
            return {k: float(v) for k, v in self.summary["metrics"].items()}
        last: dict[str, float] = {}
        for r in self.metrics:
            last.update({k: float(v) for k, v in r.items() if k != "step"})
        return last


class DamagedRun(UserError):
    """A run folder whose files are not what descentlab writes (edited, truncated, or not a run at all)."""


def _is_number(value: Any) -> bool:
    """A JSON number a float can hold (NaN and infinities included: a diverged run logs them)."""
    if isinstance(value, bool):
        return False
    return isinstance(value, float) or (isinstance(value, int) and abs(value) < 2**63)


def _checked_records(path: Path) -> list[dict[str, Any]]:
    """The records of a metrics or timing file, each a JSON object with an integer ``step`` and numbers."""
    try:
        records = read_metrics(path)
    except UserError as e:
        raise DamagedRun(str(e)) from None
    except OSError as e:
        raise DamagedRun(f"{path}: cannot read: {e.strerror}") from None
    for i, record in enumerate(records, 1):
        if not isinstance(record, dict):
            raise DamagedRun(f"{path}: record {i} is {type(record).__name__}, not a JSON object")
        step = record.get("step")
        if not isinstance(step, int) or isinstance(step, bool) or not 0 <= step < 2**63:
            raise DamagedRun(f"{path}: record {i} has no step (a whole number >= 0)")
        for key, value in record.items():
            if not _is_number(value):
                raise DamagedRun(f"{path}: record {i}: {key!r} is {json.dumps(value)[:40]}, not a number")
    return records


def load_run(path: str | Path) -> RunRecord:
    """Read one run folder. Raises :class:`DamagedRun` (one line naming the file and what is wrong) for a
    folder whose files descentlab did not write as they are."""
    path = Path(path)
    if (path / "config.json").exists() and not (path / "config.json").is_file():
        raise DamagedRun(f"{path / 'config.json'}: not a file")
    if not (path / "config.json").is_file():
        raise UserError(f"{shown(path)}: not a run folder (no config.json); runs live under runs/<experiment>/")
    try:
        meta = read_json(path / "config.json")
        summary_path = path / "summary.json"
        summary = read_json(summary_path) if summary_path.exists() else {}
    except UserError as e:
        raise DamagedRun(str(e)) from None
    except OSError as e:
        raise DamagedRun(f"{e.filename}: cannot read: {e.strerror}") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("experiment"), str):
        raise DamagedRun(f"{path / 'config.json'}: not a run's config (no experiment name)")
    if not isinstance(meta.get("config", {}), dict):
        raise DamagedRun(f"{path / 'config.json'}: 'config' is not a JSON object")
    if not isinstance(summary, dict):
        raise DamagedRun(f"{summary_path}: not a JSON object")
    final = summary.get("metrics", {})
    if not isinstance(final, dict) or not all(_is_number(v) for v in final.values()):
        raise DamagedRun(f"{summary_path}: 'metrics' is not an object of numbers")
    return RunRecord(
        path=path,
        meta=meta,
        summary=summary,
        metrics=_checked_records(path / "metrics.jsonl"),
        timing=_checked_records(path / "timing.jsonl"),
    )


@dataclass(frozen=True)
class Found:
    """The runs found under a folder, and the folders that looked like runs but could not be read."""

    runs: list[RunRecord]
    damaged: list[tuple[Path, str]]  # (folder, what is wrong)


def load_runs(paths: Sequence[str | Path]) -> Found:
    """Each of ``paths`` read with :func:`load_run`; a damaged one is set aside with its reason."""
    runs, damaged = [], []
    for p in paths:
        try:
            runs.append(load_run(p))
        except DamagedRun as e:
            damaged.append((Path(p), str(e)))
    return Found(runs, damaged)


def find_runs(root: str | Path, experiment: str | None = None) -> Found:
    """Every run folder under ``root`` (optionally one experiment's), oldest first, and the damaged ones."""
    root = Path(root)
    if not root.is_dir():
        return Found([], [])
    pattern = f"{experiment}/*/config.json" if experiment else "*/*/config.json"
    found = load_runs(sorted(p.parent for p in root.glob(pattern)))
    runs = sorted(found.runs, key=lambda r: (str(r.meta.get("created", "")), str(r.path)))
    return Found(runs, found.damaged)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def format_table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(lines)


def list_table(runs: list[RunRecord]) -> str:
    rows = []
    for r in runs:
        key = " ".join(f"{k}={_fmt(v)}" for k, v in sorted(r.final().items()))
        rows.append([str(r.path), r.status, str(r.last_step), key])
    return format_table(["run", "status", "step", "metrics"], rows)


def compare_table(runs: list[RunRecord]) -> str:
    """Config keys whose values differ between the runs, then every final metric, side by side."""
    names = [r.path.name for r in runs]
    keys = sorted({k for r in runs for k in r.config})
    differing = [k for k in keys if len({repr(r.config.get(k)) for r in runs}) > 1]
    rows = [["experiment", *[r.experiment for r in runs]]]
    rows += [[f"config.{k}", *[_fmt(r.config.get(k, "-")) for r in runs]] for k in differing]
    metric_keys = sorted({k for r in runs for k in r.final()})
    rows += [[k, *[_fmt(r.final().get(k, "-")) for r in runs]] for k in metric_keys]
    rows += [["status", *[r.status for r in runs]], ["step", *[str(r.last_step) for r in runs]]]
    text = format_table(["", *names], rows)
    if not differing:
        text += "\n(the configs are identical)"
    return text
