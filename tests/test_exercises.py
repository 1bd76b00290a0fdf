"""The lab exercises: every reference and every independent solution passes, every known mistake is named,
and submissions that loop, allocate, raise, print, or have the wrong signature cost only their own marks.

The independent solutions in ``tests/exercise_solutions`` were written from the templates' docstrings alone
(plain torch), so their passing shows the docstrings state what the library's references compute; the
mistakes are checked against the references at each exercise's stated tolerance (float32: rtol 1e-4, atol
1e-5; float64: rtol 1e-7, atol 1e-9, unless the exercise states another).
"""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import re
from pathlib import Path

import pytest
import torch
from conftest import REPO, assert_one_line_error, cli, cli_process, needs_sandbox

from descentlab.exercises import EXERCISES, NAMES, check_function, compare, exercise
from descentlab.exercises.core import Tolerance
from descentlab.exercises.grading import check_file, grade, grades_csv, write_grades
from descentlab.exercises.sources import read_submission

SOLUTIONS = REPO / "tests" / "exercise_solutions"
SEEDS = (0, 1, 2)
MISTAKES = [(e, m) for e in EXERCISES for m in e.mistakes]
# a check runs under bubblewrap (a process started: e2e), or in a forked process of its own
RUNNERS = [pytest.param(True, marks=[pytest.mark.e2e, needs_sandbox], id="bwrap"), pytest.param(False, id="process")]
# behaviour both runners take from descentlab.exercises.inside.run_exercise: its bwrap case is -m slow
RUNNERS_SHARED = [pytest.param(True, marks=[pytest.mark.e2e, pytest.mark.slow, needs_sandbox], id="bwrap"),
                  pytest.param(False, id="process")]  # fmt: skip


def solution(name: str):
    spec = importlib.util.spec_from_file_location(f"solution_{name}", SOLUTIONS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)


# ---- the catalogue ---------------------------------------------------------------------------------------


def test_the_issue_s_exercises_are_all_there() -> None:
    wanted = {"gd_step", "momentum_step", "adagrad_step", "rmsprop_step", "adadelta_step", "adam_step", "dropout",
              "affine_grid", "bilinear_sample", "rnn_forward", "lstm_step", "perplexity", "q_update",
              "discounted_returns", "gae", "lif_step"}  # fmt: skip
    assert wanted <= set(NAMES)
    for e in EXERCISES:
        assert e.mistakes, e.name
        assert all(p in e.docstring or p in e.signature for p in e.parameters)
        assert "checker tries" in e.docstring, e.name  # says what the tests will try


@pytest.mark.parametrize("ex", EXERCISES, ids=lambda e: e.name)
def test_the_template_is_a_module_with_the_signature_and_the_docstring(ex, tmp_path: Path) -> None:
    namespace: dict = {}
    exec(compile(ex.template(), "template.py", "exec"), namespace)
    fn = namespace[ex.name]
    assert fn.__doc__ is not None and fn.__doc__.strip().splitlines()[0] in ex.docstring
    assert tuple(fn.__code__.co_varnames[: fn.__code__.co_argcount]) == ex.parameters
    result = check_function(ex, fn, seed=0)
    assert not result.ok and all(c.status == "raised" and "NotImplementedError" in c.message for c in result.cases)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("ex", EXERCISES, ids=lambda e: e.name)
def test_the_reference_and_an_independent_solution_pass(ex, seed: int) -> None:
    assert check_function(ex, ex.reference, seed).ok
    result = check_function(ex, solution(ex.name), seed)
    assert result.ok, [c for c in result.cases if c.status != "passed"]
    assert result.mistake is None and result.score == 1.0


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(("ex", "mistake"), MISTAKES, ids=[f"{e.name}-{m.name}" for e, m in MISTAKES])
def test_every_known_mistake_fails_with_its_diagnosis(ex, mistake, seed: int) -> None:
    result = check_function(ex, mistake.function, seed)
    assert not result.ok
    assert result.mistake is mistake, (result.mistake and result.mistake.name, result.diagnosis)
    assert f"#{mistake.section}" in mistake.sentence()


