"""What an exercise is, and how a function's outputs are compared with the reference and the known mistakes.

An :class:`Exercise` is one function a student writes: its name and signature, the docstring that states
the unit's equation, shapes and what the checker tries, the library function that is its reference, the
cases drawn at check time, and the known wrong variants (:class:`Mistake`), each with the sentence that
names the mistake and the lab book section that explains it.

Comparison (:func:`compare`) is element-wise, ``|got - expected| <= atol + rtol * |expected|``, with the
tolerance of the dtype (:class:`Tolerance`); shapes and dtypes must match, except that an expected ``bool``
tensor accepts any tensor of zeros and ones. The report of a failed case names its first differing element.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from descentlab.exercises.inside import plain

LAB_BOOK = "runs/tour/report.html"  # where `descentlab tour` writes the lab book


@dataclass(frozen=True)
class Tolerance:
    """Element-wise tolerance by dtype: ``|got - expected| <= atol + rtol * |expected|``."""

    rtol32: float = 1e-4
    atol32: float = 1e-5
    rtol64: float = 1e-7
    atol64: float = 1e-9

    def of(self, dtype: torch.dtype) -> tuple[float, float]:
        return (self.rtol64, self.atol64) if dtype == torch.float64 else (self.rtol32, self.atol32)

    def describe(self) -> str:
        """In words: ``float32: rtol 0.0001, atol 1e-05; float64: rtol 1e-07, atol 1e-09``."""
        return (
            f"float32: rtol {self.rtol32:g}, atol {self.atol32:g}; float64: rtol {self.rtol64:g}, atol {self.atol64:g}"
        )


@dataclass(frozen=True)
class Case:
    """One call of the exercise's function: a label saying what it tries, and the positional arguments."""

    label: str  # "float64, a batch of one, zero gradient"
    args: tuple[Any, ...]


@dataclass(frozen=True)
class Mistake:
    """A known wrong variant of an exercise, computed like the reference, and the sentence that diagnoses it."""

    name: str  # "no bias correction"
    explanation: str  # one sentence: what the student did and why it is wrong
    section: str  # the lab book's anchor that explains it ("optimization-adam")
    function: Callable[..., Any]  # the wrong variant, with the exercise's signature

    def sentence(self) -> str:
        return f"{self.explanation} (lab book: {LAB_BOOK}#{self.section})"


@dataclass(frozen=True)
class Exercise:
    """One function to write: the contract, the reference, the cases and the known mistakes."""

    name: str  # the function's name, also the exercise's: "adam_step"
    chapter: str  # the lab book chapter's id: "optimization"
    section: str  # the anchor of its section in the lab book: "optimization-adam"
    difficulty: int  # 1 (a line or two) to 3 (a loop over time, or indices)
    title: str  # "Adam with bias correction"
    parameters: tuple[str, ...]  # the signature's parameter names, in order
    docstring: str  # the unit's equation in its notation, with the erratum; shapes; what the tests try
    reference: Callable[..., Any]  # the library's own function behind this signature
    cases: Callable[[torch.Generator], list[Case]]  # drawn at check time from a seeded generator
    mistakes: tuple[Mistake, ...] = ()
    tolerance: Tolerance = field(default_factory=Tolerance)
    returns: str = ""  # what it returns, in words, for the template ("(w, m, v)")

    @property
    def signature(self) -> str:
        return f"{self.name}({', '.join(self.parameters)})"

    def template(self) -> str:
        """The file ``descentlab exercise start`` writes: the signature, the docstring, and no body."""
        text = (
            f"{self.docstring.strip()}\n\nEach output is compared with the reference's element by element, "
            f"|got - expected| <= atol + rtol |expected|,\nwith {self.tolerance.describe()}."
        )
        doc = "\n".join(("    " + line).rstrip() for line in text.splitlines())
        return (
            f"# Exercise {self.name}: {self.title}.\n"
            f"# Check it with: descentlab exercise check {self.name}.py\n"
            "import torch\n\n\n"
            f"def {self.signature}:\n"
            f'    """\n{doc}\n    """\n'
            f'    raise NotImplementedError("write {self.name}")\n'
        )


# ---- outputs: what a function returned, made comparable -----------------------------------------------


def _describe(value: Any) -> str:
    if isinstance(value, Tensor):
        return f"a {str(value.dtype).removeprefix('torch.')} tensor of shape {tuple(value.shape)}"
    if isinstance(value, tuple):
        return f"a tuple of {len(value)}"
    if isinstance(value, str):
        return f"a {value.strip('<>')}"
    return f"a {type(value).__name__} ({value!r})"


