"""Exercises of chapter 4, spatial transformers: the grid generator and the bilinear sampler.

The references are :func:`descentlab.stn.affine_grid` and :func:`descentlab.stn.bilinear_sample` (tested
against ``torch.nn.functional``).
"""

from __future__ import annotations

import torch
from torch import Tensor

from descentlab.exercises.cases import DTYPES, dtype_name, integer, pick, randn
from descentlab.exercises.core import Case, Exercise, Mistake
from descentlab.stn.grids import affine_grid as library_affine_grid
from descentlab.stn.sampler import bilinear_sample as library_bilinear_sample

# ---- the grid generator -----------------------------------------------------------------------------------


def affine_grid(theta: Tensor, height: int, width: int, align_corners: bool) -> Tensor:
    return library_affine_grid(theta, (theta.shape[0], 1, height, width), align_corners)


def _coords(n: int, align_corners: bool, dtype: torch.dtype, pixels: bool = False) -> Tensor:
    steps = torch.arange(n, dtype=dtype)
    if pixels:
        return steps
    if align_corners:
        return -1 + 2 * steps / (n - 1) if n > 1 else torch.zeros(1, dtype=dtype)
    return (2 * steps + 1) / n - 1


def _grid(
    theta: Tensor,
    height: int,
    width: int,
    align_corners: bool,
    *,
    order: str = "torch",
    corners: bool | None = None,
    swap: bool = False,
    pixels: bool = False,
) -> Tensor:
    """The affine grid with one of its known slips (the variants below)."""
    corners = align_corners if corners is None else corners
    ys, xs = torch.meshgrid(
        _coords(height, corners, theta.dtype, pixels), _coords(width, corners, theta.dtype, pixels), indexing="ij"
    )
    if order == "unit":  # theta read as the unit's (theta1, ..., theta6): [[1, 2], [3, 4]] x + [5, 6]
        t = theta.reshape(-1, 6)
        a = torch.stack([torch.stack([t[:, 0], t[:, 1], t[:, 4]], -1), torch.stack([t[:, 2], t[:, 3], t[:, 5]], -1)], 1)
    else:
        a = theta
    xs_, ys_ = xs[None], ys[None]
    x_s = a[:, 0, 0, None, None] * xs_ + a[:, 0, 1, None, None] * ys_ + a[:, 0, 2, None, None]
    y_s = a[:, 1, 0, None, None] * xs_ + a[:, 1, 1, None, None] * ys_ + a[:, 1, 2, None, None]
    return torch.stack([y_s, x_s] if swap else [x_s, y_s], dim=-1)


def _grid_cases(gen: torch.Generator) -> list[Case]:
    fixed = [
        (1, 4, 4, False, "identity"),
        (2, 3, 5, True, "random"),
        (1, 5, 3, False, "random"),
        (3, 1, 4, True, "random"),
        (1, 6, 6, True, "random"),
    ]
    rand = [
        (integer(gen, 1, 3), integer(gen, 2, 6), integer(gen, 2, 6), bool(integer(gen, 0, 1)), "random")
        for _ in range(4)
    ]
    out = []
    for n, h, w, corners, kind in fixed + rand:
        dtype = pick(gen, DTYPES)
        theta = torch.tensor([[1.0, 0, 0], [0, 1, 0]], dtype=dtype).expand(n, 2, 3).clone()
        if kind == "random":
            theta = theta + randn((n, 2, 3), dtype, gen, 0.4)
        label = f"{kind} theta, N {n}, {h} x {w} output, align_corners {corners}, {dtype_name(dtype)}"
        out.append(Case(label, (theta, h, w, corners)))
    return out


