"""Run folders, metric logging, checkpoints, seeding and device selection."""

from descentlab.runs.checkpoint import atomic_write_bytes, load_checkpoint, save_checkpoint
from descentlab.runs.device import select_device
from descentlab.runs.listing import (
    DamagedRun,
    Found,
    RunRecord,
    compare_table,
    find_runs,
    format_table,
    list_table,
    load_run,
    load_runs,
)
from descentlab.runs.progress import progress
from descentlab.runs.run import DEFAULT_CHECKPOINT_SECONDS, Run, SilentRun, StopFlag, read_metrics, stop_on_signals
from descentlab.runs.seeding import rng_state, seed_everything, set_rng_state

__all__ = [
    "DEFAULT_CHECKPOINT_SECONDS",
    "DamagedRun",
    "Found",
    "Run",
    "RunRecord",
    "SilentRun",
    "StopFlag",
    "atomic_write_bytes",
    "compare_table",
    "find_runs",
    "format_table",
    "list_table",
    "load_checkpoint",
    "load_run",
    "load_runs",
    "progress",
    "read_metrics",
    "rng_state",
    "save_checkpoint",
    "seed_everything",
    "select_device",
    "set_rng_state",
    "stop_on_signals",
]
