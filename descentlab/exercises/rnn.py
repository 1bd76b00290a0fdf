"""Exercises of chapter 5, recurrent networks: a plain RNN over a sequence and one LSTM step.

The references are the cells' step functions of :mod:`descentlab.rnn.cells` (tested against
``torch.nn.RNNCell`` and ``LSTMCell``).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from descentlab.exercises.cases import DTYPES, dtype_name, integer, pick, randn
from descentlab.exercises.core import Case, Exercise, Mistake
from descentlab.rnn.cells import lstm_step as library_lstm_step
from descentlab.rnn.cells import rnn_step

# ---- a plain RNN over a sequence --------------------------------------------------------------------------


def rnn_forward(x: Tensor, h0: Tensor, w_ih: Tensor, w_hh: Tensor, b: Tensor) -> Tensor:
    h, states = h0, []
    for x_t in x:  # the same weights at every step
        h = rnn_step(x_t @ w_ih.t() + b, h, w_hh, None)
        states.append(h)
    return torch.stack(states)


def _rnn(
    x: Tensor,
    h0: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b: Tensor,
    *,
    feed: str = "h",
    act: bool = True,
    transposed: bool = False,
) -> Tensor:
    """The RNN with one of its known slips (the variants below)."""
    if transposed and (w_ih.shape[0] != w_ih.shape[1]):
        raise ValueError("only for square weights")
    h, prev_x, states = h0, h0, []
    for x_t in x:
        carried = {"h": h, "x": prev_x, "h0": h0}[feed]
        pre = (x_t @ w_ih + carried @ w_hh + b) if transposed else (x_t @ w_ih.t() + carried @ w_hh.t() + b)
        h = torch.tanh(pre) if act else pre
        prev_x = x_t
        states.append(h)
    return torch.stack(states)


def _rnn_cases(gen: torch.Generator) -> list[Case]:
    fixed = [(1, 2, 3, 3), (5, 1, 2, 4), (4, 3, 4, 4), (6, 2, 3, 5), (3, 1, 5, 5)]  # (T, N, I, H)
    rand = [(integer(gen, 1, 6), integer(gen, 1, 3), integer(gen, 1, 5), integer(gen, 1, 5)) for _ in range(3)]
    out = []
    for t, n, i, h in fixed + rand:
        dtype = pick(gen, DTYPES)
        scale = 1 / math.sqrt(h)
        args = (
            randn((t, n, i), dtype, gen),
            randn((n, h), dtype, gen, 0.5),
            randn((h, i), dtype, gen, scale * 2),
            randn((h, h), dtype, gen, scale * 2),
            randn((h,), dtype, gen, 0.1),
        )
        label = (
            f"T {t}" + (" (one time step)" if t == 1 else "") + f", N {n}, input {i}, hidden {h}, {dtype_name(dtype)}"
        )
        out.append(Case(label, args))
    return out


RNN = Exercise(
    name="rnn_forward",
    chapter="rnn",
    section="chapter-rnn",
    difficulty=2,
    title="a plain RNN over a sequence",
    parameters=("x", "h0", "w_ih", "w_hh", "b"),
    returns="every hidden state (T, N, H)",
    docstring=r"""
A plain (Elman) recurrent network over a sequence (the lab book, chapter 5): at each time step the new
hidden state combines the input x(t) with the PREVIOUS HIDDEN STATE h(t-1), through the same weights at
every step:

    h(t) = tanh(W_ih x(t) + W_hh h(t-1) + b),     h(-1) = h0,   t = 0, ..., T - 1

