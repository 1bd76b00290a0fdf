"""The lab book: the unit's chapters as content files, with the results of runs in their places.

``chapters/NN-ID.md`` holds one chapter of the unit, in its order: its first line is ``# Title``, the rest
Markdown with LaTeX math and boxes (:mod:`descentlab.report.markup`), and two directives, each on a line
of its own:

* ``@runs NAME``: the sections of the runs of the declaration ``NAME`` (``optim-train``,
  ``landscape-hessian``, ...): figures, table, claims with their verdicts, commands. The tour runs the
  declarations in the order these directives give (:func:`plan_names`).
* ``@diagram NAME Caption``: ``diagrams/NAME.svg``, inline, with its caption.
* ``@interactive NAME``: an interactive figure of :mod:`descentlab.labbook.explorers`, computed by the
  library when the book is built and drawn by the page.

``questions.toml`` holds the unit's revision questions; a chapter answers one in a ``::: answer ID`` box,
and the report's index links each question to its answer. ``start.md`` is the book's first page (how to
install, read a run section, do the exercises, and teach with them), ``glossary.md`` its terms.

The book is written either as one page (:func:`build_report` with a name ending in ``.html``: for printing
and mailing) or as a folder of pages (any other name): a start page with the questions and the contents, a
page per chapter, the terms and the exercises. It is built only from what runs logged.
"""

from __future__ import annotations

import html
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from descentlab.exercises import EXERCISES
from descentlab.experiments import DECLARATIONS, Declaration, Experiment
from descentlab.labbook.explorers import explorer_html
from descentlab.report import Chapter, Page, Section, generic_section, write_report, write_site
from descentlab.report.html import chapter_html, contents
from descentlab.report.markup import markdown
from descentlab.runs import RunRecord, load_run

HERE = Path(__file__).parent
LEVEL = {1: "easy", 2: "medium", 3: "hard"}  # an exercise's difficulty in words
DIRECTIVE = re.compile(r"^@(runs|diagram|interactive)\s+(\S+)\s*(.*)$")


@dataclass(frozen=True)
class Directive:
    kind: str  # "runs", "diagram" or "interactive"
    name: str  # a declaration's name, or a diagram's file name without .svg
    text: str = ""  # a diagram's caption


@dataclass(frozen=True)
class ChapterText:
    id: str  # from the file name: 03-generalization.md -> generalization
    number: int
    title: str
    parts: tuple[str | Directive, ...]  # Markdown text and directives, in order

    @property
    def runs(self) -> list[str]:
        """The declarations whose runs this chapter shows, in order."""
        return [p.name for p in self.parts if isinstance(p, Directive) and p.kind == "runs"]


@dataclass(frozen=True)
class Question:
    id: str  # "A3"
    text: str  # in the unit's words

    @property
    def heading(self) -> str:
        part = "Part A" if self.id.startswith("A") else "Part B"
        return f"Revision question {self.id} ({part}): {self.text}"


def parse_chapter(path: Path) -> ChapterText:
    """A chapter file: ``# Title`` on its first line, then Markdown and directives."""
    lines = path.read_text(encoding="utf-8").splitlines()
    if not lines or not lines[0].startswith("# "):
        raise ValueError(f"{path}: a chapter starts with '# Title'")
    number_text, _, ident = path.stem.partition("-")
    parts: list[str | Directive] = []
    text: list[str] = []
    for line in lines[1:]:
        found = DIRECTIVE.match(line)
        if found is None:
            text.append(line)
            continue
        if any(t.strip() for t in text):
            parts.append("\n".join(text))
        text = []
        parts.append(Directive(*found.groups()))
    if any(t.strip() for t in text):
        parts.append("\n".join(text))
    return ChapterText(ident, int(number_text), lines[0][2:].strip(), tuple(parts))


@cache
def chapters() -> tuple[ChapterText, ...]:
    """The unit's chapters, in its order."""
    return tuple(parse_chapter(p) for p in sorted((HERE / "chapters").glob("[0-9][0-9]-*.md")))


@cache
def questions() -> tuple[Question, ...]:
    data = tomllib.loads((HERE / "questions.toml").read_text(encoding="utf-8"))
    return tuple(Question(q["id"], q["text"]) for q in data["question"])


def diagram(name: str) -> str:
    """The SVG of ``diagrams/NAME.svg``, to inline (it has no XML declaration)."""
    return (HERE / "diagrams" / f"{name}.svg").read_text(encoding="utf-8").strip()


def plan_names(chapter: str = "") -> list[str]:
    """The declarations the tour runs, in the order of the chapters (only ``chapter``'s when given)."""
    return [name for ch in chapters() if not chapter or ch.id == chapter for name in ch.runs]


def _declaration(name: str) -> Declaration:
    for d in DECLARATIONS:
        if d.name == name:
            return d
    raise KeyError(f"a chapter names {name!r}, which no declaration has")


