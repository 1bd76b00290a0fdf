r"""Stochastic variance-reduced gradient (Johnson and Zhang 2013, "Accelerating stochastic gradient
descent using predictive variance reduction").

Every so often (each outer loop, typically an epoch) take a snapshot :math:`\tilde w` of the weights
and the full gradient there, :math:`\tilde\mu = \nabla L(\tilde w) = \frac1n \sum_i \nabla f_i(\tilde w)`.
Each inner step on an example or mini-batch :math:`i` then uses

.. math::
    v_t = \nabla f_i(w_t) - \nabla f_i(\tilde w) + \tilde\mu, \qquad w_{t+1} = w_t - \eta\, v_t

:math:`v_t` is an unbiased estimate of :math:`\nabla L(w_t)` whose variance vanishes as :math:`w_t`
and :math:`\tilde w` approach the optimum, so a constant learning rate converges linearly on strongly
convex problems, where plain SGD with a constant rate stalls at a noise floor.

Usage::

    opt = SVRG(model.parameters(), lr=0.05)
    for epoch in range(epochs):
        opt.snapshot(full_closure)          # loss over all the data, after zero_grad and backward
        for batch in batches:
            opt.step(closure)               # loss on this batch, after zero_grad and backward

``step`` calls the closure twice: at the current weights and at the snapshot's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import Tensor


class SVRG(torch.optim.Optimizer):
    """SVRG with a constant learning rate; ``step`` and ``snapshot`` both require a closure."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-2) -> None:
        if not lr > 0:
            raise ValueError(f"Invalid learning rate: {lr} (valid: lr > 0)")
        super().__init__(params, {"lr": lr})

    def _params(self) -> list[Tensor]:
        return [p for group in self.param_groups for p in group["params"]]

    def _grads(self, closure: Callable[[], Any]) -> tuple[Any, list[Tensor]]:
        with torch.enable_grad():
            loss = closure()
        grads = [torch.zeros_like(p) if p.grad is None else p.grad.detach().clone() for p in self._params()]
        return loss, grads

    @torch.no_grad()
    def snapshot(self, full_closure: Callable[[], Any]) -> Any:
        """Store the weights as the snapshot and the full gradient there (``full_closure``'s)."""
        loss, full = self._grads(full_closure)
        for p, mu in zip(self._params(), full, strict=True):
            self.state[p]["snapshot"] = p.detach().clone()
            self.state[p]["full_grad"] = mu
        return loss

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One variance-reduced step on the batch that ``closure`` evaluates."""
        if closure is None:
            raise ValueError("SVRG.step needs a closure: it evaluates the batch at two sets of weights")
        params = self._params()
        if any("snapshot" not in self.state[p] for p in params):
            raise RuntimeError("SVRG.step before SVRG.snapshot: take a snapshot of the full gradient first")
        loss, grads_now = self._grads(closure)
        current = [p.detach().clone() for p in params]
        for p in params:
            p.copy_(self.state[p]["snapshot"])
        _, grads_snapshot = self._grads(closure)
        for p, w in zip(params, current, strict=True):
            p.copy_(w)
        lrs = [group["lr"] for group in self.param_groups for _ in group["params"]]
        for p, g_now, g_snapshot, lr in zip(params, grads_now, grads_snapshot, lrs, strict=True):
            v = g_now - g_snapshot + self.state[p]["full_grad"]  # v_t
            p.add_(v, alpha=-lr)
        return loss
