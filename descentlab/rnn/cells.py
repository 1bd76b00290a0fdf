r"""Recurrent cells written out gate by gate: one time step of a plain RNN, an LSTM and a GRU.

A recurrent network reads a sequence one element at a time and carries a *hidden state* :math:`h_t`
from each step to the next, so what it computes at step :math:`t` can depend on everything it has read.
The three cells differ in how the new state is made from the input :math:`x_t` and the old state.

Parameters have the names, shapes and gate order of ``torch.nn.RNNCell`` / ``LSTMCell`` / ``GRUCell``
(``weight_ih`` of shape ``(G * hidden, input)``, ``weight_hh`` ``(G * hidden, hidden)``, ``bias_ih``,
``bias_hh``; G = 1, 4, 3), so a ``state_dict`` moves between this module and torch's in both directions,
and they start from the same distribution, :math:`U(-1/\sqrt{H}, 1/\sqrt{H})`.

Each cell's ``step`` is a plain function of tensors, also used by the stacked layers of
:mod:`descentlab.rnn.layers`, which add the input projection :math:`W_{i\cdot} x_t + b_{i\cdot}` of all time
steps at once (one large matrix product instead of T small ones) before looping over time.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import torch
from torch import Tensor, nn

NONLINEARITIES = ("tanh", "relu")


def rnn_step(xw: Tensor, h: Tensor, weight_hh: Tensor, bias_hh: Tensor | None, nonlinearity: str = "tanh") -> Tensor:
    r"""Plain (Elman) RNN: :math:`h_t = \tanh(W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh})`.

    ``xw`` is the input's projection :math:`W_{ih} x_t + b_{ih}`. Because the same :math:`W_{hh}` multiplies
    the state at every step, the gradient reaching step :math:`t - k` is a product of k Jacobians
    :math:`\mathrm{diag}(\tanh') W_{hh}`: it shrinks geometrically when their norm is below 1 (vanishing
    gradients) and grows when it is above (exploding), which is what the LSTM was designed to avoid.
    """
    pre = torch.addmm(xw, h, weight_hh.t()) if bias_hh is None else torch.addmm(xw + bias_hh, h, weight_hh.t())
    return torch.tanh(pre) if nonlinearity == "tanh" else torch.relu(pre)


class LSTMGates(NamedTuple):
    """The LSTM's gate activations at one step, each (batch, hidden)."""

    input: Tensor
    forget: Tensor
    cell: Tensor  # the candidate g
    output: Tensor


def lstm_step(
    xw: Tensor, h: Tensor, c: Tensor, weight_hh: Tensor, bias_hh: Tensor | None
) -> tuple[Tensor, Tensor, LSTMGates]:
    r"""Long short-term memory (Hochreiter and Schmidhuber 1997, with the forget gate of Gers et al. 2000).

    .. math::
        i_t &= \sigma(W_{ii} x_t + b_{ii} + W_{hi} h_{t-1} + b_{hi}) &&\text{input gate: how much to write}\\
        f_t &= \sigma(W_{if} x_t + b_{if} + W_{hf} h_{t-1} + b_{hf}) &&\text{forget gate: how much to keep}\\
        g_t &= \tanh(W_{ig} x_t + b_{ig} + W_{hg} h_{t-1} + b_{hg}) &&\text{candidate: what to write}\\
        o_t &= \sigma(W_{io} x_t + b_{io} + W_{ho} h_{t-1} + b_{ho}) &&\text{output gate: how much to show}\\
        c_t &= f_t \odot c_{t-1} + i_t \odot g_t \\
        h_t &= o_t \odot \tanh(c_t)

    The cell state :math:`c_t` is updated additively, so the gradient along it is multiplied only by the
    forget gate at each step, not by a weight matrix: with :math:`f_t` near 1 it passes many steps almost
    unchanged. The unit calls the gates binary; they are sigmoids with values in (0, 1), of which 0
    ("forget everything") and 1 ("keep everything") are only the limits (docs/errata.md).
    """
    gates = torch.addmm(xw if bias_hh is None else xw + bias_hh, h, weight_hh.t())
    i, f, g, o = gates.chunk(4, 1)
    i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
    c = f * c + i * g
    h = o * torch.tanh(c)
    return h, c, LSTMGates(i, f, g, o)


def gru_step(xw: Tensor, h: Tensor, weight_hh: Tensor, bias_hh: Tensor | None) -> Tensor:
    r"""Gated recurrent unit (Cho et al. 2014), in torch's form (the reset gate applied after :math:`W_{hn}`):

    .. math::
        r_t &= \sigma(W_{ir} x_t + b_{ir} + W_{hr} h_{t-1} + b_{hr}) &&\text{reset gate}\\
        z_t &= \sigma(W_{iz} x_t + b_{iz} + W_{hz} h_{t-1} + b_{hz}) &&\text{update gate}\\
        n_t &= \tanh(W_{in} x_t + b_{in} + r_t \odot (W_{hn} h_{t-1} + b_{hn})) &&\text{candidate}\\
        h_t &= (1 - z_t) \odot n_t + z_t \odot h_{t-1}
    """
    hw = h @ weight_hh.t() if bias_hh is None else torch.addmm(bias_hh, h, weight_hh.t())
    xr, xz, xn = xw.chunk(3, 1)
    hr, hz, hn = hw.chunk(3, 1)
    r = torch.sigmoid(xr + hr)
    z = torch.sigmoid(xz + hz)
    n = torch.tanh(xn + r * hn)
    return (1 - z) * n + z * h


