r"""Stacked, optionally bidirectional RNN, LSTM and GRU layers over whole sequences.

Each layer reads the sequence left to right (and, when bidirectional, a second set of weights reads it
right to left; the two outputs are concatenated feature-wise), and its outputs are the next layer's
inputs, with dropout between layers in training (not after the last one), exactly as ``torch.nn.LSTM``.
Parameters are named and shaped as torch's (``weight_ih_l0``, ``weight_hh_l0``, ``bias_ih_l0``,
``bias_hh_l0``, ``weight_ih_l0_reverse``, ...), so ``load_state_dict`` works in both directions.

Four implementations, chosen once at construction with ``impl`` (``"fused"``, torch's kernel, when it is
not given: a layer as fast as ``torch.nn.LSTM``); all compute the same function of the same parameters and
are tested equal (``tests/test_rnn.py``, against ``torch.nn.LSTM`` and each other).
The layers and directions are stacked once (``_Stacked._stack``); each implementation runs one layer in
one direction:

``"loop"``
    The written-out path: the input projections of all time steps in one matrix product, then a Python
    loop over time calling the cell's step function (:mod:`descentlab.rnn.cells`). Autograd gives
    backpropagation through time.
``"bptt"``
    The same steps with backpropagation through time written out by hand as well
    (:mod:`descentlab.rnn.bptt`): one ``autograd.Function`` per layer and direction whose backward walks the
    steps in reverse and forms each weight gradient in one matrix product at the end. The fastest of the
    written-out paths, and the one the benchmark's "written out, run fast" row measures.
``"fused"``
    The same parameters handed to PyTorch's own recurrent kernel (``torch._VF.lstm`` and friends, the
    function behind ``torch.nn.LSTM``; cuDNN on a GPU). For training real models.

Shapes follow torch: input ``(T, N, in)`` (``(N, T, in)`` with ``batch_first``, or unbatched ``(T, in)``);
initial states ``(layers * directions, N, hidden)``; the output ``(T, N, directions * hidden)`` and the
final states ``(layers * directions, N, hidden)``, ordered layer by layer, forward before reverse. An LSTM
with ``proj_size=P`` (as torch's) projects each step's output, :math:`h_t = W_{hr}(o_t \odot \tanh c_t)`, so
that its outputs and :math:`h` have P features while :math:`c` keeps ``hidden``; ``weight_hr_l0`` (P, hidden)
comes last among each layer's parameters (not on ``"bptt"``, whose backward is written for no projection).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from descentlab.rnn.bptt import GRURecurrence, LSTMRecurrence, RNNRecurrence
from descentlab.rnn.cells import GATES, NONLINEARITIES, LSTMGates, check_sizes, gru_step, lstm_step, rnn_step

IMPLS = ("loop", "bptt", "fused")
#: what a layer built without ``impl`` runs: torch's kernel (as fast as ``torch.nn.LSTM``, cuDNN on a GPU);
#: the written-out ``"loop"`` and ``"bptt"`` are one keyword away
DEFAULT_IMPL = "fused"


#: one layer in one direction: (inputs (T, N, in), reverse, states, w_ih, w_hh, b_ih, b_hh) -> (outputs, states)
Direction = Callable[..., tuple[Tensor, list[Tensor]]]


class _Stacked(nn.Module):
    kind = "rnn"

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device: Any = None,
        dtype: torch.dtype | None = None,
        *,
        impl: str = DEFAULT_IMPL,
        nonlinearity: str = "tanh",
        proj_size: int = 0,
    ) -> None:
        super().__init__()
        check_sizes(input_size, hidden_size)
        if isinstance(proj_size, bool) or not (isinstance(proj_size, int) and 0 <= proj_size < hidden_size):
            raise ValueError(f"proj_size must be an integer from 0 (no projection) to hidden_size - 1 = "
                             f"{hidden_size - 1}, as in torch.nn.LSTM; got {proj_size!r}")  # fmt: skip
        if proj_size and impl == "bptt":
            raise ValueError("impl='bptt' has no projections (its backward is written for h = o tanh(c)); valid "
                             "with proj_size: 'loop' or 'fused'")  # fmt: skip
        if not (isinstance(num_layers, int) and num_layers >= 1):
            raise ValueError(f"num_layers must be an integer >= 1, got {num_layers!r}")
        for name, flag in (("bias", bias), ("batch_first", batch_first), ("bidirectional", bidirectional)):
            if not isinstance(flag, bool):
                raise TypeError(f"{name} must be True or False, got {flag!r}"
                                + ("; nn.RNN's fourth argument is nonlinearity: RNN(4, 6, 2, 'relu')"
                                   if self.kind == "rnn" and isinstance(flag, str) else ""))  # fmt: skip
        if not 0 <= dropout < 1:
            raise ValueError(f"dropout is the probability of dropping a unit, in [0, 1); got {dropout!r}")
        if impl not in IMPLS:
            raise ValueError(f"impl must be one of {', '.join(IMPLS)}, got {impl!r}")
        if nonlinearity not in NONLINEARITIES:
            raise ValueError(f"nonlinearity must be one of {', '.join(NONLINEARITIES)}, got {nonlinearity!r}")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout, self.bidirectional = bias, batch_first, dropout, bidirectional
        self.impl, self.nonlinearity, self.proj_size = impl, nonlinearity, proj_size
        self.directions = 2 if bidirectional else 1
        g = GATES[self.kind]
        out = proj_size or hidden_size  # the size of h: what each direction outputs
        self._names: list[list[str]] = []  # per (layer, direction): w_ih, w_hh[, b_ih, b_hh][, w_hr]
        for layer in range(num_layers):
            size = input_size if layer == 0 else out * self.directions
            for d in range(self.directions):
                sfx = f"_l{layer}" + ("_reverse" if d else "")
                shapes: dict[str, tuple[int, ...]] = {
                    "weight_ih": (g * hidden_size, size),
                    "weight_hh": (g * hidden_size, out),
                }
                if bias:
                    shapes |= {"bias_ih": (g * hidden_size,), "bias_hh": (g * hidden_size,)}
                if proj_size:
                    shapes |= {"weight_hr": (proj_size, hidden_size)}  # h = W_hr (o tanh c), torch's order: last
                for name, shape in shapes.items():
                    self.register_parameter(name + sfx, nn.Parameter(torch.empty(shape, device=device, dtype=dtype)))
                self._names.append([name + sfx for name in shapes])
        self.reset_parameters()

    # torch.nn.RNNBase's names for the same things, for code that reads them
    @property
    def all_weights(self) -> list[list[nn.Parameter]]:
        """The parameters per layer and direction, as ``torch.nn.LSTM.all_weights``."""
        return [[getattr(self, name) for name in names] for names in self._names]

    @property
    def _all_weights(self) -> list[list[str]]:
        return [list(names) for names in self._names]

    @property
    def _flat_weights_names(self) -> list[str]:
        return [name for names in self._names for name in names]

    @property
    def _flat_weights(self) -> list[Tensor]:
        return self.flat_weights()

    def __prepare_scriptable__(self) -> nn.Module:
        """``torch.jit.script`` calls this first: refuse in one line, naming what works."""
        raise TypeError(f"descentlab.rnn.{type(self).__name__} cannot be scripted (its forward chooses among "
                        "Python implementations); use torch.compile(model), or torch.jit.trace with impl='fused'")  # fmt: skip

    def reset_parameters(self) -> None:
        """:math:`U(-1/\\sqrt{H}, 1/\\sqrt{H})` for every parameter, as torch."""
        bound = 1 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def flat_weights(self) -> list[Tensor]:
        """Parameters in torch's order: per layer, per direction, w_ih, w_hh, b_ih, b_hh."""
        return [getattr(self, name) for names in self._names for name in names]

    def flatten_parameters(self) -> bool:
        """``torch.nn.LSTM.flatten_parameters``: on a CUDA device with cuDNN, move every weight of the fused path
        into one buffer in cuDNN's layout (the parameters become views of it), so that each call reads them in
        place; otherwise cuDNN copies them into one at every call (and torch warns that the weights "are not
        part of single contiguous chunk of memory"). Done by ``.to(device)`` / ``.cuda()``, as in torch.
        Returns whether the weights were flattened; on a CPU, with a written-out ``impl``, or with weights of
        mixed dtypes or devices it does nothing (False)."""
        weights = self.flat_weights()
        first = weights[0]
        usable = self.impl == "fused" and all(
            w.is_cuda and w.dtype == first.dtype and torch.backends.cudnn.is_acceptable(w) for w in weights
        )
        if not usable or not torch._use_cudnn_rnn_flatten_weight():
            return False
        mode = {"lstm": "LSTM", "gru": "GRU"}.get(self.kind, "RNN_TANH" if self.nonlinearity == "tanh" else "RNN_RELU")
        from torch.backends.cudnn import rnn as cudnn_rnn

        with torch.cuda.device_of(first), torch.no_grad():
            torch._cudnn_rnn_flatten_weight(weights, 4 if self.bias else 2, self.input_size,
                                            cudnn_rnn.get_cudnn_mode(mode), self.hidden_size, self.proj_size, self.num_layers,
                                            self.batch_first, self.bidirectional)  # fmt: skip
        return True

    def _apply(self, fn: Any, recurse: bool = True) -> Any:
        out = super()._apply(fn, recurse)
        self.flatten_parameters()
        return out

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}, num_layers={self.num_layers}, impl={self.impl!r}"
        if self.proj_size:
            s += f", proj_size={self.proj_size}"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        if self.batch_first:
            s += ", batch_first=True"
        return s

    # ---- shapes in and out ----

    def _prepare(self, input: Tensor, hx: Any) -> tuple[Tensor, bool, int]:
        if input.dim() not in (2, 3) or input.shape[-1] != self.input_size:
            raise ValueError(
                f"input must be (seq, batch, {self.input_size}), (batch, seq, {self.input_size}) with batch_first, "
                f"or unbatched (seq, {self.input_size}); got {tuple(input.shape)}"
            )
        unbatched = input.dim() == 2
        if input.shape[1 if self.batch_first and not unbatched else 0] == 0:
            raise ValueError("input has no time steps; valid: a sequence of at least one step (as torch.nn.RNN)")
        if unbatched:
            input = input.unsqueeze(1)
        elif self.batch_first:
            input = input.transpose(0, 1)
        return input, unbatched, input.shape[1]

    def _state(self, hx: Tensor | None, input: Tensor, batch: int, unbatched: bool, size: int = 0) -> Tensor:
        """An initial state (``hx``, or zeros) of ``size`` features (default: ``hidden_size``)."""
        shape = (self.num_layers * self.directions, batch, size or self.hidden_size)
        if hx is None:
            return torch.zeros(shape, dtype=input.dtype, device=input.device)
        h = hx.unsqueeze(1) if unbatched else hx
        if tuple(h.shape) != shape:
            want = shape[:1] + shape[2:] if unbatched else shape
            raise ValueError(f"initial state must have shape {want} (layers * directions, batch, hidden); "
                             f"got {tuple(hx.shape)}")  # fmt: skip
        return h

    def _finish(self, output: Tensor, unbatched: bool) -> Tensor:
        if unbatched:
            return output.squeeze(1)
        return output.transpose(0, 1) if self.batch_first else output

    # ---- the written-out paths ----

    def _step(self) -> Callable[..., Any]:
        raise NotImplementedError

    def _advance(
        self, step: Callable[..., Any], xw: Tensor, state: list[Tensor], w_hh: Tensor, b_hh: Tensor | None,
        w_hr: Tensor | None = None,
    ) -> tuple[list[Tensor], Any]:  # fmt: skip
        raise NotImplementedError

    def _recurrence(self, xw: Tensor, state: list[Tensor], w_hh: Tensor, b_hh: Tensor | None) -> Any:
        raise NotImplementedError

    def _stack(self, input: Tensor, states: list[Tensor], direction: Direction) -> tuple[Tensor, list[Tensor]]:
        """All layers and directions: ``direction`` runs one layer in one direction over the sequence; the
        outputs of both directions are concatenated, and dropout (in training) is applied between layers.
        ``states`` holds one (L*D, N, H) tensor per state (h, and c for the LSTM). Returns the last layer's
        output and the final states."""
        finals: list[list[Tensor]] = [[] for _ in states]
        layer_input = input
        for layer in range(self.num_layers):
            outputs = []
            for d in range(self.directions):
                k = layer * self.directions + d
                w_ih, w_hh, *rest = (getattr(self, n) for n in self._names[k])
                w_hr = rest.pop() if self.proj_size else None
                b_ih, b_hh = (rest[0], rest[1]) if rest else (None, None)
                projection = {} if w_hr is None else {"w_hr": w_hr}  # the LSTM's, with proj_size
                out, state = direction(layer_input, bool(d), [s[k] for s in states], w_ih, w_hh, b_ih, b_hh,
                                       **projection)  # fmt: skip
                outputs.append(out)
                for f, s in zip(finals, state, strict=True):
                    f.append(s)
            layer_input = outputs[0] if self.directions == 1 else torch.cat(outputs, -1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, training=True)
        return layer_input, [torch.stack(f) for f in finals]

    def _loop(
        self, step: Callable[..., Any], record: list[LSTMGates] | None, xs: Tensor, reverse: bool,
        state: list[Tensor], w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None, b_hh: Tensor | None,
        lengths: Tensor | None = None, w_hr: Tensor | None = None,
    ) -> tuple[Tensor, list[Tensor]]:  # fmt: skip
        """``impl="loop"``: the input projections of every step in
        one product, then ``step`` once per time step; autograd does backpropagation through time. With
        ``record``, each step's gates are kept and appended to it (time first). With ``lengths`` (N,), the
        sequences of a padded batch: a sequence's state changes only at its own steps, so that reading
        forward it stops at its last one and reading backward it starts there."""
        active = None if lengths is None else lengths.to(xs.device).unsqueeze(1)  # (N, 1)
        # unbind (not xw[t]) so that backward stacks the steps' gradients once instead of scattering each
        # into a zero tensor
        xw = F.linear(xs, w_ih, b_ih).unbind(0)
        hs: list[Tensor] = []
        gates: list[LSTMGates] = []
        for t in range(len(xw) - 1, -1, -1) if reverse else range(len(xw)):
            new, extra = self._advance(step, xw[t], state, w_hh, b_hh, w_hr)
            state = new if active is None else [torch.where(t < active, n, o) for n, o in zip(new, state, strict=True)]
            hs.append(state[0])
            if record is not None and extra is not None:
                gates.append(extra)
        if reverse:
            hs.reverse()
            gates.reverse()
        if record is not None:
            record.append(LSTMGates(*(torch.stack(g) for g in zip(*gates, strict=True))))
        return torch.stack(hs), state

    def _bptt(
        self, xs: Tensor, reverse: bool, state: list[Tensor], w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None,
        b_hh: Tensor | None,
    ) -> tuple[Tensor, list[Tensor]]:  # fmt: skip
        """``impl="bptt"``: the same recurrence with its backward pass written out (:mod:`descentlab.rnn.bptt`)."""
        xw = F.linear(xs.flip(0) if reverse else xs, w_ih, b_ih)
        out, *state = self._recurrence(xw, state, w_hh, b_hh)
        return out.flip(0) if reverse else out, state

    def _written_out(self, input: Tensor, states: list[Tensor]) -> tuple[Tensor, list[Tensor]]:
        """The written-out path chosen by ``impl`` (all but ``"fused"``)."""
        direction = self._bptt if self.impl == "bptt" else functools.partial(self._loop, self._step(), None)
        return self._stack(input, states, direction)

    # ---- variable-length batches: torch's PackedSequence ----

    def _packed(self, packed: PackedSequence, states: list[Tensor]) -> tuple[PackedSequence, list[Tensor]]:
        """A ``PackedSequence`` in (its sequences sorted by length or not), a ``PackedSequence`` out with the
        same order, and each sequence's final states taken at its own last step; ``states`` (L*D, N, H) in
        the batch's original order, as torch takes them. ``impl="fused"`` hands the packed data to torch's
        kernel; the written-out paths run the loop on the padded batch, each sequence's state changing only
        at its own steps (``bptt`` takes that loop too: its recurrence assumes one length)."""
        data, batch_sizes, sorted_indices, unsorted_indices = packed
        order = sorted_indices if sorted_indices is not None else torch.arange(int(batch_sizes[0]), device=data.device)
        if self.impl == "fused":
            hx = [s.index_select(1, order) for s in states]
            weights = self.flat_weights()
            args = (self.bias, self.num_layers, self.dropout, self.training, self.bidirectional)
            if self.kind == "lstm":
                out, *finals = torch._VF.lstm(data, batch_sizes, (hx[0], hx[1]), weights, *args)
            else:
                fn = {
                    "gru": torch._VF.gru,
                    "rnn": torch._VF.rnn_tanh if self.nonlinearity == "tanh" else torch._VF.rnn_relu,
                }
                out, h = fn[self.kind](data, batch_sizes, hx[0], weights, *args)
                finals = [h]
            back = unsorted_indices if unsorted_indices is not None else order
            return PackedSequence(out, batch_sizes, sorted_indices, unsorted_indices), [
                f.index_select(1, back) for f in finals
            ]
        padded, lengths = pad_packed_sequence(packed)  # (T, N, in), in the batch's original order
        direction = functools.partial(self._loop, self._step(), None, lengths=lengths)
        out, finals = self._stack(padded, states, direction)
        repacked = pack_padded_sequence(out.index_select(1, order), lengths[order.cpu()], enforce_sorted=True)
        return PackedSequence(repacked.data, batch_sizes, sorted_indices, unsorted_indices), finals


