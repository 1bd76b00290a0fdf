"""The unit's remedies as switches: random restarts, gradient clipping, gradient noise."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from descentlab import optim as dl
from descentlab.optim import transforms as T


def quartic(x: torch.Tensor) -> torch.Tensor:
    return x**4 - 3 * x**2 + x  # two minima: a global one near -1.30 and a local one near 1.13


def descend(x0: float, steps: int = 500) -> tuple[float, float]:
    x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
    opt = dl.SGD([x], lr=0.01)
    for _ in range(steps):
        opt.zero_grad()
        quartic(x).backward()
        opt.step()
    return x.item(), quartic(x).item()


def test_restarts_find_the_global_minimum_that_one_start_misses() -> None:
    # reference: the minima are the real roots of f'(x) = 4x^3 - 6x + 1 with f''(x) = 12x^2 - 6 > 0
    roots = [r.real for r in np.roots([4, 0, -6, 1]) if abs(r.imag) < 1e-12 and 12 * r.real**2 - 6 > 0]
    global_min, local_min = sorted(roots, key=lambda r: float(quartic(torch.tensor(r))))
    x_one, _ = descend(2.0)
    assert x_one == pytest.approx(local_min, abs=1e-6)  # one start from the right: the local minimum

    gen = torch.Generator().manual_seed(0)
    starts = (torch.rand(8, generator=gen, dtype=torch.float64) * 4 - 2).tolist()
    found = dl.restarts(8, lambda i: starts[i], descend)
    assert found.best == pytest.approx(global_min, abs=1e-6)
    assert found.best_loss == min(found.losses) and len(found.losses) == 8
    assert found.losses[found.best_index] == found.best_loss
    with pytest.raises(ValueError, match="Invalid number of restarts: 0"):
        dl.restarts(0, lambda i: 0.0, descend)


def test_gradient_transform_clips_like_torch() -> None:
    gen = torch.Generator().manual_seed(0)
    params0 = [
        torch.randn(4, 3, generator=gen, dtype=torch.float64),
        torch.randn(5, generator=gen, dtype=torch.float64),
    ]
    grads = [[3 * torch.randn(p.shape, generator=gen, dtype=torch.float64) for p in params0] for _ in range(50)]
    ours = [p.clone().requires_grad_() for p in params0]
    theirs = [p.clone().requires_grad_() for p in params0]
    opt = dl.RMSProp(ours, lr=0.01, momentum=0.5, gradient_transform=T.clip_by_global_norm(0.5))
    ref = torch.optim.RMSprop(theirs, lr=0.01, momentum=0.5)
    for step in grads:
        for p, q, g in zip(ours, theirs, step, strict=True):
            p.grad, q.grad = g.clone(), g.clone()
        torch.nn.utils.clip_grad_norm_(theirs, 0.5)
        opt.step()
        ref.step()
    for p, q in zip(ours, theirs, strict=True):
        torch.testing.assert_close(p, q, rtol=1e-10, atol=1e-12)


def test_gradient_noise_is_reproducible_and_changes_the_path() -> None:
    def run(noise: float) -> torch.Tensor:
        w = torch.ones(1000, dtype=torch.float64, requires_grad=True)
        opt = dl.SGD([w], lr=0.1, gradient_transform=T.add_noise(noise, 0.55, seed=3) if noise else None)
        for _ in range(10):
            w.grad = w.detach().clone()
            opt.step()
        return w.detach()

    noisy, again, clean = run(0.01), run(0.01), run(0.0)
    assert torch.equal(noisy, again)
    torch.testing.assert_close(clean, torch.full((1000,), 0.9**10, dtype=torch.float64))
    # noise n_t ~ N(0, eta / (1+t)^0.55) enters as -lr n_t at step t, then shrinks by (1 - lr) per later step
    expected_std = 0.1 * sum(0.01 / (1 + t) ** 0.55 * 0.9 ** (2 * (10 - t)) for t in range(1, 11)) ** 0.5
    spread = (noisy - clean).std().item()
    assert 0.8 * expected_std < spread < 1.2 * expected_std