def test_a_wrong_answer_that_is_no_known_mistake_is_not_given_one() -> None:
    ex = exercise("adam_step")
    result = check_function(ex, lambda w, g, m, v, t, lr, b1, b2, eps: (w * 1.01, m, v), seed=0)
    assert not result.ok and result.mistake is None
    assert result.diagnosis == "wrong output (no known mistake matches)"


def test_sections_of_the_mistakes_are_anchors_of_the_lab_book() -> None:
    from descentlab.labbook import build_chapters

    page = "".join(p for ch in build_chapters([], every_chapter=True) for p in ch.parts if isinstance(p, str))
    anchors = set(re.findall(r'id="([^"]+)"', page)) | {f"chapter-{e.chapter}" for e in EXERCISES}
    for e in EXERCISES:
        assert e.section in anchors, (e.name, e.section)
        assert f'id="exercise-{e.name}"' in page  # the chapter links to its exercise
        assert all(m.section in anchors for m in e.mistakes)


# ---- comparison ----------------------------------------------------------------------------------------------


def test_compare_names_the_first_differing_element_and_checks_shape_and_dtype() -> None:
    tol = Tolerance()
    expected = torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=torch.float64)
    got = expected.clone()
    got[1, 0] = 3.5
    why = compare(got, expected, tol)
    assert why is not None and "index (1, 0)" in why and "got 3.5" in why and "expected 3" in why
    assert compare(expected + 1e-12, expected, tol) is None  # within float64's atol 1e-9
    assert "shape" in (compare(expected[0], expected, tol) or "")
    assert "dtype" in (compare(expected.float(), expected, tol) or "")
    assert "tuple of 2" in (compare(expected, (expected, expected), tol) or "")
    assert compare(torch.tensor([1.0, 0.0]), torch.tensor([True, False]), tol) is None  # 0/1 for bool
    assert compare(torch.tensor([1.0, 0.0]), torch.tensor([False, False]), tol) is not None


def test_values_that_agree_to_six_digits_show_where_they_differ() -> None:
    why = compare(
        torch.tensor(-0.2302412, dtype=torch.float64), torch.tensor(-0.2302409, dtype=torch.float64), Tolerance()
    )
    assert why is not None
    got, expected = re.findall(r"got (\S+), expected (\S+)", why)[0]
    assert got != expected.rstrip(" (")


# ---- a file, in its own process -------------------------------------------------------------------------------


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.mark.parametrize("sandbox", RUNNERS_SHARED)
def test_a_file_of_several_exercises_is_checked_exercise_by_exercise(tmp_path: Path, sandbox: bool) -> None:
    text = (SOLUTIONS / "gd_step.py").read_text() + "\n\n" + (SOLUTIONS / "adam_step.py").read_text()
    results = check_file(write(tmp_path / "lab.py", text), seed=5, sandbox=sandbox)
    assert [r.exercise for r in results] == ["gd_step", "adam_step"] and all(r.ok for r in results)
    assert all(r.seed == 5 for r in results)


@pytest.mark.parametrize("sandbox", RUNNERS)
def test_a_submission_that_never_returns_is_stopped_at_the_time_limit(tmp_path: Path, sandbox: bool) -> None:
    path = write(tmp_path / "gd_step.py", "def gd_step(w, grad, lr):\n    while True:\n        pass\n")
    (result,) = check_file(path, seed=0, timeout=2, sandbox=sandbox)
    assert result.cases[0].status == "timeout" and "time limit of 2 s" in result.cases[0].message
    assert {c.status for c in result.cases[1:]} == {"not run"}
    assert result.score == 0 and result.diagnosis == "did not return in time"
    assert result.seconds < 15


@pytest.mark.parametrize("sandbox", RUNNERS)
def test_a_submission_that_allocates_50_gb_is_stopped_at_the_memory_limit(tmp_path: Path, sandbox: bool) -> None:
    code = (
        "import torch\n\ndef gd_step(w, grad, lr):\n    big = torch.ones(50 * 2**30 // 4)\n    return w - lr * grad\n"
    )
    (result,) = check_file(write(tmp_path / "gd_step.py", code), seed=0, memory_mb=512, sandbox=sandbox)
    assert {c.status for c in result.cases} == {"memory"}
    assert "memory limit" in result.cases[0].message and "line 4" in result.cases[0].message
    assert result.diagnosis == "exceeded the memory limit"


