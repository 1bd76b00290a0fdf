"""A claim's bounds decide its verdict; its margin says how far inside them the run was (1.0 is the edge)."""

from __future__ import annotations

import math

import pytest

from descentlab.report import Bound, Claim


@pytest.mark.parametrize(
    ("value", "op", "limit", "holds", "margin"),
    [
        (0.5, "<", 1.0, True, 2.0),  # a loss of 0.5 against "below 1": twice as far from failing as the limit
        (2.0, "<", 1.0, False, 0.5),
        (3.0, ">", 2.0, True, 1.5),
        (1.0, ">", 4.0, False, 0.25),
        (1.0, "<", 1.0, False, 1.0),  # the edge itself does not hold
        (-80.0, "<", -70.0, True, 80 / 70),  # negative numbers: how many times the limit's size
        (-60.0, "<", -70.0, False, 60 / 70),
        (-60.0, ">", -70.0, True, 70 / 60),
        (0.0, "<", 1e-6, True, math.inf),  # nothing at all below a positive limit
        (-1.0, "<", 0.0, True, math.inf),
        (1.0, "<", 0.0, False, 0.0),
        (math.nan, "<", 1.0, False, 0.0),  # a diverged run fails whichever way the bound points
        (math.nan, ">", 1.0, False, 0.0),
        (math.inf, "<", 10.0, False, 0.0),  # never reached
        (math.inf, ">", 10.0, True, math.inf),
    ],
)
def test_a_bounds_verdict_and_margin(value: float, op: str, limit: float, holds: bool, margin: float) -> None:
    b = Bound("x", value, op, limit)  # type: ignore[arg-type]
    assert b.holds is holds
    assert b.margin == pytest.approx(margin, rel=1e-12)
    assert (b.margin > 1) is holds


def test_a_claim_holds_when_every_bound_does_and_its_margin_is_the_smallest() -> None:
    c = Claim("two things", "numbers", [Bound("a", 0.25, "<", 1), Bound("b", 3, ">", 2)])
    assert c.holds and c.margin == 1.5
    c = Claim("two things", "numbers", [Bound("a", 0.25, "<", 1), Bound("b", 1, ">", 2)])
    assert not c.holds and c.margin == 0.5
    assert c.as_dict()["bounds"][1] == {"label": "b", "value": 1.0, "op": ">", "limit": 2.0, "margin": 0.5}


def test_a_claim_needs_bounds_and_a_bound_an_operator() -> None:
    with pytest.raises(TypeError, match="one or more Bound"):
        Claim("nothing to check", "", [])
    with pytest.raises(ValueError, match="valid: '<' or '>'"):
        Bound("x", 1, "<=", 2)  # type: ignore[arg-type]
