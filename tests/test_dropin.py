"""descentlab inside other people's training code: what third-party code does to an optimizer (deep copies,
pickles) and to a recurrent layer, each case against torch's own class as the reference.

Tolerances: parameters equal torch.optim's to rtol 1e-5, atol 1e-6 in float32 (as in
``test_optim_torch_parity.py``).
"""

from __future__ import annotations

import copy
import inspect
import pickle
import typing
from typing import Any

import pytest
import torch
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

import descentlab.optim as ours
from descentlab.optim import transforms as T
from descentlab.optim.adapter import hyper_dtype
from descentlab.optim.by_name import REGISTRY
from descentlab.rnn import GRU, LSTM, RNN

PAIRS: dict[str, tuple[type, type]] = {  # every class of the registry, beside its torch.optim counterpart
    r.cls.__name__: (r.cls, getattr(torch.optim, r.torch_name)) for r in REGISTRY.values() if not r.fixed
}
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
    for key in ("check_finite", "impl", "flat"):
        assert getattr(copied, key) == getattr(original, key), key


LOW = [torch.bfloat16, torch.float16]
PATHS = {"kernel": {}, "chain": {"impl": "chain"}, "flat": {"flat": True}}
LOW_TOL = {"atol": 5e-3, "rtol": 5e-3}  # torch's common_optimizers: fused against for-loop in bf16 and fp16


def _low_precision_run(cls: type, dtype: torch.dtype, kwargs: dict[str, Any], steps: int = 7) -> torch.Tensor:
    """``steps`` steps (torch's test_optim compares fused and for-loop steps over 7) at lr 0.01 on a
    64-element parameter of ``dtype`` from seeded gradients (AdaDelta at 1)."""
    kwargs = dict(kwargs)
    if dtype == torch.float16 and "eps" in inspect.signature(cls).parameters:
        kwargs["eps"] = 1e-3  # float16's smallest number is 6e-8: a default eps of 1e-8 is 0 there (inf steps in torch)
    gen = torch.Generator().manual_seed(0)
    p = torch.nn.Parameter(torch.randn(64, generator=gen).to(dtype))
    lr = 1.0 if cls in (ours.AdaDelta, torch.optim.Adadelta) else 0.01
    opt = cls([p], lr=lr, **kwargs)
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
    torch.testing.assert_close(
        _low_precision_run(cls, dtype, {"impl": "compiled"}), _torch_loop(name, dtype), **LOW_TOL
    )


def test_hyperparameters_of_a_compiled_step_are_float32_below_float32() -> None:
    assert [hyper_dtype(d) for d in (torch.bfloat16, torch.float16, torch.float32, torch.float64)] == [
        torch.float32, torch.float32, torch.float32, torch.float64]  # fmt: skip


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"momentum": 0.9}, {"momentum": 0.9, "nesterov": True}, {"momentum": 0.9, "dampening": 0.1},
     {"momentum": 0.5, "maximize": True}],
    ids=["plain", "momentum", "nesterov", "dampening", "maximize"],
)  # fmt: skip
def test_sgd_takes_sparse_gradients_as_torch_does(kwargs: dict[str, Any]) -> None:
    """An nn.Embedding(sparse=True) trained five steps (torch's test_rosenbrock_sparse does the same with
    SGD): the weights equal torch.optim.SGD's exactly (the same operations in the same order)."""
    weights = []
    for cls in (ours.SGD, torch.optim.SGD):
        torch.manual_seed(0)
        emb = torch.nn.Embedding(10, 3, sparse=True)
        opt = cls(emb.parameters(), lr=0.1, **kwargs)
        for i in range(5):
            opt.zero_grad()
            emb(torch.tensor([i % 4, 7])).pow(2).sum().backward()
            assert emb.weight.grad is not None and emb.weight.grad.is_sparse
            opt.step()
        weights.append(emb.weight.detach().clone())
    torch.testing.assert_close(weights[0], weights[1], rtol=0, atol=0)


def test_sparse_sgd_with_weight_decay_fails_as_torchs_does() -> None:
    emb = torch.nn.Embedding(10, 3, sparse=True)
    opt = ours.SGD(emb.parameters(), lr=0.1, weight_decay=0.1)
    emb(torch.tensor([1])).sum().backward()
    with pytest.raises(RuntimeError, match="weight_decay option is not compatible with sparse gradients"):
        opt.step()