@pytest.mark.parametrize("sandbox", RUNNERS_SHARED)
def test_a_submission_that_raises_is_reported_with_its_error_and_line(tmp_path: Path, sandbox: bool) -> None:
    code = "def gd_step(w, grad, lr):\n    x = 1\n    return w - lr * grad[99]\n"
    (result,) = check_file(write(tmp_path / "gd_step.py", code), seed=0, sandbox=sandbox)
    raised = [c for c in result.cases if c.status == "raised"]
    assert raised and "IndexError" in raised[0].message and "line 3" in raised[0].message
    assert result.diagnosis == "raised an error"


@pytest.mark.parametrize("sandbox", RUNNERS_SHARED)
def test_a_wrong_signature_gets_a_clear_message(tmp_path: Path, sandbox: bool) -> None:
    (result,) = check_file(write(tmp_path / "s.py", "def gd_step(w, grad):\n    return w\n"), seed=0, sandbox=sandbox)
    assert result.problem == "wrong signature: gd_step(w, grad) cannot be called as gd_step(w, grad, lr)"
    assert result.score == 0


@pytest.mark.parametrize("sandbox", RUNNERS_SHARED)
def test_printing_megabytes_costs_only_time(tmp_path: Path, sandbox: bool) -> None:
    code = "import sys, os\n\ndef gd_step(w, grad, lr):\n    print('x' * 3_000_000)\n    os.write(2, b'y' * 100_000)\n    return w - lr * grad\n"
    (result,) = check_file(write(tmp_path / "p.py", code), seed=0, sandbox=sandbox)
    assert result.ok


@pytest.mark.parametrize("sandbox", RUNNERS_SHARED)
def test_code_that_fails_to_load_or_exits_is_reported(tmp_path: Path, sandbox: bool) -> None:
    (r,) = check_file(
        write(tmp_path / "a.py", "import nosuchmodule\n\ndef gd_step(w, grad, lr):\n    return w\n"),
        seed=0,
        sandbox=sandbox,
    )
    assert r.problem.startswith("loading the code raised: ModuleNotFoundError") and "line 1" in r.problem
    (r,) = check_file(
        write(tmp_path / "b.py", "import os\n\ndef gd_step(w, grad, lr):\n    os._exit(3)\n"), seed=0, sandbox=sandbox
    )
    assert r.cases[0].status == "raised" and "exit code 3" in r.cases[0].message
    (r,) = check_file(
        write(tmp_path / "gd_step.py", "def gd_step(w, grad, lr)\n    return w\n"), seed=0, sandbox=sandbox
    )
    assert r.problem.startswith("does not parse:") and "line 1" in r.problem


@pytest.mark.parametrize("sandbox", RUNNERS_SHARED)
def test_a_notebook_cell_that_defines_the_function_is_checked_and_others_are_not_run(
    tmp_path: Path, sandbox: bool
) -> None:
    cells = [
        {"cell_type": "markdown", "source": ["# Lab 1"]},
        {"cell_type": "code", "source": ["%matplotlib inline\n", "import torch\n"]},
        {"cell_type": "code", "source": ["while True:\n", "    pass  # a training loop that must not run\n"]},
        {"cell_type": "code", "source": "EPS = 1e-8\n\n\ndef helper(z):\n    return torch.sigmoid(z)\n"},
        {
            "cell_type": "code",
            "source": (SOLUTIONS / "lstm_step.py")
            .read_text()
            .replace("import torch\n", "")
            .replace("torch.sigmoid(", "helper("),
        },
        {"cell_type": "code", "source": "lstm_step(1, 2)"},
    ]
    path = write(tmp_path / "lab.ipynb", json.dumps({"cells": cells, "nbformat": 4, "nbformat_minor": 5}))
    assert read_submission(path).defines == ("torch", "EPS", "helper", "lstm_step")
    (result,) = check_file(path, seed=0, timeout=20, sandbox=sandbox)
    assert result.ok


