"""``descentlab exercise``: list the exercises, start one, check a file, grade a class.

The commands of :mod:`descentlab.exercises`. They import no experiment, so ``descentlab exercise ...``
starts in the time it takes to import torch (:mod:`descentlab.cli.main` builds only this group's parser for them).
"""

from __future__ import annotations

import json
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

from descentlab.command import Call, Command, Group
from descentlab.config import Options, param
from descentlab.errors import ParameterError, UserError, printable, shown
from descentlab.exercises import CHAPTERS, EXERCISES, NAMES, Result, exercise, jail
from descentlab.exercises.core import LAB_BOOK
from descentlab.exercises.grading import (
    DEFAULT_MEMORY_MB,
    DEFAULT_TIMEOUT,
    NOT_SANDBOXED,
    check_file,
    grade,
    write_grades,
)
from descentlab.runs import format_table

DIFFICULTY = {1: "easy", 2: "medium", 3: "hard"}


# ---- list -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListOptions(Options):
    json: bool = param(False, "print one JSON object instead of a table")


def list_exercises(call: Call) -> int:
    if call.options.json:
        print(
            json.dumps(
                [
                    {
                        "name": e.name,
                        "chapter": CHAPTERS[e.chapter],
                        "chapter_id": e.chapter,
                        "difficulty": e.difficulty,
                        "title": e.title,
                        "signature": e.signature,
                        "mistakes": [m.name for m in e.mistakes],
                    }
                    for e in EXERCISES
                ]
            )
        )
        return 0
    rows = [
        [e.name, f"{CHAPTERS[e.chapter]} {e.chapter}", DIFFICULTY[e.difficulty], e.title, str(len(e.mistakes))]
        for e in EXERCISES
    ]
    print(format_table(["exercise", "chapter", "difficulty", "what to write", "known mistakes"], rows))
    print("\nstart one with: descentlab exercise start NAME; check it with: descentlab exercise check NAME.py")
    return 0


# ---- start ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StartOptions(Options):
    name: str = param(
        "", "the exercise (descentlab exercise list names them)", positional=True, metavar="NAME", choices=NAMES
    )
    dir: str = param(".", "the folder to write NAME.py in (made if missing)", metavar="DIR")


def start_exercise(call: Call) -> int:
    opts: StartOptions = call.options
    ex = exercise(opts.name)
    folder = Path(opts.dir)
    path = folder / f"{ex.name}.py"
    if path.exists() or path.is_symlink():
        raise ParameterError(
            "dir",
            f"{shown(path)} already exists; it is never overwritten: check it with "
            f"'descentlab exercise check {shlex.quote(str(path))}', or give another --dir",
        )
    blocker = next((p for p in (folder, *folder.parents) if p.exists()), None)
    if blocker is not None and not blocker.is_dir():
        raise ParameterError("dir", f"{shown(blocker)} is a file, so nothing can be written under it")
    folder.mkdir(parents=True, exist_ok=True)
    with open(path, "x", encoding="utf-8") as f:  # "x": never overwrite, even if it appeared meanwhile
        f.write(ex.template())
    print(f"wrote {path}: write {ex.signature} there, then run: descentlab exercise check {shlex.quote(str(path))}")
    return 0


# ---- check ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckOptions(Options):
    file: str = param(
        "", "a .py file or a Jupyter notebook (.ipynb) that defines exercise functions", positional=True, metavar="FILE"
    )
    exercise: tuple[str, ...] = param(
        (), "check only these exercises (default: every one FILE defines)", metavar="NAME"
    )
    seed: int | None = param(
        None, "seed of the cases (default: a new one each time, printed to repeat it)", low=0, high=2**31 - 1
    )
    timeout: float = param(
        DEFAULT_TIMEOUT, "seconds the code of each exercise may take (loading it included)", low=1.0, high=3600.0
    )
    memory_mb: int = param(DEFAULT_MEMORY_MB, "memory (MiB) each exercise may allocate", low=16, high=1_048_576)
    json: bool = param(False, "print one JSON object instead of the report")

    def __post_init__(self) -> None:
        super().__post_init__()
        _known("exercise", self.exercise)


def _known(field: str, names: tuple[str, ...]) -> None:
    unknown = [n for n in names if n not in NAMES]
    if unknown:
        raise ParameterError(field, f"{unknown[0]!r} is not an exercise; valid: {', '.join(NAMES)}")


