r"""Analytic two-dimensional loss surfaces: the non-convex landscapes the unit talks about.

Each :class:`Landscape` evaluates :math:`f(x, y)` on tensors (any matching shapes, so a whole grid at
once for contour plots) and knows its minima, or its saddle point, and a window worth plotting.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

Point = tuple[float, float]


@dataclass(frozen=True)
class Landscape:
    name: str
    fn: Callable[[Tensor, Tensor], Tensor]  # f(x, y), elementwise
    minima: tuple[Point, ...]  # global minima (empty for the saddles)
    minimum_value: float | None  # f at the minima (None: unbounded below)
    saddles: tuple[Point, ...]  # saddle points of interest
    window: tuple[Point, Point]  # ((x_min, x_max), (y_min, y_max)) for plots
    start: Point  # a customary starting point for races
    about: str  # one line on what makes it hard

    def __call__(self, x: Tensor, y: Tensor) -> Tensor:
        return self.fn(x, y)

    def value(self, point: Point) -> float:
        x, y = (torch.tensor(c, dtype=torch.float64) for c in point)
        return float(self.fn(x, y))

    def gradient(self, point: Point) -> tuple[float, float]:
        x, y = (torch.tensor(c, dtype=torch.float64, requires_grad=True) for c in point)
        gx, gy = torch.autograd.grad(self.fn(x, y), (x, y))
        return float(gx), float(gy)

    def nearest_minimum(self, point: Point) -> tuple[Point, float] | None:
        """The closest known minimum (or saddle, where there are no minima) and its distance."""
        targets = self.minima or self.saddles
        if not targets:
            return None
        best = min(targets, key=lambda m: math.dist(m, point))
        return best, math.dist(best, point)


def _rosenbrock(x: Tensor, y: Tensor) -> Tensor:
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


def _beale(x: Tensor, y: Tensor) -> Tensor:
    return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2 + (2.625 - x + x * y**3) ** 2


def _himmelblau(x: Tensor, y: Tensor) -> Tensor:
    return (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2


def _rastrigin(x: Tensor, y: Tensor) -> Tensor:
    return 20 + x**2 - 10 * torch.cos(2 * math.pi * x) + y**2 - 10 * torch.cos(2 * math.pi * y)


def _ackley(x: Tensor, y: Tensor) -> Tensor:
    r = torch.sqrt(0.5 * (x**2 + y**2))
    waves = 0.5 * (torch.cos(2 * math.pi * x) + torch.cos(2 * math.pi * y))
    return -20 * torch.exp(-0.2 * r) - torch.exp(waves) + math.e + 20


def _six_hump_camel(x: Tensor, y: Tensor) -> Tensor:
    return (4 - 2.1 * x**2 + x**4 / 3) * x**2 + x * y + (-4 + 4 * y**2) * y**2


def _quadratic_bowl(x: Tensor, y: Tensor) -> Tensor:
    return 0.5 * (x**2 + 25 * y**2)  # condition number 25


def _plateau(x: Tensor, y: Tensor) -> Tensor:
    return 1 - torch.exp(-(x**2 + y**2) / 2)  # gradient r exp(-r^2 / 2): 1.9e-5 at r = 5


def _saddle(x: Tensor, y: Tensor) -> Tensor:
    return x**2 - y**2


def _monkey_saddle(x: Tensor, y: Tensor) -> Tensor:
    return x**3 - 3 * x * y**2


LANDSCAPES: dict[str, Landscape] = {
    ls.name: ls
    for ls in (
        Landscape("rosenbrock", _rosenbrock, ((1.0, 1.0),), 0.0, (), ((-2.0, 2.0), (-1.0, 3.0)), (-1.5, 2.0),
                  "a curved, flat-bottomed valley: easy to reach, slow to follow"),
        Landscape("beale", _beale, ((3.0, 0.5),), 0.0, (), ((-4.5, 4.5), (-4.5, 4.5)), (1.0, 1.5),
                  "sharp ridges and flat plateaus around a narrow minimum"),
        Landscape(
            "himmelblau",
            _himmelblau,
            ((3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848126)),
            0.0,
            (),
            ((-5.0, 5.0), (-5.0, 5.0)),
            (0.0, 0.0),
            "four equal minima: where you start decides where you end",
        ),
        Landscape("rastrigin", _rastrigin, ((0.0, 0.0),), 0.0, (), ((-5.12, 5.12), (-5.12, 5.12)), (3.3, -2.7),
                  "a regular grid of bad local minima around one global minimum"),
        Landscape("ackley", _ackley, ((0.0, 0.0),), 0.0, (), ((-5.0, 5.0), (-5.0, 5.0)), (2.6, 1.8),
                  "an almost flat, rippled plain around a deep funnel (not differentiable at its minimum)"),
        Landscape("six-hump-camel", _six_hump_camel, ((0.0898, -0.7126), (-0.0898, 0.7126)), -1.031628, (),
                  ((-2.0, 2.0), (-1.0, 1.0)), (-1.5, -0.5), "two global and four local minima"),
        Landscape("quadratic-bowl", _quadratic_bowl, ((0.0, 0.0),), 0.0, (), ((-2.0, 2.0), (-1.0, 1.0)), (-1.8, 0.8),
                  "convex but ill-conditioned (curvatures 1 and 25): plain steps zig-zag"),
        Landscape("plateau", _plateau, ((0.0, 0.0),), 0.0, (), ((-6.0, 6.0), (-6.0, 6.0)), (5.0, 1.0),
                  "a narrow well in a nearly flat plain: far from it the gradient all but vanishes"),
        Landscape("saddle", _saddle, (), None, ((0.0, 0.0),), ((-2.0, 2.0), (-2.0, 2.0)), (-1.5, 1e-3),
                  "a saddle point: a minimum along x, a maximum along y"),
        Landscape("monkey-saddle", _monkey_saddle, (), None, ((0.0, 0.0),), ((-1.5, 1.5), (-1.5, 1.5)), (-1.0, 1e-3),
                  "a degenerate saddle with three descending valleys and zero curvature at its centre"),
    )
}  # fmt: skip