@pytest.mark.parametrize("name", list(PAIRS))
def test_a_tensor_learning_rate_of_two_elements_is_refused_in_torchs_words(name: str) -> None:
    cls, torch_cls = PAIRS[name]
    for maker in (cls, torch_cls):
        with pytest.raises(ValueError, match="Tensor lr must be 1-element"):
            maker(_params(), lr=torch.tensor([0.001, 0.001]))
    cls(_params(), lr=torch.tensor(0.001))  # a 1-element tensor is a learning rate, as in torch


def test_torchs_spellings_name_the_same_classes() -> None:
    assert ours.RMSprop is ours.RMSProp and ours.Adadelta is ours.AdaDelta
    for name in ("SGD", "Adagrad", "RMSprop", "Adadelta", "Adam", "AdamW"):
        assert hasattr(ours, name) and hasattr(torch.optim, name)


@pytest.mark.parametrize("name", ["Adagrad", "RMSProp", "AdaDelta", "Adam", "AdamW"])
def test_state_keys_come_in_torchs_order(name: str) -> None:
    orders = []
    for cls in PAIRS[name]:
        opt = cls(_params(), lr=0.1)
        _step(opt, 0)
        orders.append(list(opt.state[opt.param_groups[0]["params"][0]]))
    assert orders[0] == orders[1]


def test_load_state_dict_keeps_the_optimizers_own_settings() -> None:
    """torch's load_state_dict passes only state and param_groups to __setstate__: flat, fast, check_finite
    and the gradient transform stay as they were."""
    opt = ours.Adam(_params(), lr=0.01, flat=True, check_finite=True)
    _step(opt, 0)
    _step(opt, 1)
    opt.load_state_dict(opt.state_dict())
    _step(opt, 2)
    assert opt.flat and opt.check_finite and opt._flat


def test_an_old_pickle_without_the_settings_steps_with_the_defaults() -> None:
    opt = ours.Adam(_params(), lr=0.01)
    _step(opt, 0)
    old = torch.optim.Optimizer.__getstate__(opt)  # what a pickle made before the settings were kept holds
    copied = ours.Adam.__new__(ours.Adam)
    copied.__setstate__(dict(old))
    _step(copied, 1)
    assert copied.check_finite is False and copied.impl == "kernel"


# ---- recurrent layers -------------------------------------------------------------------------------

LAYERS = {"LSTM": (LSTM, torch.nn.LSTM), "GRU": (GRU, torch.nn.GRU), "RNN": (RNN, torch.nn.RNN)}


@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("enforce_sorted", [True, False], ids=["sorted", "unsorted"])
@pytest.mark.parametrize("impl", ["loop", "bptt", "fused"])
@pytest.mark.parametrize("kind", list(LAYERS))
def test_packed_sequences_go_through_as_in_torch(
    kind: str, impl: str, enforce_sorted: bool, bidirectional: bool
) -> None:
    """A variable-length batch packed by pack_padded_sequence (lengths sorted or not), two layers, with an
    initial state: a PackedSequence comes out, and its data, the final states and every gradient (input and
    weights) equal torch.nn's in float64 to 1e-12."""
    ours_cls, torch_cls = LAYERS[kind]
    torch.manual_seed(0)
    ref = torch_cls(4, 5, num_layers=2, bidirectional=bidirectional).double()
    mine = ours_cls(4, 5, num_layers=2, bidirectional=bidirectional, impl=impl).double()
    mine.load_state_dict(ref.state_dict())
    lengths = torch.tensor([5, 4, 3, 1]) if enforce_sorted else torch.tensor([3, 5, 1, 4])
    x = torch.randn(5, 4, 4, dtype=torch.float64)
    h0 = torch.randn(2 * (2 if bidirectional else 1), 4, 5, dtype=torch.float64)
    hx = (h0, torch.randn_like(h0)) if kind == "LSTM" else h0
    results = []
    for module in (ref, mine):
        xs = x.clone().requires_grad_()
        out, state = module(pack_padded_sequence(xs, lengths, enforce_sorted=enforce_sorted), hx)
        assert isinstance(out, PackedSequence)
        h = state[0] if kind == "LSTM" else state
        (pad_packed_sequence(out)[0].pow(2).sum() + h.sum()).backward()
        results.append([out.data, h, xs.grad, *(p.grad for p in module.parameters())])
        assert torch.equal(out.batch_sizes, pack_padded_sequence(x, lengths, enforce_sorted=enforce_sorted).batch_sizes)
    for got, want in zip(results[1], results[0], strict=True):
        torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)


