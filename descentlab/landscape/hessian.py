r"""Curvature of a loss without forming the Hessian: products, top eigenvalues, trace, spectral density.

Everything is built on the Hessian-vector product by double backward (Pearlmutter 1994):
:math:`Hv = \nabla_\theta \left( \nabla_\theta L(\theta)^\top v \right)`, one extra backward pass.

* :meth:`Hessian.top_eigenvalues`: Lanczos with full reorthogonalization; the Ritz values of the
  tridiagonal matrix approximate the extreme eigenvalues (exact after ``n`` iterations).
* :meth:`Hessian.trace`: Hutchinson's estimator :math:`\operatorname{tr} H = \mathbb E[v^\top H v]`
  with Rademacher :math:`v`.
* :meth:`Hessian.density`: stochastic Lanczos quadrature (Ghorbani, Krishnan and Xiao 2019; as in
  PyHessian): each random start gives nodes :math:`\lambda_i` (Ritz values) and weights
  :math:`\tau_i` (squared first components of the Ritz vectors), a quadrature of the spectral density.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor


def _flat(tensors: Sequence[Tensor]) -> Tensor:
    return torch.cat([t.reshape(-1) for t in tensors])


@dataclass(frozen=True)
class Spectrum:
    """A stochastic Lanczos quadrature: ``nodes[r]`` and ``weights[r]`` for each random start ``r``."""

    nodes: list[Tensor]  # (m,) Ritz values per start
    weights: list[Tensor]  # (m,) quadrature weights per start, each summing to 1

    def density(self, grid: Tensor, sigma: float) -> Tensor:
        """The spectral density smoothed by a Gaussian of width ``sigma``, on ``grid`` (G,)."""
        total = torch.zeros_like(grid)
        for nodes, weights in zip(self.nodes, self.weights, strict=True):
            gauss = torch.exp(-((grid[:, None] - nodes[None, :]) ** 2) / (2 * sigma**2))  # (G, m)
            total += (gauss * weights[None, :]).sum(1) / (sigma * math.sqrt(2 * math.pi))
        return total / len(self.nodes)


class Hessian:
    """The Hessian of ``loss_fn()`` with respect to ``params``, as an operator on flat vectors.

    The gradient graph is built once; every product reuses it. Vectors are flat, of length
    ``numel`` (all parameters concatenated in order), in the parameters' dtype and device.
    """

    def __init__(self, loss_fn: Callable[[], Tensor], params: Sequence[Tensor]) -> None:
        self.params = [p for p in params if p.requires_grad]
        loss = loss_fn()
        self.grads = torch.autograd.grad(loss, self.params, create_graph=True)
        self.numel = sum(p.numel() for p in self.params)
        self.dtype, self.device = self.params[0].dtype, self.params[0].device

    def matvec(self, v: Tensor) -> Tensor:
        """:math:`Hv` for a flat ``v`` (numel,), by double backward."""
        pieces = list(torch.split(v, [p.numel() for p in self.params]))
        shaped = [piece.view_as(p) for piece, p in zip(pieces, self.params, strict=True)]
        hv = torch.autograd.grad(self.grads, self.params, grad_outputs=shaped, retain_graph=True)
        return _flat(hv).detach()

    def _lanczos(self, v0: Tensor, steps: int) -> tuple[Tensor, Tensor]:
        """Tridiagonal T (m, m) and basis Q (numel, m) of ``steps`` Lanczos iterations from ``v0``."""
        m = min(steps, self.numel)
        q = torch.zeros(self.numel, m, dtype=self.dtype, device=self.device)
        alpha = torch.zeros(m, dtype=self.dtype, device=self.device)
        beta = torch.zeros(m, dtype=self.dtype, device=self.device)
        q[:, 0] = v0 / v0.norm()
        k = m
        for j in range(m):
            w = self.matvec(q[:, j])
            alpha[j] = q[:, j] @ w
            w = w - q[:, : j + 1] @ (q[:, : j + 1].T @ w)  # full reorthogonalization, twice for stability
            w = w - q[:, : j + 1] @ (q[:, : j + 1].T @ w)
            if j + 1 < m:
                beta[j] = w.norm()
                if beta[j] < 1e-10 * max(1.0, float(alpha[: j + 1].abs().max())):
                    k = j + 1  # an invariant subspace: the Ritz values are exact
                    break
                q[:, j + 1] = w / beta[j]
        t = torch.diag(alpha[:k]) + torch.diag(beta[: k - 1], 1) + torch.diag(beta[: k - 1], -1)
        return t, q[:, :k]

    def top_eigenvalues(self, k: int = 1, steps: int | None = None, seed: int = 0) -> Tensor:
        """The ``k`` largest eigenvalues (descending), by Lanczos with ``steps`` iterations
        (default ``max(3k, 30)``, at most ``numel``)."""
        if not 1 <= k <= self.numel:
            raise ValueError(f"Invalid k: {k} (valid: 1 <= k <= {self.numel}, the number of parameters)")
        gen = torch.Generator(device="cpu").manual_seed(seed)
        v0 = torch.randn(self.numel, generator=gen, dtype=self.dtype).to(self.device)
        t, _ = self._lanczos(v0, steps or max(3 * k, 30))
        return torch.linalg.eigvalsh(t).flip(0)[:k]

    def trace(self, samples: int = 100, seed: int = 0) -> tuple[float, float]:
        """Hutchinson's estimate of the trace and its standard error, from ``samples`` Rademacher vectors."""
        gen = torch.Generator(device="cpu").manual_seed(seed)
        values = []
        for _ in range(samples):
            v = (torch.randint(0, 2, (self.numel,), generator=gen) * 2 - 1).to(self.dtype).to(self.device)
            values.append(float(v @ self.matvec(v)))
        mean = sum(values) / samples
        var = sum((x - mean) ** 2 for x in values) / max(1, samples - 1)
        return mean, math.sqrt(var / samples)

    def density(self, starts: int = 1, steps: int = 80, seed: int = 0) -> Spectrum:
        """Stochastic Lanczos quadrature of the eigenvalue density, from ``starts`` random vectors."""
        gen = torch.Generator(device="cpu").manual_seed(seed)
        nodes, weights = [], []
        for _ in range(starts):
            v0 = torch.randn(self.numel, generator=gen, dtype=self.dtype).to(self.device)
            t, _ = self._lanczos(v0, steps)
            evals, evecs = torch.linalg.eigh(t)
            nodes.append(evals)
            weights.append(evecs[0, :] ** 2)
        return Spectrum(nodes, weights)
