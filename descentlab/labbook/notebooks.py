"""The lab book as Jupyter notebooks: one per chapter, made from the same chapter files as the HTML book.

Each chapter becomes a notebook (nbformat 4, written as JSON, so writing them needs no Jupyter): its prose and
equations as Markdown cells (the boxes as quotes, the predict-then-run questions with their ``<details>``
reveal), each ``@runs NAME`` as a code cell that runs that demonstration at the tour's scale and shows its
figures, table and claims (:class:`descentlab.labbook.live.Lab`), each ``@diagram`` as the diagram, each
``@interactive NAME`` as a slider that calls the library again (:mod:`descentlab.labbook.widgets`), and at
the end the chapter's exercises: the template to fill in, and a cell that checks it. ``index.ipynb`` lists
them with the revision questions.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from descentlab.exercises import EXERCISES
from descentlab.labbook import ChapterText, chapters, questions
from descentlab.labbook.widgets import WIDGETS
from descentlab.report.markup import BOX_TITLES
from descentlab.runs.checkpoint import atomic_write_bytes

KERNEL = {"display_name": "Python 3", "language": "python", "name": "python3"}
BOX = re.compile(r"^:::\s*(\w+)\s*(.*)$")


def markdown_cell(text: str) -> dict[str, Any]:
    return {"cell_type": "markdown", "metadata": {}, "source": text.strip("\n").splitlines(keepends=True)}


def code_cell(text: str) -> dict[str, Any]:
    source = text.strip("\n").splitlines(keepends=True)
    return {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": source}


def notebook(cells: Sequence[dict[str, Any]]) -> dict[str, Any]:
    metadata = {"kernelspec": KERNEL, "language_info": {"name": "python"}}
    numbered = [{"id": f"cell-{i}", **cell} for i, cell in enumerate(cells)]  # ids: nbformat 4.5
    return {"cells": numbered, "metadata": metadata, "nbformat": 4, "nbformat_minor": 5}


def jupyter_markdown(text: str) -> str:
    """The lab book's Markdown for Jupyter: its ``::: kind`` boxes become quotes with their titles (the
    predict-then-run boxes stay unquoted, so that their ``<details>`` reveal works), ``::: answer ID`` the
    revision question it answers."""
    asked = {q.id: q.heading for q in questions()}
    out: list[str] = []
    kind = ""
    for line in text.splitlines():
        found = BOX.match(line.strip())
        if found and not kind:
            kind, arg = found.groups()
            title = asked.get(arg.strip(), arg) if kind == "answer" else BOX_TITLES.get(kind, kind.title())
            out.append(f"**{title}.**" if kind == "predict" else f"> **{title}.**")
            out.append("" if kind == "predict" else ">")
            continue
        if line.strip() == ":::" and kind:
            kind = ""
            continue
        out.append(line if kind in ("", "predict") else f"> {line}".rstrip())
    return "\n".join(out)


def _sections(text: str) -> list[str]:
    """Markdown split before each ``## heading``, a cell each."""
    parts = re.split(r"(?m)^(?=## )", text)
    return [p for p in parts if p.strip()]


def chapter_cells(ch: ChapterText, seed: int = 0) -> list[dict[str, Any]]:
    """The cells of chapter ``ch``'s notebook."""
    runs = ", ".join(f"`{n}`" for n in ch.runs)
    cells = [
        markdown_cell(
            f"# {ch.number}. {ch.title}\n\nThis notebook is chapter {ch.number} of descentlab's lab book, written by "
            "`descentlab notebooks` from the same text as the HTML book. Run its cells top to bottom (Run > Run All "
            f"Cells): each demonstration ({runs}) runs here at the quick tour's scale, in seconds to a minute on two "
            "CPU cores, and shows its figures, its table and its claims, each with its verdict in this run. Before "
            "each run, a *Predict, then run* question: answer it, then open the reveal. Change the sliders, and a "
            "cell's settings, to explore; the exercises are at the end."
        ),
        code_cell(
            "%matplotlib inline\n"
            "from descentlab.labbook.live import Lab, check\n\n"
            f'lab = Lab("{ch.id}", seed={seed}, quick=True)  # its runs go to lab-runs/{ch.id}/ beside this notebook'
        ),
    ]
    for part in ch.parts:
        if isinstance(part, str):
            cells += [markdown_cell(jupyter_markdown(p)) for p in _sections(part)]
        elif part.kind == "runs":
            cells.append(code_cell(f'lab.run("{part.name}")'))
            if part.name in WIDGETS:
                cells += _widget(part.name)
        elif part.kind == "diagram":
            cells += [code_cell(f'lab.diagram("{part.name}")'), markdown_cell(f"*{part.text}*")]
        elif part.kind == "interactive" and part.name in WIDGETS:
            cells += _widget(part.name)
    cells += exercise_cells(ch.id)
    return cells


