"""Checking a student's file, and grading a whole class: each submission runs in its own process.

:func:`check_file` checks every exercise a ``.py`` file or notebook defines (or those named). :func:`grade`
checks a folder of submissions, one sub-folder (or one file) per student, each exercise of each student in
its own process with a time and a memory limit, so a submission that loops, crashes, prints megabytes or
allocates without bound loses only its own marks. The cases come from one seed for the whole class (every
student gets the same cases) and the seed is written with the grades: the same submissions and seed give the
same grades. :func:`write_grades` writes the CSV (one row per student: each exercise's score and diagnosed
mistake) and an HTML summary (the most common mistakes).
"""

from __future__ import annotations

import csv
import dataclasses
import html
import io
import os
import secrets
import tempfile
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from descentlab.errors import UserError, shown
from descentlab.exercises import EXERCISES, NAMES, exercise, jail
from descentlab.exercises.core import Expected, Result, expected, judge
from descentlab.exercises.sandbox import Outcome, run
from descentlab.exercises.sources import MAX_BYTES, SUFFIXES, Submission, read_submission

DEFAULT_TIMEOUT = 10.0  # seconds the code of one exercise of one submission may take, loading it included
DEFAULT_MEMORY_MB = 2048  # beyond what the process needs to start
NOT_SANDBOXED = "NOT SANDBOXED: the submission ran unconfined, with the teacher's files, network and processes in reach"
IMPORTS_WARNING = (
    "it imports descentlab, whose functions are the references: the checker cannot tell this work from the library's"
)


def new_seed() -> int:
    """A seed for cases drawn afresh (recorded with the results, to repeat them)."""
    return secrets.randbelow(2**31)


def _verdict(exp: Expected, outcome: Outcome, warnings: tuple[str, ...]) -> Result:
    """The result of one exercise from what its process returned; whatever the outputs are, a result (a
    value the comparison cannot take is a malformed result, never an error of the grader)."""
    ex = exp.exercise
    if outcome.problem:
        return Result(ex.name, exp.seed, problem=outcome.problem, warnings=warnings, seconds=outcome.seconds)
    try:
        cases, mistake = judge(exp, outcome.outputs, outcome.errors)
    except Exception as e:
        problem = f"malformed result: {type(e).__name__} comparing its outputs"
        return Result(ex.name, exp.seed, problem=problem, warnings=warnings, seconds=outcome.seconds)
    return Result(ex.name, exp.seed, tuple(cases), mistake, warnings=warnings, seconds=outcome.seconds)


def _unparsed(exp: Expected, sub: Submission, warnings: tuple[str, ...]) -> Result | None:
    if sub.syntax_error and exp.exercise.name not in sub.defines:
        return Result(exp.exercise.name, exp.seed, problem=f"does not parse: {sub.syntax_error}", warnings=warnings)
    return None


def _check(exp: Expected, sub: Submission, timeout: float, memory_mb: int) -> Result:
    """One exercise of one submission in a process of its own, without a sandbox."""
    ex = exp.exercise
    warnings = (IMPORTS_WARNING,) if sub.imports_descentlab else ()
    early = _unparsed(exp, sub, warnings)
    if early is not None:
        return early
    outcome = run(
        [(b.filename, b.source) for b in sub.blocks],
        ex.name,
        ex.parameters,
        [c.args for c in exp.cases],
        folder=str(sub.path.parent.resolve()),
        timeout=timeout,
        memory_mb=memory_mb,
    )
    return _verdict(exp, outcome, warnings)


def _check_sandboxed(
    work: Sequence[tuple[Expected, Submission]], files: Sequence[tuple[str, bytes]], timeout: float, memory_mb: int,
    allow_library: bool,
) -> list[Result]:  # fmt: skip
    """One student's exercises in one bubblewrap sandbox (:mod:`descentlab.exercises.jail`)."""
    results: dict[int, Result] = {}
    runnable = []
    warnings = [(IMPORTS_WARNING,) if sub.imports_descentlab and allow_library else () for _, sub in work]
    for i, (exp, sub) in enumerate(work):
        early = _unparsed(exp, sub, warnings[i])
        if early is not None:
            results[i] = early
        else:
            runnable.append(i)
    jobs = [
        jail.Exercise(tuple((b.filename, b.source) for b in work[i][1].blocks), work[i][0].exercise.name,
                      work[i][0].exercise.parameters, tuple(tuple(c.args) for c in work[i][0].cases))
        for i in runnable
    ]  # fmt: skip
    outcomes = jail.run_sandboxed(jobs, files, timeout, memory_mb, allow_library) if jobs else []
    for i, outcome in zip(runnable, outcomes, strict=True):
        results[i] = _verdict(work[i][0], outcome, warnings[i])
    return [results[i] for i in range(len(work))]