AFFINE_GRID = Exercise(
    name="affine_grid",
    chapter="stn",
    section="chapter-stn",
    difficulty=2,
    title="the spatial transformer's affine grid generator",
    parameters=("theta", "height", "width", "align_corners"),
    returns="the grid (N, H, W, 2)",
    docstring=r"""
The grid generator of a spatial transformer (the lab book, chapter 4): for every pixel (i, j) of the
OUTPUT, where to read in the input. With normalized target coordinates (x^t, y^t) in [-1, 1] (x across the
columns j, y down the rows i):

    (x^s, y^s) = A_theta (x^t, y^t, 1)        with A_theta = theta[n], a 2 x 3 matrix

x^t of column j is (2j + 1) / W - 1 (align_corners False: -1 and 1 are the outer edges of the corner
pixels) or -1 + 2j / (W - 1) (align_corners True: they are the corner pixels' centres; 0 when W = 1);
y^t of row i likewise with H. This is torch.nn.functional.affine_grid's contract.

Erratum: the unit writes [[theta1, theta2], [theta3, theta4]] (x, y) + (theta5, theta6); here the six
numbers are a 2 x 3 matrix, row by row, with the translation in the third column: theta[n] =
[[theta1, theta2, theta5], [theta3, theta4, theta6]].

Arguments: theta, (N, 2, 3) float; height H >= 1, width W >= 1, ints; align_corners, a bool.
Returns (N, H, W, 2), theta's dtype: out[n, i, j] = (x^s, y^s), x first.

The checker tries the identity, random theta, non-square outputs, a single row, N = 1 to 3, both values
of align_corners, float32 and float64.
""",
    reference=affine_grid,
    cases=_grid_cases,
    mistakes=(
        Mistake(
            "the unit's parameter order",
            "You read theta in the unit's order ([[t1, t2], [t3, t4]] x + [t5, t6] "
            "from the six numbers in a row); theta is a 2 x 3 matrix with the translation in its third column.",
            "chapter-stn",
            lambda *a: _grid(*a, order="unit"),
        ),
        Mistake(
            "x and y swapped",
            "You put y^s before x^s: the last axis holds (x, y), x across the columns, as grid_sample reads it.",
            "chapter-stn",
            lambda *a: _grid(*a, swap=True),
        ),
        Mistake(
            "align_corners ignored (False)",
            "You always placed -1 and 1 at the outer edges of the corner "
            "pixels: with align_corners True they are the corner pixels' centres, -1 + 2j / (W - 1).",
            "chapter-stn",
            lambda *a: _grid(*a, corners=False),
        ),
        Mistake(
            "align_corners ignored (True)",
            "You always placed -1 and 1 at the corner pixels' centres: with "
            "align_corners False they are the outer edges, and column j sits at (2j + 1) / W - 1.",
            "chapter-stn",
            lambda *a: _grid(*a, corners=True),
        ),
        Mistake(
            "pixel coordinates",
            "You used pixel indices (0 to W - 1) as target coordinates: the grid generator "
            "works in normalized coordinates in [-1, 1].",
            "chapter-stn",
            lambda *a: _grid(*a, pixels=True),
        ),
    ),
)


# ---- the bilinear sampler ---------------------------------------------------------------------------------


def bilinear_sample(image: Tensor, grid: Tensor, align_corners: bool) -> Tensor:
    return library_bilinear_sample(image, grid, align_corners)


def _sample(
    image: Tensor,
    grid: Tensor,
    align_corners: bool,
    *,
    mode: str = "bilinear",
    swap: bool = False,
    padding: str = "zeros",
    corners: bool | None = None,
    flip_weights: bool = False,
) -> Tensor:
    """Bilinear sampling with one of its known slips (the variants below), point by point."""
    corners = align_corners if corners is None else corners
    n, c, h, w = image.shape
    gx, gy = (grid[..., 1], grid[..., 0]) if swap else (grid[..., 0], grid[..., 1])
    x = (gx + 1) / 2 * (w - 1) if corners else ((gx + 1) * w - 1) / 2
    y = (gy + 1) / 2 * (h - 1) if corners else ((gy + 1) * h - 1) / 2
    if padding == "border":
        x, y = x.clamp(0, w - 1), y.clamp(0, h - 1)
    out = torch.zeros(n, c, *grid.shape[1:3], dtype=image.dtype)
    if mode == "nearest":
        points = [(torch.round(x), torch.round(y), torch.ones_like(x))]
    else:
        x0, y0 = torch.floor(x), torch.floor(y)
        fx, fy = x - x0, y - y0
        if flip_weights:
            fx, fy = 1 - fx, 1 - fy
        points = [
            (x0, y0, (1 - fx) * (1 - fy)),
            (x0 + 1, y0, fx * (1 - fy)),
            (x0, y0 + 1, (1 - fx) * fy),
            (x0 + 1, y0 + 1, fx * fy),
        ]
    for xi, yi, weight in points:
        inside = (xi >= 0) & (xi <= w - 1) & (yi >= 0) & (yi <= h - 1)
        xc, yc = xi.clamp(0, w - 1).long(), yi.clamp(0, h - 1).long()
        for b in range(n):
            out[b] += image[b][:, yc[b], xc[b]] * (weight[b] * inside[b])
    return out


