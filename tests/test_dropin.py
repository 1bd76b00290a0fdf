"""descentlab inside other people's training code: what third-party code does to an optimizer (deep copies,
pickles) and to a recurrent layer, each case against torch's own class as the reference.

Tolerances: parameters equal torch.optim's to rtol 1e-5, atol 1e-6 in float32 (as in
``test_optim_torch_parity.py``).
"""

from __future__ import annotations

import copy
import pickle
from typing import Any

import pytest
import torch

import descentlab.optim as ours

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
