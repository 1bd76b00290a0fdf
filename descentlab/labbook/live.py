"""The lab book where the student is: a chapter's demonstrations run and shown inside a Jupyter notebook.

>>> from descentlab.labbook.live import Lab
>>> lab = Lab("generalization")              # doctest: +SKIP
>>> lab.run("generalize-mnist")              # doctest: +SKIP

:class:`Lab` runs the runs of one ``@runs NAME`` of a chapter with the tour's settings (``quick``: the quick
tour's), in this process, under ``out/CHAPTER``, and returns what the lab book shows of them: figures, table,
claims with their verdicts and the commands that reproduce them. :func:`check` runs an exercise's checker on
a function defined in the notebook. The notebooks of ``descentlab notebooks`` call these.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from descentlab.exercises import NAMES, check_function, exercise
from descentlab.exercises.grading import new_seed
from descentlab.experiments import DECLARATIONS, Command, Experiment, TourSettings, start
from descentlab.labbook import chapters, diagram, sections_of
from descentlab.report import Section
from descentlab.report.html import section_html
from descentlab.runs import load_run


@dataclass
class Shown:
    """What the lab book shows of some runs: drawn as HTML in a notebook, as its claims in a terminal."""

    sections: list[Section]

    @property
    def claims_hold(self) -> bool:
        return all(c.holds for s in self.sections for c in s.claims)

    def _repr_html_(self) -> str:
        return "".join(section_html(s) for s in self.sections) or "<p>(no runs to show)</p>"

    def __repr__(self) -> str:
        lines = []
        for s in self.sections:
            lines.append(s.title)
            lines += [
                f"  {'Holds' if c.holds else 'Does not hold'} in this run: {c.text}. {c.evidence}" for c in s.claims
            ]
        return "\n".join(lines) or "(no runs to show)"


class Lab:
    """A chapter's demonstrations, run on demand: ``Lab("rnn").run("rnn-adding")``."""

    def __init__(self, chapter: str, seed: int = 0, quick: bool = True, out: str | Path = "lab-runs",
                 device: str = "cpu") -> None:  # fmt: skip
        found = {ch.id: ch for ch in chapters()}
        if chapter not in found:
            raise ValueError(f"no chapter {chapter!r}; valid: {', '.join(found)}")
        self.chapter = found[chapter]
        self.settings = TourSettings(seed=seed, device=device, quick=quick)
        self.root = Path(out) / chapter
        self.done: dict[str, list[Path]] = {}  # a demonstration's name -> its runs' folders, in the chapter's order

    def run(self, name: str) -> Shown:
        """Run the demonstration ``name`` of this chapter (again, if it ran before) and show it."""
        if name not in self.chapter.runs:
            raise ValueError(f"chapter {self.chapter.id!r} has no demonstration {name!r}; valid: "
                             f"{', '.join(self.chapter.runs)}")  # fmt: skip
        decl = next(d for d in DECLARATIONS if d.name == name)
        if isinstance(decl, Experiment) and decl.tour is not None:
            self._make(decl)
        elif isinstance(decl, Command) and decl.tour is not None:
            for needed in decl.reads:  # the runs of an earlier chapter it works on, made here first
                if needed not in self.done:
                    self._make(next(d for d in DECLARATIONS if isinstance(d, Experiment) and d.name == needed))
            later = set(self.chapter.runs[self.chapter.runs.index(name) :])
            decl.tour(self.settings, [p for n, paths in self.done.items() if n not in later for p in paths])
        return Shown(sections_of(name, [load_run(p) for paths in self.done.values() for p in paths]))

    def _make(self, decl: Experiment) -> None:
        """The tour's runs of ``decl``, made anew."""
        assert decl.tour is not None
        self.done[decl.name] = [start(decl, config, self.root) for config in decl.tour(self.settings)]

    @staticmethod
    def diagram(name: str) -> Any:
        """The lab book's diagram ``name``, for a notebook to display."""
        from IPython.display import SVG

        return SVG(diagram(name))


@dataclass
class Checked:
    """An exercise's verdict on a function: ``ok``, and a report as ``descentlab exercise check`` gives it."""

    name: str
    ok: bool
    report: str

    def __repr__(self) -> str:
        return self.report

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(self.report)}</pre>"


def check(fn: Callable[..., Any], seed: int | None = None) -> Checked:
    """Check ``fn`` (named after its exercise: ``def gd_step(...)``) against the library's own function, on
    cases drawn from ``seed`` (a new seed each time when None)."""
    name = getattr(fn, "__name__", "")
    if name not in NAMES:
        raise ValueError(f"{name!r} is not an exercise's function; valid: {', '.join(NAMES)}")
    ex = exercise(name)
    if seed is None:
        seed = new_seed()
    result = check_function(ex, fn, seed=seed)
    if result.problem:
        lines = [f"{name}: FAILED: {result.problem}"]
    else:
        lines = [f"{name}: {'passed' if result.ok else 'FAILED'}: {result.passed} of {result.total} cases passed "
                 f"(seed {seed}; tolerance {ex.tolerance.describe()})"]  # fmt: skip
        lines += [f"  {'ok' if c.status == 'passed' else c.status.upper()}  {c.label}"
                  + (f": {c.message.splitlines()[0]}" if c.message else "") for c in result.cases]  # fmt: skip
    if result.mistake is not None:
        lines.append(f"  diagnosis: {result.mistake.name}. {result.mistake.sentence()}")
    return Checked(name, result.ok, "\n".join(lines))
