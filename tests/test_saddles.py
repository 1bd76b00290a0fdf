"""Saddle escapes: gradient descent against its closed form, and the two remedies leaving sooner."""

from __future__ import annotations

import pytest

from descentlab.landscape import LANDSCAPES
from descentlab.landscape.saddles import escape


def test_gradient_descent_escape_matches_the_closed_form() -> None:
    # on f = x^2 - y^2, GD gives x_t = (1 - 2 eta)^t x0 and y_t = (1 + 2 eta)^t y0
    eta, x0, y0 = 0.05, -1.5, 1e-6
    t = 0
    while not ((1 - 2 * eta) ** (2 * t) * x0**2 - (1 + 2 * eta) ** (2 * t) * y0**2 <= -1.0):
        t += 1
    result = escape(LANDSCAPES["saddle"], "gd", (x0, y0), lr=eta, steps=1000, depth=1.0)
    assert result.escaped_at == t
    x, y = result.points[10]
    assert (x, y) == pytest.approx(((1 - 2 * eta) ** 10 * x0, (1 + 2 * eta) ** 10 * y0), rel=1e-12)


@pytest.mark.parametrize(("name", "start"), [("saddle", (-1.5, 1e-6)), ("monkey-saddle", (1.0, 1e-6))])
def test_negative_curvature_and_noise_leave_sooner(name: str, start: tuple[float, float]) -> None:
    ls = LANDSCAPES[name]
    steps = {
        m: escape(ls, m, start, lr=0.05, steps=5000, noise=0.01, seed=0).escaped_at for m in ("gd", "noise", "hessian")
    }
    assert all(s is not None for s in steps.values()), steps
    assert steps["hessian"] < steps["gd"] and steps["noise"] < steps["gd"], steps


def test_a_start_exactly_on_the_stable_manifold_never_escapes_without_help() -> None:
    ls = LANDSCAPES["saddle"]
    assert escape(ls, "gd", (-1.5, 0.0), steps=2000).escaped_at is None  # converges to the saddle itself
    assert escape(ls, "hessian", (-1.5, 0.0), steps=2000).escaped_at is not None
    with pytest.raises(ValueError, match="Invalid method"):
        escape(ls, "newton", (-1.5, 0.0))
    with pytest.raises(ValueError, match="has no saddle point"):
        escape(LANDSCAPES["rosenbrock"], "gd", (0.0, 0.0))
