"""Exercise of chapter 6, language models: the perplexity of a model's predictions, against
:func:`descentlab.lm.perplexity`.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from descentlab.exercises.cases import DTYPES, dtype_name, integer, pick, randn
from descentlab.exercises.core import Case, Exercise, Mistake, Tolerance
from descentlab.lm.model import perplexity as library_perplexity

# ---- perplexity -------------------------------------------------------------------------------------------


def perplexity(logits: Tensor, targets: Tensor) -> Tensor:
    return library_perplexity(logits, targets)


def _nll(logits: Tensor, targets: Tensor) -> Tensor:
    return -logits.log_softmax(-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)


def _perplexity_cases(gen: torch.Generator) -> list[Case]:
    shapes = [
        ((3, 10), "uniform"),
        ((1, 7), "random"),
        ((4, 2, 12), "random"),
        ((5, 9), "large"),
        ((2, 3, 4, 6), "random"),
        ((integer(gen, 1, 6), integer(gen, 2, 20)), "random"),
        ((integer(gen, 1, 4), integer(gen, 1, 4), integer(gen, 2, 15)), "random"),
    ]
    out = []
    for shape, kind in shapes:
        dtype = pick(gen, DTYPES)
        logits = (
            torch.zeros(shape, dtype=dtype)
            if kind == "uniform"
            else randn(shape, dtype, gen, 300.0 if kind == "large" else 2.0)
        )
        targets = torch.randint(0, shape[-1], shape[:-1], generator=gen)
        what = {
            "uniform": "equal logits (perplexity = V)",
            "random": "random logits",
            "large": "logits in the hundreds (use log_softmax)",
        }[kind]
        extra = " (one word)" if math.prod(shape[:-1]) == 1 else ""
        out.append(Case(f"{what}: logits {shape}{extra}, {dtype_name(dtype)}", (logits, targets)))
    return out


PERPLEXITY = Exercise(
    name="perplexity",
    chapter="lm",
    section="chapter-lm",
    difficulty=1,
    title="the perplexity of a language model's predictions",
    parameters=("logits", "targets"),
    returns="a 0-d tensor",
    docstring=r"""
The perplexity of a language model on some text (the lab book, chapter 6): the exponential of the mean
negative log-likelihood of the words that came,

    perplexity = exp( -(1 / N) * sum_i log p(w_i | w_<i) ),     p = softmax(logits) over the vocabulary

the mean taken over all N positions. A model that spreads its probability equally over V words has
perplexity V.

Arguments: logits, (..., V) float: unnormalized scores over a vocabulary of V words at each position (any
number of leading dimensions); targets, (...) int64: the index of the word that came at each position.
Returns a 0-d tensor of logits' dtype.

The checker tries equal logits, one word, 2-D to 4-D logits, logits in the hundreds (compute
log-probabilities with log_softmax, not log(softmax)), float32 and float64.
""",
    reference=perplexity,
    cases=_perplexity_cases,
    tolerance=Tolerance(rtol32=1e-4, atol32=1e-4, rtol64=1e-9, atol64=1e-9),
    mistakes=(
        Mistake(
            "exp of the sum",
            "You exponentiated the summed negative log-likelihood: perplexity uses the mean "
            "over positions, exp(-(1/N) sum log p).",
            "chapter-lm",
            lambda lg, t: _nll(lg, t).sum().exp(),
        ),
        Mistake(
            "logits as log-probabilities",
            "You used the raw logits as log-probabilities: normalize them first with log_softmax.",
            "chapter-lm",
            lambda lg, t: (-lg.gather(-1, t.unsqueeze(-1)).squeeze(-1).mean()).exp(),
        ),
        Mistake(
            "mean of per-word perplexities",
            "You averaged exp(-log p) over positions: the exponential comes after the mean, exp(mean(-log p)).",
            "chapter-lm",
            lambda lg, t: _nll(lg, t).exp().mean(),
        ),
        Mistake(
            "base 2",
            "You raised 2 to the mean negative natural-log-likelihood: with natural logarithms the "
            "base is e (2 goes with log base 2).",
            "chapter-lm",
            lambda lg, t: 2 ** _nll(lg, t).mean(),
        ),
    ),
)


EXERCISES = (PERPLEXITY,)
