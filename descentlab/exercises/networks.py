"""Exercises of chapters 3 to 6: dropout, the spatial transformer's grid generator and sampler, a plain RNN
over a sequence, one LSTM step, and the perplexity of a language model's predictions.

The references are :func:`descentlab.generalize.dropout.dropout`, :func:`descentlab.stn.affine_grid` and
:func:`descentlab.stn.bilinear_sample` (tested against ``torch.nn.functional``), the cells' step functions of
:mod:`descentlab.rnn.cells` (tested against ``torch.nn.RNNCell`` and ``LSTMCell``) and
:func:`descentlab.lm.perplexity`.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from descentlab.exercises.core import Case, Exercise, Mistake, Tolerance
from descentlab.exercises.optimizers import DTYPES, _pick, _randn
from descentlab.generalize.dropout import dropout as library_dropout
from descentlab.lm.model import perplexity as library_perplexity
from descentlab.rnn.cells import lstm_step as library_lstm_step
from descentlab.rnn.cells import rnn_step
from descentlab.stn.grids import affine_grid as library_affine_grid
from descentlab.stn.sampler import bilinear_sample as library_bilinear_sample


def _int(gen: torch.Generator, low: int, high: int) -> int:
    """An integer in [low, high]."""
    return int(torch.randint(low, high + 1, (), generator=gen))


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


# ---- dropout ----------------------------------------------------------------------------------------------


def dropout(x: Tensor, keep: float, u: Tensor, training: bool) -> Tensor:
    return library_dropout(x, keep, u, training)


def _dropout_cases(gen: torch.Generator) -> list[Case]:
    fixed = [
        ((4, 5), 0.5, True, torch.float32),
        ((3,), 0.8, True, torch.float64),
        ((2, 3), 0.8, False, torch.float32),
        ((1,), 1.0, True, torch.float64),
        ((6, 6), 0.2, True, torch.float64),
    ]
    rand = [
        (
            (_int(gen, 1, 5), _int(gen, 1, 7)),
            _pick(gen, (0.5, 0.6, 0.8, 0.9)),
            bool(_int(gen, 0, 1)),
            _pick(gen, DTYPES),
        )
        for _ in range(4)
    ]
    out = []
    for shape, keep, training, dtype in fixed + rand:
        x = _randn(shape, dtype, gen)
        u = torch.rand(shape, generator=gen, dtype=torch.float64).to(dtype)
        mode = "training" if training else "evaluation"
        out.append(Case(f"{mode}, keep {keep}: {_dtype_name(dtype)} {shape}", (x, keep, u, training)))
    return out


def _drop(
    x: Tensor,
    keep: float,
    u: Tensor,
    training: bool,
    *,
    scale: str = "keep",
    kept: str = "below",
    at_eval: str = "identity",
) -> Tensor:
    """Dropout with one of its known slips (the variants below)."""
    if not training:
        return x * keep if at_eval == "scaled" else (x * (u < keep) / keep if at_eval == "dropped" else x)
    mask = (u < keep) if kept == "below" else (u >= keep)
    factor = {"keep": 1 / keep, "drop": 1 / (1 - keep) if keep < 1 else math.inf, "none": 1.0}[scale]
    return x * mask.to(x.dtype) * factor


DROPOUT = Exercise(
    name="dropout",
    chapter="generalization",
    section="generalization-dropout",
    difficulty=1,
    title="inverted dropout with the keep probability",
    parameters=("x", "keep", "u", "training"),
    returns="the dropped-out x",
    docstring=r"""
Dropout in the unit's convention (the lab book, chapter 3, Dropout): keep is the probability of KEEPING a
unit (1.0 = no dropout), not PyTorch's p, the probability of dropping one.