@pytest.mark.parametrize("sandbox", RUNNERS_SHARED)
def test_importing_descentlab_is_flagged(tmp_path: Path, sandbox: bool) -> None:
    code = "from descentlab.exercises import exercise\n\ngd_step = exercise('gd_step').reference\n"
    (result,) = check_file(write(tmp_path / "gd_step.py", code), seed=0, sandbox=sandbox)
    assert result.ok and result.warnings and "imports descentlab" in result.warnings[0]


# ---- the command line ---------------------------------------------------------------------------------------


def test_list_names_chapter_and_difficulty() -> None:
    result = cli("exercise", "list", "--json")
    assert result.returncode == 0
    listed = json.loads(result.stdout)
    assert [e["name"] for e in listed] == list(NAMES)
    assert {e["chapter"] for e in listed} == {1, 3, 4, 5, 6, 7, 8}
    assert all(e["difficulty"] in (1, 2, 3) for e in listed)
    table = cli("exercise", "list").stdout
    assert "adam_step" in table and "medium" in table


def test_start_writes_the_template_and_never_overwrites(tmp_path: Path) -> None:
    result = cli("exercise", "start", "adam_step", "--dir", str(tmp_path / "lab"))
    assert result.returncode == 0, result.stderr
    path = tmp_path / "lab" / "adam_step.py"
    assert path.read_text() == exercise("adam_step").template()
    path.write_text("my work")
    again = cli("exercise", "start", "adam_step", "--dir", str(tmp_path / "lab"))
    assert_one_line_error(again, "--dir", "already exists", "never overwritten")
    assert path.read_text() == "my work"
    assert_one_line_error(cli("exercise", "start", "adamw_step"), "NAME", "adam_step")


@pytest.mark.e2e
def test_check_reports_each_case_and_the_diagnosis_and_exits_1(tmp_path: Path) -> None:
    code = ("def adam_step(w, grad, m, v, t, lr, beta1, beta2, eps):\n    m = beta1 * m + (1 - beta1) * grad\n"
            "    v = beta2 * v + (1 - beta2) * grad * grad\n    return w - lr * m / (v.sqrt() + eps), m, v\n")  # fmt: skip
    path = write(tmp_path / "adam_step.py", code)
    result = cli_process("exercise", "check", str(path), "--seed", "3", timeout=120)
    assert result.returncode == 1, result.stderr
    assert "adam_step: FAILED" in result.stdout and "FAIL a single element" in result.stdout
    assert "first at index" in result.stdout
    assert "diagnosis: no bias correction." in result.stdout and "#optimization-adam" in result.stdout
    assert "--seed 3" in result.stdout
    as_json = json.loads(cli("exercise", "check", str(path), "--seed", "3", "--json").stdout)
    assert as_json["seed"] == 3 and as_json["results"][0]["mistake"]["name"] == "no bias correction"
    assert as_json["results"][0]["passed"] < as_json["results"][0]["total"]
    good = cli("exercise", "check", str(SOLUTIONS / "adam_step.py"))
    assert good.returncode == 0 and "adam_step: passed" in good.stdout


def test_check_refuses_bad_input_on_one_line(tmp_path: Path) -> None:
    assert_one_line_error(cli("exercise", "check", str(tmp_path / "none.py")), "FILE", "no such file")
    assert_one_line_error(cli("exercise", "check", str(write(tmp_path / "x.txt", ""))), "FILE", ".py file")
    empty = write(tmp_path / "e.py", "x = 1\n")
    assert_one_line_error(cli("exercise", "check", str(empty)), "defines none of the exercises")
    assert_one_line_error(cli("exercise", "check", str(empty), "--exercise", "nope"), "--exercise", "'nope'")
    assert_one_line_error(cli("exercise", "check", str(empty), "--timeout", "0"), "--timeout", "1.0 <= timeout")
    bad = write(tmp_path / "nb.ipynb", "{not json")
    assert_one_line_error(cli("exercise", "check", str(bad)), "not a Jupyter notebook")


# ---- a class ----------------------------------------------------------------------------------------------


