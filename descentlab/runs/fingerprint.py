"""A run's fingerprint: what it logged, as a digest of every record, and its shape (steps and keys).

Two runs of the same config on the same machine (CPU, kernels chosen, thread count, torch build) log the same
records bit for bit, so their digests are equal. On another machine the numbers move in their last digits;
what cannot move is which keys a run logs and, for a run whose length its config fixes, the steps it logs at.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch

from descentlab.runs.run import read_metrics


def fingerprint(run: str | Path) -> dict[str, Any]:
    """``{"digest": sha256 of the records as written, "keys": the sorted keys logged, "steps": sha256 of the
    steps logged, in order}`` of the run folder ``run``."""
    records = read_metrics(Path(run) / "metrics.jsonl")
    text = "".join(json.dumps(r) + "\n" for r in records)
    steps = json.dumps([r.get("step") for r in records])
    return {
        "digest": hashlib.sha256(text.encode()).hexdigest(),
        "keys": sorted({k for r in records for k in r}),
        "steps": hashlib.sha256(steps.encode()).hexdigest(),
    }


def machine() -> dict[str, Any]:
    """What bit-identical metrics depend on: the CPU, the kernels torch chose for it, threads, torch's build."""
    cpuinfo = Path("/proc/cpuinfo")
    fields = (
        dict(line.split(":", 1) for line in cpuinfo.read_text().splitlines() if ":" in line)
        if cpuinfo.is_file()
        else {}
    )
    return {
        "cpu": fields.get("model name\t", "").strip(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
    }
