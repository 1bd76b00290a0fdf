"""The lab book: the report of any runs, its sections made by the declarations of the experiments.

Each :class:`~descentlab.experiments.Experiment` makes the sections of its own runs; each command that
analyses runs (``landscape hessian``, ``landscape surface``) makes the sections of what it wrote into them.
They come in the order of :data:`~descentlab.experiments.DECLARATIONS`; runs of an experiment nothing
declares (an older descentlab's) get a plain section of their final metrics.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from descentlab.experiments import DECLARATIONS, Experiment
from descentlab.report import Section, generic_section, write_report
from descentlab.runs import RunRecord, load_run


def build_sections(runs: Sequence[RunRecord]) -> list[Section]:
    """The report's sections for ``runs``, in the order of the declarations."""
    sections: list[Section] = []
    declared = set()
    for decl in DECLARATIONS:
        if isinstance(decl, Experiment):
            declared.add(decl.name)
            own = [r for r in runs if r.experiment == decl.name]
            if own and decl.sections is not None:
                sections += decl.sections(own)
            elif own:
                sections.append(generic_section(decl.name, own))
        elif decl.sections is not None:
            sections += decl.sections(runs)
    unknown: dict[str, list[RunRecord]] = {}
    for r in runs:
        if r.experiment not in declared:
            unknown.setdefault(r.experiment, []).append(r)
    sections += [generic_section(name, group) for name, group in unknown.items()]
    return sections


def build_report(run_dirs: Sequence[str | Path], out: str | Path, title: str = "descentlab report") -> Path:
    """Build the HTML report of the runs in ``run_dirs`` at ``out``."""
    runs = [load_run(p) for p in run_dirs]
    subtitle = f"{len(runs)} run(s) of the unit 'Optimization and Generalization'."
    return write_report(build_sections(runs), out, title, subtitle)
