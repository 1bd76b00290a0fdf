"""Finding runs on disk, and comparing them: what ``descentlab runs list|compare`` prints."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from descentlab.errors import UserError
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


def load_run(path: str | Path) -> RunRecord:
    path = Path(path)
    if not (path / "config.json").is_file():
        raise UserError(f"{path}: not a run folder (no config.json); runs live under runs/<experiment>/")
    meta = read_json(path / "config.json")
    summary_path = path / "summary.json"
    summary = read_json(summary_path) if summary_path.exists() else {}
    return RunRecord(
        path=path,
        meta=meta,
        summary=summary,
        metrics=read_metrics(path / "metrics.jsonl"),
        timing=read_metrics(path / "timing.jsonl"),
    )


def find_runs(root: str | Path, experiment: str | None = None) -> list[RunRecord]:
    """Every run folder under ``root`` (optionally one experiment's), oldest first."""
    root = Path(root)
    if not root.is_dir():
        return []
    pattern = f"{experiment}/*/config.json" if experiment else "*/*/config.json"
    runs = [load_run(p.parent) for p in root.glob(pattern)]
    return sorted(runs, key=lambda r: (str(r.meta.get("created", "")), str(r.path)))


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