def _report(r: Result) -> str:
    ex = exercise(r.exercise)
    lines = []
    if r.problem:
        lines.append(f"{r.exercise}: FAILED: {r.problem}")
    else:
        verdict = "passed" if r.ok else "FAILED"
        lines.append(
            f"{r.exercise}: {verdict}: {r.passed} of {r.total} cases passed (seed {r.seed}; "
            f"tolerance {ex.tolerance.describe()})"
        )
        for c in r.cases:
            mark = "  ok  " if c.status == "passed" else f"  {c.status.upper() if c.status != 'failed' else 'FAIL'}"
            lines.append(f"{mark} {c.label}" + (f"\n         {c.message}" if c.message else ""))
    if r.mistake is not None:
        lines.append(f"  diagnosis: {r.mistake.name}. {r.mistake.sentence()}")
    elif not r.ok and not r.problem and not any(c.status in ("timeout", "memory", "raised") for c in r.cases):
        lines.append(
            f"  diagnosis: no known mistake matches; compare with the equations in the docstring "
            f"(descentlab exercise start {r.exercise} --dir new) and the lab book: {LAB_BOOK}#{ex.section}"
        )
    lines += [f"  warning: {w}" for w in r.warnings]
    return "\n".join(printable(line) if "\n" not in line else line for line in lines)


def check(call: Call) -> int:
    opts: CheckOptions = call.options
    try:
        unconfined = jail.unavailable()
        if unconfined:
            print(f"not sandboxed ({unconfined}): your file runs in a process of its own", file=sys.stderr)
        results = check_file(opts.file, opts.exercise, opts.seed, opts.timeout, opts.memory_mb, sandbox=not unconfined)
    except UserError as e:
        if str(e).startswith(opts.file):
            raise ParameterError("file", str(e)) from None
        raise
    if opts.json:
        print(json.dumps({"file": opts.file, "seed": results[0].seed, "results": [r.as_dict() for r in results]}))
    else:
        print("\n\n".join(_report(r) for r in results))
        if not all(r.ok for r in results):
            print(f"\nrepeat these cases with --seed {results[0].seed}")
    return 0 if all(r.ok for r in results) else 1


# ---- grade ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GradeOptions(Options):
    submissions: str = param(
        "", "a folder with a folder (or a .py or .ipynb file) per student", positional=True, metavar="SUBMISSIONS_DIR"
    )
    exercises: tuple[str, ...] = param(
        (), "the exercises to grade (default: every one a student submitted)", metavar="NAME"
    )
    out: str = param("grades.csv", "the CSV to write; the HTML summary goes beside it (.html)", metavar="FILE")
    seed: int | None = param(
        None,
        "seed of the cases, the same for every student (default: a new one, written to the CSV and the summary)",
        low=0,
        high=2**31 - 1,
    )
    timeout: float = param(DEFAULT_TIMEOUT, "seconds each exercise of each student may take", low=1.0, high=3600.0)
    memory_mb: int = param(
        DEFAULT_MEMORY_MB, "memory (MiB) each exercise of each student may allocate", low=16, high=1_048_576
    )
    jobs: int = param(0, "students checked at once (0: one per CPU core)", low=0, high=256)
    no_sandbox: bool = param(
        False, "run the submissions unconfined, without bubblewrap (they can then reach your files, network and "
        "processes, and forge their results); said in the output and the summary",
    )  # fmt: skip
    allow_library: bool = param(False, "let submissions import descentlab (whose functions are the references)")

    def __post_init__(self) -> None:
        super().__post_init__()
        _known("exercises", self.exercises)
        if Path(self.out).suffix.lower() != ".csv":
            raise ParameterError("out", f"{self.out}: the grades are a CSV file; give a name ending in .csv")


def _check_out(path: Path) -> None:
    for target in (path, path.with_suffix(".html")):
        if target.is_dir():
            raise ParameterError("out", f"{shown(target)}: is a folder; give a file name ending in .csv")
    blocker = next((p for p in (path.parent, *path.parent.parents) if p.exists()), Path("."))
    if not blocker.is_dir():
        raise ParameterError("out", f"{shown(blocker)} is a file, so nothing can be written under it")


