"""Random restarts: train from several starting points and keep the best, a remedy for bad local minima.

The unit lists restarts among the remedies for non-convex optimization: a descent method stops in the
minimum whose basin it starts in, so starting from several points and keeping the lowest final loss
finds better minima, at the cost of n trainings.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, NamedTuple, TypeVar

S = TypeVar("S")  # a starting point: parameters, a model, ...
R = TypeVar("R")  # what training returns with its loss


class Restarts(NamedTuple, Generic[R]):
    best: R  # the result of the restart with the lowest final loss
    best_loss: float
    best_index: int
    losses: list[float]  # final loss of every restart, in order


def restarts(n: int, init_fn: Callable[[int], S], train_fn: Callable[[S], tuple[R, float]]) -> Restarts[R]:
    """Run ``train_fn(init_fn(i))`` for ``i`` in ``range(n)``; keep the result of lowest loss.

    ``init_fn(i)`` draws the i-th starting point (seed it with ``i`` for reproducible restarts);
    ``train_fn`` trains from it and returns ``(result, final_loss)``.
    """
    if n < 1:
        raise ValueError(f"Invalid number of restarts: {n} (valid: n >= 1)")
    results, losses = [], []
    for i in range(n):
        result, loss = train_fn(init_fn(i))
        results.append(result)
        losses.append(float(loss))
    best_index = min(range(n), key=lambda i: losses[i])
    return Restarts(results[best_index], losses[best_index], best_index, losses)
