"""A run's fingerprint: what it logged, as a digest of every record, and its shape (steps and keys).

Two runs of the same config on the same machine (CPU, kernels chosen, thread count, torch build) log the same
records bit for bit, so their digests are equal. On another machine the numbers move in their last digits;
what cannot move is which keys a run logs and, for a run whose length its config fixes, the steps it logs at.
"""

from __future__ import annotations

import hashlib
import json
import os
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


# Instruction sets that the math libraries under torch (MKL, oneDNN, ATen's vectorized kernels) dispatch on,
# and the variables that cap them: two CPUs with one model name may differ in these, and so may their sums.
_ISA_FLAGS = ("sse4_2", "avx", "fma", "f16c", "avx2", "avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512_vnni",
              "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16", "amx_int8")  # fmt: skip
_ISA_VARIABLES = ("ATEN_CPU_CAPABILITY", "DNNL_MAX_CPU_ISA", "MKL_ENABLE_INSTRUCTIONS", "MKL_CBWR")


def machine(cpuinfo: Path = Path("/proc/cpuinfo")) -> dict[str, Any]:
    """What bit-identical metrics depend on: the CPU (its model and the instruction sets it has, read from
    ``cpuinfo``), the kernels torch chose for it and the variables that cap them, threads, torch's build."""
    fields: dict[str, str] = {}
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            key, sep, value = line.partition(":")
            if not sep:
                if fields:
                    break  # the first processor's block is enough
                continue
            fields.setdefault(key.strip(), value.strip())
    flags = set(fields.get("flags", "").split())
    return {
        "cpu": fields.get("model name", ""),
        "isa": " ".join(f for f in _ISA_FLAGS if f in flags),
        "isa_caps": " ".join(f"{v}={os.environ[v]}" for v in _ISA_VARIABLES if v in os.environ),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
    }
