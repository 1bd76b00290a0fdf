"""Lab exercises with an automatic checker: a student writes one function of the unit, the checker runs it on
cases drawn at check time, compares it with the library's own implementation, and names the known mistake
its outputs match.

>>> from descentlab.exercises import exercise, check_function
>>> def gd_step(w, grad, lr):
...     return w - lr * grad
>>> check_function(exercise("gd_step"), gd_step, seed=0).ok
True

:data:`EXERCISES` lists them in the unit's order; each :class:`Exercise` holds its signature, the docstring
of its template (the unit's equation, with the erratum where the unit is wrong; shapes; what the checker
tries), the reference (a function of the library, never a second copy), its cases and its known mistakes.
:func:`check_function` checks a function in this process; :func:`descentlab.exercises.grading.check_file`
and :func:`~descentlab.exercises.grading.grade` run submissions in their own processes, with a time and a
memory limit.
"""

from __future__ import annotations

from descentlab.exercises import agents, generalization, lm, neurons, optimizers, rnn, stn
from descentlab.exercises.core import (
    Case,
    CaseResult,
    Exercise,
    Expected,
    Mistake,
    Result,
    Tolerance,
    check_function,
    compare,
    expected,
)

EXERCISES: tuple[Exercise, ...] = (
    *optimizers.EXERCISES,
    *generalization.EXERCISES,
    *stn.EXERCISES,
    *rnn.EXERCISES,
    *lm.EXERCISES,
    *agents.EXERCISES,
    *neurons.EXERCISES,
)
NAMES = tuple(e.name for e in EXERCISES)
CHAPTERS = {
    "optimization": 1,
    "nonconvex": 2,
    "generalization": 3,
    "stn": 4,
    "rnn": 5,
    "lm": 6,
    "rl": 7,
    "neuro": 8,
}


def exercise(name: str) -> Exercise:
    """The exercise called ``name`` (``"adam_step"``); ``ValueError`` naming the valid ones otherwise."""
    for e in EXERCISES:
        if e.name == name:
            return e
    raise ValueError(f"no exercise {name!r}; valid: {', '.join(NAMES)}")


__all__ = [
    "CHAPTERS",
    "EXERCISES",
    "NAMES",
    "Case",
    "CaseResult",
    "Exercise",
    "Expected",
    "Mistake",
    "Result",
    "Tolerance",
    "check_function",
    "compare",
    "exercise",
    "expected",
]