def _numbers(got: float, expected: float) -> tuple[str, str]:
    """The two numbers to at least 6 significant digits, and to as many as it takes to tell them apart."""
    for digits in (6, 10, 17):
        g, e = f"{got:.{digits}g}", f"{expected:.{digits}g}"
        if g != e:
            break
    return g, e


def compare(got: Any, expected: Any, tol: Tolerance, where: str = "") -> str | None:
    """None if ``got`` equals ``expected`` within ``tol``; otherwise what differs first, in one sentence."""
    name = where or "the result"
    if isinstance(expected, tuple):
        if not isinstance(got, tuple) or len(got) != len(expected):
            return f"{name}: expected a tuple of {len(expected)}, got {_describe(got)}"
        for i, (g, e) in enumerate(zip(got, expected, strict=True)):
            why = compare(g, e, tol, f"{where}[{i}]" if where else f"output [{i}]")
            if why:
                return why
        return None
    if isinstance(expected, Tensor):
        if not isinstance(got, Tensor):
            if isinstance(got, int | float) and expected.dim() == 0:
                got = torch.tensor(got, dtype=expected.dtype)
            else:
                return f"{name}: expected {_describe(expected)}, got {_describe(got)}"
        if tuple(got.shape) != tuple(expected.shape):
            return f"{name}: expected shape {tuple(expected.shape)}, got {tuple(got.shape)}"
        if expected.dtype == torch.bool:
            if got.dtype != torch.bool:
                if not bool(((got == 0) | (got == 1)).all()):
                    return f"{name}: expected True/False values (a bool tensor), got {_describe(got)} with other values"
                got = got != 0
            bad = (got != expected).nonzero()
            if len(bad):
                index = tuple(int(i) for i in bad[0])
                return f"{name}: first difference at index {index}: got {bool(got[index])}, expected {bool(expected[index])}"
            return None
        if got.dtype != expected.dtype:
            return f"{name}: expected dtype {str(expected.dtype).removeprefix('torch.')}, got {str(got.dtype).removeprefix('torch.')}"
        rtol, atol = tol.of(expected.dtype)
        g64, e64 = got.to(torch.float64), expected.to(torch.float64)
        ok = ((g64 - e64).abs() <= atol + rtol * e64.abs()) | ((g64 == e64) & e64.isinf()) | (g64.isnan() & e64.isnan())
        bad = (~ok).nonzero()
        if len(bad):
            index = tuple(int(i) for i in bad[0])
            g, e = float(g64[index]), float(e64[index])
            diff = abs(g - e)
            g_text, e_text = _numbers(g, e)
            return (
                f"{name}: {len(bad)} of {got.numel()} elements differ; first at index {index}: got {g_text}, "
                f"expected {e_text} (difference {diff:.3g}, allowed {atol + rtol * abs(e):.3g})"
            )
        return None
    if isinstance(expected, bool):
        return None if got == expected else f"{name}: expected {expected}, got {got!r}"
    if isinstance(expected, int | float):
        if isinstance(got, Tensor) and got.numel() == 1:
            got = float(got)
        if not isinstance(got, int | float) or isinstance(got, bool):
            return f"{name}: expected a number, got {_describe(got)}"
        rtol, atol = tol.of(torch.float64)
        if math.isclose(got, expected, rel_tol=rtol, abs_tol=atol) or (math.isnan(got) and math.isnan(expected)):
            return None
        g_text, e_text = _numbers(float(got), expected)
        return f"{name}: got {g_text}, expected {e_text}"
    return None if got == expected else f"{name}: expected {expected!r}, got {got!r}"


def copied(args: Sequence[Any]) -> tuple[Any, ...]:
    """Arguments a function may change in place without changing the case."""
    return tuple(a.clone() if isinstance(a, Tensor) else a for a in args)


def outputs(fn: Callable[..., Any], cases: Sequence[Case]) -> list[Any]:
    """``fn`` on every case, made :func:`plain`; a case it cannot compute is None (a variant that needs
    equal sizes, say)."""
    out = []
    for case in cases:
        try:
            out.append(plain(fn(*copied(case.args))))
        except Exception:
            out.append(None)
    return out


# ---- the verdict of one function on an exercise ---------------------------------------------------------


@dataclass(frozen=True)
class CaseResult:
    label: str
    status: str  # "passed", "failed", "raised", "timeout", "memory", "not run"
    message: str = ""  # what differed, or the error


