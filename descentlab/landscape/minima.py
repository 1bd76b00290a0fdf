r"""Bad local minima: gradient descent from many random starts, with and without gradient noise.

On Rastrigin every start slides into the local minimum of its own cell, near an integer point
:math:`(i, j)` with :math:`f \approx i^2 + j^2`; only starts in the central cell find the global
minimum. Two of the unit's remedies:

* restarts: keep the best of :math:`k` runs; the best found falls as :math:`k` grows;
* gradient noise, annealed as in Neelakantan et al. (2015) with standard deviation
  :math:`\sigma_t = \sigma / (1 + t)^{0.275}` (variance :math:`\sigma^2 / (1 + t)^{0.55}`): early
  noise carries runs over the ridges between cells, late steps settle.

All starts run at once, as one batch of independent points.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from descentlab.landscape.functions import Landscape


@dataclass(frozen=True)
class ManyStarts:
    starts: Tensor  # (n, 2)
    finals: Tensor  # (n, 2) where each run ended
    values: Tensor  # (n,) f at the ends

    def best_of(self) -> Tensor:
        """(n,) the best value among the first k runs, for k = 1..n: what k restarts find."""
        return torch.cummin(self.values, dim=0).values


def descend_from_many(
    landscape: Landscape, starts: Tensor, lr: float, steps: int, noise: float = 0.0, seed: int = 0, settle: int = 500
) -> ManyStarts:
    """Gradient descent from every row of ``starts`` (n, 2): ``steps`` steps with annealed gradient
    noise ``noise``, then ``settle`` steps without, so that every run ends in a minimum."""
    gen = torch.Generator().manual_seed(seed)
    xy = starts.clone().to(torch.float64)
    for t in range(1, steps + settle + 1):
        p = xy.clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(landscape(p[:, 0], p[:, 1]).sum(), p)  # (n, 2), independent points
        if noise > 0 and t <= steps:
            grad = grad + noise / (1 + t) ** 0.275 * torch.randn(xy.shape, generator=gen, dtype=torch.float64)
        xy = xy - lr * grad
    return ManyStarts(starts, xy, landscape(xy[:, 0], xy[:, 1]).detach())


def random_starts(landscape: Landscape, n: int, seed: int = 0) -> Tensor:
    """(n, 2) points drawn uniformly from the landscape's plotting window."""
    gen = torch.Generator().manual_seed(seed)
    (x0, x1), (y0, y1) = landscape.window
    u = torch.rand(n, 2, generator=gen, dtype=torch.float64)
    return torch.stack([x0 + (x1 - x0) * u[:, 0], y0 + (y1 - y0) * u[:, 1]], dim=1)
