"""Exercise of chapter 3, generalization: dropout, against :func:`descentlab.generalize.dropout.dropout`."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from descentlab.exercises.cases import DTYPES, dtype_name, integer, pick, randn
from descentlab.exercises.core import Case, Exercise, Mistake
from descentlab.generalize.dropout import dropout as library_dropout

# ---- dropout ----------------------------------------------------------------------------------------------


def dropout(x: Tensor, keep: float, u: Tensor, training: bool) -> Tensor:
    return library_dropout(x, keep, u, training)


def _dropout_cases(gen: torch.Generator) -> list[Case]:
    fixed = [
        ((4, 5), 0.5, True, torch.float32),
        ((3,), 0.8, True, torch.float64),
        ((2, 3), 0.8, False, torch.float32),
        ((1,), 1.0, True, torch.float64),
        ((6, 6), 0.2, True, torch.float64),
    ]
    rand = [
        (
            (integer(gen, 1, 5), integer(gen, 1, 7)),
            pick(gen, (0.5, 0.6, 0.8, 0.9)),
            bool(integer(gen, 0, 1)),
            pick(gen, DTYPES),
        )
        for _ in range(4)
    ]
    out = []
    for shape, keep, training, dtype in fixed + rand:
        x = randn(shape, dtype, gen)
        u = torch.rand(shape, generator=gen, dtype=torch.float64).to(dtype)
        mode = "training" if training else "evaluation"
        out.append(Case(f"{mode}, keep {keep}: {dtype_name(dtype)} {shape}", (x, keep, u, training)))
    return out


def _drop(
    x: Tensor,
    keep: float,
    u: Tensor,
    training: bool,
    *,
    scale: str = "keep",
    kept: str = "below",
    at_eval: str = "identity",
) -> Tensor:
    """Dropout with one of its known slips (the variants below)."""
    if not training:
        return x * keep if at_eval == "scaled" else (x * (u < keep) / keep if at_eval == "dropped" else x)
    mask = (u < keep) if kept == "below" else (u >= keep)
    factor = {"keep": 1 / keep, "drop": 1 / (1 - keep) if keep < 1 else math.inf, "none": 1.0}[scale]
    return x * mask.to(x.dtype) * factor


DROPOUT = Exercise(
    name="dropout",
    chapter="generalization",
    section="generalization-dropout",
    difficulty=1,
    title="inverted dropout with the keep probability",
    parameters=("x", "keep", "u", "training"),
    returns="the dropped-out x",
    docstring=r"""
Dropout in the unit's convention (the lab book, chapter 3, Dropout): keep is the probability of KEEPING a
unit (1.0 = no dropout), not PyTorch's p, the probability of dropping one.

In training, element i is kept where u[i] < keep, and the kept elements are divided by keep ("inverted
dropout"), so the expected value of each element is unchanged; the others become 0:

    out = x * (u < keep) / keep          (training)
    out = x                              (evaluation: the network is used as it is)

Erratum: the unit's "probability of training a given node" is the keep probability, and "input layers use
a larger dropout rate, such as 0.8" means a larger keep probability.

Arguments: x, activations, a tensor of any shape; keep, 0 < keep <= 1; u, draws from U(0, 1) of x's shape
and dtype (given, so that the mask is reproducible); training, a bool.
Returns a tensor of x's shape and dtype.

The checker tries float32 and float64, keep from 0.2 to 1.0, training and evaluation.
""",
    reference=dropout,
    cases=_dropout_cases,
    mistakes=(
        Mistake(
            "divided by the drop probability",
            "You divided the kept units by 1 - keep, the drop probability: "
            "divide by keep, so that each unit's expected value stays x.",
            "generalization-dropout",
            lambda *a: _drop(*a, scale="drop"),
        ),
        Mistake(
            "PyTorch's convention",
            "You treated keep as the probability of dropping (PyTorch's p): in the "
            "unit's convention an element is kept with probability keep (where u < keep) and divided by keep.",
            "generalization-dropout",
            lambda *a: _drop(*a, kept="above", scale="drop"),
        ),
        Mistake(
            "no scaling in training",
            "You did not divide the kept units by keep: without it the expected "
            "activation in training is keep * x, and the network sees larger activations at test time.",
            "generalization-dropout",
            lambda *a: _drop(*a, scale="none"),
        ),
        Mistake(
            "scaled at test time",
            "You implemented the original dropout (no scaling in training, x * keep at "
            "test time); this exercise asks for inverted dropout: divide by keep in training, and return x "
            "unchanged in evaluation.",
            "generalization-dropout",
            lambda *a: _drop(*a, scale="none", at_eval="scaled"),
        ),
        Mistake(
            "dropout in evaluation",
            "You dropped units in evaluation too: when training is False, dropout returns x unchanged.",
            "generalization-dropout",
            lambda *a: _drop(*a, at_eval="dropped"),
        ),
    ),
)

EXERCISES = (DROPOUT,)
