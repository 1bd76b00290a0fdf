"""Figures and the HTML report, built only from what runs logged."""

from descentlab.report.html import Section, render, write_report
from descentlab.report.sections import build_report, build_sections

__all__ = ["Section", "build_report", "build_sections", "render", "write_report"]
