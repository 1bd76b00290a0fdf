"""The lab book as notebooks: made from the chapters' text, valid, and run top to bottom by a real Jupyter
kernel (nbclient + ipykernel) with every cell succeeding and every claim holding."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from descentlab.exercises import EXERCISES
from descentlab.labbook import chapters, parse_chapter
from descentlab.labbook.notebooks import chapter_cells, jupyter_markdown, notebook_name, notebooks, write_notebooks
from descentlab.labbook.widgets import WIDGETS

nbformat = pytest.importorskip("nbformat", reason="the notebook extra: pip install -e '.[notebooks]'")
SOLUTIONS = Path(__file__).parent / "exercise_solutions"


def _text(cell: dict) -> str:
    return "".join(cell["source"])


def test_a_notebook_per_chapter_and_an_index_all_valid() -> None:
    made = notebooks()
    assert list(made) == ["index.ipynb", *(notebook_name(ch) for ch in chapters())]
    for nb in made.values():
        nbformat.validate(nbformat.from_dict(nb))  # raises on an invalid notebook
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":  # every code cell is Python once its magics are left out
                ast.parse("\n".join(line for line in _text(cell).splitlines() if not line.startswith("%")))
    index = _text(made["index.ipynb"]["cells"][0])
    assert all(f"]({notebook_name(ch)})" in index for ch in chapters())


def test_each_notebook_runs_its_chapters_demonstrations_in_order_and_holds_its_exercises() -> None:
    for ch in chapters():
        cells = chapter_cells(ch)
        code = [_text(c) for c in cells if c["cell_type"] == "code"]
        runs = [m.group(1) for c in code for m in [re.fullmatch(r'lab\.run\("([^"]+)"\)', c)] if m]
        assert runs == ch.runs
        for e in (e for e in EXERCISES if e.chapter == ch.id):
            template = next(i for i, c in enumerate(code) if f"def {e.name}(" in c)
            assert code[template + 1] == f"check({e.name})"
        widgets = [name for name in WIDGETS if f"@interactive {name}" in _source(ch) or name in ch.runs]
        assert all(any(f"{WIDGETS[w]}()" in c for c in code) for w in widgets)


def _source(ch) -> str:
    return next(
        p for p in (Path(__file__).parents[1] / "descentlab/labbook/chapters").glob(f"*-{ch.id}.md")
    ).read_text()


def test_every_paragraph_and_question_of_a_chapter_is_in_its_notebook() -> None:
    for ch in chapters():
        markdown = "\n".join(_text(c) for c in chapter_cells(ch) if c["cell_type"] == "markdown")
        prose = "\n".join(p for p in ch.parts if isinstance(p, str))
        for paragraph in re.split(r"\n\s*\n", prose):
            first = paragraph.strip().splitlines()[0] if paragraph.strip() else ""
            if first and not first.startswith(":::"):
                assert first in markdown, (ch.id, first)
        predicts = prose.count("::: predict")
        assert predicts >= 2, f"chapter {ch.id} has {predicts} predict-then-run questions; the book promises 2 or 3"
        assert markdown.count("**Predict, then run.**") == predicts
        assert markdown.count("<details>") == prose.count("<details>")


def test_boxes_become_quotes_and_answers_name_their_question() -> None:
    text = "Before.\n\n::: erratum\nThe unit says $a$.\n:::\n\n::: answer A1\nBecause.\n:::\n"
    out = jupyter_markdown(text)
    assert "> **Erratum.**\n>\n> The unit says $a$." in out
    assert "**Revision question A1 (Part A):" in out and "> Because." in out
    assert ":::" not in out


def test_one_source_an_edited_chapter_changes_the_notebook(tmp_path: Path) -> None:
    original = next((Path(__file__).parents[1] / "descentlab/labbook/chapters").glob("03-*.md"))
    edited = tmp_path / original.name
    edited.write_text(original.read_text() + "\nA sentence added by a teacher, $\\eta = 0.1$.\n")
    cells = chapter_cells(parse_chapter(edited))
    assert any("A sentence added by a teacher, $\\eta = 0.1$." in _text(c) for c in cells)


def test_written_notebooks_are_kept_unless_forced(tmp_path: Path) -> None:
    paths = write_notebooks(tmp_path)
    assert len(paths) == len(chapters()) + 1
    (tmp_path / "03-generalization.ipynb").write_text("my answers")
    with pytest.raises(FileExistsError):
        write_notebooks(tmp_path)
    assert (tmp_path / "03-generalization.ipynb").read_text() == "my answers"
    write_notebooks(tmp_path, overwrite=True)
    assert json.loads((tmp_path / "03-generalization.ipynb").read_text())["nbformat"] == 4


@pytest.mark.e2e
def test_the_notebooks_command_writes_and_refuses_to_overwrite(tmp_path: Path) -> None:
    folder = tmp_path / "nb"
    run = [sys.executable, "-m", "descentlab", "notebooks", "--dir", str(folder)]
    first = subprocess.run(run, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    assert f"jupyter lab {folder}" in first.stdout
    before = (folder / "01-optimization.ipynb").read_bytes()
    again = subprocess.run(run, capture_output=True, text=True, timeout=120)
    assert again.returncode == 2
    assert again.stderr.count("\n") == 1 and "--force" in again.stderr and "Traceback" not in again.stderr
    assert (folder / "01-optimization.ipynb").read_bytes() == before


def execute(path: Path, timeout: int = 600):
    """Run the notebook at ``path`` in a fresh Python kernel, in its folder; the executed notebook."""
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    NotebookClient(
        nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    return nb


def outputs(nb) -> tuple[list[dict], str]:
    """The error outputs of every code cell, and all the text the cells printed or returned."""
    errors, text = [], []
    for cell in nb.cells:
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if out["output_type"] == "error":
                errors.append(out)
            text.append(out.get("text", "") + str(out.get("data", {}).get("text/plain", "")))
    return errors, "\n".join(text)


def claims_of(chapter: str, text: str) -> tuple[int, list[str]]:
    held = text.count("  Holds in this run: ")
    failed = [line for line in text.splitlines() if line.startswith("  Does not hold in this run: ")]
    return held, failed


@pytest.mark.e2e
def test_the_rl_notebook_runs_top_to_bottom_in_a_kernel(tmp_path: Path) -> None:
    """Chapter 7 (its runs take seconds): every cell runs without an error output, its claims hold, and the
    exercise cells check the functions written in the notebook: a correct one passes, an untouched template
    is reported as raising. (The sliders are tested in this process below; all eight notebooks, sliders
    included, run in a kernel in the slow suite.)"""
    write_notebooks(tmp_path)
    path = tmp_path / "07-rl.ipynb"
    nb = nbformat.read(path, as_version=4)
    (template,) = [c for c in nb.cells if c.cell_type == "code" and "def q_update(" in c.source]
    template.source = (SOLUTIONS / "q_update.py").read_text()  # the student writes it
    nbformat.write(nb, path)
    done = execute(path)
    errors, text = outputs(done)
    assert errors == [], [e["ename"] + ": " + e["evalue"] for e in errors]
    held, failed = claims_of("rl", text)
    assert failed == [] and held >= 4, text
    assert "q_update: passed" in text
    others = [e.name for e in EXERCISES if e.chapter == "rl" and e.name != "q_update"]
    assert others and all(f"{name}: FAILED" in text for name in others)
    assert (tmp_path / "lab-runs" / "rl").is_dir()


@pytest.mark.slow
@pytest.mark.e2e
@pytest.mark.parametrize("chapter", [ch.id for ch in chapters()])
def test_every_notebook_runs_top_to_bottom_and_its_claims_hold(chapter: str, tmp_path: Path) -> None:
    write_notebooks(tmp_path)
    ch = next(c for c in chapters() if c.id == chapter)
    errors, text = outputs(execute(tmp_path / notebook_name(ch)))
    assert errors == [], [e["ename"] + ": " + e["evalue"] for e in errors]
    held, failed = claims_of(chapter, text)
    assert failed == [] and held > 0, text


@pytest.mark.parametrize("name", ["lif_widget", "momentum_widget", "adaptive_widget", "race_widget"])
def test_each_slider_draws_by_calling_the_library(name: str) -> None:
    """A widget draws its first figure as it is made (ipywidgets calls it), from the library's own numbers:
    the neuron's simulated rate against the closed form, the optimizers' final f."""
    pytest.importorskip("ipywidgets", reason="the notebook extra: pip install -e '.[notebooks]'")
    import matplotlib

    matplotlib.use("Agg")
    from descentlab.labbook import widgets

    made = getattr(widgets, name)()
    assert isinstance(made.result, str) and made.result
    if name == "lif_widget":  # I = 1.5, R = 1, threshold 1, tau 10 ms: 1000 / (10 ln 3) = 91 spikes/s
        simulated, theory = (int(v) for v in re.findall(r"(\d+) spikes/s simulated, (\d+) from", made.result)[0])
        assert theory == 91 and abs(simulated - theory) <= 2
