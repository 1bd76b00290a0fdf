"""The optimizer-step benchmark: ms per step of ours against torch.optim, on two models.

* ``large``: 48 tensors, 24 of 640x640 and 24 of 640 (about 9.8M parameters): bandwidth decides.
* ``many``: 500 tensors of 1k to 50k elements (a transformer's biases and norms, about 12.7M): the cost of
  each tensor decides.

For each algorithm every variant is timed in the same process, interleaved round by round, and the median
is reported: torch's default (no flags; the for-loop on a CPU), its for-loop, foreach and fused kernels;
ours by default (no flags), ``compiled`` (``impl="compiled"``, one kernel per tensor), ``flat`` (flat
buffers, the kernel once over all elements) and ``flat+compiled`` (one compiled kernel over all elements). The flat
variants are timed as a loop that zeroes gradients with ``zero_grad(set_to_none=False)`` runs them: the
gradients are views of the flat buffer. GB/s is the bytes the step must read and write (parameters,
gradients and state, once each) over the time of our fastest, beside the machine's copy bandwidth.
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
MODELS = ("large", "many")
OURS = ("ours default", "ours compiled", "ours flat", "ours flat+compiled")


def shapes(model: str) -> list[tuple[int, ...]]:
    if model == "large":
        return [(640, 640)] * 24 + [(640,)] * 24
    gen = torch.Generator().manual_seed(0)
    return [(int(n),) for n in torch.randint(1_000, 50_001, (500,), generator=gen)]


def model_params(device: torch.device, seed: int = 0, model: str = "large") -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    params = [torch.randn(s, generator=gen).to(device).requires_grad_() for s in shapes(model)]
    for p in params:
        p.grad = torch.randn(p.shape, generator=gen).to(device)
    return params


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def copy_bandwidth(device: torch.device, numel: int = 64 * 2**20, rounds: int = 9) -> float:
    """GB/s of ``dst.copy_(src)`` over float32 tensors of ``numel`` elements (a read and a write each)."""
    src, dst = torch.randn(numel, device=device), torch.empty(numel, device=device)
    times = []
    for _ in range(rounds):
        _sync(device)
        start = time.perf_counter()
        dst.copy_(src)
        _sync(device)
        times.append(time.perf_counter() - start)
    return 2 * numel * 4 / 1e9 / sorted(times)[rounds // 2]


@dataclass
class Row:
    name: str
    model: str
    ms: dict[str, float]  # variant -> median ms per step
    compile_s: dict[str, float]  # our compiled variants -> seconds spent compiling
    gbytes: float

    @property
    def torch_best(self) -> tuple[str, float]:
        return min(((k, v) for k, v in self.ms.items() if k.startswith("torch")), key=lambda kv: kv[1])

    @property
    def ours_best(self) -> tuple[str, float]:
        return min(((k, v) for k, v in self.ms.items() if k.startswith("ours")), key=lambda kv: kv[1])


class ClipThenStep:
    """torch's recipe for a clipped step: ``clip_grad_norm_`` (its norms, then its scaling pass), then the
    optimizer's step."""

    def __init__(self, opt: torch.optim.Optimizer, max_norm: float, foreach: bool) -> None:
        self.opt, self.max_norm, self.foreach = opt, max_norm, foreach
        self.params = [p for g in opt.param_groups for p in g["params"]]

    def step(self) -> None:
        torch.nn.utils.clip_grad_norm_(self.params, self.max_norm, foreach=self.foreach)
        self.opt.step()


def clipped_variants(
    case: Case, device: torch.device, model: str, max_norm: float, compile_many: bool = False
) -> dict[str, Any]:
    """Clip and step: torch's optimizers after clip_grad_norm_ (foreach, or the for-loop's per-tensor norms
    with the for-loop step), ours with ``gradient_transform=clip_by_global_norm`` on each of the four paths
    (the compiled ones take the clipping factor as an input of their single pass)."""

    def params() -> list[torch.Tensor]:
        return model_params(device, model=model)

    clip = dl.transforms.clip_by_global_norm(max_norm)
    out: dict[str, Any] = {
        "torch default": ClipThenStep(case.theirs(params(), **case.kwargs), max_norm, True),
        "torch for-loop": ClipThenStep(case.theirs(params(), foreach=False, **case.kwargs), max_norm, False),
        "torch foreach": ClipThenStep(case.theirs(params(), foreach=True, **case.kwargs), max_norm, True),
    }
    if case.fused:
        out["torch fused"] = ClipThenStep(case.theirs(params(), fused=True, **case.kwargs), max_norm, True)
    out["ours default"] = case.ours(params(), gradient_transform=clip, **case.kwargs)
    if model != "many" or compile_many:
        out["ours compiled"] = case.ours(params(), impl="compiled", gradient_transform=clip, **case.kwargs)
    out["ours flat"] = case.ours(params(), flat=True, gradient_transform=clip, **case.kwargs)
    out["ours flat+compiled"] = case.ours(params(), flat=True, impl="compiled", gradient_transform=clip, **case.kwargs)
    return out


class StepThenZero:
    """A step and then the gradients zeroed: torch's ``step()`` then ``zero_grad(set_to_none=False)``, ours
    ``step(zero_grad=True)``, which zeroes each chunk of gradients as it steps it."""

    def __init__(self, opt: torch.optim.Optimizer) -> None:
        self.opt = opt

    def step(self) -> None:
        if isinstance(self.opt, dl.TransformOptimizer):
            self.opt.step(zero_grad=True)
        else:
            self.opt.step()
            self.opt.zero_grad(set_to_none=False)


