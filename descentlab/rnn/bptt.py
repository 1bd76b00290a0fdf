r"""Backpropagation through time written out by hand, one recurrence per ``torch.autograd.Function``.

Autograd differentiates the loop of :mod:`descentlab.rnn.layers` step by step, and so computes the
recurrent weight's gradient as T small products :math:`\delta_t^\top h_{t-1}` (each with only the batch
as inner dimension) added one by one. Written out, the backward pass walks the steps in reverse carrying
:math:`\partial L / \partial h` (and :math:`\partial L / \partial c`), keeps every step's
pre-activation gradient :math:`\delta_t`, and forms the weight gradient once at the end:

.. math:: \frac{\partial L}{\partial W_{hh}} = \sum_t \delta_t^\top h_{t-1} = \Delta^\top H_{\mathrm{prev}},
          \qquad \frac{\partial L}{\partial b_{hh}} = \sum_t \delta_t, \qquad
          \frac{\partial L}{\partial (W_{ih} x_t + b_{ih})} = \delta_t,

one product with inner dimension T x batch, which is what makes it fast. The input projection stays
outside (one ``F.linear`` over all steps), so autograd's gradient for :math:`W_{ih}` is one product too.
Each function's forward computes the equations of the cell's step (:mod:`descentlab.rnn.cells`) itself, in
place into preallocated tensors of all steps (an ``autograd.Function`` records no graph), and saves what its
backward needs; the backward is the chain rule through the same equations, in the docstrings below. Both
are tested equal to autograd through the cell's step (``tests/test_rnn.py``).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor


def _weight_grads(delta: Tensor, h_prev: Tensor, bias: bool) -> tuple[Tensor, Tensor | None]:
    """dW_hh = sum_t delta_t^T h_{t-1} in one product, and db_hh = sum_t delta_t."""
    d = delta.reshape(-1, delta.shape[-1])
    return d.t() @ h_prev.reshape(-1, h_prev.shape[-1]), d.sum(0) if bias else None


def _pre(xw: Tensor, h: Tensor, w_hh: Tensor, b_hh: Tensor | None) -> Tensor:
    return torch.addmm(xw if b_hh is None else xw + b_hh, h, w_hh.t())


class LSTMRecurrence(torch.autograd.Function):
    r"""Forward: the LSTM step of :func:`descentlab.rnn.cells.lstm_step` for t = 1..T from (h0, c0).

    Backward, for t = T..1, with :math:`\bar h_t = \partial L/\partial h_t` (from the output and from
    step t+1) and :math:`\bar c_t` (from step t+1):

    .. math::
        \bar o &= \bar h_t \tanh c_t, \qquad \bar c_t \mathrel{+}= \bar h_t\, o_t (1 - \tanh^2 c_t), \\
        \bar i &= \bar c_t\, g_t, \quad \bar g = \bar c_t\, i_t, \quad \bar f = \bar c_t\, c_{t-1}, \quad
        \bar c_{t-1} = \bar c_t f_t, \\
        \delta_t &= [\bar i\, i(1-i),\ \bar f f (1-f),\ \bar g (1-g^2),\ \bar o\, o(1-o)], \qquad
        \bar h_{t-1} \mathrel{+}= \delta_t W_{hh}.
    """

    @staticmethod
    def forward(ctx: Any, xw: Tensor, h0: Tensor, c0: Tensor, w_hh: Tensor, b_hh: Tensor | None) -> Any:
        steps, n, size = len(xw), h0.shape[0], h0.shape[1]
        # (T, N, 4H): first both biases and the input projection, then, step by step, i, f, g, o after their
        # nonlinearities; each step's product is accumulated in place (addmm with an out= copies its input)
        acts = xw.clone() if b_hh is None else xw + b_hh
        hs = torch.empty(steps + 1, n, size, dtype=h0.dtype, device=h0.device)  # h0 and every step's h
        cs, tcs = torch.empty_like(hs), torch.empty_like(hs[1:])  # c0 and every c; tanh(c_t)
        hs[0], cs[0] = h0, c0
        w_t = w_hh.t().contiguous()  # (H, 4H) in memory order, read row by row by every step's product
        # every step's views, made once (at small sizes indexing costs as much as the arithmetic)
        a_s, h_s, c_s, tc_s = acts.unbind(0), hs.unbind(0), cs.unbind(0), tcs.unbind(0)
        i_s, f_s, g_s, o_s = ([a[:, k * size : (k + 1) * size] for a in a_s] for k in range(4))
        if_s = [a[:, : 2 * size] for a in a_s]
        for t in range(steps):
            a_s[t].addmm_(h_s[t], w_t)  # x_t W_ih^T + b_ih + b_hh + h_{t-1} W_hh^T
            if_s[t].sigmoid_()  # i, f
            g_s[t].tanh_()  # g
            o_s[t].sigmoid_()  # o
            torch.mul(f_s[t], c_s[t], out=c_s[t + 1])
            c_s[t + 1].addcmul_(i_s[t], g_s[t])  # c_t = f c_{t-1} + i g
            torch.tanh(c_s[t + 1], out=tc_s[t])
            torch.mul(o_s[t], tc_s[t], out=h_s[t + 1])  # h_t = o tanh(c_t)
        ctx.save_for_backward(hs, cs, tcs, acts, w_hh)
        ctx.bias = b_hh is not None
        return hs[1:].clone(), hs[-1].clone(), cs[-1].clone()

    @staticmethod
    def backward(ctx: Any, d_out: Tensor, d_hT: Tensor, d_cT: Tensor) -> Any:
        hs, cs, tcs, acts, w_hh = ctx.saved_tensors
        steps, n, size = acts.shape[0], acts.shape[1], hs.shape[-1]
        i, f, g, o = acts.chunk(4, 2)
        # every factor that does not depend on the incoming gradient, for all steps at once
        dc_from_h = o * (1 - tcs * tcs)  # d c_t / d h_t along h_t = o tanh(c_t)
        scale = torch.stack([g * i * (1 - i), cs[:-1] * f * (1 - f), i * (1 - g * g), tcs * o * (1 - o)], 2)
        delta = torch.empty(steps, n, 4, size, dtype=acts.dtype, device=acts.device)
        # every step's views, made once
        d_igf, d_o = [d[:, :3] for d in delta.unbind(0)], [d[:, 3] for d in delta.unbind(0)]
        s_igf, s_o = [s[:, :3] for s in scale.unbind(0)], [s[:, 3] for s in scale.unbind(0)]
        flat, fs = delta.view(steps, n, 4 * size).unbind(0), f.unbind(0)
        outs, dcs = d_out.unbind(0), dc_from_h.unbind(0)
        dh, dc = d_hT + outs[-1], d_cT.clone()
        for t in range(steps - 1, -1, -1):
            dc.addcmul_(dh, dcs[t])
            torch.mul(dc.unsqueeze(1), s_igf[t], out=d_igf[t])  # through i, f and g
            torch.mul(dh, s_o[t], out=d_o[t])  # through o
            dc.mul_(fs[t])
            dh = torch.addmm(outs[t - 1], flat[t], w_hh) if t > 0 else flat[t] @ w_hh  # and the output's gradient
        delta = delta.view(steps, n, 4 * size)
        dw, db = _weight_grads(delta, hs[:-1], ctx.bias)
        return delta, dh, dc, dw, db


class RNNRecurrence(torch.autograd.Function):
    r"""Forward: :math:`h_t = \phi(x w_t + W_{hh} h_{t-1} + b_{hh})` for t = 1..T, :math:`\phi` = tanh or ReLU.

    Backward: :math:`\delta_t = \bar h_t \odot \phi'`, with :math:`\tanh' = 1 - h_t^2` and
    :math:`\mathrm{relu}' = [h_t > 0]`, and :math:`\bar h_{t-1} \mathrel{+}= \delta_t W_{hh}`.
    """

    @staticmethod
    def forward(ctx: Any, xw: Tensor, h0: Tensor, w_hh: Tensor, b_hh: Tensor | None, tanh: bool) -> Any:
        hs, h = [h0], h0
        for t in range(len(xw)):
            pre = _pre(xw[t], h, w_hh, b_hh)
            h = torch.tanh(pre) if tanh else torch.relu(pre)
            hs.append(h)
        out = torch.stack(hs)
        ctx.save_for_backward(out, w_hh)
        ctx.bias, ctx.tanh = b_hh is not None, tanh
        return out[1:], h

    @staticmethod
    def backward(ctx: Any, d_out: Tensor, d_hT: Tensor) -> Any:
        hs, w_hh = ctx.saved_tensors
        delta = torch.empty_like(hs[1:])
        dh = d_hT.clone()
        for t in range(len(delta) - 1, -1, -1):
            dh = dh + d_out[t]
            h = hs[t + 1]
            torch.mul(dh, 1 - h * h if ctx.tanh else (h > 0).to(h.dtype), out=delta[t])
            dh = delta[t] @ w_hh
        dw, db = _weight_grads(delta, hs[:-1], ctx.bias)
        return delta, dh, dw, db, None


class GRURecurrence(torch.autograd.Function):
    r"""Forward: the GRU step of :func:`descentlab.rnn.cells.gru_step` for t = 1..T.

    Backward, with :math:`a = W_{hh} h_{t-1} + b_{hh} = [a_r, a_z, a_n]`:

    .. math::
        \bar n &= \bar h_t (1 - z), \quad \bar z = \bar h_t (h_{t-1} - n), \quad \bar h_{t-1} = \bar h_t z, \\
        \delta^x_n &= \bar n (1 - n^2), \quad \bar r = \delta^x_n a_n, \quad
        \delta^x_r = \bar r\, r (1 - r), \quad \delta^x_z = \bar z\, z (1 - z), \\
        \delta^h &= [\delta^x_r, \delta^x_z, \delta^x_n\, r], \qquad
        \bar h_{t-1} \mathrel{+}= \delta^h W_{hh}.

    The input projection's gradient is :math:`\delta^x = [\delta^x_r, \delta^x_z, \delta^x_n]`; the recurrent
    weights' is :math:`\sum_t \delta^{h\top}_t h_{t-1}`.
    """

    @staticmethod
    def forward(ctx: Any, xw: Tensor, h0: Tensor, w_hh: Tensor, b_hh: Tensor | None) -> Any:
        hs, acts, h = [h0], [], h0
        for t in range(len(xw)):
            a = h @ w_hh.t() if b_hh is None else torch.addmm(b_hh, h, w_hh.t())
            xr, xz, xn = xw[t].chunk(3, 1)
            ar, az, an = a.chunk(3, 1)
            r, z = torch.sigmoid(xr + ar), torch.sigmoid(xz + az)
            n = torch.tanh(xn + r * an)
            h = (1 - z) * n + z * h
            hs.append(h)
            acts.append(torch.cat([r, z, n, an], 1))
        out = torch.stack(hs)
        ctx.save_for_backward(out, torch.stack(acts), w_hh)
        ctx.bias = b_hh is not None
        return out[1:], h

    @staticmethod
    def backward(ctx: Any, d_out: Tensor, d_hT: Tensor) -> Any:
        hs, acts, w_hh = ctx.saved_tensors
        steps, size = len(acts), hs.shape[-1]
        d_x = torch.empty(*acts.shape[:2], 3 * size, dtype=hs.dtype, device=hs.device)
        d_h = torch.empty_like(d_x)
        dh = d_hT.clone()
        for t in range(steps - 1, -1, -1):
            dh = dh + d_out[t]
            r, z, n, an = acts[t].chunk(4, 1)
            dn = dh * (1 - z) * (1 - n * n)
            dr = dn * an * r * (1 - r)
            dz = dh * (hs[t] - n) * z * (1 - z)
            torch.cat([dr, dz, dn], 1, out=d_x[t])
            torch.cat([dr, dz, dn * r], 1, out=d_h[t])
            dh = dh * z + d_h[t] @ w_hh
        dw, db = _weight_grads(d_h, hs[:-1], ctx.bias)
        return d_x, dh, dw, db