def student_files(paths: Sequence[Path], base: Path) -> list[tuple[str, bytes]]:
    """A student's own ``.py`` files, as (path relative to ``base``, contents), for the sandbox's working
    folder: what ``import helper`` may find beside the submission."""
    out = []
    for p in paths:
        if p.suffix == ".py" and p.is_file() and not p.is_symlink() and p.stat().st_size <= MAX_BYTES:
            out.append((p.relative_to(base).as_posix(), p.read_bytes()))
    return out


def require_sandbox() -> None:
    """:class:`UserError`, naming what to install, where no bubblewrap sandbox can be made."""
    why = jail.unavailable()
    if why:
        raise UserError(f"cannot sandbox the submissions: {why}; or pass --no-sandbox to run them unconfined")


def _valid_names(names: Sequence[str]) -> list[str]:
    for n in names:
        exercise(n)  # ValueError naming the valid ones
    return list(dict.fromkeys(names))


def exercises_in(sub: Submission) -> list[str]:
    """The exercises a submission defines; for a file that does not parse, the one its name gives."""
    found = sub.defined(NAMES)
    if not found and sub.syntax_error and sub.path.stem in NAMES:
        found = [sub.path.stem]
    return found


def check_file(
    path: str | Path,
    names: Sequence[str] = (),
    seed: int | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    memory_mb: int = DEFAULT_MEMORY_MB,
    jobs: int = 0,
    sandbox: bool | None = None,
) -> list[Result]:
    """Check the exercises the file at ``path`` defines (or ``names``): under bubblewrap where it is available
    (``sandbox=None``) or asked for (``True``), else each in a process of its own (``False``)."""
    names = _valid_names(names)
    sub = read_submission(path, tuple(names) or NAMES)
    chosen = names or exercises_in(sub)
    if not chosen:
        if sub.syntax_error:
            raise UserError(f"{shown(path)} does not parse ({sub.syntax_error}); name the exercise with --exercise")
        raise UserError(
            f"{shown(path)} defines none of the exercises' functions ({', '.join(NAMES)}); "
            "start one with: descentlab exercise start NAME"
        )
    seed = new_seed() if seed is None else seed
    exps = [expected(exercise(n), seed) for n in chosen]
    if sandbox is None:
        sandbox = not jail.unavailable()
    if sandbox:
        require_sandbox()
        own = student_files([sub.path], sub.path.parent)
        return _check_sandboxed([(e, sub) for e in exps], own, timeout, memory_mb, allow_library=True)
    with ThreadPoolExecutor(max_workers=jobs or os.cpu_count() or 1) as pool:
        return list(pool.map(lambda e: _check(e, sub, timeout, memory_mb), exps))


# ---- a class --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Grades:
    seed: int
    exercises: tuple[str, ...]
    students: tuple[str, ...]
    results: dict[tuple[str, str], Result]  # (student, exercise) -> result
    sandboxed: bool = True  # the checks ran under bubblewrap

    def total(self, student: str) -> float:
        return sum(self.results[student, e].score for e in self.exercises)


def submissions(folder: str | Path) -> dict[str, list[Path] | str]:
    """Each student's files: ``FOLDER/STUDENT/**.py|.ipynb`` (two levels down at most) or ``FOLDER/STUDENT.py``;
    for a student whose folder or file is a link (or holds one), why it is not graded, never following it."""
    root = Path(folder)
    if not root.is_dir():
        raise UserError(f"{shown(root)}: no such folder" if not root.exists() else f"{shown(root)}: not a folder")
    found: dict[str, list[Path] | str] = {}
    for entry in sorted(root.iterdir()):
        if entry.name.startswith((".", "_")):
            continue
        if entry.is_symlink():
            if entry.suffix in SUFFIXES or entry.is_dir():
                key = entry.stem if entry.suffix in SUFFIXES else entry.name
                found[key] = f"not a regular file in the folder: {entry.name} is a link"
            continue
        if entry.is_file() and entry.suffix in SUFFIXES:
            files = found.setdefault(entry.stem, [])
            if isinstance(files, list):
                files.append(entry)
        elif entry.is_dir():
            candidates = sorted(
                p
                for pattern in ("*", "*/*")
                for p in entry.glob(pattern)
                if p.suffix in SUFFIXES and not any(part.startswith((".", "_")) for part in p.relative_to(entry).parts)
            )
            linked = [p for p in candidates if p.is_symlink() or p.parent.is_symlink()]
            files = [p for p in candidates if p.is_file()]
            if linked:
                found[entry.name] = (
                    f"not a regular file in the folder: {linked[0].relative_to(root).as_posix()} is a link"
                )
            elif files:
                found[entry.name] = files
    if not found:
        raise UserError(
            f"{shown(root)} holds no submissions (a folder per student with .py or .ipynb files, "
            "or a .py or .ipynb file per student)"
        )
    return found


