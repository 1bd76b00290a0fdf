"""The timing rule of the benchmarks: medians of interleaved rounds, the device synchronized around each call."""

from __future__ import annotations

import time
from collections.abc import Callable


def medians(
    fns: dict[str, Callable[[], object]], rounds: int, sync: Callable[[], None], warmup: int = 1
) -> dict[str, float]:
    """Milliseconds per call, the median over ``rounds``, the candidates interleaved round by round after
    ``warmup`` calls of each (which also compile what is compiled)."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            sync()
            start = time.perf_counter()
            fn()
            sync()
            times[name].append(time.perf_counter() - start)
    return {k: 1e3 * sorted(v)[rounds // 2] for k, v in times.items()}
