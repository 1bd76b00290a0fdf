"""Landscapes against their analytic facts: values at the known minima, zero gradients there, saddles."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from descentlab.experiments.optim.race import OPTIM_RACE
from descentlab.landscape import LANDSCAPES


@pytest.mark.parametrize("name", [n for n, ls in LANDSCAPES.items() if ls.minima])
def test_known_minima_have_the_known_value(name: str) -> None:
    ls = LANDSCAPES[name]
    for m in ls.minima:
        assert ls.value(m) == pytest.approx(ls.minimum_value, abs=1e-5)


@pytest.mark.parametrize("name", [n for n, ls in LANDSCAPES.items() if n != "ackley"])
def test_gradient_vanishes_at_minima_and_saddles(name: str) -> None:
    ls = LANDSCAPES[name]
    for point in ls.minima + ls.saddles:
        gx, gy = ls.gradient(point)
        # the published minima are rounded to 4-6 digits, so the gradient is small, not zero
        assert math.hypot(gx, gy) < 1e-3, (point, gx, gy)


def test_minima_are_the_lowest_points_of_a_grid() -> None:
    for name, ls in LANDSCAPES.items():
        if not ls.minima:
            continue
        (x0, x1), (y0, y1) = ls.window
        xs, ys = torch.meshgrid(
            torch.linspace(x0, x1, 401, dtype=torch.float64),
            torch.linspace(y0, y1, 401, dtype=torch.float64),
            indexing="xy",
        )
        assert ls(xs, ys).min().item() >= ls.minimum_value - 1e-6, name  # nothing on the grid is lower


def test_ackley_minimum_and_its_cusp() -> None:
    ls = LANDSCAPES["ackley"]
    assert ls.value((0.0, 0.0)) == pytest.approx(0.0, abs=1e-12)
    assert ls.value((1e-3, 0.0)) > 0  # a strict minimum, approached with a cusp (|r| behaviour)


def test_saddles_curve_up_and_down() -> None:
    saddle = LANDSCAPES["saddle"]
    hess = torch.autograd.functional.hessian(lambda p: saddle(p[0], p[1]), torch.zeros(2, dtype=torch.float64))
    assert torch.linalg.eigvalsh(hess).tolist() == pytest.approx([-2.0, 2.0])
    monkey = LANDSCAPES["monkey-saddle"]
    hess = torch.autograd.functional.hessian(lambda p: monkey(p[0], p[1]), torch.zeros(2, dtype=torch.float64))
    assert torch.count_nonzero(hess) == 0  # degenerate: zero curvature, yet not a minimum
    assert monkey.value((-0.1, 0.0)) < 0 < monkey.value((0.1, 0.0))


def test_himmelblau_has_four_distinct_minima() -> None:
    minima = LANDSCAPES["himmelblau"].minima
    assert all(math.dist(a, b) > 1 for a, b in itertools.combinations(minima, 2))


def test_gradient_descent_on_the_bowl_matches_its_closed_form() -> None:
    from descentlab.landscape.race import run_one

    # f = (x^2 + 25 y^2) / 2, so GD with rate eta gives x_t = (1 - eta)^t x_0 and y_t = (1 - 25 eta)^t y_0
    eta, x0, y0 = 0.03, -1.8, 0.8
    path = run_one(LANDSCAPES["quadratic-bowl"], "sgd", eta, (x0, y0), steps=40)
    for t, (x, y) in enumerate(path.points):
        assert x == pytest.approx((1 - eta) ** t * x0, rel=1e-12, abs=1e-15)
        assert y == pytest.approx((1 - 25 * eta) ** t * y0, rel=1e-12, abs=1e-15)
    diverging = run_one(LANDSCAPES["quadratic-bowl"], "sgd", 0.1, (x0, y0), steps=200)  # 1 - 25 eta = -1.5
    assert diverging.diverged and len(diverging.points) < 200


def test_stored_learning_rates_are_what_the_optuna_search_finds() -> None:
    import json

    from descentlab.landscape.race import LR_FILE, RACE_OPTIMIZERS, default_lr, run_one, tune_lr

    stored = json.loads(LR_FILE.read_text())
    assert "Optuna" in stored["provenance"] and set(stored["lrs"]) == set(LANDSCAPES)
    assert all(set(lrs) == set(RACE_OPTIMIZERS) for lrs in stored["lrs"].values())
    steps, trials, seed = stored["steps"], stored["trials"], stored["seed"]
    bowl = LANDSCAPES["quadratic-bowl"]
    assert default_lr("quadratic-bowl", "sgd") == tune_lr(bowl, "sgd", steps, trials, seed)  # the search repeats
    # Gradient descent on the bowl (curvatures 1 and 25) converges for lr < 2/25 and fastest at 2/26:
    # the tuned rate must be stable, and its f must be no worse than a hand-picked stable rate's.
    tuned = default_lr("quadratic-bowl", "sgd")
    assert tuned < 2 / 25
    final = run_one(bowl, "sgd", tuned, bowl.start, steps).losses[-1]
    assert final <= run_one(bowl, "sgd", 0.02, bowl.start, steps).losses[-1]


def test_noise_is_seeded() -> None:
    from descentlab.landscape import race

    a = race(LANDSCAPES["rastrigin"], {"sgd": 0.01}, steps=50, noise=1.0, seed=3)
    b = race(LANDSCAPES["rastrigin"], {"sgd": 0.01}, steps=50, noise=1.0, seed=3)
    c = race(LANDSCAPES["rastrigin"], {"sgd": 0.01}, steps=50, noise=1.0, seed=4)
    assert a[0].points == b[0].points != c[0].points


def test_optim_race_help_names_every_landscape() -> None:
    """The help's list of surfaces is built from the landscapes themselves (a list written by hand missed
    plateau)."""
    text = " ".join(OPTIM_RACE.description.split())
    listed = text[text.index("(") + 1 : text.index(")")].split(", ")
    assert listed == list(LANDSCAPES) and "plateau" in listed