def sections_of(name: str, runs: Sequence[RunRecord]) -> list[Section]:
    """The lab book's sections of the demonstration ``name`` (a declaration's name) made from ``runs``."""
    decl = _declaration(name)
    if isinstance(decl, Experiment):
        own = [r for r in runs if r.experiment == decl.name]
        if not own:
            return []
        return decl.sections(own) if decl.sections is not None else [generic_section(decl.name, own)]
    return decl.sections(runs) if decl.sections is not None else []


def exercises_section(chapter: str) -> str:
    """The chapter's exercises: each one's signature, what it asks, its difficulty, the command that starts it
    and the mistakes the checker recognizes (anchored at ``#exercise-NAME``); "" for a chapter without any."""
    mine = [e for e in EXERCISES if e.chapter == chapter]
    if not mine:
        return ""
    items = "".join(
        f'<li id="exercise-{html.escape(e.name)}"><code>{html.escape(e.signature)}</code>: {html.escape(e.title)} '
        f'({LEVEL[e.difficulty]}; it practises <a href="#{e.section}">this section</a>). Start it with '
        f"<code>descentlab exercise start {html.escape(e.name)}</code> and "
        f"check it with <code>descentlab exercise check {html.escape(e.name)}.py</code>; the checker names these "
        f"mistakes: {html.escape('; '.join(m.name for m in e.mistakes))}.</li>"
        for e in mine
    )
    return (
        f'<section class="exercises"><h3 id="{html.escape(chapter)}-exercises">Exercises</h3><p>Write these '
        "functions yourself: each template states the equation, the shapes and what the checker tries, and the "
        "checker compares your function with descentlab's own on cases drawn when you run it (all of them: "
        'the <a href="#exercises">exercises page</a>).</p>'
        f"<ul>{items}</ul></section>"
    )


def interactive_names(chapter_ids: Iterable[str] | None = None) -> list[str]:
    """The interactive figures the chapters place (those of ``chapter_ids`` only, when given), in order."""
    wanted = None if chapter_ids is None else set(chapter_ids)
    return [p.name for ch in chapters() if wanted is None or ch.id in wanted
            for p in ch.parts if not isinstance(p, str) and p.kind == "interactive"]  # fmt: skip


def build_chapters(
    runs: Sequence[RunRecord],
    every_chapter: bool = False,
    map_sections: Callable[..., Iterable[Any]] = map,
    interactive: Mapping[str, str] | None = None,
) -> list[Chapter]:
    """The chapters with the sections of ``runs`` in their places. A chapter with no runs of its own is
    left out unless ``every_chapter``; runs of experiments no chapter shows come last. The sections (their
    figures drawn) are made by ``map_sections(function, names, runs)``: ``map`` here, or a process pool's
    ``map`` to draw them side by side; so are the interactive figures, unless ``interactive`` already holds
    them (name to HTML, :func:`descentlab.labbook.explorers.explorer_html`)."""
    answers = {q.id: q.heading for q in questions()}
    names = [part.name for ch in chapters() for part in ch.parts if not isinstance(part, str) and part.kind == "runs"]
    made = dict(zip(names, map_sections(sections_of, names, [runs] * len(names)), strict=True))
    wanted = [ch.id for ch in chapters() if every_chapter or any(made[n] for n in ch.runs)]
    figures = dict(interactive or {})
    missing = [name for name in interactive_names(wanted) if name not in figures]
    figures.update(zip(missing, map_sections(explorer_html, missing), strict=True))
    out = []
    for ch in chapters():
        parts: list[str | Section] = []
        shown = 0
        for part in ch.parts:
            if isinstance(part, str):
                parts.append(markdown(part, answers, headings_below=2, prefix=f"{ch.id}-"))
            elif part.kind == "diagram":
                parts.append(f'<figure class="diagram" id="diagram-{html.escape(part.name)}">{diagram(part.name)}'
                             f"<figcaption>{html.escape(part.text)}</figcaption></figure>")  # fmt: skip
            elif part.kind == "interactive":
                parts.append(figures.get(part.name, ""))
            else:
                sections = made[part.name]
                shown += len(sections)
                parts += sections
        exercises = exercises_section(ch.id)
        if exercises:
            parts.append(exercises)
        if shown or every_chapter:
            out.append(Chapter(f"chapter-{ch.id}", f"{ch.number}. {ch.title}", parts))
    shown_names = {n for ch in chapters() for n in ch.runs}
    groups: dict[str, list[RunRecord]] = {}
    for r in runs:
        if r.experiment not in shown_names:
            groups.setdefault(r.experiment, []).append(r)
    if groups:
        out.append(Chapter("chapter-other", "Other runs", [generic_section(n, g) for n, g in groups.items()]))
    return out


