"""descentlab.optim against torch.optim: same arithmetic, same API, same state.

Tolerances: after 100 steps, rtol 1e-5 (atol 1e-6) in float32 and rtol 1e-10 (atol 1e-12) in float64.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from typing import Any

import pytest
import torch

from descentlab import optim as dl
from descentlab.optim import transforms as T
from descentlab.optim.by_name import REGISTRY
from descentlab.optim.compiled import scale_by_adam_compiled

TOL = {torch.float32: {"rtol": 1e-5, "atol": 1e-6}, torch.float64: {"rtol": 1e-10, "atol": 1e-12}}
SHAPES = [(5, 3), (7,), (2, 3, 4), (1,)]


def random_hparams(name: str, rng: random.Random) -> dict[str, Any]:
    """Random valid hyperparameters for each optimizer, covering every code path."""
    wd = rng.choice([0.0, rng.uniform(1e-4, 0.1)])
    if name in ("SGD", "Momentum"):
        momentum = rng.uniform(0.1, 0.99) if name == "Momentum" or rng.random() < 0.7 else 0.0
        nesterov = momentum > 0 and rng.random() < 0.5
        dampening = 0.0 if nesterov else rng.choice([0.0, rng.uniform(0, 0.5)])
        return {
            "lr": rng.uniform(1e-3, 0.1),
            "momentum": momentum,
            "dampening": dampening,
            "nesterov": nesterov,
            "weight_decay": wd,
        }
    if name == "Adagrad":
        return {
            "lr": rng.uniform(1e-3, 0.1),
            "lr_decay": rng.choice([0.0, rng.uniform(0, 0.05)]),
            "initial_accumulator_value": rng.choice([0.0, rng.uniform(0, 0.5)]),
            "eps": rng.choice([1e-10, 1e-6]),
            "weight_decay": wd,
        }
    if name == "RMSProp":
        return {
            "lr": rng.uniform(1e-4, 1e-2),
            "alpha": rng.uniform(0.8, 0.999),
            "eps": rng.choice([1e-8, 1e-5]),
            "momentum": rng.choice([0.0, rng.uniform(0.1, 0.9)]),
            "centered": rng.random() < 0.5,
            "weight_decay": wd,
        }
    if name == "AdaDelta":
        return {
            "lr": rng.uniform(0.1, 1.0),
            "rho": rng.uniform(0.5, 0.99),
            "eps": rng.choice([1e-6, 1e-4]),
            "weight_decay": wd,
        }
    return {
        "lr": rng.uniform(1e-4, 1e-2),
        "betas": (rng.uniform(0.5, 0.95), rng.uniform(0.9, 0.9999)),
        "eps": rng.choice([1e-8, 1e-6]),
        "amsgrad": rng.random() < 0.5,
        "weight_decay": wd if name == "Adam" else rng.uniform(0, 0.1),
    }


PAIRS: dict[str, tuple[Callable[..., torch.optim.Optimizer], Callable[..., torch.optim.Optimizer]]] = {
    r.cls.__name__: (r.cls, getattr(torch.optim, r.torch_name)) for r in REGISTRY.values() if not r.fixed
}  # every class of the registry, beside its torch.optim counterpart


def make_problem(dtype: torch.dtype, seed: int, steps: int) -> tuple[list[torch.Tensor], list[list[torch.Tensor]]]:
    gen = torch.Generator().manual_seed(seed)
    params = [torch.randn(s, generator=gen, dtype=dtype) for s in SHAPES]
    grads = [[torch.randn(s, generator=gen, dtype=dtype) for s in SHAPES] for _ in range(steps)]
    return params, grads


def train(
    opt_fn: Callable[..., torch.optim.Optimizer], kw: dict[str, Any], params0, grads
) -> tuple[list[torch.Tensor], Any]:
    params = [p.clone().requires_grad_() for p in params0]
    opt = opt_fn(params, **kw)
    for step_grads in grads:
        for p, g in zip(params, step_grads, strict=True):
            p.grad = g.clone()
        opt.step()
    return params, opt


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("name", list(PAIRS))
@pytest.mark.parametrize("seed", range(4))
def test_same_parameters_as_torch_after_100_steps(name: str, dtype: torch.dtype, seed: int) -> None:
    ours, theirs = PAIRS[name]
    kw = random_hparams(name, random.Random(f"{name}-{seed}"))
    params0, grads = make_problem(dtype, seed, 100)
    a, _ = train(ours, kw, params0, grads)
    b, _ = train(theirs, kw, params0, grads)
    for x, y in zip(a, b, strict=True):
        torch.testing.assert_close(x, y, **TOL[dtype], msg=lambda m: f"{name} {kw}: {m}")


@pytest.mark.parametrize("name", list(PAIRS))
def test_state_dict_moves_both_ways_between_ours_and_torch(name: str) -> None:
    ours, theirs = PAIRS[name]
    kw = random_hparams(name, random.Random(name))
    params0, grads = make_problem(torch.float64, 0, 60)
    reference, _ = train(ours, kw, params0, grads)
    for first, second in ((ours, theirs), (theirs, ours)):
        # 30 steps with one, save, load into a fresh other, 30 more steps with it
        mid, opt = train(first, kw, params0, grads[:30])
        saved = copy.deepcopy(opt.state_dict())
        params = [p.detach().clone().requires_grad_() for p in mid]
        other = second(params, **kw)
        other.load_state_dict(saved)
        for step_grads in grads[30:]:
            for p, g in zip(params, step_grads, strict=True):
                p.grad = g.clone()
            other.step()
        for x, y in zip(params, reference, strict=True):
            torch.testing.assert_close(x, y, **TOL[torch.float64])


def test_saved_and_reloaded_mid_training_continues_exactly() -> None:
    params0, grads = make_problem(torch.float32, 1, 40)
    unbroken, _ = train(dl.Adam, {"lr": 0.01, "amsgrad": True}, params0, grads)
    mid, opt = train(dl.Adam, {"lr": 0.01, "amsgrad": True}, params0, grads[:17])
    saved = copy.deepcopy(opt.state_dict())
    params = [p.detach().clone().requires_grad_() for p in mid]
    resumed = dl.Adam(params, lr=0.5)  # hyperparameters come back from the state dict
    resumed.load_state_dict(saved)
    for step_grads in grads[17:]:
        for p, g in zip(params, step_grads, strict=True):
            p.grad = g.clone()
        resumed.step()
    for x, y in zip(params, unbroken, strict=True):
        assert torch.equal(x, y)


def test_param_groups_schedulers_closure_and_zero_grad() -> None:
    torch.manual_seed(0)
    models = [torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1)) for _ in range(2)]
    models[1].load_state_dict(models[0].state_dict())
    x, y = torch.randn(32, 4), torch.randn(32, 1)

    def build(cls: Any, model: torch.nn.Module) -> tuple[torch.optim.Optimizer, Any]:
        opt = cls([{"params": model[0].parameters()}], lr=0.05, momentum=0.9)
        opt.add_param_group({"params": model[2].parameters(), "lr": 0.01, "nesterov": True})
        return opt, torch.optim.lr_scheduler.StepLR(opt, step_size=5, gamma=0.5)

    runs = [build(dl.SGD, models[0]), build(torch.optim.SGD, models[1])]
    for _ in range(20):
        losses = []
        for (opt, sched), model in zip(runs, models, strict=True):

            def closure(model: torch.nn.Module = model, opt: torch.optim.Optimizer = opt) -> torch.Tensor:
                opt.zero_grad()
                loss = torch.nn.functional.mse_loss(model(x), y)
                loss.backward()
                return loss

            losses.append(opt.step(closure))
            sched.step()
        torch.testing.assert_close(losses[0], losses[1], rtol=1e-5, atol=1e-6)
    assert runs[0][0].param_groups[1]["lr"] == pytest.approx(0.01 * 0.5**4)
    for a, b in zip(models[0].parameters(), models[1].parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    runs[0][0].zero_grad()
    assert all(p.grad is None for p in models[0].parameters())


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda p: dl.SGD(p, lr=-0.1), "Invalid learning rate: -0.1"),
        (lambda p: dl.SGD(p, lr=0.1, nesterov=True), "Nesterov momentum requires momentum > 0"),
        (lambda p: dl.Momentum(p, momentum=-0.5), "Invalid momentum value: -0.5"),
        (lambda p: dl.Adam(p, betas=(1.0, 0.999)), r"Invalid beta parameter at index 0: 1.0 \(valid: 0 <= beta"),
        (lambda p: dl.AdamW(p, betas=(0.9, -0.1)), "Invalid beta parameter at index 1"),
        (lambda p: dl.Adam(p, eps=-1e-8), "Invalid epsilon value"),
        (lambda p: dl.AdaDelta(p, rho=1.5), r"Invalid rho value: 1.5 \(valid: 0 <= rho <= 1\)"),
        (lambda p: dl.Adagrad(p, lr_decay=-1), "Invalid lr_decay value"),
        (lambda p: dl.RMSProp(p, weight_decay=-1), "Invalid weight_decay value"),
    ],
)
def test_invalid_hyperparameters(build: Callable[[Any], Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build([torch.zeros(2, requires_grad=True)])


def test_check_finite_changes_nothing() -> None:
    params = [torch.ones(3, requires_grad=True), torch.ones(2, requires_grad=True)]
    opt = dl.Adam(params, lr=0.1, check_finite=True)
    for p in params:
        p.grad = torch.ones_like(p)
    opt.step()
    before = [p.detach().clone() for p in params], copy.deepcopy(opt.state_dict())
    params[0].grad = torch.ones(3)
    params[1].grad = torch.tensor([1.0, float("nan")])
    with pytest.raises(dl.NonFiniteGradientError, match="param group 0, parameter 1 \\(shape \\(2,\\)\\)"):
        opt.step()
    assert all(torch.equal(p, q) for p, q in zip(params, before[0], strict=True))
    after = opt.state_dict()
    for i, state in before[1]["state"].items():
        for key, value in state.items():
            assert torch.equal(after["state"][i][key], value)


def test_from_transforms_builds_any_chain() -> None:
    params0, grads = make_problem(torch.float64, 3, 30)
    tx = T.chain(T.clip_by_global_norm(1.0), T.scale_by_adam(0.9, 0.99), T.scale_by_learning_rate(0.01))
    ours, _ = train(lambda p: dl.from_transforms(p, tx), {}, params0, grads)
    # reference: torch's own clipping, then torch.optim.Adam
    params = [p.clone().requires_grad_() for p in params0]
    opt = torch.optim.Adam(params, lr=0.01, betas=(0.9, 0.99))
    for step_grads in grads:
        for p, g in zip(params, step_grads, strict=True):
            p.grad = g.clone()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
    for x, y in zip(ours, params, strict=True):
        torch.testing.assert_close(x, y, rtol=1e-10, atol=1e-12)


def test_clip_by_value_and_schedules() -> None:
    u = [torch.tensor([-3.0, 0.5, 2.0])]
    (out,), _ = T.clip_by_value(1.0).update(u, T.EmptyState(), u, [1.0])
    assert out.tolist() == [-1.0, 0.5, 1.0]
    tx = T.scale_by_learning_rate(lambda t: 0.1 / t)
    (out,), _ = tx.update(u, T.EmptyState(), u, [4.0])
    torch.testing.assert_close(out, torch.tensor([0.075, -0.0125, -0.05]))


def test_add_noise_has_the_annealed_variance() -> None:
    eta, gamma, t = 0.3, 0.55, 9.0
    zeros = [torch.zeros(200_000, dtype=torch.float64)]
    (noise,), _ = T.add_noise(eta, gamma, seed=1).update(zeros, T.EmptyState(), zeros, [t])
    expected = eta / (1 + t) ** gamma
    # the sample variance of n normals has standard error var * sqrt(2 / n) ~ 0.3% here; allow 5 of them
    assert abs(noise.var().item() - expected) < 5 * expected * (2 / 200_000) ** 0.5
    assert abs(noise.mean().item()) < 5 * (expected / 200_000) ** 0.5
    (again,), _ = T.add_noise(eta, gamma, seed=1).update(zeros, T.EmptyState(), zeros, [t])
    assert torch.equal(noise, again)  # reproducible for a seed and step


@pytest.mark.parametrize("dtype", [torch.float32, pytest.param(torch.float64, marks=pytest.mark.slow)])
@pytest.mark.parametrize("name", list(PAIRS))
@pytest.mark.compile
def test_fast_compiled_path_matches_torch(name: str, dtype: torch.dtype) -> None:
    """The compiled single pass against torch.optim (and so against the plain path), 100 steps. (Each case
    compiles a step, 5 to 15 s: float64 runs with ``-m slow``.)

    An LR scheduler changes lr mid-run: the compiled step reads it without recompiling.
    """
    ours, theirs = PAIRS[name]
    kw = random_hparams(name, random.Random(f"fast-{name}"))
    gen = torch.Generator().manual_seed(5)
    shapes = [(33, 7), (5,)]
    params0 = [torch.randn(s, generator=gen, dtype=dtype) for s in shapes]
    grads = [[torch.randn(s, generator=gen, dtype=dtype) for s in shapes] for _ in range(100)]
    results = []
    for make in (lambda p: ours(p, impl="compiled", **kw), lambda p: theirs(p, **kw)):
        params = [p.clone().requires_grad_() for p in params0]
        opt = make(params)
        sched = torch.optim.lr_scheduler.StepLR(opt, step_size=30, gamma=0.5)
        for step_grads in grads:
            for p, g in zip(params, step_grads, strict=True):
                p.grad = g.clone()
            opt.step()
            sched.step()
        results.append(params)
        if isinstance(opt, dl.TransformOptimizer):
            assert opt.compile_seconds > 0  # the compiled path really ran
            assert len(opt._compiled) == 1  # one compiled step, whatever the learning rate
    for x, y in zip(*results, strict=True):
        torch.testing.assert_close(x, y, **TOL[dtype], msg=lambda m: f"{name} {kw}: {m}")


@pytest.mark.parametrize("amsgrad", [False, True])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_adam_compiled_form_equals_the_readable_chain_and_the_equations(dtype: torch.dtype, amsgrad: bool) -> None:
    """The form of Adam's scaling that the compiled path compiles (``descentlab.optim.compiled``: Kingma and Ba's
    efficient order, bias corrections computed once) against the readable ``scale_by_adam`` of the chain, run
    eagerly over 20 steps of random gradients with per-tensor step counts, and the readable one against the
    equations written inline (an independent reference); the same tolerances as against torch.optim."""
    gen = torch.Generator().manual_seed(0)
    params = [torch.zeros(s, dtype=dtype) for s in SHAPES]
    fast_tx, ref_tx = scale_by_adam_compiled(amsgrad=amsgrad), T.scale_by_adam(amsgrad=amsgrad)
    fast, ref = fast_tx.init(params), ref_tx.init(params)
    b1, b2, eps = 0.9, 0.999, 1e-8
    m_hand = [torch.zeros(s, dtype=dtype) for s in SHAPES]
    v_hand = [torch.zeros(s, dtype=dtype) for s in SHAPES]
    v_max = [torch.zeros(s, dtype=dtype) for s in SHAPES]
    for step in range(1, 21):
        grads = [torch.randn(s, generator=gen, dtype=dtype) * (3.0 if step % 5 == 0 else 1.0) for s in SHAPES]
        counts = [float(step + i) for i in range(len(SHAPES))]  # parameters may have taken different steps
        out_fast, _ = fast_tx.update(grads, fast, params, counts)
        out_ref, _ = ref_tx.update(grads, ref, params, counts)
        for i, (f, r, g) in enumerate(zip(out_fast, out_ref, grads, strict=True)):
            torch.testing.assert_close(f, r, **TOL[dtype])
            m_hand[i] = b1 * m_hand[i] + (1 - b1) * g
            v_hand[i] = b2 * v_hand[i] + (1 - b2) * g * g
            v_max[i] = torch.maximum(v_max[i], v_hand[i])
            t = counts[i]
            v_used = v_max[i] if amsgrad else v_hand[i]
            expected = (m_hand[i] / (1 - b1**t)) / ((v_used / (1 - b2**t)).sqrt() + eps)
            torch.testing.assert_close(r, expected, **TOL[dtype])
    for a, b in zip(fast.exp_avg + fast.exp_avg_sq, ref.exp_avg + ref.exp_avg_sq, strict=True):
        torch.testing.assert_close(a, b, **TOL[dtype])


def test_the_registry_lists_every_optimizer_once_with_what_each_place_reads() -> None:
    """One row per optimizer class descentlab.optim exports (and nesterov, SGD with momentum 0.9 and the
    look-ahead): the training commands offer the rows with a usual learning rate, the race the rows with a
    signature rate, and a row's torch.optim counterpart exists."""
    exported = {c for c in vars(dl).values() if isinstance(c, type) and issubclass(c, dl.TransformOptimizer)}
    exported -= {dl.TransformOptimizer}
    assert {r.cls for r in REGISTRY.values()} == exported
    assert all(hasattr(torch.optim, r.torch_name) for r in REGISTRY.values())
    from descentlab.landscape.race import RACE_OPTIMIZERS, SIGNATURE_LRS
    from descentlab.optim.by_name import OPTIMIZERS, optimizer_by_name

    assert OPTIMIZERS == ("sgd", "momentum", "adagrad", "rmsprop", "adadelta", "adam")  # optim train's choices
    assert list(RACE_OPTIMIZERS) == ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adadelta", "adam"]
    assert set(SIGNATURE_LRS["rosenbrock"]) == set(RACE_OPTIMIZERS)
    p = [torch.zeros(2, requires_grad=True)]
    group = RACE_OPTIMIZERS["nesterov"](p, 0.1).param_groups[0]
    assert group["nesterov"] is True and group["momentum"] == 0.9 and group["lr"] == 0.1
    assert optimizer_by_name("momentum", p, 0.01, momentum=0.5).param_groups[0]["momentum"] == 0.5
    with pytest.raises(ValueError, match="unknown optimizer 'nesterov'; valid: sgd, momentum"):
        optimizer_by_name("nesterov", p, 0.1)
