"""descentlab inside other people's training code: what third-party code does to an optimizer (deep copies,
pickles) and to a recurrent layer, each case against torch's own class as the reference.

Tolerances: parameters equal torch.optim's to rtol 1e-5, atol 1e-6 in float32 (as in
``test_optim_torch_parity.py``).
"""

from __future__ import annotations

import copy
import inspect
import pickle
from typing import Any

import pytest
import torch

import descentlab.optim as ours
from descentlab.optim.adapter import hyper_dtype

PAIRS: dict[str, tuple[type, type]] = {
    "SGD": (ours.SGD, torch.optim.SGD), "Momentum": (ours.Momentum, torch.optim.SGD),
    "Adagrad": (ours.Adagrad, torch.optim.Adagrad), "RMSProp": (ours.RMSProp, torch.optim.RMSprop),
    "AdaDelta": (ours.AdaDelta, torch.optim.Adadelta), "Adam": (ours.Adam, torch.optim.Adam),
    "AdamW": (ours.AdamW, torch.optim.AdamW),
}  # fmt: skip
TORCH_KWARGS = {"Momentum": {"momentum": 0.9}}  # torch's SGD needs the momentum our Momentum defaults to


def _grads(step: int) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(100 + step)
    return [torch.randn(3, 4, generator=gen), torch.randn(4, generator=gen)]


def _params() -> list[torch.nn.Parameter]:
    gen = torch.Generator().manual_seed(0)
    return [torch.nn.Parameter(torch.randn(3, 4, generator=gen)), torch.nn.Parameter(torch.randn(4, generator=gen))]


def _step(opt: torch.optim.Optimizer, step: int) -> None:
    for p, g in zip(opt.param_groups[0]["params"], _grads(step), strict=True):
        p.grad = g.clone()
    opt.step()


@pytest.mark.parametrize("how", ["deepcopy", "pickle"])
@pytest.mark.parametrize("options", [{}, {"flat": True}, {"check_finite": True}], ids=["default", "flat", "check"])
@pytest.mark.parametrize("name", list(PAIRS))
def test_a_copied_optimizer_steps_on_as_torchs_does(name: str, options: dict[str, Any], how: str) -> None:
    """Three steps, a copy (as Lightning, SB3, EMA and population training make), three more steps of the copy:
    equal to torch's optimizer after six; the original, stepped no further, is untouched by the copy's steps."""
    cls, torch_cls = PAIRS[name]
    lr = {"AdaDelta": 1.0}.get(name, 0.01)
    reference = torch_cls(_params(), lr=lr, **TORCH_KWARGS.get(name, {}))
    original = cls(_params(), lr=lr, **options)
    for step in range(3):
        _step(reference, step)
        _step(original, step)
    copied = copy.deepcopy(original) if how == "deepcopy" else pickle.loads(pickle.dumps(original))
    kept = [p.detach().clone() for p in original.param_groups[0]["params"]]
    for step in range(3, 6):
        _step(reference, step)
        _step(copied, step)
    for ref, got in zip(reference.param_groups[0]["params"], copied.param_groups[0]["params"], strict=True):
        torch.testing.assert_close(got, ref, rtol=1e-5, atol=1e-6)
    for was, now in zip(kept, original.param_groups[0]["params"], strict=True):
        assert torch.equal(was, now)
    public = {k: v for k, v in vars(original).items() if not k.startswith("_")}
    assert {k: v for k, v in vars(copied).items() if not k.startswith("_")}.keys() == public.keys()
    for key in ("check_finite", "fast", "flat", "in_place"):
        assert getattr(copied, key) == getattr(original, key), key


LOW = [torch.bfloat16, torch.float16]
PATHS = {"kernel": {}, "chain": {"in_place": False}, "flat": {"flat": True}}
LOW_TOL = {"atol": 5e-3, "rtol": 5e-3}  # torch's common_optimizers: fused against for-loop in bf16 and fp16


def _low_precision_run(cls: type, dtype: torch.dtype, kwargs: dict[str, Any], steps: int = 7) -> torch.Tensor:
    """``steps`` steps (torch's test_optim compares fused and for-loop steps over 7) at lr 0.01 on a
    64-element parameter of ``dtype`` from seeded gradients (AdaDelta at 1)."""
    kwargs = dict(kwargs)
    in_place = kwargs.pop("in_place", True)
    if dtype == torch.float16 and "eps" in inspect.signature(cls).parameters:
        kwargs["eps"] = 1e-3  # float16's smallest number is 6e-8: a default eps of 1e-8 is 0 there (inf steps in torch)
    gen = torch.Generator().manual_seed(0)
    p = torch.nn.Parameter(torch.randn(64, generator=gen).to(dtype))
    lr = 1.0 if cls in (ours.AdaDelta, torch.optim.Adadelta) else 0.01
    opt = cls([p], lr=lr, **kwargs)
    if not in_place:
        opt.in_place = False
    for _ in range(steps):
        p.grad = torch.randn(64, generator=gen).to(dtype)
        opt.step()
    return p.detach()


def _torch_loop(name: str, dtype: torch.dtype) -> torch.Tensor:
    _, torch_cls = PAIRS[name]
    return _low_precision_run(torch_cls, dtype, {"foreach": False} | TORCH_KWARGS.get(name, {}))


@pytest.mark.parametrize("dtype", LOW, ids=str)
@pytest.mark.parametrize("path", list(PATHS))
@pytest.mark.parametrize("name", list(PAIRS))
def test_low_precision_matches_torchs_for_loop(name: str, path: str, dtype: torch.dtype) -> None:
    """bfloat16 and float16 parameters: every eager path equals torch's for-loop to the tolerance torch's own
    tests allow its fused step against its for-loop in these dtypes (atol 5e-3, rtol 5e-3); the chain, which
    rounds each intermediate to the parameters' dtype where torch's fused operations do not, one unit in the
    last place more."""
    cls, _ = PAIRS[name]
    tol = LOW_TOL if path != "chain" else LOW_TOL | {"rtol": LOW_TOL["rtol"] + torch.finfo(dtype).eps}
    torch.testing.assert_close(_low_precision_run(cls, dtype, PATHS[path]), _torch_loop(name, dtype), **tol)


@pytest.mark.compile
@pytest.mark.parametrize("dtype", LOW, ids=str)
@pytest.mark.parametrize("name", ["Adam", "AdamW", "RMSProp"])
def test_low_precision_compiled_step_matches_torchs_for_loop(name: str, dtype: torch.dtype) -> None:
    """``fused=True`` (the compiled step) in bfloat16 and float16: its hyperparameters stay float32, so beta2
    0.999 is not rounded to 1 (Adam ended 0.21 from torch's for-loop after 50 bfloat16 steps; torch's own
    fused, 0.008)."""
    cls, _ = PAIRS[name]
    torch.testing.assert_close(_low_precision_run(cls, dtype, {"fast": True}), _torch_loop(name, dtype), **LOW_TOL)


def test_hyperparameters_of_a_compiled_step_are_float32_below_float32() -> None:
    assert [hyper_dtype(d) for d in (torch.bfloat16, torch.float16, torch.float32, torch.float64)] == [
        torch.float32, torch.float32, torch.float32, torch.float64]  # fmt: skip
