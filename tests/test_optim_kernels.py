"""The in-place kernels (the default path, ``descentlab.optim.kernels``) against the chains they are the fast
sibling of (``impl="chain"``), and against torch.optim where the layout is unusual: parameters whose
step numbers differ, a group of two dtypes, state loaded from torch.

Tolerances: rtol 1e-10, atol 1e-12 in float64 and complex128 after 10 steps (the kernels fold the learning rate
into one multiply where the chains multiply twice: a few ulps a step); rtol 1e-5, atol 1e-6 in float32.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch
from test_optim_torch_parity import INPUTS, PAIRS, TOLERANCE, assert_same, parameters, run

import descentlab.optim as ours
from descentlab.optim import kernels

RUNS = [(name, desc, kwargs) for name, desc, kwargs in INPUTS if not kwargs.get("capturable")]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.complex128], ids=str)
@pytest.mark.parametrize(("name", "desc", "kwargs"), RUNS, ids=[f"{n}-{d}" for n, d, _ in RUNS])
def test_each_kernel_equals_its_chain(name: str, desc: str, kwargs: dict[str, Any], dtype: torch.dtype) -> None:
    assert_same(run(PAIRS[name], kwargs, dtype, impl="chain"), run(PAIRS[name], kwargs, dtype, impl="kernel"), dtype)


@pytest.mark.parametrize("impl", [None, "kernel", "chain"])
def test_the_default_path_is_the_kernel_and_impl_chain_the_chain(impl: str | None, monkeypatch) -> None:
    called: list[str] = []
    real_kernel, real_chain = kernels.adam, ours.Adam._apply_chain
    monkeypatch.setattr(ours.Adam, "kernel", staticmethod(lambda *a: called.append("kernel") or real_kernel(*a)))
    monkeypatch.setattr(ours.Adam, "_apply_chain", staticmethod(lambda *a: called.append("chain") or real_chain(*a)))
    params = parameters(torch.float32)
    opt = ours.Adam(params) if impl is None else ours.Adam(params, impl=impl)
    for p in params:
        p.grad = torch.ones_like(p)
    opt.step()
    assert called == ["chain" if impl == "chain" else "kernel"]


@pytest.mark.parametrize("impl", ["kernel", pytest.param("compiled", marks=pytest.mark.compile)])
@pytest.mark.parametrize("name", ["SGD", "Adam"])
def test_a_gradient_transform_comes_before_every_impl(name: str, impl: str, monkeypatch) -> None:
    """Clipping and then noise on the gradients: the kernel (and the compiled pass) read the transformed
    gradients, the chain is not run, and the parameters equal the chain's (float64, to 1e-12) over 10 steps.
    The parameters include a 0-d one, which the compiled pass once left as it was (see ``adapter._1d``)."""

    def tx() -> ours.transforms.Transform:
        return ours.transforms.chain(ours.transforms.clip_by_global_norm(1.0), ours.transforms.add_noise(0.01))

    kwargs = {"lr": 0.1, "momentum": 0.9} if name == "SGD" else {"lr": 0.01}
    reference = run(PAIRS[name], {**kwargs, "gradient_transform": tx()}, torch.float64, impl="chain")
    real_chain = PAIRS[name]._apply_chain
    called: list[str] = []
    monkeypatch.setattr(PAIRS[name], "_apply_chain", staticmethod(lambda *a: called.append("chain") or real_chain(*a)))
    mine = run(PAIRS[name], {**kwargs, "gradient_transform": tx()}, torch.float64, impl=impl)
    assert called == []  # neither the first (kernel) step nor the compiled ones ran the chain
    for a, b in zip(mine, reference, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)
    plain = run(PAIRS[name], kwargs, torch.float64, impl="chain")
    assert not all(torch.equal(a, b) for a, b in zip(plain, reference, strict=True))  # the transform did act


def test_impl_is_one_of_three_and_fused_means_compiled() -> None:
    params = parameters(torch.float32)
    with pytest.raises(ValueError, match="impl must be one of 'kernel', 'chain', 'compiled', got 'fast'"):
        ours.Adam(params, impl="fast")
    with pytest.raises(ValueError, match="fused=True is the compiled step"):
        ours.Adam(params, fused=True, impl="chain")
    assert ours.Adam(params).impl == "kernel" and ours.Adam(params, fused=True).impl == "compiled"
    assert not hasattr(ours.Adam(params), "in_place") and not hasattr(ours.Adam(params), "fast")


@pytest.mark.parametrize(("name", "kwargs"), [("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
                                              ("Adagrad", {"lr": 0.1, "lr_decay": 0.1}),
                                              ("RMSprop", {"lr": 0.01, "momentum": 0.5, "centered": True}),
                                              ("Adadelta", {"weight_decay": 0.1}),
                                              ("Adam", {"lr": 0.01, "amsgrad": True, "weight_decay": 0.1}),
                                              ("AdamW", {"lr": 0.01, "maximize": True})])  # fmt: skip
def test_uneven_step_numbers_and_two_dtypes_in_one_group_as_torch(name: str, kwargs: dict[str, Any]) -> None:
    """Some parameters skip steps (no gradient), so their step numbers, bias corrections and Adagrad rates
    differ within a chunk; the group mixes float32 and float64; half the run starts from torch's state."""

    def trained(cls: type, switch_to: type | None = None) -> list[torch.Tensor]:
        gen = torch.Generator().manual_seed(5)
        params = [torch.randn(s, generator=gen, dtype=torch.float64).to(dt).requires_grad_()
                  for s, dt in (((3, 4), torch.float64), ((5,), torch.float32), ((2, 2), torch.float64))]  # fmt: skip
        opt = cls(params, **kwargs)
        for step in range(12):
            if step == 6 and switch_to is not None:  # continue with the other library from the same state
                state = opt.state_dict()
                opt = switch_to(params, **kwargs)
                opt.load_state_dict(state)
            for i, p in enumerate(params):
                skip = i == 1 and step % 3 == 0
                p.grad = None if skip else torch.randn(p.shape, generator=gen, dtype=torch.float64).to(p.dtype)
            opt.step()
        return params

    theirs = trained(getattr(torch.optim, name))
    runs = (
        trained(PAIRS[name]),
        trained(getattr(torch.optim, name), PAIRS[name]),
        trained(PAIRS[name], getattr(torch.optim, name)),
    )
    for mine in runs:
        for a, b in zip(theirs, mine, strict=True):
            rtol, atol = TOLERANCE[a.dtype]
            torch.testing.assert_close(b, a, rtol=rtol, atol=atol)