def question_index(chapters: Sequence[Chapter]) -> str:
    """The revision questions, each linked to its answer where the report has it."""
    page = "".join(p for ch in chapters for p in ch.parts if isinstance(p, str))
    items = []
    for q in questions():
        anchor = f"answer-{q.id}"
        link = f'<a href="#{anchor}">{html.escape(q.text)}</a>' if f'id="{anchor}"' in page else html.escape(q.text)
        items.append(f'<li value="{q.id[1:]}">{link}</li>')
    part_a = [i for q, i in zip(questions(), items, strict=True) if q.id.startswith("A")]
    part_b = [i for q, i in zip(questions(), items, strict=True) if q.id.startswith("B")]
    return ('<nav class="questions" id="questions"><h2>The unit\'s revision questions</h2><p>Part A</p><ol>' + "".join(part_a)
            + "</ol><p>Part B</p><ol>" + "".join(part_b) + "</ol></nav>")  # fmt: skip


def glossary() -> str:
    """The definitions of the unit's terms, each with an anchor ``#glossary-TERM``."""
    text = (HERE / "glossary.md").read_text(encoding="utf-8")
    return f'<section class="glossary" id="glossary"><h2>Terms</h2>{markdown(text, headings_below=2, prefix="glossary-")}</section>'


def front_matter(built: Sequence[Chapter]) -> str:
    """What comes before the chapters on the single page: how to read the book, the revision questions
    linked to their answers, the glossary and the exercises."""
    return start_here() + question_index(built) + glossary() + exercises_page(built)


def start_here() -> str:
    """The first page: installing, how to read a run section, the exercises, and teaching with them."""
    text = (HERE / "start.md").read_text(encoding="utf-8")
    return f'<section class="start" id="start">{markdown(text, headings_below=2, prefix="start-")}</section>'


def exercises_page(built: Sequence[Chapter]) -> str:
    """Every exercise by chapter (anchored at ``#exercises``), each linked to its place in its chapter
    where the book has that chapter."""
    shown = {ch.id for ch in built}
    rows = []
    for e in EXERCISES:
        ch = next(c for c in chapters() if c.id == e.chapter)
        name, title = html.escape(e.name), html.escape(f"{ch.number}. {ch.title}")
        if f"chapter-{e.chapter}" in shown:
            name, title = f'<a href="#exercise-{name}">{name}</a>', f'<a href="#{e.section}">{title}</a>'
        rows.append(f"<tr><td>{name}</td><td>{title}</td><td>{LEVEL[e.difficulty]}</td><td>{html.escape(e.title)}</td>"
                    f"<td>{len(e.mistakes)}</td></tr>")  # fmt: skip
    return (
        '<section class="exercises-all" id="exercises"><h2>Exercises</h2><p>Each exercise is a function of the '
        "unit to write yourself, checked against descentlab's own on cases drawn when you run the checker, "
        "which names the mistakes it knows (the last column counts them). <code>descentlab exercise start "
        "NAME</code> writes its template, <code>descentlab exercise check NAME.py</code> checks it; a teacher "
        "grades a class with <code>descentlab exercise grade</code>.</p><table><thead><tr><th>exercise</th>"
        "<th>chapter</th><th>difficulty</th><th>what to write</th><th>known mistakes</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></section>"
    )


def book_pages(built: Sequence[Chapter]) -> list[Page]:
    """The pages of the book as a site: the start page (how to read it, the questions, the contents), a
    page per chapter, the terms and the exercises."""
    bodies = [chapter_html(ch) for ch in built]
    front = start_here() + question_index(built) + contents(built, bodies)
    pages = [Page("index.html", "Start", front)]
    pages += [
        Page(f"{ch.id.removeprefix('chapter-')}.html", ch.title, body) for ch, body in zip(built, bodies, strict=True)
    ]
    return [*pages, Page("glossary.html", "Terms", glossary(), pinned=True),
            Page("exercises.html", "Exercises", exercises_page(built), pinned=True)]  # fmt: skip


def write_book(built: Sequence[Chapter], out: str | Path, title: str, subtitle: str) -> Path:
    """The book at ``out``: one page if its name ends in ``.html``, else a folder of pages; returns the
    page to open."""
    if Path(out).suffix.lower() in (".html", ".htm"):
        return write_report(built, out, title, subtitle, front_matter(built))
    return write_site(book_pages(built), out, title, subtitle)


def build_report(
    runs: Sequence[RunRecord | str | Path],
    out: str | Path,
    title: str = "descentlab report",
    every_chapter: bool = False,
) -> Path:
    """Build the HTML lab book of ``runs`` (records, or run folders to read) at ``out``: one page if its
    name ends in ``.html``, else a folder of pages (its ``index.html`` is returned)."""
    records = [r if isinstance(r, RunRecord) else load_run(r) for r in runs]
    built = build_chapters(records, every_chapter)
    return write_book(built, out, title, f"{len(records)} run(s) of the unit 'Optimization and Generalization'.")
