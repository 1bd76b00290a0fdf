r"""The bilinear sampler of a spatial transformer, written out as the unit describes it.

For each output pixel the grid gives a source point :math:`(x, y)` in normalized coordinates. In
pixel units (see :func:`unnormalize`), its four neighbours are :math:`(x_0, y_0)`, :math:`(x_0 + 1, y_0)`,
:math:`(x_0, y_0 + 1)` and :math:`(x_0 + 1, y_0 + 1)` with :math:`x_0 = \lfloor x \rfloor`, and the output is
their weighted average

.. math:: V = \sum_{a, b \in \{0, 1\}} U_{y_0 + b,\, x_0 + a}\; (1 - |x - x_0 - a|)\,(1 - |y - y_0 - b|),

which is equation (5) of Jaderberg et al. (2015). Neighbours outside the image count as zero (torch's
``padding_mode="zeros"``). The weights depend on :math:`(x, y)` linearly between pixels, so autograd
gives the gradients of equations (6) and (7) with respect to both the image and the grid.
"""

from __future__ import annotations

import torch
from torch import Tensor


def unnormalize(coord: Tensor, size: int, align_corners: bool) -> Tensor:
    """Normalized [-1, 1] -> pixel index units (0 is the first pixel's centre), as grid_sample does."""
    if align_corners:
        return (coord + 1) / 2 * (size - 1)
    return ((coord + 1) * size - 1) / 2


def bilinear_sample(input: Tensor, grid: Tensor, align_corners: bool = False) -> Tensor:
    """Sample ``input`` (N, C, H, W) at ``grid`` (N, Ho, Wo, 2) -> (N, C, Ho, Wo); zeros outside.

    Same contract as ``torch.nn.functional.grid_sample(input, grid, mode="bilinear",
    padding_mode="zeros", align_corners=align_corners)``.
    """
    n, c, h, w = input.shape
    _, ho, wo, _ = grid.shape
    x = unnormalize(grid[..., 0], w, align_corners)  # (N, Ho, Wo)
    y = unnormalize(grid[..., 1], h, align_corners)
    x0, y0 = torch.floor(x), torch.floor(y)
    flat = input.reshape(n, c, h * w)
    out = input.new_zeros(n, c, ho * wo)
    for dx in (0, 1):
        for dy in (0, 1):
            xi, yi = x0 + dx, y0 + dy  # this neighbour's pixel indices (may lie outside)
            weight = (1 - (x - xi).abs()) * (1 - (y - yi).abs())  # (N, Ho, Wo)
            inside = (xi >= 0) & (xi <= w - 1) & (yi >= 0) & (yi <= h - 1)
            index = (yi.clamp(0, h - 1) * w + xi.clamp(0, w - 1)).long().reshape(n, 1, ho * wo)
            values = flat.gather(2, index.expand(n, c, ho * wo))  # (N, C, Ho*Wo)
            out = out + values * (weight * inside).reshape(n, 1, ho * wo)
    return out.reshape(n, c, ho, wo)
