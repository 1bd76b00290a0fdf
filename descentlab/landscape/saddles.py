r"""Escaping saddle points: plain gradient descent lingers, negative curvature and noise leave.

Started near the stable manifold of a saddle (on :math:`x^2 - y^2`: the line :math:`y = 0`), gradient
descent first slides towards the saddle, where the gradient vanishes, and leaves only as fast as the
tiny unstable component grows: :math:`y_t = (1 + 2\eta)^t y_0`. Two remedies from the unit:

* ``hessian``: where the gradient is small, step along the eigenvector of the most negative Hessian
  eigenvalue (a descent direction of second order), then carry on with gradient descent;
* ``noise``: Gaussian noise on the gradient pushes the iterate off the stable manifold.

A method has escaped once f is ``depth`` below its value at the saddle: the iterate has left it downhill.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from descentlab.landscape.functions import Landscape, Point

METHODS = ("gd", "noise", "hessian")


@dataclass
class Escape:
    method: str
    points: list[Point]
    escaped_at: int | None  # the first step with f <= f(saddle) - depth; None if never


def escape(
    landscape: Landscape,
    method: str,
    start: Point,
    lr: float = 0.05,
    steps: int = 500,
    depth: float = 1.0,
    noise: float = 0.01,
    curvature_step: float = 0.1,
    grad_tol: float = 1e-2,
    seed: int = 0,
) -> Escape:
    """Run ``method`` (gd, noise or hessian) from ``start`` until it leaves the saddle or ``steps`` pass."""
    if method not in METHODS:
        raise ValueError(f"Invalid method: {method!r} (valid: {', '.join(METHODS)})")
    if not landscape.saddles:
        raise ValueError(f"{landscape.name} has no saddle point")
    below = landscape.value(landscape.saddles[0]) - depth
    gen = torch.Generator().manual_seed(seed)
    xy = torch.tensor(start, dtype=torch.float64)
    points: list[Point] = [start]

    def f(p: torch.Tensor) -> torch.Tensor:
        return landscape(p[0], p[1])

    for t in range(1, steps + 1):
        p = xy.clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(f(p), p)
        step = -lr * grad
        if method == "noise":
            step = step - lr * noise * torch.randn(2, generator=gen, dtype=torch.float64)
        elif method == "hessian" and grad.norm() < grad_tol:
            evals, evecs = torch.linalg.eigh(torch.autograd.functional.hessian(f, xy))
            if evals[0] < 0:  # negative curvature: f decreases both ways along it, to second order
                direction = evecs[:, 0]
                if (grad @ direction) > 0:  # take the side where the gradient also descends
                    direction = -direction
                step = curvature_step * direction
        xy = xy + step
        points.append((float(xy[0]), float(xy[1])))
        if landscape.value(points[-1]) <= below:
            return Escape(method, points, t)
    return Escape(method, points, None)