def _sample_cases(gen: torch.Generator) -> list[Case]:
    fixed = [
        (1, 1, 4, 4, 3, 3, True, "inside"),
        (2, 3, 5, 4, 2, 6, False, "outside"),
        (1, 1, 1, 1, 2, 2, False, "inside"),
        (1, 2, 6, 6, 4, 4, True, "outside"),
        (2, 1, 3, 5, 3, 3, False, "centres"),
    ]
    rand = [
        (
            integer(gen, 1, 2),
            integer(gen, 1, 3),
            integer(gen, 2, 6),
            integer(gen, 2, 6),
            integer(gen, 1, 5),
            integer(gen, 1, 5),
            bool(integer(gen, 0, 1)),
            "outside",
        )
        for _ in range(4)
    ]
    out = []
    for n, c, h, w, ho, wo, corners, where in fixed + rand:
        dtype = pick(gen, DTYPES)
        image = randn((n, c, h, w), dtype, gen)
        if where == "centres":  # exactly on pixel centres: the sampler must return the pixels themselves
            xs = torch.randint(0, w, (n, ho, wo), generator=gen).to(dtype)
            ys = torch.randint(0, h, (n, ho, wo), generator=gen).to(dtype)
            grid = torch.stack([(2 * xs + 1) / w - 1, (2 * ys + 1) / h - 1], -1)
        else:
            reach = 0.95 if where == "inside" else 1.4
            grid = ((torch.rand(n, ho, wo, 2, generator=gen, dtype=torch.float64) * 2 - 1) * reach).to(dtype)
        label = (
            f"{where}: N {n}, C {c}, {h} x {w} image, {ho} x {wo} grid, align_corners {corners}, {dtype_name(dtype)}"
        )
        out.append(Case(label, (image, grid, corners)))
    return out


BILINEAR = Exercise(
    name="bilinear_sample",
    chapter="stn",
    section="chapter-stn",
    difficulty=3,
    title="the spatial transformer's bilinear sampler",
    parameters=("image", "grid", "align_corners"),
    returns="the sampled image (N, C, Ho, Wo)",
    docstring=r"""
The bilinear sampler of a spatial transformer (the lab book, chapter 4; Jaderberg et al. 2015, eq. 5): the
value at each grid point is the weighted average of its four neighbouring pixels,

    V = sum over the 4 neighbours (x_k, y_k) of  U[y_k, x_k] * (1 - |x - x_k|) * (1 - |y - y_k|)

with (x, y) the grid point in pixel units: x = ((gx + 1) W - 1) / 2 with align_corners False, or
x = (gx + 1) / 2 (W - 1) with align_corners True (y likewise with H), and the neighbours x_k in
{floor(x), floor(x) + 1}, y_k in {floor(y), floor(y) + 1}. A neighbour outside the image counts as 0
(torch.nn.functional.grid_sample's padding_mode "zeros").

Arguments: image, U, (N, C, H, W) float; grid, (N, Ho, Wo, 2) of the same dtype, grid[n, i, j] = (gx, gy)
in [-1, 1] (x across the columns, y down the rows; points may lie outside); align_corners, a bool.
Returns (N, C, Ho, Wo), image's dtype.

The checker tries points inside and outside the image, points exactly on pixel centres, a 1 x 1 image,
several channels, N = 1 and 2, both values of align_corners, float32 and float64.
""",
    reference=bilinear_sample,
    cases=_sample_cases,
    mistakes=(
        Mistake(
            "nearest neighbour",
            "You took the nearest pixel: bilinear sampling averages the four neighbours, "
            "weighted by (1 - |x - x_k|)(1 - |y - y_k|).",
            "chapter-stn",
            lambda *a: _sample(*a, mode="nearest"),
        ),
        Mistake(
            "x and y swapped",
            "You read grid[..., 0] as the row: it is x, across the columns (W), and "
            "grid[..., 1] is y, down the rows (H).",
            "chapter-stn",
            lambda *a: _sample(*a, swap=True),
        ),
        Mistake(
            "border instead of zeros",
            "You clamped points outside the image to its border: neighbours outside count as zero.",
            "chapter-stn",
            lambda *a: _sample(*a, padding="border"),
        ),
        Mistake(
            "align_corners ignored (False)",
            "You always unnormalized with ((g + 1) W - 1) / 2: with align_corners True it is (g + 1) / 2 (W - 1).",
            "chapter-stn",
            lambda *a: _sample(*a, corners=False),
        ),
        Mistake(
            "align_corners ignored (True)",
            "You always unnormalized with (g + 1) / 2 (W - 1): with align_corners False it is ((g + 1) W - 1) / 2.",
            "chapter-stn",
            lambda *a: _sample(*a, corners=True),
        ),
        Mistake(
            "weights swapped",
            "You gave each neighbour the weight of the opposite one: the nearer neighbour gets "
            "the larger weight, 1 - |x - x_k|.",
            "chapter-stn",
            lambda *a: _sample(*a, flip_weights=True),
        ),
    ),
)


EXERCISES = (AFFINE_GRID, BILINEAR)