class RNN(_Stacked):
    """Stacked Elman RNN with tanh or ReLU (see :func:`descentlab.rnn.cells.rnn_step`); the interface of
    ``torch.nn.RNN``, its arguments in its order (``nonlinearity`` fourth): ``output, h_n = rnn(input, h_0)``."""

    kind = "rnn"

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device: Any = None,
        dtype: torch.dtype | None = None,
        *,
        impl: str = DEFAULT_IMPL,
    ) -> None:
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, device,
                         dtype, impl=impl, nonlinearity=nonlinearity)  # fmt: skip

    def _step(self) -> Callable[..., Any]:
        return rnn_step

    def _advance(self, step: Callable[..., Any], xw: Tensor, state: list[Tensor], w_hh: Tensor,
               b_hh: Tensor | None, w_hr: Tensor | None = None) -> tuple[list[Tensor], Any]:  # fmt: skip
        return [step(xw, state[0], w_hh, b_hh, self.nonlinearity)], None

    def _recurrence(self, xw: Tensor, state: list[Tensor], w_hh: Tensor, b_hh: Tensor | None) -> Any:
        return RNNRecurrence.apply(xw, state[0], w_hh, b_hh, self.nonlinearity == "tanh")

    def forward(self, input: Tensor | PackedSequence, hx: Tensor | None = None) -> tuple[Any, Tensor]:
        if isinstance(input, PackedSequence):
            packed, (h,) = self._packed(input, [self._state(hx, input.data, int(input.batch_sizes[0]), False)])
            return packed, h
        x, unbatched, n = self._prepare(input, hx)
        h0 = self._state(hx, x, n, unbatched)
        if self.impl == "fused":
            fn = torch._VF.rnn_tanh if self.nonlinearity == "tanh" else torch._VF.rnn_relu
            out, h = fn(x, h0, self.flat_weights(), self.bias, self.num_layers, self.dropout, self.training,
                        self.bidirectional, False)  # fmt: skip
        else:
            out, (h,) = self._written_out(x, [h0])
        return self._finish(out, unbatched), h.squeeze(1) if unbatched else h


