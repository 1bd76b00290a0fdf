"""The report: self-contained HTML built only from what runs logged, and plots that know no domain.

``report`` renders what it is given: :class:`Chapter` objects holding HTML fragments (Markdown with math,
:mod:`descentlab.report.markup`) and :class:`Section` objects (figures, tables, claims with verdicts)
become one HTML page with the figures embedded, or a site of pages (:class:`Page`). It imports no experiment.
"""

from descentlab.report.claim import Bound, Claim
from descentlab.report.html import (
    Chapter,
    Page,
    Section,
    commands_block,
    fmt,
    generic_section,
    pct,
    render,
    write_report,
    write_site,
)
from descentlab.report.interactive import Explorer, Layer, Slider, Toggles

__all__ = [
    "Bound",
    "Chapter",
    "Claim",
    "Explorer",
    "Layer",
    "Page",
    "Section",
    "Slider",
    "Toggles",
    "commands_block",
    "fmt",
    "generic_section",
    "pct",
    "render",
    "write_report",
    "write_site",
]