def test_gates_of_a_packed_batch_are_refused_with_the_way_out() -> None:
    packed = pack_padded_sequence(torch.randn(3, 2, 4), torch.tensor([3, 2]))
    with pytest.raises(TypeError, match="pad_packed_sequence"):
        LSTM(4, 5).forward_with_gates(packed)


@pytest.mark.parametrize("kind", list(LAYERS))
def test_constructor_arguments_stand_where_torch_puts_them(kind: str) -> None:
    """Positional arguments in torch's order (RNN's fourth is nonlinearity, LSTM's eighth proj_size), device
    and dtype among them; impl is keyword-only, so that nothing written for torch lands on it."""
    ours_cls, torch_cls = LAYERS[kind]
    (overload, _) = typing.get_overloads(torch_cls.__init__)  # torch's typed signature, then (*args, **kwargs)
    theirs = inspect.signature(overload).parameters
    mine = inspect.signature(ours_cls.__init__).parameters
    assert list(mine)[: len(theirs)] == list(theirs)
    assert all(mine[name].default == theirs[name].default for name in theirs if name != "self")
    assert inspect.signature(ours_cls.__init__).parameters["impl"].kind is inspect.Parameter.KEYWORD_ONLY


def test_rnn_relu_given_positionally_is_relu() -> None:
    torch.manual_seed(0)
    ref = torch.nn.RNN(4, 6, 2, "relu")
    mine = RNN(4, 6, 2, "relu")
    assert mine.nonlinearity == "relu" and mine.bias is True
    mine.load_state_dict(ref.state_dict())
    x = torch.randn(5, 3, 4)
    torch.testing.assert_close(mine(x)[0], ref(x)[0], rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("kind", list(LAYERS))
def test_a_bias_that_is_not_a_bool_is_refused(kind: str) -> None:
    ours_cls, _ = LAYERS[kind]
    with pytest.raises(TypeError, match="bias must be True or False, got 'relu'"):
        ours_cls(4, 6, 2, bias="relu")


@pytest.mark.parametrize("kind", list(LAYERS))
def test_factory_keywords_and_torchs_weight_lists(kind: str) -> None:
    ours_cls, torch_cls = LAYERS[kind]
    mine = ours_cls(4, 6, 2, bidirectional=True, dtype=torch.float64, device="cpu")
    ref = torch_cls(4, 6, 2, bidirectional=True, dtype=torch.float64)
    assert {p.dtype for p in mine.parameters()} == {torch.float64}
    assert [[w.shape for w in ws] for ws in mine.all_weights] == [[w.shape for w in ws] for ws in ref.all_weights]
    assert mine._flat_weights_names == ref._flat_weights_names
    assert [w.data_ptr() for w in mine._flat_weights] == [p.data_ptr() for p in mine.parameters()]


def test_default_impl_is_torchs_kernel_and_the_loop_is_one_keyword_away() -> None:
    assert LSTM(4, 5).impl == GRU(4, 5).impl == RNN(4, 5).impl == "fused"
    assert LSTM(4, 5, impl="loop").impl == "loop"


@pytest.mark.parametrize("impl", ["loop", "fused"])
@pytest.mark.parametrize("packed", [False, True])
def test_an_lstm_with_projections_is_torchs(impl: str, packed: bool) -> None:
    """``proj_size`` (h = W_hr (o tanh c), Sak et al. 2014): the same parameter names and shapes as
    ``torch.nn.LSTM`` (weight_hr last), states of proj_size and hidden_size features, and outputs, final states
    and every gradient equal to torch's (float64, to 1e-12), two layers, both directions, with a padded batch
    packed or not; given positionally, where torch puts it (eighth)."""
    torch.manual_seed(0)
    ref = torch.nn.LSTM(5, 7, 2, True, False, 0.0, True, 3, dtype=torch.float64)
    mine = LSTM(5, 7, 2, True, False, 0.0, True, 3, dtype=torch.float64, impl=impl)
    assert [(n, p.shape) for n, p in mine.named_parameters()] == [(n, p.shape) for n, p in ref.named_parameters()]
    assert mine._flat_weights_names == ref._flat_weights_names and mine.proj_size == 3
    mine.load_state_dict(ref.state_dict())
    x = torch.randn(6, 4, 5, dtype=torch.float64)
    h0, c0 = torch.randn(4, 4, 3, dtype=torch.float64), torch.randn(4, 4, 7, dtype=torch.float64)
    inputs = pack_padded_sequence(x, torch.tensor([6, 3, 5, 1]), enforce_sorted=False) if packed else x
    outs = []
    for layer in (ref, mine):
        out, (h, c) = layer(inputs, (h0, c0))
        y = out.data if packed else out
        assert y.shape[-1] == 2 * 3 and h.shape == (4, 4, 3) and c.shape == (4, 4, 7)
        (y.square().sum() + h.sum() + c.sum()).backward()
        outs.append([y, h, c, *(p.grad for p in layer.parameters())])
    for torchs, mine_ in zip(*outs, strict=True):
        torch.testing.assert_close(mine_, torchs, rtol=1e-12, atol=1e-12)


def test_projections_out_of_range_or_on_the_bptt_path_are_refused() -> None:
    for bad in (-1, 6, 7, 2.0, True):
        with pytest.raises(ValueError, match=r"proj_size must be an integer from 0 .* to hidden_size - 1 = 5"):
            LSTM(4, 6, proj_size=bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"impl='bptt' has no projections.*'loop' or 'fused'"):
        LSTM(4, 6, proj_size=2, impl="bptt")
    assert LSTM(4, 6).proj_size == 0 and "proj_size" not in repr(LSTM(4, 6))


@pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning")  # the shape checks, constant in a trace
def test_torch_jit_script_is_refused_in_one_line() -> None:
    with pytest.raises(TypeError, match="cannot be scripted") as info:
        torch.jit.script(LSTM(4, 5))
    assert "\n" not in str(info.value)
    traced = torch.jit.trace(LSTM(4, 5), torch.randn(3, 2, 4))  # tracing the fused path works
    assert traced(torch.randn(3, 2, 4))[0].shape == (3, 2, 5)


# ---- clipping on the in-place paths -----------------------------------------------------------------


@pytest.mark.parametrize("options", [{}, {"flat": True}], ids=["kernel", "flat"])
@pytest.mark.parametrize("name", list(PAIRS))
def test_clipping_runs_on_the_in_place_paths_and_equals_torchs_clip_then_step(
    name: str, options: dict[str, Any]
) -> None:
    """gradient_transform=clip_by_global_norm(c) no longer sends the step to the chain: the kernel (or the flat
    step) scales the gradients it reads by torch's factor. Six steps of a small network equal
    clip_grad_norm_(c) then torch's step (rtol 1e-5, atol 1e-6), and .grad is left as backward made it."""
    cls, torch_cls = PAIRS[name]
    lr = {"AdaDelta": 1.0}.get(name, 0.05)
    finals = []
    for mine in (True, False):
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.Tanh(), torch.nn.Linear(7, 3))
        if mine:
            opt = cls(model.parameters(), lr=lr, gradient_transform=T.clip_by_global_norm(0.5), **options)
            assert opt._in_place_kernel() is not None  # not the chain
        else:
            opt = torch_cls(model.parameters(), lr=lr, **TORCH_KWARGS.get(name, {}))
        gen = torch.Generator().manual_seed(1)
        for _ in range(6):
            opt.zero_grad()
            model(torch.randn(8, 5, generator=gen)).pow(2).sum().backward()
            if not mine:
                torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5, foreach=True)
            grads = [p.grad.clone() for p in model.parameters()]
            opt.step()
            if mine:
                assert all(torch.equal(g, p.grad) for g, p in zip(grads, model.parameters(), strict=True))
        finals.append(torch.cat([p.detach().flatten() for p in model.parameters()]))
    torch.testing.assert_close(finals[0], finals[1], rtol=1e-5, atol=1e-6)