def grade_class(call: Call) -> int:
    opts: GradeOptions = call.options
    out = Path(opts.out)
    _check_out(out)
    done = [0]

    def progress(student: str, result: Result) -> None:
        done[0] += 1
        mark = "ok" if result.ok else result.diagnosis
        print(printable(f"[{done[0]}] {student} {result.exercise}: {result.score:.2f} {mark}"), file=sys.stderr)

    try:
        if opts.no_sandbox:
            print(f"descentlab: warning: {NOT_SANDBOXED}", file=sys.stderr)
        grades = grade(opts.submissions, opts.exercises, opts.seed, opts.timeout, opts.memory_mb, opts.jobs, progress,
                       sandbox=not opts.no_sandbox, allow_library=opts.allow_library)  # fmt: skip
    except UserError as e:
        if str(e).startswith((opts.submissions, repr(opts.submissions))):
            raise ParameterError("submissions", str(e)) from None
        raise
    command = [
        "descentlab",
        "exercise",
        "grade",
        opts.submissions,
        "--exercises",
        *grades.exercises,
        "--seed",
        str(grades.seed),
        "--out",
        opts.out,
        *(["--no-sandbox"] if opts.no_sandbox else []),
        *(["--allow-library"] if opts.allow_library else []),
    ]
    csv_path, html_path = write_grades(grades, out, shlex.join(command))
    rows = [
        [printable(s), f"{grades.total(s):.2f}"] + [f"{grades.results[s, n].score:.2f}" for n in grades.exercises]
        for s in grades.students
    ]
    print(format_table(["student", "total", *grades.exercises], rows))
    print(f"\ngrades: {csv_path}\nsummary: {html_path}\nseed {grades.seed} (repeat with --seed {grades.seed})")
    return 0


EXERCISE_LIST = Command(
    command="exercise list",
    help="the lab exercises: name, chapter, difficulty",
    description="The functions of the unit a student writes and the checker grades, in the unit's order.",
    examples=("descentlab exercise list", "descentlab exercise list --json"),
    run=list_exercises,
    options=ListOptions,
)
EXERCISE_START = Command(
    command="exercise start",
    help="write an exercise's template (never overwriting a file)",
    description="Write NAME.py: the function's signature and a docstring with the unit's equation, the\n"
    "shapes, and what the checker tries. An existing file is never overwritten.",
    examples=("descentlab exercise start adam_step", "descentlab exercise start bilinear_sample --dir lab4"),
    run=start_exercise,
    options=StartOptions,
)
EXERCISE_CHECK = Command(
    command="exercise check",
    help="check a .py file or notebook: each case passed or failed, and the known mistake it makes",
    description="Run the exercise functions FILE defines on cases drawn now (shapes, dtypes, edge cases), in a\n"
    "process of their own with a time and a memory limit; compare each with the library's reference and\n"
    "name the known mistake the outputs match. Exit code 0 when every case passed, 1 otherwise.",
    examples=(
        "descentlab exercise check adam_step.py",
        "descentlab exercise check lab.ipynb --exercise lstm_step",
        "descentlab exercise check adam_step.py --seed 7 --json",
    ),
    run=check,
    options=CheckOptions,
)
EXERCISE_GRADE = Command(
    command="exercise grade",
    help="grade a class: every submission in its own process; a CSV and an HTML summary",
    description="Check every student's submissions (SUBMISSIONS_DIR/STUDENT/*.py|*.ipynb, or\n"
    "SUBMISSIONS_DIR/STUDENT.py) on the same cases, each exercise of each student in its own process with a\n"
    "time and a memory limit. Writes the CSV (a row per student: each exercise's score, the fraction of its\n"
    "cases passed, and the diagnosed mistake; the seed) and an HTML summary of the most common mistakes.",
    examples=(
        "descentlab exercise grade submissions --out grades.csv",
        "descentlab exercise grade submissions --exercises adam_step lstm_step --seed 1 --timeout 10",
    ),
    run=grade_class,
    options=GradeOptions,
)

COMMANDS: tuple[Command, ...] = (EXERCISE_LIST, EXERCISE_START, EXERCISE_CHECK, EXERCISE_GRADE)
GROUP = Group(
    "exercise",
    "lab exercises: write the unit's algorithms, check them, grade a class",
    "Exercises for the unit's algorithms (optimizer steps, dropout, the spatial transformer's grid and\n"
    "sampler, RNN and LSTM steps, perplexity, Q-learning, returns and GAE, a LIF neuron). Each is checked\n"
    "against the library's own implementation, and the known mistakes are named.",
    (
        "descentlab exercise list",
        "descentlab exercise start adam_step",
        "descentlab exercise check adam_step.py",
        "descentlab exercise grade submissions --out grades.csv",
    ),
)
