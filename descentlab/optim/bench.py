"""The optimizer-step benchmark: ms per step of ours against torch.optim's fastest implementation.

Model: 48 tensors, 24 of 640x640 and 24 of 640 (about 9.8M parameters). For each algorithm every
variant is timed in the same process, interleaved round by round, and the median is reported with
the effective bandwidth: the bytes the step must read and write (parameters, gradients and state
buffers, once each) over the time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from descentlab import optim as dl


@dataclass(frozen=True)
class Case:
    name: str
    ours: Callable[..., torch.optim.Optimizer]
    theirs: Callable[..., torch.optim.Optimizer]
    kwargs: dict[str, Any]
    passes: int  # tensor-sized reads + writes one step must make
    fused: bool  # torch.optim has a fused CPU kernel


CASES = [
    Case("SGD momentum", dl.SGD, torch.optim.SGD, {"lr": 1e-3, "momentum": 0.9}, 5, True),
    Case("Adagrad", dl.Adagrad, torch.optim.Adagrad, {"lr": 1e-2}, 5, True),
    Case("RMSProp", dl.RMSProp, torch.optim.RMSprop, {"lr": 1e-3}, 5, False),
    Case("AdaDelta", dl.AdaDelta, torch.optim.Adadelta, {"lr": 1.0}, 7, False),
    Case("Adam", dl.Adam, torch.optim.Adam, {"lr": 1e-3}, 7, True),
    Case("AdamW", dl.AdamW, torch.optim.AdamW, {"lr": 1e-3}, 7, True),
]


def model_params(device: torch.device, seed: int = 0) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    shapes = [(640, 640)] * 24 + [(640,)] * 24
    params = [torch.randn(s, generator=gen).to(device).requires_grad_() for s in shapes]
    for p in params:
        p.grad = torch.randn(p.shape, generator=gen).to(device)
    return params


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


@dataclass
class Row:
    name: str
    ours_ms: float
    plain_ms: float
    torch_ms: dict[str, float]
    compile_s: float
    gbytes: float

    @property
    def best(self) -> tuple[str, float]:
        return min(self.torch_ms.items(), key=lambda kv: kv[1])


def run_case(case: Case, device: torch.device, rounds: int = 15) -> Row:
    variants: dict[str, torch.optim.Optimizer] = {
        "ours": case.ours(model_params(device), fast=True, **case.kwargs),
        "ours plain": case.ours(model_params(device), **case.kwargs),
        "for-loop": case.theirs(model_params(device), foreach=False, **case.kwargs),
        "foreach": case.theirs(model_params(device), foreach=True, **case.kwargs),
    }
    if case.fused:
        variants["fused"] = case.theirs(model_params(device), fused=True, **case.kwargs)
    for opt in variants.values():  # warm-up: state, compilation, caches
        for _ in range(3):
            opt.step()
    times: dict[str, list[float]] = {k: [] for k in variants}
    for _ in range(rounds):
        for key, opt in variants.items():
            _sync(device)
            start = time.perf_counter()
            opt.step()
            _sync(device)
            times[key].append(time.perf_counter() - start)
    ms = {k: 1e3 * sorted(v)[len(v) // 2] for k, v in times.items()}
    numel = sum(p.numel() for p in model_params(torch.device("cpu")))
    ours = variants["ours"]
    assert isinstance(ours, dl.TransformOptimizer)
    return Row(
        name=case.name,
        ours_ms=ms.pop("ours"),
        plain_ms=ms.pop("ours plain"),
        torch_ms=ms,
        compile_s=ours.compile_seconds,
        gbytes=case.passes * numel * 4 / 1e9,
    )


def table(rows: list[Row]) -> str:
    header = f"{'algorithm':14} {'torch for-loop':>14} {'foreach':>8} {'fused':>7} {'ours plain':>10} {'ours fast':>9} {'ratio':>6} {'GB/s':>6} {'compile s':>9}"
    lines = [header, "-" * len(header)]
    for r in rows:
        _, best_ms = r.best
        fused = f"{r.torch_ms['fused']:7.2f}" if "fused" in r.torch_ms else f"{'-':>7}"
        lines.append(
            f"{r.name:14} {r.torch_ms['for-loop']:14.2f} {r.torch_ms['foreach']:8.2f} {fused} {r.plain_ms:10.2f} "
            f"{r.ours_ms:9.2f} {r.ours_ms / best_ms:6.2f} {r.gbytes / (r.ours_ms / 1e3):6.1f} {r.compile_s:9.1f}"
        )
    lines.append(
        "ms per step (median); ratio = ours fast / torch's fastest of for-loop, foreach, fused (lower is better)"
    )
    return "\n".join(lines)


def main(device_name: str = "cpu", names: list[str] | None = None, rounds: int = 15) -> str:
    device = torch.device(device_name)
    rows = [run_case(c, device, rounds) for c in CASES if names is None or c.name in names]
    info = f"device {device}, torch {torch.__version__}, {torch.get_num_threads()} threads"
    return info + "\n" + table(rows)
