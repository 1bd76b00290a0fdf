"""Recurrent cells and layers against torch.nn.RNN / LSTM / GRU (the independent reference).

Tolerances: 1e-10 in float64 and 1e-5 in float32 (absolute, on outputs, final states and every
gradient), the issue's; every implementation (loop, bptt, fused) is held to them.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import nn

from descentlab.rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell
from descentlab.rnn.bptt import GRURecurrence, LSTMRecurrence, RNNRecurrence

OURS = {"rnn": RNN, "lstm": LSTM, "gru": GRU}
THEIRS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
ATOL = {torch.float64: 1e-10, torch.float32: 1e-5}


def _pair(kind: str, impl: str, dtype: torch.dtype, **kw: Any) -> tuple[nn.Module, nn.Module]:
    torch.manual_seed(0)
    theirs = THEIRS[kind](**kw).to(dtype)
    ours = OURS[kind](**kw, impl=impl).to(dtype)
    ours.load_state_dict(theirs.state_dict())
    return ours, theirs


def _run(model: nn.Module, x: torch.Tensor, hx: object) -> list[torch.Tensor]:
    """Outputs, final states and the gradients of a loss touching all of them."""
    out, state = model(x, hx)
    states = list(state) if isinstance(state, tuple) else [state]
    weights = [torch.linspace(-1, 1, t.numel(), dtype=t.dtype).reshape(t.shape) for t in [out, *states]]
    loss = sum((w * t).sum() for w, t in zip(weights, [out, *states], strict=True))
    inputs: list[torch.Tensor] = [
        x,
        *(h for h in (hx if isinstance(hx, tuple) else [hx]) if isinstance(h, torch.Tensor)),
    ]
    grads = torch.autograd.grad(loss, [*inputs, *model.parameters()])
    return [out, *states, *grads]


CASES = [  # (layers, bidirectional, batch_first, bias, batched, initial state)
    (1, False, False, True, True, False),
    (2, True, True, True, True, True),
    (3, False, False, False, True, True),
    (2, True, False, True, False, True),  # unbatched (T, in)
]


@pytest.mark.parametrize("impl", ["loop", "bptt", "fused"])
@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("case", CASES)
def test_layers_match_torch(kind: str, impl: str, dtype: torch.dtype, case: tuple) -> None:
    layers, bi, batch_first, bias, batched, with_state = case
    ours, theirs = _pair(kind, impl, dtype, input_size=5, hidden_size=6, num_layers=layers, bias=bias,
                         batch_first=batch_first, bidirectional=bi)  # fmt: skip
    gen = torch.Generator().manual_seed(1)
    shape = ((3, 7, 5) if batch_first else (7, 3, 5)) if batched else (7, 5)
    x = torch.randn(shape, generator=gen, dtype=dtype, requires_grad=True)
    hshape = (layers * (2 if bi else 1), 3, 6) if batched else (layers * (2 if bi else 1), 6)
    hx: object = None
    if with_state:
        h0 = torch.randn(hshape, generator=gen, dtype=dtype, requires_grad=True)
        c0 = torch.randn(hshape, generator=gen, dtype=dtype, requires_grad=True)
        hx = (h0, c0) if kind == "lstm" else h0
    for a, b in zip(_run(ours, x, hx), _run(theirs, x, hx), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=ATOL[dtype])


def test_relu_rnn_matches_torch() -> None:
    for impl in ("loop", "bptt", "fused"):
        ours, theirs = _pair("rnn", impl, torch.float64, input_size=3, hidden_size=4, num_layers=2,
                             nonlinearity="relu")  # fmt: skip
        x = torch.randn(5, 2, 3, dtype=torch.float64, requires_grad=True)
        for a, b in zip(_run(ours, x, None), _run(theirs, x, None), strict=True):
            torch.testing.assert_close(a, b, rtol=0, atol=1e-10)


def test_state_dict_moves_both_ways_and_names_match() -> None:
    theirs = nn.LSTM(3, 4, num_layers=2, bidirectional=True)
    ours = LSTM(3, 4, num_layers=2, bidirectional=True)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    theirs.load_state_dict(ours.state_dict())  # ours -> torch
    x = torch.randn(5, 2, 3)
    torch.testing.assert_close(ours(x)[0], theirs(x)[0], rtol=0, atol=1e-6)


@pytest.mark.parametrize(("ours_cls", "theirs_cls"), [(RNNCell, nn.RNNCell), (LSTMCell, nn.LSTMCell),
                                                      (GRUCell, nn.GRUCell)])  # fmt: skip
def test_cells_match_torch(ours_cls: type, theirs_cls: type) -> None:
    torch.manual_seed(0)
    theirs = theirs_cls(5, 6).double()
    ours = ours_cls(5, 6).double()
    ours.load_state_dict(theirs.state_dict())
    x = torch.randn(3, 5, dtype=torch.float64, requires_grad=True)
    h = torch.randn(3, 6, dtype=torch.float64)
    hx = (h, torch.randn(3, 6, dtype=torch.float64)) if ours_cls is LSTMCell else h
    a, b = ours(x, hx), theirs(x, hx)
    a, b = (a if isinstance(a, tuple) else (a,)), (b if isinstance(b, tuple) else (b,))
    for u, v in zip(a, b, strict=True):
        torch.testing.assert_close(u, v, rtol=0, atol=1e-10)
    ga = torch.autograd.grad(sum(t.sum() for t in a), [x, *ours.parameters()])
    gb = torch.autograd.grad(sum(t.sum() for t in b), [x, *theirs.parameters()])
    for u, v in zip(ga, gb, strict=True):
        torch.testing.assert_close(u, v, rtol=0, atol=1e-10)
    # unbatched input and no initial state, as torch's cells
    torch.testing.assert_close(torch.stack(list(ours(x[0]) if ours_cls is LSTMCell else [ours(x[0])])),
                               torch.stack(list(theirs(x[0]) if ours_cls is LSTMCell else [theirs(x[0])])),
                               rtol=0, atol=1e-10)  # fmt: skip


def test_lstm_cell_returns_its_gates_and_they_explain_the_state() -> None:
    torch.manual_seed(0)
    cell = LSTMCell(3, 4)
    x, h, c = torch.randn(2, 3), torch.randn(2, 4), torch.randn(2, 4)
    h1, c1, gates = cell(x, (h, c), return_gates=True)
    torch.testing.assert_close(c1, gates.forget * c + gates.input * gates.cell)
    torch.testing.assert_close(h1, gates.output * torch.tanh(c1))
    for g in (gates.input, gates.forget, gates.output):  # sigmoids: strictly inside (0, 1), not binary
        assert bool(((g > 0) & (g < 1)).all())


def test_forward_with_gates_matches_forward_and_shapes() -> None:
    torch.manual_seed(0)
    lstm = LSTM(3, 4, num_layers=2, bidirectional=True, impl="fused")
    x = torch.randn(6, 2, 3)
    out, (_, c), gates = lstm.forward_with_gates(x)
    ref_out, (_, ref_c) = lstm(x)
    torch.testing.assert_close(out, ref_out, rtol=0, atol=1e-6)
    torch.testing.assert_close(c, ref_c, rtol=0, atol=1e-6)
    assert len(gates) == 4 and gates[0].forget.shape == (6, 2, 4)
    assert lstm.impl == "fused"  # restored


@pytest.mark.parametrize("impl", ["loop", "bptt", "fused"])
def test_dropout_between_layers_only_in_training(impl: str) -> None:
    torch.manual_seed(0)
    lstm = LSTM(4, 8, num_layers=2, dropout=0.5, impl=impl)
    plain = LSTM(4, 8, num_layers=2, impl=impl)
    plain.load_state_dict(lstm.state_dict())
    x = torch.randn(5, 3, 4)
    assert not torch.allclose(lstm(x)[0], plain(x)[0])  # dropout changes the second layer's input
    lstm.eval()
    torch.testing.assert_close(lstm(x)[0], plain(x)[0], rtol=0, atol=1e-6)  # and is off in evaluation
    one = LSTM(4, 8, num_layers=1, dropout=0.5, impl=impl)  # no layer after the last: no dropout at all
    ref = LSTM(4, 8, num_layers=1, impl=impl)
    ref.load_state_dict(one.state_dict())
    torch.testing.assert_close(one(x)[0], ref(x)[0], rtol=0, atol=1e-6)


def test_hand_written_bptt_passes_gradcheck() -> None:
    gen = torch.Generator().manual_seed(0)

    def rand(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=gen, dtype=torch.float64, requires_grad=True)

    t, n, h = 4, 2, 3
    assert torch.autograd.gradcheck(LSTMRecurrence.apply, (rand(t, n, 4 * h), rand(n, h), rand(n, h),
                                                           rand(4 * h, h), rand(4 * h)))  # fmt: skip
    assert torch.autograd.gradcheck(GRURecurrence.apply, (rand(t, n, 3 * h), rand(n, h), rand(3 * h, h),
                                                          rand(3 * h)))  # fmt: skip
    for tanh in (True, False):
        args = (rand(t, n, h), rand(n, h), rand(h, h), rand(h), tanh)
        assert torch.autograd.gradcheck(RNNRecurrence.apply, args)  # type: ignore[arg-type]


def test_bad_arguments_say_what_is_valid() -> None:
    with pytest.raises(ValueError, match="impl must be one of loop, bptt, fused"):
        LSTM(3, 4, impl="fast")
    with pytest.raises(ValueError, match=r"dropout is the probability of dropping a unit, in \[0, 1\)"):
        LSTM(3, 4, dropout=1.0)
    with pytest.raises(ValueError, match="hidden_size must be an integer >= 1"):
        GRU(3, 0)
    with pytest.raises(ValueError, match="nonlinearity must be one of tanh, relu"):
        RNN(3, 4, nonlinearity="sigmoid")
    lstm = LSTM(3, 4, num_layers=2)
    with pytest.raises(ValueError, match=r"input must be \(seq, batch, 3\)"):
        lstm(torch.randn(5, 2, 4))
    with pytest.raises(ValueError, match=r"initial state must have shape \(2, 2, 4\)"):
        lstm(torch.randn(5, 2, 3), (torch.zeros(1, 2, 4), torch.zeros(1, 2, 4)))


def test_flatten_parameters_leaves_cpu_weights_alone() -> None:
    """``flatten_parameters`` (torch's, for cuDNN) does nothing on a CPU: it says so, and every weight keeps its own
    memory, through ``.to()`` too (on a GPU, benchmarks/cuda_parity.py checks the one-buffer layout)."""
    model = LSTM(4, 6, num_layers=2, impl="fused")
    before = [p.data_ptr() for p in model.parameters()]
    assert model.flatten_parameters() is False
    assert [p.data_ptr() for p in model.parameters()] == before
    model = model.to(torch.float64)
    assert len({p.untyped_storage().data_ptr() for p in model.parameters()}) == len(before)
    out, _ = model(torch.randn(3, 2, 4, dtype=torch.float64))
    assert out.shape == (3, 2, 6)
