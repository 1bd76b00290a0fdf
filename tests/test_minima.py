"""Bad local minima on Rastrigin: where gradient descent ends, and what restarts and noise buy."""

from __future__ import annotations

import math

import torch

from descentlab.landscape import LANDSCAPES
from descentlab.landscape.minima import descend_from_many, random_starts

RASTRIGIN = LANDSCAPES["rastrigin"]


def test_plain_descent_ends_in_the_local_minimum_of_its_cell() -> None:
    starts = random_starts(RASTRIGIN, 200, seed=0)
    plain = descend_from_many(RASTRIGIN, starts, lr=0.002, steps=1500, settle=0)
    # Rastrigin's local minima lie near integer points (i, j): to first order in 1/(20 pi^2), setting
    # f' = 2x + 20 pi sin(2 pi x) to zero near x = i gives x* = c i and f* = c (i^2 + j^2), c = 20 pi^2 / (1 + 20 pi^2)
    c = 20 * math.pi**2 / (1 + 20 * math.pi**2)
    lattice = plain.finals.round()
    torch.testing.assert_close(plain.finals, c * lattice, rtol=0, atol=1e-3)
    torch.testing.assert_close(plain.values, c * (lattice**2).sum(1), rtol=2e-3, atol=1e-6)
    # and each run stays in its own cell: starts clear of the ridges (near half-integers) end at the
    # integer point nearest to them
    clear = ((starts - starts.floor() - 0.5).abs() > 0.1).all(dim=1)
    assert clear.sum() > 100
    assert (lattice[clear] == starts[clear].round()).all()


def test_restarts_and_noise_find_lower_minima() -> None:
    starts = random_starts(RASTRIGIN, 300, seed=0)
    plain = descend_from_many(RASTRIGIN, starts, lr=0.002, steps=2000)
    noisy = descend_from_many(RASTRIGIN, starts, lr=0.002, steps=2000, noise=400.0, seed=1)
    best = plain.best_of()
    assert (best[1:] <= best[:-1]).all() and best[-1] == plain.values.min()  # more restarts never hurt
    assert best[-1] < 1e-6 < best[0]  # one start misses the global minimum, 300 restarts find it
    assert noisy.values.median() < plain.values.median() - 5  # measured: 16.9 against 5.0 with 500 starts
    assert (noisy.values < 1e-3).float().mean() >= (plain.values < 1e-3).float().mean()