class GRU(_Stacked):
    """Stacked GRU (see :func:`descentlab.rnn.cells.gru_step`); the interface of ``torch.nn.GRU``."""

    kind = "gru"

    def _step(self) -> Callable[..., Any]:
        return gru_step

    def _advance(self, step: Callable[..., Any], xw: Tensor, state: list[Tensor], w_hh: Tensor,
               b_hh: Tensor | None, w_hr: Tensor | None = None) -> tuple[list[Tensor], Any]:  # fmt: skip
        return [step(xw, state[0], w_hh, b_hh)], None

    def _recurrence(self, xw: Tensor, state: list[Tensor], w_hh: Tensor, b_hh: Tensor | None) -> Any:
        return GRURecurrence.apply(xw, state[0], w_hh, b_hh)

    def forward(self, input: Tensor | PackedSequence, hx: Tensor | None = None) -> tuple[Any, Tensor]:
        if isinstance(input, PackedSequence):
            packed, (h,) = self._packed(input, [self._state(hx, input.data, int(input.batch_sizes[0]), False)])
            return packed, h
        x, unbatched, n = self._prepare(input, hx)
        h0 = self._state(hx, x, n, unbatched)
        if self.impl == "fused":
            out, h = torch._VF.gru(x, h0, self.flat_weights(), self.bias, self.num_layers,
                                   self.dropout, self.training, self.bidirectional, False)  # fmt: skip
        else:
            out, (h,) = self._written_out(x, [h0])
        return self._finish(out, unbatched), h.squeeze(1) if unbatched else h