GATES = {"rnn": 1, "lstm": 4, "gru": 3}


def check_sizes(input_size: int, hidden_size: int) -> None:
    if not (isinstance(input_size, int) and input_size >= 1):
        raise ValueError(f"input_size must be an integer >= 1, got {input_size!r}")
    if not (isinstance(hidden_size, int) and hidden_size >= 1):
        raise ValueError(f"hidden_size must be an integer >= 1, got {hidden_size!r}")


class _Cell(nn.Module):
    """Parameters shared by the three cells, named and laid out as torch's."""

    kind = "rnn"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True) -> None:
        super().__init__()
        check_sizes(input_size, hidden_size)
        g = GATES[self.kind]
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        self.weight_ih = nn.Parameter(torch.empty(g * hidden_size, input_size))
        self.weight_hh = nn.Parameter(torch.empty(g * hidden_size, hidden_size))
        self.bias_ih = nn.Parameter(torch.empty(g * hidden_size)) if bias else None
        self.bias_hh = nn.Parameter(torch.empty(g * hidden_size)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def _project(self, x: Tensor) -> Tensor:
        if x.dim() not in (1, 2) or x.shape[-1] != self.input_size:
            raise ValueError(f"input must be (batch, {self.input_size}) or ({self.input_size},), got {tuple(x.shape)}")
        return torch.nn.functional.linear(x, self.weight_ih, self.bias_ih)

    def _zeros(self, x: Tensor) -> Tensor:
        return torch.zeros(*x.shape[:-1], self.hidden_size, dtype=x.dtype, device=x.device)

    def _checked(self, x: Tensor, state: Any, name: str = "hx") -> Tensor:
        """A given state, which must be shaped like the output: (batch, hidden), or (hidden,) unbatched."""
        want = (*x.shape[:-1], self.hidden_size)
        if not isinstance(state, Tensor) or tuple(state.shape) != want:
            got = tuple(state.shape) if isinstance(state, Tensor) else type(state).__name__
            raise ValueError(f"{name} must have shape {want} (batch, hidden) for input {tuple(x.shape)}; got {got}")
        return state

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")


class RNNCell(_Cell):
    """One step of a plain RNN (see :func:`rnn_step`); same interface as ``torch.nn.RNNCell``."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh") -> None:
        if nonlinearity not in NONLINEARITIES:
            raise ValueError(f"nonlinearity must be one of {', '.join(NONLINEARITIES)}, got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, bias)

    def forward(self, x: Tensor, hx: Tensor | None = None) -> Tensor:
        xw = self._project(x)
        h = self._zeros(x) if hx is None else self._checked(x, hx)
        if x.dim() == 1:
            return rnn_step(xw[None], h[None], self.weight_hh, self.bias_hh, self.nonlinearity)[0]
        return rnn_step(xw, h, self.weight_hh, self.bias_hh, self.nonlinearity)


class LSTMCell(_Cell):
    """One LSTM step (see :func:`lstm_step`); same interface as ``torch.nn.LSTMCell``.

    ``cell(x, (h, c))`` returns ``(h, c)``; ``cell(x, (h, c), return_gates=True)`` returns
    ``(h, c, gates)`` with the :class:`LSTMGates` of this step, for looking inside the memory.
    """

    kind = "lstm"

    def forward(
        self, x: Tensor, hx: tuple[Tensor, Tensor] | None = None, return_gates: bool = False
    ) -> tuple[Any, ...]:
        xw = self._project(x)
        if hx is not None and (not isinstance(hx, tuple | list) or len(hx) != 2):
            raise ValueError(f"hx must be a pair (h, c) of states; got {type(hx).__name__}")
        h, c = (
            (self._zeros(x), self._zeros(x))
            if hx is None
            else (self._checked(x, hx[0], "h"), self._checked(x, hx[1], "c"))
        )
        unbatched = x.dim() == 1
        if unbatched:
            xw, h, c = xw[None], h[None], c[None]
        h, c, gates = lstm_step(xw, h, c, self.weight_hh, self.bias_hh)
        if unbatched:
            h, c, gates = h[0], c[0], LSTMGates(*(g[0] for g in gates))
        if return_gates:
            return h, c, gates
        return h, c


class GRUCell(_Cell):
    """One GRU step (see :func:`gru_step`); same interface as ``torch.nn.GRUCell``."""

    kind = "gru"

    def forward(self, x: Tensor, hx: Tensor | None = None) -> Tensor:
        xw = self._project(x)
        h = self._zeros(x) if hx is None else self._checked(x, hx)
        if x.dim() == 1:
            return gru_step(xw[None], h[None], self.weight_hh, self.bias_hh)[0]
        return gru_step(xw, h, self.weight_hh, self.bias_hh)
