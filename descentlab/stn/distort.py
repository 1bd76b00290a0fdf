"""Distorted MNIST, as in Jaderberg et al. (2015, section 4.1), generated reproducibly from a seed.

* ``r``: each digit rotated by an angle uniform in [-90, 90] degrees (28 x 28).
* ``rts``: rotated within [-45, 45] degrees, scaled by 0.7 to 1.2, and placed at a random position in
  a 42 x 42 canvas.
* ``clutter``: the digit at a random position in a 60 x 60 canvas, with six 6 x 6 crops of other
  random digits scattered as clutter (the paper's "translated and cluttered" set).

Images are float32 in [0, 1], shape (N, 1, S, S). The digits are moved with an inverse-mapped affine
grid and bilinear sampling (``torch.nn.functional.grid_sample``); clutter is pasted with a maximum.
"""

from __future__ import annotations

import functools
import math

import torch
import torch.nn.functional as F
from torch import Tensor

from descentlab.generalize import mnist_splits

DISTORTIONS = {"r": 28, "rts": 42, "clutter": 60}  # name -> canvas side
CLUTTER_PIECES, CLUTTER_SIZE = 6, 6


def _place(digits: Tensor, canvas: int, angle: Tensor, scale: Tensor, shift: Tensor) -> Tensor:
    """Digits (N, 1, 28, 28) rotated by ``angle``, scaled by ``scale`` and centred at ``shift`` (N, 2;
    canvas-normalized coordinates) on a ``canvas`` x ``canvas`` image."""
    n = len(digits)
    ratio = canvas / 28.0 / scale  # canvas-normalized units -> digit-normalized units
    cos, sin = torch.cos(angle), torch.sin(angle)
    # source = ratio * R(-angle) (p - shift): the inverse of "rotate, scale, then move to shift"
    a = torch.stack([torch.stack([cos, sin], -1), torch.stack([-sin, cos], -1)], dim=1) * ratio.view(n, 1, 1)
    t = -(a @ shift.unsqueeze(-1))
    theta = torch.cat([a, t], dim=2)
    grid = F.affine_grid(theta, [n, 1, canvas, canvas], align_corners=False)
    return F.grid_sample(digits, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def distort(images: Tensor, kind: str, seed: int, count: int = 0) -> Tensor:
    """Distorted copies (N, 1, S, S), float in [0, 1], of uint8 MNIST ``images`` (N, 28, 28); with ``count``,
    of the first ``count`` only, each distorted exactly as in the whole set (``r`` and ``rts``; ``clutter``
    distorts the whole set and keeps the first ``count``)."""
    if kind not in DISTORTIONS:
        raise ValueError(f"distortion {kind!r}: valid: {', '.join(DISTORTIONS)}")
    if kind == "clutter" and count:
        return distort(images, kind, seed)[:count]
    gen = torch.Generator().manual_seed(seed)
    n = len(images)
    digits = images.float().div(255.0).unsqueeze(1)  # (N, 1, 28, 28)

    def uniform(low: float, high: float, *shape: int) -> Tensor:
        return low + (high - low) * torch.rand(n, *shape, generator=gen)

    if kind == "r":
        angle, scale, shift = uniform(-math.pi / 2, math.pi / 2), torch.ones(n), torch.zeros(n, 2)
    elif kind == "rts":
        angle, scale = uniform(-math.pi / 4, math.pi / 4), uniform(0.7, 1.2)
        shift = uniform(-1 / 3, 1 / 3, 2)  # up to 7 pixels off the centre of 42
    out = []
    for begin in range(0, count or n, 10_000):  # in chunks, to bound memory
        part = slice(begin, min(count or n, begin + 10_000))
        if kind == "clutter":
            out.append(_clutter(digits[part], images, gen))
        else:
            out.append(_place(digits[part], DISTORTIONS[kind], angle[part], scale[part], shift[part]))
    return torch.cat(out)


def _clutter(chunk: Tensor, pool: Tensor, gen: torch.Generator) -> Tensor:
    m, side = len(chunk), DISTORTIONS["clutter"]
    canvas = torch.zeros(m, 1, side, side)
    rows = torch.arange(m)
    for _ in range(CLUTTER_PIECES):  # 6 x 6 crops of random other digits at random places
        source = torch.randint(0, len(pool), (m,), generator=gen)
        sy, sx = (torch.randint(0, 28 - CLUTTER_SIZE + 1, (m,), generator=gen) for _ in range(2))
        dy, dx = (torch.randint(0, side - CLUTTER_SIZE + 1, (m,), generator=gen) for _ in range(2))
        for i in range(CLUTTER_SIZE):
            for j in range(CLUTTER_SIZE):
                value = pool[source, sy + i, sx + j].float() / 255.0
                current = canvas[rows, 0, dy + i, dx + j]
                canvas[rows, 0, dy + i, dx + j] = torch.maximum(current, value)
    oy, ox = (torch.randint(0, side - 28 + 1, (m,), generator=gen) for _ in range(2))
    for i in range(28):  # the digit itself, row by row
        for j in range(28):
            current = canvas[rows, 0, oy + i, ox + j]
            canvas[rows, 0, oy + i, ox + j] = torch.maximum(current, chunk[:, 0, i, j])
    return canvas


@functools.lru_cache(maxsize=2)
def distorted_mnist(
    kind: str, val_size: int = 5000, seed: int = 0, train_size: int = 0, test_size: int = 0
) -> dict[str, tuple[Tensor, Tensor]]:
    """Train / val (stratified from the official training set) / official test, each distorted with its
    own seed derived from ``seed``; images (N, 1, S, S) float, labels (N,). ``train_size`` and ``test_size``
    keep the first images of those splits (0: all), the same images distorted the same way as in the whole
    split. Cached (the run, its figure and the report ask for the same set): copy the dict before changing
    it, and do not modify the tensors."""
    splits = mnist_splits(val_size=val_size, seed=0)
    counts = {"train": train_size, "val": 0, "test": test_size}
    return {
        name: (distort(x, kind, seed * 3 + k, counts[name]), y[: counts[name] or None])
        for k, (name, (x, y)) in enumerate(splits.items())
    }