class LSTM(_Stacked):
    """Stacked LSTM (see :func:`descentlab.rnn.cells.lstm_step`); the interface of ``torch.nn.LSTM``:
    ``output, (h_n, c_n) = lstm(input, (h_0, c_0))``. :meth:`forward_with_gates` also returns every
    gate's activation at every step (the written-out path)."""

    kind = "lstm"

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device: Any = None,
        dtype: torch.dtype | None = None,
        *,
        impl: str = DEFAULT_IMPL,
    ) -> None:
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, device,
                         dtype, impl=impl, proj_size=proj_size)  # fmt: skip

    def _step(self) -> Callable[..., Any]:
        return lstm_step

    def _advance(self, step: Callable[..., Any], xw: Tensor, state: list[Tensor], w_hh: Tensor,
               b_hh: Tensor | None, w_hr: Tensor | None = None) -> tuple[list[Tensor], Any]:  # fmt: skip
        h, c, gates = step(xw, state[0], state[1], w_hh, b_hh)
        return [h if w_hr is None else h @ w_hr.t(), c], gates  # with proj_size: h = W_hr (o tanh c)

    def _recurrence(self, xw: Tensor, state: list[Tensor], w_hh: Tensor, b_hh: Tensor | None) -> Any:
        return LSTMRecurrence.apply(xw, state[0], state[1], w_hh, b_hh)

    def _states(self, hx: tuple[Tensor, Tensor] | None, x: Tensor, n: int, unbatched: bool) -> list[Tensor]:
        if hx is None:
            return [self._state(None, x, n, unbatched, self.proj_size), self._state(None, x, n, unbatched)]
        if not (isinstance(hx, tuple | list) and len(hx) == 2):
            raise ValueError("an LSTM's initial state is a pair (h_0, c_0)")
        return [self._state(hx[0], x, n, unbatched, self.proj_size), self._state(hx[1], x, n, unbatched)]

    def forward(
        self, input: Tensor | PackedSequence, hx: tuple[Tensor, Tensor] | None = None
    ) -> tuple[Any, tuple[Tensor, Tensor]]:
        if isinstance(input, PackedSequence):
            packed, (h, c) = self._packed(input, self._states(hx, input.data, int(input.batch_sizes[0]), False))
            return packed, (h, c)
        x, unbatched, n = self._prepare(input, hx)
        h0, c0 = self._states(hx, x, n, unbatched)
        if self.impl == "fused":
            out, h, c = torch._VF.lstm(x, (h0, c0), self.flat_weights(), self.bias,
                                       self.num_layers, self.dropout, self.training, self.bidirectional, False)  # fmt: skip
        else:
            out, (h, c) = self._written_out(x, [h0, c0])
        if unbatched:
            h, c = h.squeeze(1), c.squeeze(1)
        return self._finish(out, unbatched), (h, c)

    def forward_with_gates(
        self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None
    ) -> tuple[Tensor, tuple[Tensor, Tensor], list[LSTMGates]]:
        """As :meth:`forward` (always the written-out loop), plus one :class:`LSTMGates` per layer and
        direction, each gate of shape (T, N, hidden) (time first, batch dimension kept)."""
        if isinstance(input, PackedSequence):
            raise TypeError("forward_with_gates takes a tensor (seq, batch, features); pad a PackedSequence first "
                            "(torch.nn.utils.rnn.pad_packed_sequence), or call the layer itself, which takes one")  # fmt: skip
        x, unbatched, n = self._prepare(input, hx)
        h0, c0 = self._states(hx, x, n, unbatched)
        record: list[LSTMGates] = []
        out, (h, c) = self._stack(x, [h0, c0], functools.partial(self._loop, self._step(), record))  # eager loop
        if unbatched:
            h, c = h.squeeze(1), c.squeeze(1)
        return self._finish(out, unbatched), (h, c), record