def zeroing_variants(
    case: Case, device: torch.device, model: str, compile_many: bool = False
) -> dict[str, StepThenZero]:
    """Step and zero the gradients, every variant of :func:`variants`."""
    return {k: StepThenZero(opt) for k, opt in variants(case, device, model, compile_many).items()}


def variants(
    case: Case, device: torch.device, model: str, compile_many: bool = False
) -> dict[str, torch.optim.Optimizer]:
    def params() -> list[torch.Tensor]:
        return model_params(device, model=model)

    out: dict[str, torch.optim.Optimizer] = {
        "torch default": case.theirs(params(), **case.kwargs),
        "torch for-loop": case.theirs(params(), foreach=False, **case.kwargs),
        "torch foreach": case.theirs(params(), foreach=True, **case.kwargs),
    }
    if case.fused:
        out["torch fused"] = case.theirs(params(), fused=True, **case.kwargs)
    out["ours default"] = case.ours(params(), **case.kwargs)
    if model != "many" or compile_many:  # compiling 500 tensors' kernels takes about 3 minutes an algorithm
        out["ours compiled"] = case.ours(params(), impl="compiled", **case.kwargs)
    out["ours flat"] = case.ours(params(), flat=True, **case.kwargs)
    out["ours flat+compiled"] = case.ours(params(), flat=True, impl="compiled", **case.kwargs)
    return out


def run_case(
    case: Case,
    device: torch.device,
    rounds: int = 15,
    model: str = "large",
    compile_many: bool = False,
    clip: float | None = None,
    zero_grad: bool = False,
) -> Row:
    opts: dict[str, Any] = (
        clipped_variants(case, device, model, clip, compile_many) if clip is not None
        else zeroing_variants(case, device, model, compile_many) if zero_grad
        else variants(case, device, model, compile_many)
    )  # fmt: skip
    for opt in opts.values():  # warm-up: state, flat buffers, compilation, caches
        for _ in range(3):
            opt.step()
    times: dict[str, list[float]] = {k: [] for k in opts}
    for _ in range(rounds):
        for key, opt in opts.items():
            _sync(device)
            start = time.perf_counter()
            opt.step()
            _sync(device)
            times[key].append(time.perf_counter() - start)
    ms = {k: 1e3 * sorted(v)[len(v) // 2] for k, v in times.items()}
    numel = sum(torch.Size(s).numel() for s in shapes(model))
    inner = {k: getattr(opt, "opt", opt) for k, opt in opts.items()}  # a StepThenZero's optimizer
    compiled = {
        k: opt.compile_seconds
        for k, opt in inner.items()
        if isinstance(opt, dl.TransformOptimizer) and opt.impl == "compiled"
    }
    return Row(case.name, model, ms, compiled, case.passes * numel * 4 / 1e9)


def table(rows: list[Row], bandwidth: float) -> str:
    torch_cols = ("torch default", "torch for-loop", "torch foreach", "torch fused")
    names = [c.removeprefix("torch ") for c in torch_cols] + [c.removeprefix("ours ") for c in OURS]
    header = (f"{'model':6} {'algorithm':13} " + " ".join(f"{n:>10}" for n in names)
              + f" {'default/default':>15} {'best/best':>9} {'GB/s':>6} {'compile s':>10}")  # fmt: skip
    lines = [header, "-" * len(header)]
    for r in rows:
        cells = [f"{r.ms[c]:10.2f}" if c in r.ms else f"{'-':>10}" for c in (*torch_cols, *OURS)]
        _, best_ms = r.ours_best
        default = r.ms["ours default"] / r.ms["torch default"]
        compile_s = "/".join(f"{v:.0f}" for v in r.compile_s.values())
        lines.append(f"{r.model:6} {r.name:13} " + " ".join(cells)
                     + f" {default:15.2f} {best_ms / r.torch_best[1]:9.2f} {r.gbytes / (best_ms / 1e3):6.1f} {compile_s:>10}")  # fmt: skip
    lines.append(
        "ms per step (median). default/default: ours without flags / torch without flags; best/best: our fastest "
        "of the four / torch's fastest of its four (lower is better). GB/s: our fastest; the machine copies at "
        f"{bandwidth:.1f} GB/s. compile s: compiled / flat+compiled."
    )
    return "\n".join(lines)


def main(device_name: str = "cpu", names: list[str] | None = None, rounds: int = 15,
         models: tuple[str, ...] = MODELS, compile_many: bool = False, clip: float | None = None,
         zero_grad: bool = False) -> str:  # fmt: skip
    """The table; ``compile_many`` also times ``compiled`` on the many-tensor model (about 3 minutes of compiling
    an algorithm, so it is left out unless asked); ``clip`` times clip-and-step instead of the step alone,
    ``zero_grad`` the step and zeroing the gradients."""
    device = torch.device(device_name)
    rows = [
        run_case(c, device, rounds, m, compile_many, clip, zero_grad)
        for m in models
        for c in CASES
        if names is None or c.name in names
    ]
    info = f"device {device}, torch {torch.__version__}, {torch.get_num_threads()} threads"
    if clip is not None:
        info += f"; clip to norm {clip:g} and step (torch: clip_grad_norm_ then the step)"
    if zero_grad:
        info += "; step and zero the gradients (torch: step() then zero_grad(set_to_none=False); ours: step(zero_grad=True))"
    return info + "\n" + table(rows, copy_bandwidth(device))
