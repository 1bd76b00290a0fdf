r"""Spiking networks trained by gradient descent: surrogate gradients, LIF layers, spike encodings.

A spike is a step function of the membrane potential, :math:`S = H(U - \vartheta)`, whose derivative is
zero almost everywhere, so backpropagation through time gets no signal. A *surrogate gradient* keeps the
step in the forward pass and uses a smooth stand-in for its derivative in the backward pass (Neftci,
Mostafa and Zenke 2019):

* fast sigmoid (Zenke and Ganguli 2018): :math:`\partial S / \partial U \approx 1 / (1 + k |U - \vartheta|)^2`
* arctan (Fang et al. 2021): :math:`\partial S / \partial U \approx \frac{1}{\pi} \frac{1}{1 + (\pi (U - \vartheta) \alpha / 2)^2} \cdot \frac{\alpha}{2}`

:class:`Leaky` is the discrete-time LIF layer of snnTorch, with its state passed in and out explicitly:

.. math::
    U_t = \beta U_{t-1} + I_t - S_{t-1} \vartheta, \qquad S_t = H(U_t - \vartheta)

(reset by subtraction; the reset term uses the previous step's spike, detached from the graph, as
snnTorch does by default).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn

from descentlab.errors import ParameterError


class _Heaviside(torch.autograd.Function):
    """Heaviside step forward (0 at and below 0, as snnTorch); subclasses give the backward's stand-in."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, scale: float) -> Tensor:
        ctx.save_for_backward(x)
        ctx.scale = scale
        return (x > 0).to(x.dtype)


class FastSigmoid(_Heaviside):
    """Heaviside forward, fast-sigmoid derivative backward (slope ``k`` = ``scale``)."""

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:
        (x,) = ctx.saved_tensors
        return grad / (1.0 + ctx.scale * x.abs()) ** 2, None


class ATan(_Heaviside):
    """Heaviside forward, arctan derivative backward (width ``alpha`` = ``scale``)."""

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:
        (x,) = ctx.saved_tensors
        a = ctx.scale
        return grad * (a / 2) / (1 + (math.pi / 2 * a * x) ** 2), None


SURROGATES = {"fast-sigmoid": (FastSigmoid, 25.0), "atan": (ATan, 2.0)}


def spike(x: Tensor, surrogate: str = "atan", scale: float | None = None) -> Tensor:
    """H(x) with the named surrogate derivative (``scale``: its slope or width; None: the usual default)."""
    if surrogate not in SURROGATES:
        raise ParameterError("surrogate", f"{surrogate!r} is not valid; valid: one of {', '.join(SURROGATES)}")
    fn, default = SURROGATES[surrogate]
    out: Tensor = fn.apply(x, default if scale is None else scale)
    return out


class Leaky(nn.Module):
    """A layer of discrete-time LIF neurons (snnTorch's ``Leaky`` with reset by subtraction).

    ``forward(current, mem) -> (spikes, mem)``: ``mem`` is the membrane from the previous step (zeros at
    the start, see :meth:`init_mem`).
    """

    def __init__(self, beta: float, threshold: float = 1.0, surrogate: str = "atan") -> None:
        super().__init__()
        if not 0.0 <= beta <= 1.0:
            raise ParameterError(
                "beta", f"{beta} is out of range; valid: 0 <= beta <= 1 (the membrane's decay per step)"
            )
        if not threshold > 0:
            raise ParameterError("threshold", f"{threshold} is out of range; valid: a number > 0")
        spike(torch.zeros(1), surrogate)  # a one-line error for an unknown surrogate
        self.beta, self.threshold, self.surrogate = beta, threshold, surrogate

    @staticmethod
    def init_mem(like: Tensor) -> Tensor:
        return torch.zeros_like(like)

    def forward(self, current: Tensor, mem: Tensor) -> tuple[Tensor, Tensor]:
        reset = (mem - self.threshold > 0).to(mem.dtype).detach()  # the previous step's spike
        mem = self.beta * mem + current - reset * self.threshold
        return spike(mem - self.threshold, self.surrogate), mem


def rate_encode(x: Tensor, steps: int, generator: torch.Generator | None = None) -> Tensor:
    """Bernoulli spike trains, ``(steps, *x.shape)``, firing with probability ``x`` (in [0, 1]) each step."""
    probs = x.clamp(0, 1).unsqueeze(0).expand(steps, *x.shape)
    return torch.bernoulli(probs, generator=generator)


def latency_encode(x: Tensor, steps: int, tau: float = 5.0, threshold: float = 0.01) -> Tensor:
    """One spike per input, earlier for larger values: an RC circuit charged by ``x`` crosses ``threshold``
    at ``t = tau ln(x / (x - threshold))``; inputs at or below ``threshold`` never fire."""
    x = x.clamp(0, 1)
    fires = x > threshold
    t = tau * torch.log(x / (x - threshold).clamp_min(1e-12))
    t = (t / t[fires].max().clamp_min(1e-12) * (steps - 1)).round().long() if fires.any() else t.long()
    out = torch.zeros(steps, *x.shape, dtype=x.dtype, device=x.device)
    out.scatter_(0, t.clamp(0, steps - 1).unsqueeze(0), fires.unsqueeze(0).to(x.dtype))
    return out