WRONG = {  # a student's typical wrong code, and the mistake the checker must name
    "gd_step": ("def gd_step(w, grad, lr):\n    return w + lr * grad\n", "gradient ascent"),
    "adam_step": ("def adam_step(w, grad, m, v, t, lr, beta1, beta2, eps):\n    m = beta1 * m + (1 - beta1) * grad\n"
                  "    v = beta2 * v + (1 - beta2) * grad ** 2\n    m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)\n"
                  "    return w - lr * m_hat / (v_hat + eps).sqrt(), m, v\n", "eps inside the root"),
    "dropout": ("def dropout(x, keep, u, training):\n    return x * (u < keep) / (1 - keep) if training else x\n",
                "divided by the drop probability"),
    "q_update": ("def q_update(q, s, a, r, s_next, terminated, alpha, gamma):\n    q = q.clone()\n"
                 "    q[s, a] += alpha * (r + gamma * q[s_next].max() - q[s, a])\n    return q\n",
                 "bootstrapped from a terminal state"),
}  # fmt: skip
BROKEN = {  # code that breaks, and the diagnosis (its start) it must get
    "loops": ("def gd_step(w, grad, lr):\n    while True:\n        pass\n", "did not return in time"),
    "allocates": ("import torch\n\ndef gd_step(w, grad, lr):\n    return torch.ones(50 * 2**30 // 4)\n",
                  "exceeded the memory limit"),
    "raises": ("def gd_step(w, grad, lr):\n    raise RuntimeError('no idea')\n", "raised an error"),
    "signature": ("def gd_step(w, lr):\n    return w\n", "wrong signature"),
    "syntax": ("def gd_step(w, grad, lr)\n    return w\n", "does not parse"),
    "prints": ("def gd_step(w, grad, lr):\n    print('z' * 2_000_000)\n    return w - lr * grad\n", ""),
}  # fmt: skip
GRADED = ("gd_step", "adam_step", "dropout", "q_update")