# ---- zero_grad folded into the step ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [{}, {"flat": True}, {"impl": "chain"}, {"flat": True, "impl": "chain"},
     {"gradient_transform": T.clip_by_global_norm(0.5)}, {"flat": True, "gradient_transform": T.clip_by_global_norm(0.5)},
     pytest.param({"impl": "compiled"}, marks=[pytest.mark.compile, pytest.mark.slow]),
     pytest.param({"flat": True, "impl": "compiled"}, marks=[pytest.mark.compile, pytest.mark.slow])],
    ids=["kernel", "flat", "chain", "flat-chain", "kernel-clip", "flat-clip", "compiled", "flat-compiled"],
)  # fmt: skip
@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSProp"])
def test_step_with_zero_grad_equals_torchs_step_then_zero_grad(name: str, options: dict[str, Any]) -> None:
    """``step(zero_grad=True)`` (the gradients zeroed as the step reads them, chunk by chunk, or slice by slice of
    the flat gradient) against torch's ``step()`` then ``zero_grad(set_to_none=False)``: after each step every
    gradient is zero and stays the tensor backward accumulates into, and six steps of a small float64 network
    end at the same parameters (rtol 1e-10, atol 1e-12; clipping, where given, is torch's clip_grad_norm_ for
    torch)."""
    cls, torch_cls = PAIRS[name]
    clip = "gradient_transform" in options
    finals = []
    for mine in (True, False):
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.Tanh(), torch.nn.Linear(7, 3)).double()
        kw = {"momentum": 0.9} if name == "SGD" else {}
        opt = (
            cls(model.parameters(), lr=0.05, **kw, **options) if mine else torch_cls(model.parameters(), lr=0.05, **kw)
        )
        gen = torch.Generator().manual_seed(1)
        for _ in range(6):
            model(torch.randn(8, 5, generator=gen, dtype=torch.float64)).pow(2).sum().backward()
            if mine:
                grads = [p.grad for p in model.parameters()]
                opt.step(zero_grad=True)
                assert all(p.grad is g or options.get("flat") for p, g in zip(model.parameters(), grads, strict=True))
                assert all(not p.grad.any() for p in model.parameters())
            else:
                if clip:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5, foreach=True)
                opt.step()
                opt.zero_grad(set_to_none=False)
        finals.append(torch.cat([p.detach().flatten() for p in model.parameters()]))
    torch.testing.assert_close(finals[0], finals[1], rtol=1e-10, atol=1e-12)