@dataclass(frozen=True)
class Result:
    """How one submitted function did on one exercise."""

    exercise: str
    seed: int
    cases: tuple[CaseResult, ...] = ()
    mistake: Mistake | None = None  # the known mistake its outputs equal
    problem: str = ""  # why no case could run: no such function, a wrong signature, a syntax error, ...
    warnings: tuple[str, ...] = ()
    seconds: float = 0.0

    @property
    def passed(self) -> int:
        return sum(c.status == "passed" for c in self.cases)

    @property
    def total(self) -> int:
        return len(self.cases)

    @property
    def score(self) -> float:
        """The fraction of cases passed (0 when none ran)."""
        return self.passed / self.total if self.total and not self.problem else 0.0

    @property
    def ok(self) -> bool:
        return not self.problem and self.total > 0 and self.passed == self.total

    @property
    def diagnosis(self) -> str:
        """In one phrase: what went wrong ("" when every case passed)."""
        if self.problem:
            return self.problem
        if self.mistake is not None:
            return self.mistake.name
        if self.ok:
            return ""
        statuses = {c.status for c in self.cases if c.status != "passed"}
        if "timeout" in statuses:
            return "did not return in time"
        if "memory" in statuses:
            return "exceeded the memory limit"
        if "raised" in statuses:
            return "raised an error"
        return "wrong output (no known mistake matches)"

    def as_dict(self) -> dict[str, Any]:
        return {
            "exercise": self.exercise,
            "seed": self.seed,
            "passed": self.passed,
            "total": self.total,
            "score": self.score,
            "ok": self.ok,
            "problem": self.problem,
            "mistake": None
            if self.mistake is None
            else {"name": self.mistake.name, "explanation": self.mistake.sentence()},
            "diagnosis": self.diagnosis,
            "warnings": list(self.warnings),
            "seconds": round(self.seconds, 3),
            "cases": [{"label": c.label, "status": c.status, "message": c.message} for c in self.cases],
        }


@dataclass(frozen=True)
class Expected:
    """An exercise's cases with the reference's outputs and every mistake's, computed once per seed."""

    exercise: Exercise
    seed: int
    cases: tuple[Case, ...]
    reference: tuple[Any, ...]
    variants: tuple[tuple[Any, ...], ...]  # per mistake, per case (None: the variant does not apply)


def case_generator(seed: int, name: str) -> torch.Generator:
    """The generator of an exercise's cases: one per seed and exercise, so that adding an exercise does not
    change another's cases."""
    return torch.Generator().manual_seed((seed * 1_000_003 + sum(ord(c) * 31**i for i, c in enumerate(name))) % 2**63)


def expected(exercise: Exercise, seed: int) -> Expected:
    """Draw the cases of ``seed`` and compute the reference's and the mistakes' outputs on them."""
    cases = tuple(exercise.cases(case_generator(seed, exercise.name)))
    reference = []
    for case in cases:
        reference.append(plain(exercise.reference(*copied(case.args))))
    variants = tuple(tuple(outputs(m.function, cases)) for m in exercise.mistakes)
    return Expected(exercise, seed, cases, tuple(reference), variants)


def diagnose(exp: Expected, got: Sequence[Any]) -> Mistake | None:
    """The first known mistake whose outputs the submission's equal on every case both computed, provided
    the submission failed at least one of those cases."""
    tol = exp.exercise.tolerance
    for mistake, variant in zip(exp.exercise.mistakes, exp.variants, strict=True):
        both = [i for i, (g, v) in enumerate(zip(got, variant, strict=True)) if g is not None and v is not None]
        if not any(compare(got[i], exp.reference[i], tol) for i in both):
            continue
        if all(compare(got[i], variant[i], tol) is None for i in both):
            return mistake
    return None


def judge(
    exp: Expected, got: Sequence[Any], errors: Sequence[tuple[str, str] | None]
) -> tuple[list[CaseResult], Mistake | None]:
    """Each case's verdict from the submission's outputs (None where it did not return) and errors
    (``(status, message)`` where it raised, ran out of time or memory, or was not run)."""
    results = []
    for case, g, e, ref in zip(exp.cases, got, errors, exp.reference, strict=True):
        if e is not None:
            results.append(CaseResult(case.label, *e))
            continue
        why = compare(g, ref, exp.exercise.tolerance)
        results.append(CaseResult(case.label, "passed" if why is None else "failed", why or ""))
    mistake = diagnose(exp, [g if e is None else None for g, e in zip(got, errors, strict=True)])
    return results, mistake


def check_function(exercise: Exercise, fn: Callable[..., Any], seed: int = 0) -> Result:
    """Check ``fn`` on ``exercise`` in this process (no time or memory limit): the library's API for a
    function already in hand. The command line runs submissions in their own process instead."""
    exp = expected(exercise, seed)
    got: list[Any] = []
    errors: list[tuple[str, str] | None] = []
    for case in exp.cases:
        try:
            got.append(plain(fn(*copied(case.args))))
            errors.append(None)
        except Exception as e:
            got.append(None)
            errors.append(("raised", f"{type(e).__name__}: {e}"))
    results, mistake = judge(exp, got, errors)
    return Result(exercise.name, seed, tuple(results), mistake)