@pytest.mark.parametrize("how", ["torch.save", "deepcopy"])
def test_the_step_numbers_survive_saving_copying_and_loading(how: str, tmp_path) -> None:
    """Each parameter's ``step`` is a 0-d view of one counter per group; saved or deep-copied,
    each is still its own number, and an optimizer loaded from it continues as the original does. (A state dict
    loaded without a copy shares its tensors with the original, moments included, in torch.optim as here.)"""
    import copy

    params = parameters(torch.float32)
    opt = ours.Adam(params, lr=0.1)
    for step in range(4):
        for i, p in enumerate(params):
            p.grad = None if (i == 0 and step < 2) else torch.full_like(p, 0.5)
        opt.step()
    assert [float(opt.state[p]["step"]) for p in params] == [2.0, 4.0, 4.0, 4.0]
    if how == "torch.save":
        torch.save(opt.state_dict(), tmp_path / "opt.pt")
        state = torch.load(tmp_path / "opt.pt", weights_only=True)
    else:
        state = copy.deepcopy(opt.state_dict())
    twin_params = [p.detach().clone().requires_grad_() for p in params]
    twin = ours.Adam(twin_params, lr=0.1)
    twin.load_state_dict(state)
    for group, o in ((params, opt), (twin_params, twin)):
        for p in group:
            p.grad = torch.full_like(p, 0.25)
        o.step()
    assert [float(opt.state[p]["step"]) for p in params] == [3.0, 5.0, 5.0, 5.0]
    assert [float(twin.state[p]["step"]) for p in twin_params] == [3.0, 5.0, 5.0, 5.0]
    for x, y in zip(params, twin_params, strict=True):
        torch.testing.assert_close(y, x, rtol=0, atol=0)


@pytest.mark.slow  # a compile per optimizer: about a minute
@pytest.mark.compile
@pytest.mark.parametrize("name", list(PAIRS))
def test_the_compiled_pass_equals_the_chain_with_a_0d_parameter(name: str) -> None:
    """Every optimizer's compiled pass against its chain over 10 steps (float64, to 1e-12) on parameters of
    shapes (3, 4), (4,), (2, 2, 3) and (): torch 2.13's compiled functions lose in-place updates of 0-d inputs,
    so the pass is given 1-element views of them."""
    for a, b in zip(run(PAIRS[name], {}, torch.float64, impl="compiled"),
                    run(PAIRS[name], {}, torch.float64, impl="chain"), strict=True):  # fmt: skip
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)