@pytest.mark.compile
@pytest.mark.parametrize("flat", [False, True], ids=["compiled", "flat+compiled"])
@pytest.mark.parametrize("name", ["SGD", "Adam"])
def test_clipping_runs_in_the_compiled_step_too(name: str, flat: bool) -> None:
    """impl="compiled" with clipping: the factor is an input of the compiled pass, refreshed each step; six steps
    equal clip_grad_norm_ then torch's step (rtol 1e-5, atol 1e-6)."""
    cls, torch_cls = PAIRS[name]
    finals = []
    for mine in (True, False):
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.Tanh(), torch.nn.Linear(7, 3))
        clip = T.clip_by_global_norm(0.5)
        opt = (cls(model.parameters(), lr=0.05, impl="compiled", flat=flat, gradient_transform=clip) if mine
               else torch_cls(model.parameters(), lr=0.05))  # fmt: skip
        gen = torch.Generator().manual_seed(1)
        for _ in range(6):
            opt.zero_grad()
            model(torch.randn(8, 5, generator=gen)).pow(2).sum().backward()
            if not mine:
                torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
            opt.step()
        if mine:
            assert opt.impl == "compiled" and opt._compiled  # the compiled pass ran
        finals.append(torch.cat([p.detach().flatten() for p in model.parameters()]))
    torch.testing.assert_close(finals[0], finals[1], rtol=1e-5, atol=1e-6)