def grade(
    folder: str | Path,
    names: Sequence[str] = (),
    seed: int | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    memory_mb: int = DEFAULT_MEMORY_MB,
    jobs: int = 0,
    progress: Callable[[str, Result], None] | None = None,
    sandbox: bool = True,
    allow_library: bool = False,
) -> Grades:
    """Grade every student's submissions under ``folder`` on ``names`` (default: every exercise any student
    submitted). With ``sandbox`` (the default; :class:`UserError` if bubblewrap is not available) each
    student's exercises run in a bubblewrap sandbox of their own, where ``import descentlab`` fails unless
    ``allow_library``; without, each exercise of each student in a process of its own. Whatever a submission
    does, it is that student's result: an error while reading, running or judging it becomes its diagnosis.
    ``progress`` hears of each result."""
    names = _valid_names(names)
    if sandbox:
        require_sandbox()
    root = Path(folder)
    students = submissions(folder)
    subs: dict[str, list[Submission]] = {}
    unreadable: dict[tuple[str, str], str] = {}
    refused: dict[str, str] = {}
    for student, files in students.items():
        subs[student] = []
        if isinstance(files, str):
            refused[student] = files
            continue
        for f in files:
            try:
                subs[student].append(read_submission(f, tuple(names) or NAMES))
            except UserError as e:
                if f.stem in NAMES:
                    unreadable[student, f.stem] = f"unreadable: {e}"
            except Exception as e:  # a file no reader foresaw: that student's, never the class's
                if f.stem in NAMES:
                    unreadable[student, f.stem] = f"unreadable: {type(e).__name__}"
    chosen = names or [
        n
        for n in NAMES
        if any(n in exercises_in(s) for ss in subs.values() for s in ss) or any(k[1] == n for k in unreadable)
    ]
    if not chosen:
        raise UserError(f"no submission under {shown(folder)} defines an exercise's function ({', '.join(NAMES)})")
    seed = new_seed() if seed is None else seed
    exps = {n: expected(exercise(n), seed) for n in chosen}
    results: dict[tuple[str, str], Result] = {}
    work: dict[str, list[tuple[str, Submission, list[str]]]] = {}
    for student in students:
        for name in chosen:
            defining = [s for s in subs[student] if name in exercises_in(s)]
            if student in refused:
                results[student, name] = Result(name, seed, problem=refused[student])
            elif defining:
                others = [str(s.path.relative_to(root)) for s in defining[1:]]
                work.setdefault(student, []).append((name, defining[0], others))
            else:
                why = unreadable.get((student, name), f"missing: no file defines {name}")
                results[student, name] = Result(name, seed, problem=why)

    def one(student: str) -> None:
        items = work[student]
        try:
            if sandbox:
                base = root / student if (root / student).is_dir() else root
                files = student_files([p for p in students[student] if isinstance(p, Path)], base)
                got = _check_sandboxed([(exps[n], sub) for n, sub, _ in items], files, timeout, memory_mb,
                                       allow_library)  # fmt: skip
            else:
                got = [_check(exps[n], sub, timeout, memory_mb) for n, sub, _ in items]
        except Exception as e:  # whatever happened, it is this student's row
            got = [Result(n, seed, problem=f"could not be graded: {type(e).__name__}") for n, _, _ in items]
        for (name, sub, others), result in zip(items, got, strict=True):
            if not sandbox:
                result = dataclasses.replace(result, warnings=(*result.warnings, NOT_SANDBOXED))
            if others:
                also = f"{name} is also defined in {', '.join(others)}; {sub.path.relative_to(root)} was graded"
                result = dataclasses.replace(result, warnings=(*result.warnings, also))
            results[student, name] = result
            if progress is not None:
                progress(student, result)

    with ThreadPoolExecutor(max_workers=jobs or os.cpu_count() or 1) as pool:
        list(pool.map(one, list(work)))
    return Grades(seed, tuple(chosen), tuple(students), results, sandboxed=sandbox)


# ---- the grades, written ------------------------------------------------------------------------------------


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def cell(text: str) -> str:
    """A CSV cell a spreadsheet shows as text: one starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
    return (read as a formula) gets a leading apostrophe (OWASP's advice on CSV injection)."""
    return "'" + text if text.startswith(("=", "+", "-", "@", "\t", "\r")) else text