In training, element i is kept where u[i] < keep, and the kept elements are divided by keep ("inverted
dropout"), so the expected value of each element is unchanged; the others become 0:

    out = x * (u < keep) / keep          (training)
    out = x                              (evaluation: the network is used as it is)

Erratum: the unit's "probability of training a given node" is the keep probability, and "input layers use
a larger dropout rate, such as 0.8" means a larger keep probability.

Arguments: x, activations, a tensor of any shape; keep, 0 < keep <= 1; u, draws from U(0, 1) of x's shape
and dtype (given, so that the mask is reproducible); training, a bool.
Returns a tensor of x's shape and dtype.

The checker tries float32 and float64, keep from 0.2 to 1.0, training and evaluation.
""",
    reference=dropout,
    cases=_dropout_cases,
    mistakes=(
        Mistake(
            "divided by the drop probability",
            "You divided the kept units by 1 - keep, the drop probability: "
            "divide by keep, so that each unit's expected value stays x.",
            "generalization-dropout",
            lambda *a: _drop(*a, scale="drop"),
        ),
        Mistake(
            "PyTorch's convention",
            "You treated keep as the probability of dropping (PyTorch's p): in the "
            "unit's convention an element is kept with probability keep (where u < keep) and divided by keep.",
            "generalization-dropout",
            lambda *a: _drop(*a, kept="above", scale="drop"),
        ),
        Mistake(
            "no scaling in training",
            "You did not divide the kept units by keep: without it the expected "
            "activation in training is keep * x, and the network sees larger activations at test time.",
            "generalization-dropout",
            lambda *a: _drop(*a, scale="none"),
        ),
        Mistake(
            "scaled at test time",
            "You implemented the original dropout (no scaling in training, x * keep at "
            "test time); this exercise asks for inverted dropout: divide by keep in training, and return x "
            "unchanged in evaluation.",
            "generalization-dropout",
            lambda *a: _drop(*a, scale="none", at_eval="scaled"),
        ),
        Mistake(
            "dropout in evaluation",
            "You dropped units in evaluation too: when training is False, dropout returns x unchanged.",
            "generalization-dropout",
            lambda *a: _drop(*a, at_eval="dropped"),
        ),
    ),
)


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
    rand = [(_int(gen, 1, 3), _int(gen, 2, 6), _int(gen, 2, 6), bool(_int(gen, 0, 1)), "random") for _ in range(4)]
    out = []
    for n, h, w, corners, kind in fixed + rand:
        dtype = _pick(gen, DTYPES)
        theta = torch.tensor([[1.0, 0, 0], [0, 1, 0]], dtype=dtype).expand(n, 2, 3).clone()
        if kind == "random":
            theta = theta + _randn((n, 2, 3), dtype, gen, 0.4)
        label = f"{kind} theta, N {n}, {h} x {w} output, align_corners {corners}, {_dtype_name(dtype)}"
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
            _int(gen, 1, 2),
            _int(gen, 1, 3),
            _int(gen, 2, 6),
            _int(gen, 2, 6),
            _int(gen, 1, 5),
            _int(gen, 1, 5),
            bool(_int(gen, 0, 1)),
            "outside",
        )
        for _ in range(4)
    ]
    out = []
    for n, c, h, w, ho, wo, corners, where in fixed + rand:
        dtype = _pick(gen, DTYPES)
        image = _randn((n, c, h, w), dtype, gen)
        if where == "centres":  # exactly on pixel centres: the sampler must return the pixels themselves
            xs = torch.randint(0, w, (n, ho, wo), generator=gen).to(dtype)
            ys = torch.randint(0, h, (n, ho, wo), generator=gen).to(dtype)
            grid = torch.stack([(2 * xs + 1) / w - 1, (2 * ys + 1) / h - 1], -1)
        else:
            reach = 0.95 if where == "inside" else 1.4
            grid = ((torch.rand(n, ho, wo, 2, generator=gen, dtype=torch.float64) * 2 - 1) * reach).to(dtype)
        label = (
            f"{where}: N {n}, C {c}, {h} x {w} image, {ho} x {wo} grid, align_corners {corners}, {_dtype_name(dtype)}"
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


# ---- a plain RNN over a sequence --------------------------------------------------------------------------


def rnn_forward(x: Tensor, h0: Tensor, w_ih: Tensor, w_hh: Tensor, b: Tensor) -> Tensor:
    h, states = h0, []
    for x_t in x:  # the same weights at every step
        h = rnn_step(x_t @ w_ih.t() + b, h, w_hh, None)
        states.append(h)
    return torch.stack(states)


def _rnn(
    x: Tensor,
    h0: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b: Tensor,
    *,
    feed: str = "h",
    act: bool = True,
    transposed: bool = False,
) -> Tensor:
    """The RNN with one of its known slips (the variants below)."""
    if transposed and (w_ih.shape[0] != w_ih.shape[1]):
        raise ValueError("only for square weights")
    h, prev_x, states = h0, h0, []
    for x_t in x:
        carried = {"h": h, "x": prev_x, "h0": h0}[feed]
        pre = (x_t @ w_ih + carried @ w_hh + b) if transposed else (x_t @ w_ih.t() + carried @ w_hh.t() + b)
        h = torch.tanh(pre) if act else pre
        prev_x = x_t
        states.append(h)
    return torch.stack(states)


def _rnn_cases(gen: torch.Generator) -> list[Case]:
    fixed = [(1, 2, 3, 3), (5, 1, 2, 4), (4, 3, 4, 4), (6, 2, 3, 5), (3, 1, 5, 5)]  # (T, N, I, H)
    rand = [(_int(gen, 1, 6), _int(gen, 1, 3), _int(gen, 1, 5), _int(gen, 1, 5)) for _ in range(3)]
    out = []
    for t, n, i, h in fixed + rand:
        dtype = _pick(gen, DTYPES)
        scale = 1 / math.sqrt(h)
        args = (
            _randn((t, n, i), dtype, gen),
            _randn((n, h), dtype, gen, 0.5),
            _randn((h, i), dtype, gen, scale * 2),
            _randn((h, h), dtype, gen, scale * 2),
            _randn((h,), dtype, gen, 0.1),
        )
        label = (
            f"T {t}" + (" (one time step)" if t == 1 else "") + f", N {n}, input {i}, hidden {h}, {_dtype_name(dtype)}"
        )
        out.append(Case(label, args))
    return out


RNN = Exercise(
    name="rnn_forward",
    chapter="rnn",
    section="chapter-rnn",
    difficulty=2,
    title="a plain RNN over a sequence",
    parameters=("x", "h0", "w_ih", "w_hh", "b"),
    returns="every hidden state (T, N, H)",
    docstring=r"""
A plain (Elman) recurrent network over a sequence (the lab book, chapter 5): at each time step the new
hidden state combines the input x(t) with the PREVIOUS HIDDEN STATE h(t-1), through the same weights at
every step:

    h(t) = tanh(W_ih x(t) + W_hh h(t-1) + b),     h(-1) = h0,   t = 0, ..., T - 1

(the unit's B is W_ih, its A is W_hh). Erratum: the unit says the current input combines x(t) and x(t-1);
it is x(t) and h(t-1), which summarizes every earlier input.

Arguments: x, (T, N, I): T time steps of a batch of N inputs of size I; h0, (N, H); w_ih, (H, I);
w_hh, (H, H); b, (H,); all of one float dtype.
Returns (T, N, H): h(0), ..., h(T-1), x's dtype.

The checker tries one time step, a batch of one, input size equal to and different from the hidden size,
float32 and float64.
""",
    reference=rnn_forward,
    cases=_rnn_cases,
    mistakes=(
        Mistake(
            "fed x(t-1) instead of h(t-1)",
            "You fed the previous input x(t-1) back, as the unit's text says; "
            "the recurrence feeds the previous hidden state h(t-1), which carries every earlier input.",
            "chapter-rnn",
            lambda *a: _rnn(*a, feed="x"),
        ),
        Mistake(
            "h0 at every step",
            "You used the initial state h0 at every step: each step must use the state the "
            "previous step computed, h(t-1).",
            "chapter-rnn",
            lambda *a: _rnn(*a, feed="h0"),
        ),
        Mistake(
            "no nonlinearity",
            "You left out the tanh: without it the network is linear in its inputs, and "
            "h(t) = tanh(W_ih x(t) + W_hh h(t-1) + b).",
            "chapter-rnn",
            lambda *a: _rnn(*a, act=False),
        ),
        Mistake(
            "weights transposed",
            "You multiplied by the weights' transposes (x @ W_ih): W_ih is (H, I), so "
            "W_ih x(t) is x @ W_ih.T for row vectors.",
            "chapter-rnn",
            lambda *a: _rnn(*a, transposed=True),
        ),
    ),
)


# ---- one LSTM step ----------------------------------------------------------------------------------------


def lstm_step(x: Tensor, h: Tensor, c: Tensor, w_ih: Tensor, w_hh: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
    h_new, c_new, _ = library_lstm_step(x @ w_ih.t() + b, h, c, w_hh, None)
    return h_new, c_new


def _lstm(
    x: Tensor,
    h: Tensor,
    c: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b: Tensor,
    *,
    order: str = "ifgo",
    tanh_c: bool = True,
    input_gate: bool = True,
    candidate: str = "tanh",
) -> tuple[Tensor, Tensor]:
    """The LSTM step with one of its known slips (the variants below)."""
    chunks = dict(zip(order, (x @ w_ih.t() + h @ w_hh.t() + b).chunk(4, 1), strict=True))
    i, f, o = torch.sigmoid(chunks["i"]), torch.sigmoid(chunks["f"]), torch.sigmoid(chunks["o"])
    g = torch.tanh(chunks["g"]) if candidate == "tanh" else torch.sigmoid(chunks["g"])
    c = f * c + (i * g if input_gate else g)
    return o * (torch.tanh(c) if tanh_c else c), c


def _lstm_cases(gen: torch.Generator) -> list[Case]:
    fixed = [(1, 3, 2), (4, 2, 5), (2, 4, 4), (3, 1, 3)]  # (N, I, H)
    rand = [(_int(gen, 1, 4), _int(gen, 1, 5), _int(gen, 1, 5)) for _ in range(4)]
    out = []
    for n, i, h in fixed + rand:
        dtype = _pick(gen, DTYPES)
        args = (
            _randn((n, i), dtype, gen),
            _randn((n, h), dtype, gen, 0.5),
            _randn((n, h), dtype, gen),
            _randn((4 * h, i), dtype, gen, 0.8),
            _randn((4 * h, h), dtype, gen, 0.8),
            _randn((4 * h,), dtype, gen, 0.5),
        )
        out.append(
            Case(
                f"N {n}" + (" (a batch of one)" if n == 1 else "") + f", input {i}, hidden {h}, {_dtype_name(dtype)}",
                args,
            )
        )
    return out


LSTM = Exercise(
    name="lstm_step",
    chapter="rnn",
    section="rnn-the-lstm",
    difficulty=2,
    title="one step of an LSTM",
    parameters=("x", "h", "c", "w_ih", "w_hh", "b"),
    returns="(h, c)",
    docstring=r"""
One step of a long short-term memory cell (the lab book, chapter 5, The LSTM), with the gates in
PyTorch's order i, f, g, o (rows 0:H, H:2H, 2H:3H, 3H:4H of the weights):

    z = W_ih x + W_hh h + b                  (4H numbers per example)
    i = sigmoid(z[0:H])        input gate: how much to write
    f = sigmoid(z[H:2H])       forget gate: how much to keep
    g = tanh(z[2H:3H])         candidate: what to write
    o = sigmoid(z[3H:4H])      output gate: how much to show
    c_new = f * c + i * g
    h_new = o * tanh(c_new)

Erratum: the unit calls the gates binary; they are sigmoids with values in (0, 1).

Arguments: x, (N, I); h, c, (N, H); w_ih, (4H, I); w_hh, (4H, H); b, (4H,); all of one float dtype.
Returns (h_new, c_new), each (N, H), x's dtype.

The checker tries a batch of one, input size equal to and different from the hidden size, float32 and
float64.
""",
    reference=lstm_step,
    cases=_lstm_cases,
    mistakes=(
        Mistake(
            "gates g and o swapped",
            "You read the gates in the order i, f, o, g: PyTorch's (and this exercise's) order is i, f, g, o.",
            "rnn-the-lstm",
            lambda *a: _lstm(*a, order="ifog"),
        ),
        Mistake(
            "gates i and f swapped",
            "You read the forget gate from the first quarter and the input gate from the "
            "second: the order is i, f, g, o.",
            "rnn-the-lstm",
            lambda *a: _lstm(*a, order="figo"),
        ),
        Mistake(
            "no tanh on the cell",
            "You output o * c: the hidden state is o * tanh(c_new), which keeps it in (-1, 1).",
            "rnn-the-lstm",
            lambda *a: _lstm(*a, tanh_c=False),
        ),
        Mistake(
            "no input gate",
            "You added the candidate without the input gate (c = f c + g): the input gate "
            "decides how much of g is written, c = f c + i g.",
            "rnn-the-lstm",
            lambda *a: _lstm(*a, input_gate=False),
        ),
        Mistake(
            "sigmoid candidate",
            "You squashed the candidate with a sigmoid: g = tanh(...), so that the cell "
            "can be written down as well as up.",
            "rnn-the-lstm",
            lambda *a: _lstm(*a, candidate="sigmoid"),
        ),
    ),
)


# ---- perplexity -------------------------------------------------------------------------------------------


def perplexity(logits: Tensor, targets: Tensor) -> Tensor:
    return library_perplexity(logits, targets)


def _nll(logits: Tensor, targets: Tensor) -> Tensor:
    return -logits.log_softmax(-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)


def _perplexity_cases(gen: torch.Generator) -> list[Case]:
    shapes = [
        ((3, 10), "uniform"),
        ((1, 7), "random"),
        ((4, 2, 12), "random"),
        ((5, 9), "large"),
        ((2, 3, 4, 6), "random"),
        ((_int(gen, 1, 6), _int(gen, 2, 20)), "random"),
        ((_int(gen, 1, 4), _int(gen, 1, 4), _int(gen, 2, 15)), "random"),
    ]
    out = []
    for shape, kind in shapes:
        dtype = _pick(gen, DTYPES)
        logits = (
            torch.zeros(shape, dtype=dtype)
            if kind == "uniform"
            else _randn(shape, dtype, gen, 300.0 if kind == "large" else 2.0)
        )
        targets = torch.randint(0, shape[-1], shape[:-1], generator=gen)
        what = {
            "uniform": "equal logits (perplexity = V)",
            "random": "random logits",
            "large": "logits in the hundreds (use log_softmax)",
        }[kind]
        extra = " (one word)" if math.prod(shape[:-1]) == 1 else ""
        out.append(Case(f"{what}: logits {shape}{extra}, {_dtype_name(dtype)}", (logits, targets)))
    return out


PERPLEXITY = Exercise(
    name="perplexity",
    chapter="lm",
    section="chapter-lm",
    difficulty=1,
    title="the perplexity of a language model's predictions",
    parameters=("logits", "targets"),
    returns="a 0-d tensor",
    docstring=r"""
The perplexity of a language model on some text (the lab book, chapter 6): the exponential of the mean
negative log-likelihood of the words that came,

    perplexity = exp( -(1 / N) * sum_i log p(w_i | w_<i) ),     p = softmax(logits) over the vocabulary

the mean taken over all N positions. A model that spreads its probability equally over V words has
perplexity V.

Arguments: logits, (..., V) float: unnormalized scores over a vocabulary of V words at each position (any
number of leading dimensions); targets, (...) int64: the index of the word that came at each position.
Returns a 0-d tensor of logits' dtype.

The checker tries equal logits, one word, 2-D to 4-D logits, logits in the hundreds (compute
log-probabilities with log_softmax, not log(softmax)), float32 and float64.
""",
    reference=perplexity,
    cases=_perplexity_cases,
    tolerance=Tolerance(rtol32=1e-4, atol32=1e-4, rtol64=1e-9, atol64=1e-9),
    mistakes=(
        Mistake(
            "exp of the sum",
            "You exponentiated the summed negative log-likelihood: perplexity uses the mean "
            "over positions, exp(-(1/N) sum log p).",
            "chapter-lm",
            lambda lg, t: _nll(lg, t).sum().exp(),
        ),
        Mistake(
            "logits as log-probabilities",
            "You used the raw logits as log-probabilities: normalize them first with log_softmax.",
            "chapter-lm",
            lambda lg, t: (-lg.gather(-1, t.unsqueeze(-1)).squeeze(-1).mean()).exp(),
        ),
        Mistake(
            "mean of per-word perplexities",
            "You averaged exp(-log p) over positions: the exponential comes after the mean, exp(mean(-log p)).",
            "chapter-lm",
            lambda lg, t: _nll(lg, t).exp().mean(),
        ),
        Mistake(
            "base 2",
            "You raised 2 to the mean negative natural-log-likelihood: with natural logarithms the "
            "base is e (2 goes with log base 2).",
            "chapter-lm",
            lambda lg, t: 2 ** _nll(lg, t).mean(),
        ),
    ),
)

EXERCISES = (DROPOUT, AFFINE_GRID, BILINEAR, RNN, LSTM, PERPLEXITY)
