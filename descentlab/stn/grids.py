r"""Grid generators of a spatial transformer (Jaderberg et al. 2015, section 3.2).

A transformer does not move pixels forward; for every pixel of the *output* it asks where in the
*input* to read. Output pixel centres form a regular grid in normalized coordinates
:math:`(x^t, y^t) \in [-1, 1]^2` (x across, y down, the convention of ``torch.nn.functional.affine_grid``),
and the transform :math:`T_\theta` maps each to its source point

.. math:: \begin{pmatrix} x^s \\ y^s \end{pmatrix} = A_\theta \begin{pmatrix} x^t \\ y^t \\ 1 \end{pmatrix}.

(The unit calls this the inverse transform: :math:`A_\theta` maps the output to the input.) The six
affine parameters are ordered as ``affine_grid``'s ``(N, 2, 3)`` matrix, row by row, with the translation
in the third column (:math:`\theta_{13}, \theta_{23}`); the unit writes the same map as
:math:`[[\theta_1, \theta_2], [\theta_3, \theta_4]]\, x + [\theta_5, \theta_6]` (docs/errata.md).

With ``align_corners=False`` (torch's default) the extreme coordinates -1 and 1 are the outer *edges*
of the corner pixels, so pixel :math:`j` of :math:`W` sits at :math:`(2j + 1)/W - 1`; with ``True``
they are the corner pixels' *centres*, :math:`-1 + 2j/(W - 1)`.

Four families, each a :class:`GridGenerator` with an identity parameter vector:

========================  ======  =====================================================================
``translation``           2       :math:`x^s = x^t + t_x,\ y^s = y^t + t_y`
``rst``                   4       rotation, isotropic scale, translation: :math:`s R(\alpha)` plus :math:`t`
``affine``                6       any :math:`2 \times 3` matrix :math:`A_\theta`
``projective``            8       a :math:`3 \times 3` homography with :math:`h_{33} = 1`, divided by :math:`w`
========================  ======  =====================================================================
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor


def base_grid(height: int, width: int, align_corners: bool, dtype: torch.dtype, device: torch.device) -> Tensor:
    """(H, W, 3): the homogeneous coordinates (x, y, 1) of every output pixel, normalized to [-1, 1]."""

    def coords(n: int) -> Tensor:
        steps = torch.arange(n, dtype=dtype, device=device)
        if align_corners:
            return -1 + 2 * steps / (n - 1) if n > 1 else torch.zeros(1, dtype=dtype, device=device)
        return (2 * steps + 1) / n - 1

    ys, xs = torch.meshgrid(coords(height), coords(width), indexing="ij")
    return torch.stack([xs, ys, torch.ones_like(xs)], dim=-1)


def affine_grid(theta: Tensor, size: Sequence[int], align_corners: bool = False) -> Tensor:
    """Source coordinates (N, H, W, 2) for affine matrices ``theta`` (N, 2, 3) and output ``size``
    (N, C, H, W): the same contract as ``torch.nn.functional.affine_grid``."""
    n, _, height, width = size
    if theta.shape != (n, 2, 3):
        raise ValueError(f"affine_grid: theta must be (N, 2, 3) = ({n}, 2, 3), got {tuple(theta.shape)}")
    grid = base_grid(height, width, align_corners, theta.dtype, theta.device)  # (H, W, 3)
    return torch.einsum("hwk,njk->nhwj", grid, theta)  # (N, H, W, 2): A_theta (x, y, 1)


def projective_grid(h: Tensor, size: Sequence[int], align_corners: bool = False) -> Tensor:
    """Source coordinates (N, H, W, 2) for homographies ``h`` (N, 3, 3): (x', y', w) = h (x, y, 1), then / w."""
    _, _, height, width = size
    grid = base_grid(height, width, align_corners, h.dtype, h.device)
    out = torch.einsum("hwk,njk->nhwj", grid, h)  # (N, H, W, 3)
    return out[..., :2] / out[..., 2:3]


class GridGenerator:
    """Parameters (N, n_params) from a localisation network -> sampling grid (N, H, W, 2)."""

    name = ""
    n_params = 0

    def identity(self) -> Tensor:
        raise NotImplementedError

    def matrix(self, params: Tensor) -> Tensor:
        """The transform as a matrix: (N, 2, 3), or (N, 3, 3) for the projective one."""
        raise NotImplementedError

    def __call__(self, params: Tensor, size: Sequence[int], align_corners: bool = False) -> Tensor:
        return affine_grid(self.matrix(params), size, align_corners)


class Translation(GridGenerator):
    name, n_params = "translation", 2

    def identity(self) -> Tensor:
        return torch.zeros(2)

    def matrix(self, params: Tensor) -> Tensor:
        eye = torch.eye(2, dtype=params.dtype, device=params.device).expand(len(params), 2, 2)
        return torch.cat([eye, params.unsqueeze(-1)], dim=-1)


class RotationScaleTranslation(GridGenerator):
    """Parameters (s, alpha, t_x, t_y): scale, angle in radians, translation; identity (1, 0, 0, 0)."""

    name, n_params = "rst", 4

    def identity(self) -> Tensor:
        return torch.tensor([1.0, 0.0, 0.0, 0.0])

    def matrix(self, params: Tensor) -> Tensor:
        s, a, tx, ty = params.unbind(-1)
        cos, sin = s * torch.cos(a), s * torch.sin(a)
        return torch.stack([torch.stack([cos, -sin, tx], -1), torch.stack([sin, cos, ty], -1)], dim=1)


class Affine(GridGenerator):
    name, n_params = "affine", 6

    def identity(self) -> Tensor:
        return torch.tensor([1.0, 0.0, 0.0, 0.0, 1.0, 0.0])

    def matrix(self, params: Tensor) -> Tensor:
        return params.view(-1, 2, 3)


class Projective(GridGenerator):
    """Eight parameters, the first eight entries of the 3 x 3 homography (h_33 = 1)."""

    name, n_params = "projective", 8

    def identity(self) -> Tensor:
        return torch.tensor([1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0])

    def matrix(self, params: Tensor) -> Tensor:
        one = torch.ones(len(params), 1, dtype=params.dtype, device=params.device)
        return torch.cat([params, one], dim=1).view(-1, 3, 3)

    def __call__(self, params: Tensor, size: Sequence[int], align_corners: bool = False) -> Tensor:
        return projective_grid(self.matrix(params), size, align_corners)


GENERATORS: dict[str, GridGenerator] = {
    g.name: g for g in (Translation(), RotationScaleTranslation(), Affine(), Projective())
}
