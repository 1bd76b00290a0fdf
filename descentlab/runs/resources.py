"""What a run needs of the machine, checked before it starts: memory, estimated from its settings.

An estimate is rough (parameters, gradients and optimizer state, the largest activations, buffers); it is
compared with the memory the operating system says is available, so that a configuration that cannot fit
is refused in one line instead of being killed minutes later, or thrashing the machine.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

from descentlab.errors import UserError

GB = 2**30
MARGIN = 1.25  # for what an estimate leaves out: temporaries, the allocator's slack, the interpreter


def available_memory() -> int:
    """Bytes of memory available to a new process (``MemAvailable`` on Linux; else the physical memory)."""
    meminfo = Path("/proc/meminfo")
    if meminfo.is_file():
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - no way to tell: do not refuse
        return 2**62


def require_memory(needed: float, what: str) -> None:
    """Refuse ``what`` (its settings, in words) if it needs more memory than is available."""
    available = available_memory()
    if MARGIN * needed > available:
        raise UserError(f"{what} needs about {needed / GB:.1f} GB of memory ({MARGIN * needed / GB:.1f} GB with a "
                        f"{MARGIN - 1:.0%} margin for what the estimate leaves out); this machine has "
                        f"{available / GB:.1f} GB available; choose smaller settings")  # fmt: skip


def mlp_bytes(sizes: list[int], batch: int, examples: int = 0) -> float:
    """A multilayer perceptron of layer ``sizes`` trained by an optimizer with two states a weight (Adam),
    on batches of ``batch``, with ``examples`` inputs of ``sizes[0]`` floats held in memory: each weight
    with its gradient, two optimizer states and a copy (the best weights kept by early stopping)."""
    weights = sum(a * b + b for a, b in itertools.pairwise(sizes))
    activations = batch * sum(sizes) * 3  # outputs, their gradients, and a mask or pre-activation
    return 4.0 * (5 * weights + activations + examples * sizes[0])
