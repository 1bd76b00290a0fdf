"""The report: self-contained HTML built only from what runs logged, and plots that know no domain.

``report`` renders what it is given: :class:`Section` objects (made by each experiment from its own runs)
become one HTML page with the figures embedded. It imports no experiment.
"""

from descentlab.report.html import Section, fmt, generic_section, pct, render, write_report

__all__ = ["Section", "fmt", "generic_section", "pct", "render", "write_report"]