(the unit's B is W_ih, its A is W_hh). Erratum: the unit says the current input combines x(t) and x(t-1);
it is x(t) and h(t-1), which summarizes every earlier input.

Arguments: x, (T, N, I): T time steps of a batch of N inputs of size I; h0, (N, H); w_ih, (H, I);
w_hh, (H, H); b, (H,); all of one float dtype.
Returns (T, N, H): h(0), ..., h(T-1), x's dtype.

The checker tries one time step, a batch of one, input size equal to and different from the hidden size,
float32 and float64.
""",
    reference=rnn_forward,
    cases=_rnn_cases,
    mistakes=(
        Mistake(
            "fed x(t-1) instead of h(t-1)",
            "You fed the previous input x(t-1) back, as the unit's text says; "
            "the recurrence feeds the previous hidden state h(t-1), which carries every earlier input.",
            "chapter-rnn",
            lambda *a: _rnn(*a, feed="x"),
        ),
        Mistake(
            "h0 at every step",
            "You used the initial state h0 at every step: each step must use the state the "
            "previous step computed, h(t-1).",
            "chapter-rnn",
            lambda *a: _rnn(*a, feed="h0"),
        ),
        Mistake(
            "no nonlinearity",
            "You left out the tanh: without it the network is linear in its inputs, and "
            "h(t) = tanh(W_ih x(t) + W_hh h(t-1) + b).",
            "chapter-rnn",
            lambda *a: _rnn(*a, act=False),
        ),
        Mistake(
            "weights transposed",
            "You multiplied by the weights' transposes (x @ W_ih): W_ih is (H, I), so "
            "W_ih x(t) is x @ W_ih.T for row vectors.",
            "chapter-rnn",
            lambda *a: _rnn(*a, transposed=True),
        ),
    ),
)


# ---- one LSTM step ----------------------------------------------------------------------------------------


def lstm_step(x: Tensor, h: Tensor, c: Tensor, w_ih: Tensor, w_hh: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
    h_new, c_new, _ = library_lstm_step(x @ w_ih.t() + b, h, c, w_hh, None)
    return h_new, c_new


def _lstm(
    x: Tensor,
    h: Tensor,
    c: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b: Tensor,
    *,
    order: str = "ifgo",
    tanh_c: bool = True,
    input_gate: bool = True,
    candidate: str = "tanh",
) -> tuple[Tensor, Tensor]:
    """The LSTM step with one of its known slips (the variants below)."""
    chunks = dict(zip(order, (x @ w_ih.t() + h @ w_hh.t() + b).chunk(4, 1), strict=True))
    i, f, o = torch.sigmoid(chunks["i"]), torch.sigmoid(chunks["f"]), torch.sigmoid(chunks["o"])
    g = torch.tanh(chunks["g"]) if candidate == "tanh" else torch.sigmoid(chunks["g"])
    c = f * c + (i * g if input_gate else g)
    return o * (torch.tanh(c) if tanh_c else c), c


def _lstm_cases(gen: torch.Generator) -> list[Case]:
    fixed = [(1, 3, 2), (4, 2, 5), (2, 4, 4), (3, 1, 3)]  # (N, I, H)
    rand = [(integer(gen, 1, 4), integer(gen, 1, 5), integer(gen, 1, 5)) for _ in range(4)]
    out = []
    for n, i, h in fixed + rand:
        dtype = pick(gen, DTYPES)
        args = (
            randn((n, i), dtype, gen),
            randn((n, h), dtype, gen, 0.5),
            randn((n, h), dtype, gen),
            randn((4 * h, i), dtype, gen, 0.8),
            randn((4 * h, h), dtype, gen, 0.8),
            randn((4 * h,), dtype, gen, 0.5),
        )
        out.append(
            Case(
                f"N {n}" + (" (a batch of one)" if n == 1 else "") + f", input {i}, hidden {h}, {dtype_name(dtype)}",
                args,
            )
        )
    return out


LSTM = Exercise(
    name="lstm_step",
    chapter="rnn",
    section="rnn-the-lstm",
    difficulty=2,
    title="one step of an LSTM",
    parameters=("x", "h", "c", "w_ih", "w_hh", "b"),
    returns="(h, c)",
    docstring=r"""
One step of a long short-term memory cell (the lab book, chapter 5, The LSTM), with the gates in
PyTorch's order i, f, g, o (rows 0:H, H:2H, 2H:3H, 3H:4H of the weights):

    z = W_ih x + W_hh h + b                  (4H numbers per example)
    i = sigmoid(z[0:H])        input gate: how much to write
    f = sigmoid(z[H:2H])       forget gate: how much to keep
    g = tanh(z[2H:3H])         candidate: what to write
    o = sigmoid(z[3H:4H])      output gate: how much to show
    c_new = f * c + i * g
    h_new = o * tanh(c_new)

Erratum: the unit calls the gates binary; they are sigmoids with values in (0, 1).

Arguments: x, (N, I); h, c, (N, H); w_ih, (4H, I); w_hh, (4H, H); b, (4H,); all of one float dtype.
Returns (h_new, c_new), each (N, H), x's dtype.

The checker tries a batch of one, input size equal to and different from the hidden size, float32 and
float64.
""",
    reference=lstm_step,
    cases=_lstm_cases,
    mistakes=(
        Mistake(
            "gates g and o swapped",
            "You read the gates in the order i, f, o, g: PyTorch's (and this exercise's) order is i, f, g, o.",
            "rnn-the-lstm",
            lambda *a: _lstm(*a, order="ifog"),
        ),
        Mistake(
            "gates i and f swapped",
            "You read the forget gate from the first quarter and the input gate from the "
            "second: the order is i, f, g, o.",
            "rnn-the-lstm",
            lambda *a: _lstm(*a, order="figo"),
        ),
        Mistake(
            "no tanh on the cell",
            "You output o * c: the hidden state is o * tanh(c_new), which keeps it in (-1, 1).",
            "rnn-the-lstm",
            lambda *a: _lstm(*a, tanh_c=False),
        ),
        Mistake(
            "no input gate",
            "You added the candidate without the input gate (c = f c + g): the input gate "
            "decides how much of g is written, c = f c + i g.",
            "rnn-the-lstm",
            lambda *a: _lstm(*a, input_gate=False),
        ),
        Mistake(
            "sigmoid candidate",
            "You squashed the candidate with a sigmoid: g = tanh(...), so that the cell "
            "can be written down as well as up.",
            "rnn-the-lstm",
            lambda *a: _lstm(*a, candidate="sigmoid"),
        ),
    ),
)


EXERCISES = (RNN, LSTM)
