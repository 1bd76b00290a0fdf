"""A claim a run demonstrates: a sentence, the comparisons that decide it, and how far inside them the run was.

A :class:`Claim` holds one or more :class:`Bound` objects, each a number from the run against its limit
(``Bound("sigmoid loss", 2.27, ">", 2.0)``). The claim holds when every bound does, and its *margin* is the
smallest of theirs: how far the number is inside its limit, as a ratio, so that 1.0 is the edge, 2.0 means
twice as far from failing as the limit itself (a loss of 0.5 against "below 1"), and below 1.0 the claim
fails. ``benchmarks/claims.py`` collects the margins over many seeds and CPUs: a claim about a phenomenon,
not about one run, keeps its margin well above 1 at every one of them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Op = Literal["<", ">"]


def _below(value: float, limit: float) -> float:
    """The margin of ``value < limit``: ``limit / value`` for positive numbers, ``value / limit`` for negative
    ones (-80 is 80/70 = 1.14 inside "below -70"); infinite when a non-positive value is below a positive
    limit, 0 when it is NaN or a positive value is above a non-positive limit."""
    if math.isnan(value) or math.isnan(limit):
        return 0.0
    if value == limit:
        return 1.0
    if limit > 0:
        if value <= 0:
            return math.inf
        return limit / value
    if limit == 0:
        return math.inf if value < 0 else 0.0
    # limit < 0
    if value >= 0:
        return 0.0
    return value / limit


@dataclass(frozen=True)
class Bound:
    """One comparison of a claim: ``value op limit``, with ``op`` ``"<"`` or ``">"``."""

    label: str  # what the value is, in a few words: "sigmoid training loss"
    value: float
    op: Op
    limit: float

    def __post_init__(self) -> None:
        if self.op not in ("<", ">"):
            raise ValueError(f"Bound {self.label!r}: op {self.op!r}; valid: '<' or '>'")
        object.__setattr__(self, "value", float(self.value))
        object.__setattr__(self, "limit", float(self.limit))

    @property
    def holds(self) -> bool:
        return self.value < self.limit if self.op == "<" else self.value > self.limit

    @property
    def margin(self) -> float:
        """How far inside its limit the value is, as a ratio: above 1 where it holds, 1.0 at the edge."""
        return _below(self.value, self.limit) if self.op == "<" else _below(self.limit, self.value)

    def as_dict(self) -> dict[str, object]:
        return {"label": self.label, "value": self.value, "op": self.op, "limit": self.limit, "margin": self.margin}


@dataclass(frozen=True)
class Claim:
    """What a run demonstrates, in one sentence, the bounds that decide it, and the numbers in words."""

    text: str  # "momentum reaches the minimum in fewer steps than SGD"
    evidence: str  # "momentum 212 steps, SGD 1,480"
    bounds: Sequence[Bound]  # kept as a tuple

    def __post_init__(self) -> None:
        object.__setattr__(self, "bounds", tuple(self.bounds))
        if not self.bounds or not all(isinstance(b, Bound) for b in self.bounds):
            raise TypeError(f"Claim {self.text[:40]!r}...: bounds must be one or more Bound objects")

    @property
    def holds(self) -> bool:
        return all(b.holds for b in self.bounds)

    @property
    def margin(self) -> float:
        """The smallest margin of its bounds: above 1 when the claim holds, 1.0 at the edge, below when it fails."""
        return min(b.margin for b in self.bounds)

    def as_dict(self) -> dict[str, object]:
        return {"text": self.text, "holds": self.holds, "margin": self.margin, "evidence": self.evidence,
                "bounds": [b.as_dict() for b in self.bounds]}  # fmt: skip
