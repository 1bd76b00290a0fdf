"""SVRG converges linearly on a strongly convex problem, where SGD with the same constant rate stalls.

Reference: the closed-form ridge-regression solution w* = (X^T X / n + lambda I)^{-1} X^T y / n.
"""

from __future__ import annotations

import pytest
import torch

from descentlab import optim as dl

N, D, LAM = 200, 10, 0.1


def problem() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(N, D, generator=gen, dtype=torch.float64)
    y = x @ torch.randn(D, generator=gen, dtype=torch.float64) + 0.5 * torch.randn(
        N, generator=gen, dtype=torch.float64
    )
    w_star = torch.linalg.solve(x.T @ x / N + LAM * torch.eye(D, dtype=torch.float64), x.T @ y / N)
    return x, y, w_star


def train(make: str, epochs: int = 30) -> list[float]:
    """Distance to w* after each epoch of single-example steps."""
    x, y, w_star = problem()
    w = torch.zeros(D, dtype=torch.float64, requires_grad=True)
    lr = 0.2 / ((x**2).sum(1).max().item() + LAM)  # a safe constant rate: well under 1 / L_max
    opt = dl.SVRG([w], lr=lr) if make == "svrg" else dl.SGD([w], lr=lr)

    def loss(idx: torch.Tensor) -> torch.Tensor:
        opt.zero_grad()
        value = 0.5 * ((x[idx] @ w - y[idx]) ** 2).mean() + 0.5 * LAM * (w @ w)
        value.backward()
        return value

    gen = torch.Generator().manual_seed(1)
    errors = []
    for _ in range(epochs):
        if isinstance(opt, dl.SVRG):
            opt.snapshot(lambda: loss(torch.arange(N)))
        for i in torch.randperm(N, generator=gen):
            opt.step(lambda i=i: loss(i.view(1)))
        errors.append((w.detach() - w_star).norm().item())
    return errors


def test_svrg_converges_linearly_where_sgd_plateaus() -> None:
    svrg, sgd = train("svrg"), train("sgd")
    assert svrg[-1] < 1e-12  # to machine precision
    # linear convergence: every 3 epochs the error shrinks by at least 10x, until it reaches round-off
    for earlier, later in zip(svrg[0:18:3], svrg[3:21:3], strict=True):
        assert later < earlier / 10, (earlier, later)
    assert min(sgd[10:]) > 1e-2  # SGD with a constant rate stalls at its noise floor


def test_svrg_needs_a_snapshot_and_a_closure() -> None:
    w = torch.zeros(2, requires_grad=True)
    opt = dl.SVRG([w], lr=0.1)
    with pytest.raises(RuntimeError, match=r"before SVRG\.snapshot"):
        opt.step(lambda: (w**2).sum().backward())
    with pytest.raises(ValueError, match="needs a closure"):
        opt.step()
    with pytest.raises(ValueError, match="Invalid learning rate: 0"):
        dl.SVRG([w], lr=0)
