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

import functools
from collections.abc import Callable
from typing import cast

import torch
from torch import Tensor

NEIGHBOUR_DX = torch.tensor([0.0, 1.0, 0.0, 1.0])
NEIGHBOUR_DY = torch.tensor([0.0, 0.0, 1.0, 1.0])


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
    x = unnormalize(grid[..., 0], w, align_corners).reshape(n, ho * wo, 1)  # (N, P, 1), P output points
    y = unnormalize(grid[..., 1], h, align_corners).reshape(n, ho * wo, 1)
    # the four neighbours at once, along a last axis: (x0, y0), (x0 + 1, y0), (x0, y0 + 1), (x0 + 1, y0 + 1)
    xi = torch.floor(x) + NEIGHBOUR_DX.to(x)  # (N, P, 4)
    yi = torch.floor(y) + NEIGHBOUR_DY.to(y)
    weight = (1 - (x - xi).abs()) * (1 - (y - yi).abs())  # (N, P, 4), bilinear weights
    inside = (xi >= 0) & (xi <= w - 1) & (yi >= 0) & (yi <= h - 1)  # neighbours outside count as zero
    index = (yi.clamp(0, h - 1) * w + xi.clamp(0, w - 1)).long().reshape(n, 1, -1)  # (N, 1, 4P)
    values = input.reshape(n, c, h * w).gather(2, index.expand(n, c, index.shape[2]))  # (N, C, 4P)
    out = (values.reshape(n, c, ho * wo, 4) * (weight * inside).unsqueeze(1)).sum(-1)  # weighted average
    return out.reshape(n, c, ho, wo)


@functools.cache
def compiled_bilinear_sample() -> Callable[..., Tensor]:
    """:func:`bilinear_sample` through ``torch.compile`` (one fused kernel per pass; the first call
    compiles, about 15 s on a CPU). The same arithmetic, tested equal to the eager one."""
    return cast(Callable[..., Tensor], torch.compile(bilinear_sample, dynamic=False))