def _widget(name: str) -> list[dict[str, Any]]:
    function = WIDGETS[name]
    return [
        markdown_cell("Move the sliders: every change runs descentlab again (a slider acts when you let it go)."),
        code_cell(f"from descentlab.labbook.widgets import {function}\n\n{function}()"),
    ]


def exercise_cells(chapter: str) -> list[dict[str, Any]]:
    """For each exercise of the chapter: what it asks, its template to fill in, and a cell that checks it."""
    mine = [e for e in EXERCISES if e.chapter == chapter]
    if not mine:
        return []
    cells = [markdown_cell(
        "## Exercises\n\nWrite each function in its cell, run the cell, then run the check below it: it compares "
        "your function with descentlab's own on cases drawn anew each time, and names the mistake your outputs "
        "match if it knows it. Until you write the body, the check says the function raised."
    )]  # fmt: skip
    for e in mine:
        template = e.template().replace(f"# Check it with: descentlab exercise check {e.name}.py",
                                        "# Check it with the next cell.")  # fmt: skip
        cells += [
            markdown_cell(f"### Exercise `{e.signature}`: {e.title}"),
            code_cell(template),
            code_cell(f"check({e.name})"),
        ]
    return cells


def index_cells(names: Sequence[str]) -> list[dict[str, Any]]:
    items = "\n".join(f"{ch.number}. [{ch.title}]({name})" for ch, name in zip(chapters(), names, strict=True))
    part_a = "\n".join(f"* {q.id}. {q.text}" for q in questions() if q.id.startswith("A"))
    part_b = "\n".join(f"* {q.id}. {q.text}" for q in questions() if q.id.startswith("B"))
    return [markdown_cell(
        "# descentlab: the lab book of the unit 'Optimization and Generalization', as notebooks\n\n"
        "One notebook per chapter, in the unit's order. Each runs top to bottom on two CPU cores in about a minute "
        "or two (the quick tour's runs of its chapter), with the figures, the claims and their verdicts, sliders "
        "that call descentlab again, predict-then-run questions and the chapter's exercises.\n\n"
        f"{items}\n\n## The unit's revision questions\n\nPart A\n\n{part_a}\n\nPart B\n\n{part_b}\n\n"
        "The lab book answers each of them: `descentlab tour`, then open `runs/tour/book/index.html`."
    )]  # fmt: skip


def notebook_name(ch: ChapterText) -> str:
    return f"{ch.number:02d}-{ch.id}.ipynb"


def notebooks(seed: int = 0) -> dict[str, dict[str, Any]]:
    """Every notebook by file name: a chapter's each, and ``index.ipynb``."""
    out = {notebook_name(ch): notebook(chapter_cells(ch, seed)) for ch in chapters()}
    return {"index.ipynb": notebook(index_cells(list(out))), **out}


def write_notebooks(folder: str | Path, seed: int = 0, overwrite: bool = False) -> list[Path]:
    """Write the notebooks into ``folder``; returns their paths. A notebook already there is kept (a student
    may have written in it) unless ``overwrite``: ``FileExistsError`` names the first one, and nothing is
    written."""
    folder = Path(folder)
    made = notebooks(seed)
    if not overwrite:
        there = [folder / name for name in made if (folder / name).exists()]
        if there:
            raise FileExistsError(str(there[0]))
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, nb in made.items():
        atomic_write_bytes(folder / name, (json.dumps(nb, indent=1, ensure_ascii=False) + "\n").encode("utf-8"))
        paths.append(folder / name)
    return paths