def make_class(root: Path) -> dict[tuple[str, str], tuple[str, str]]:
    """30 students' submissions: right, wrong (a known mistake), broken, missing; returns, for each student
    and exercise, the expected score ("1.00", "<1", "0.00") and diagnosis."""
    expected: dict[tuple[str, str], tuple[str, str]] = {}
    broken = list(BROKEN)
    for i in range(30):
        student = f"student{i:02d}"
        kind = ["right", "wrong", "broken", "mixed", "notebook", "single-file"][i % 6]
        for name in GRADED:
            right = (SOLUTIONS / f"{name}.py").read_text()
            if kind == "right" or (kind == "mixed" and name in ("adam_step", "q_update")):
                write(root / student / f"{name}.py", right)
                expected[student, name] = ("1.00", "")
            elif kind in ("wrong", "mixed"):
                code, mistake = WRONG[name]
                write(root / student / f"{name}.py", code)
                expected[student, name] = ("<1", mistake)
            elif kind == "broken" and name == "gd_step":
                which = broken[(i // 6) % len(broken)]
                code, why = BROKEN[which]
                write(root / student / "gd_step.py", code)
                expected[student, name] = ("1.00", "") if which == "prints" else ("0.00", why)
            elif kind == "broken":
                expected[student, name] = ("0.00", "missing: no file defines " + name)
            elif kind == "notebook":
                cells = [
                    {"cell_type": "code", "source": (SOLUTIONS / f"{n}.py").read_text()} for n in ("gd_step", "dropout")
                ]
                write(root / student / "lab.ipynb", json.dumps({"cells": cells}))
                write(root / student / "zz_draft.py", WRONG["gd_step"][0])  # a second gd_step: not graded
                expected[student, name] = (
                    ("1.00", "") if name in ("gd_step", "dropout") else ("0.00", "missing: no file defines " + name)
                )
            else:  # one file for the student, at the top of the folder
                if name == GRADED[0]:
                    write(root / f"{student}.py", "\n\n".join((SOLUTIONS / f"{n}.py").read_text() for n in GRADED))
                expected[student, name] = ("1.00", "")
    return expected


def test_grading_a_class_of_30_gives_the_expected_csv(tmp_path: Path) -> None:
    expected = make_class(tmp_path / "class")
    out = tmp_path / "grades" / "grades.csv"
    # --no-sandbox: the grading of a whole class; tests/test_grading_attacks.py grades one under bubblewrap
    result = cli("exercise", "grade", str(tmp_path / "class"), "--out", str(out), "--seed", "11", "--timeout", "4",
                 "--memory-mb", "512", "--no-sandbox")  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [r["student"] for r in rows] == [f"student{i:02d}" for i in range(30)]
    assert all(r["seed"] == "11" for r in rows)
    for row in rows:
        for name in GRADED:
            score, diagnosis = expected[row["student"], name]
            got_score, got_diagnosis = row[name], row[f"{name} diagnosis"]
            where = (row["student"], name, got_score, got_diagnosis)
            if score == "<1":
                assert 0 <= float(got_score) < 1, where
                assert got_diagnosis == diagnosis, where
            else:
                assert got_score == score, where
                assert got_diagnosis.startswith(diagnosis) if diagnosis else got_diagnosis == "", where
        assert float(row["total"]) == pytest.approx(sum(float(row[n]) for n in GRADED), abs=0.011)
    page = out.with_suffix(".html").read_text()
    assert "Most common mistakes" in page and "gradient ascent" in page and "seed <b>11</b>" in page
    assert "--seed 11" in page
    assert "gd_step is also defined in student04/zz_draft.py; student04/lab.ipynb was graded" in page


@pytest.mark.e2e  # under bubblewrap
@needs_sandbox
def test_the_same_submissions_and_seed_give_the_same_grades(tmp_path: Path) -> None:
    for i, name in enumerate(("gd_step", "dropout")):
        write(tmp_path / "c" / f"s{i}" / f"{name}.py", WRONG[name][0])
        write(tmp_path / "c" / f"t{i}" / f"{name}.py", (SOLUTIONS / f"{name}.py").read_text())
    first = grades_csv(grade(tmp_path / "c", seed=4, timeout=30, sandbox=False))
    second = grades_csv(grade(tmp_path / "c", seed=4, timeout=30))  # under bubblewrap: the same grades
    assert first == second and ",4\n" in first
    drawn = grade(tmp_path / "c", timeout=30, sandbox=False)  # a new seed, recorded
    assert f",{drawn.seed}\n" in grades_csv(drawn)
    paths = write_grades(drawn, tmp_path / "g.csv")
    assert all(p.exists() for p in paths)


def test_grade_refuses_bad_input_on_one_line(tmp_path: Path) -> None:
    assert_one_line_error(cli("exercise", "grade", str(tmp_path / "none")), "SUBMISSIONS_DIR", "no such folder")
    (tmp_path / "empty").mkdir()
    assert_one_line_error(cli("exercise", "grade", str(tmp_path / "empty")), "holds no submissions")
    write(tmp_path / "c" / "s" / "gd_step.py", "def gd_step(w, grad, lr):\n    return w\n")
    assert_one_line_error(cli("exercise", "grade", str(tmp_path / "c"), "--out", "g.txt"), "--out", ".csv")
    write(tmp_path / "file", "")
    assert_one_line_error(cli("exercise", "grade", str(tmp_path / "c"), "--out", str(tmp_path / "file" / "g.csv")),
                          "--out", "is a file")  # fmt: skip
    assert_one_line_error(cli("exercise", "grade", str(tmp_path / "c"), "--exercises", "nope"), "--exercises", "'nope'")


@pytest.mark.e2e
def test_the_exercises_import_no_run_report_experiment_or_cli_layer() -> None:
    import subprocess
    import sys

    code = (
        "import sys, descentlab.exercises.grading\n"
        "print(sorted(m for m in sys.modules if m.startswith(('descentlab.runs', 'descentlab.report', "
        "'descentlab.experiments', 'descentlab.cli.main', 'descentlab.cli.builtin', 'descentlab.cli.hpo'))))\n"
        "import descentlab.cli.classroom\n"
        "print(sorted(m for m in sys.modules if m.startswith(('descentlab.report', 'descentlab.experiments', "
        "'descentlab.cli.main', 'descentlab.cli.builtin', 'descentlab.cli.hpo', 'matplotlib'))))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["[]", "[]"]  # so `descentlab exercise ...` starts without importing the experiments