def grades_csv(grades: Grades) -> str:
    """One row per student: the total, then each exercise's score (the fraction of its cases passed) and
    diagnosis, and the seed of the cases."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    header = ["student", "total"]
    for name in grades.exercises:
        header += [name, f"{name} diagnosis"]
    writer.writerow([*header, "seed"])
    for student in grades.students:
        row = [cell(student), f"{grades.total(student):.2f}"]
        for name in grades.exercises:
            r = grades.results[student, name]
            row += [f"{r.score:.2f}", cell(r.diagnosis)]
        writer.writerow([*row, str(grades.seed)])
    return out.getvalue()


def grades_html(grades: Grades, command: str = "") -> str:
    """A summary page: per exercise, how many passed and the most common mistakes; then every student."""
    e = html.escape
    rows = []
    mistakes: Counter[tuple[str, str]] = Counter()
    for name in grades.exercises:
        results = [grades.results[s, name] for s in grades.students]
        submitted = [r for r in results if not r.problem.startswith("missing")]
        counts = Counter(r.diagnosis for r in submitted if not r.ok)
        mistakes.update({(name, d): c for d, c in counts.items()})
        mean = sum(r.score for r in results) / len(results)
        common = "; ".join(f"{e(d)} ({c})" for d, c in counts.most_common(3)) or "none"
        rows.append(
            f"<tr><td><code>{e(name)}</code></td><td>{len(submitted)}</td><td>{sum(r.ok for r in results)}</td>"
            f"<td>{mean:.2f}</td><td>{common}</td></tr>"
        )
    explained = {(n, m.name): m.sentence() for ex in EXERCISES for m in ex.mistakes for n in [ex.name]}
    top = "".join(
        f"<li><b>{c}</b> x <code>{e(n)}</code>: {e(d)}"
        + (f" <small>{e(explained[n, d])}</small>" if (n, d) in explained else "")
        + "</li>"
        for (n, d), c in mistakes.most_common(10)
    )
    head = "".join(f"<th>{e(n)}</th>" for n in grades.exercises)
    body = []
    for s in grades.students:
        cells = []
        for n in grades.exercises:
            r = grades.results[s, n]
            cls = "ok" if r.ok else ("partial" if r.score > 0 else "bad")
            cells.append(
                f'<td class="{cls}" title="{e(r.diagnosis)}">{r.score:.2f}<br><small>{e(r.diagnosis)}</small>'
                + "".join(f"<br><small>warning: {e(w)}</small>" for w in r.warnings)
                + "</td>"
            )
        body.append(f"<tr><th>{e(s)}</th><td>{grades.total(s):.2f}</td>{''.join(cells)}</tr>")
    style = (
        "body{font-family:sans-serif;margin:2em;max-width:80em}table{border-collapse:collapse;margin:1em 0}"
        "td,th{border:1px solid #ccc;padding:.3em .6em;vertical-align:top}.ok{background:#e6f4e6}"
        ".partial{background:#fff6da}.bad{background:#fbe3e3}small{color:#555}"
        ".warning{background:#fbe3e3;border:2px solid #b00;padding:.6em}"
    )
    repeat = f"<p>Repeat these grades with: <code>{e(command)}</code></p>" if command else ""
    if not grades.sandboxed:
        repeat = f'<p class="warning"><b>{e(NOT_SANDBOXED)}</b> (graded with --no-sandbox).</p>' + repeat
    return (
        f"<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>Exercise grades</title>"
        f"<style>{style}</style></head><body><h1>Exercise grades</h1>"
        f"<p>{len(grades.students)} students, {len(grades.exercises)} exercises; cases drawn with seed "
        f"<b>{grades.seed}</b>.</p>{repeat}"
        f"<h2>Most common mistakes</h2><ol>{top or '<li>none</li>'}</ol>"
        f"<h2>By exercise</h2><table><tr><th>exercise</th><th>submitted</th><th>all cases passed</th>"
        f"<th>mean score</th><th>most common diagnoses</th></tr>{''.join(rows)}</table>"
        f"<h2>By student</h2><table><tr><th>student</th><th>total</th>{head}</tr>{''.join(body)}</table>"
        "</body></html>\n"
    )


def write_grades(grades: Grades, out: str | Path, command: str = "") -> tuple[Path, Path]:
    """Write ``out`` (the CSV) and the HTML summary beside it (same name, ``.html``)."""
    out = Path(out)
    page = out.with_suffix(".html")
    _write_atomic(out, grades_csv(grades))
    _write_atomic(page, grades_html(grades, command))
    return out, page
