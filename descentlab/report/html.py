"""The report: one self-contained HTML file, in chapters, that prints cleanly.

A :class:`Chapter` is a sequence of parts: HTML fragments (prose, equations as MathML, diagrams, made by
:mod:`descentlab.report.markup`) and :class:`Section` objects, each the results of some runs: a caption,
figures drawn from logged metrics (embedded as base64 PNG), a table, the :class:`Claim` the runs demonstrate
with its verdict, and the commands that reproduce them. Nothing here knows a domain; nothing is retrained.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from dataclasses import InitVar, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from descentlab.report.claim import Claim
from descentlab.runs import RunRecord
from descentlab.runs.checkpoint import atomic_write_bytes


@dataclass
class Section:
    """The results of some runs, with what they show."""

    id: str  # HTML anchor
    title: str
    caption: str = ""  # what this run was, in a sentence or two (plain text)
    figures: InitVar[Sequence[Figure]] = ()  # drawn into PNGs, and closed, as the section is made
    table: tuple[list[str], list[list[str]]] | None = None
    commands: list[str] = field(default_factory=list)
    claims: list[Claim] = field(default_factory=list)
    pngs: list[str] = field(init=False, default_factory=list)  # the figures, base64 PNG

    def __post_init__(self, figures: Sequence[Figure]) -> None:
        self.pngs = [_png(fig) for fig in figures]  # at once: a report draws too many figures to keep open


@dataclass
class Chapter:
    id: str
    title: str
    parts: list[str | Section] = field(default_factory=list)  # HTML fragments and sections, in order

    @property
    def sections(self) -> list[Section]:
        return [p for p in self.parts if isinstance(p, Section)]


def _png(fig: Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


_CSS = """
body { font-family: system-ui, sans-serif; max-width: 980px; margin: 2em auto; padding: 0 1em; color: #222;
       line-height: 1.45; }
h1 { border-bottom: 2px solid #345; padding-bottom: .3em; }
article.chapter { border-top: 2px solid #345; margin-top: 2.5em; }
section.run { border-top: 1px solid #ccc; padding-top: .4em; margin-top: 1.6em; }
img { max-width: 100%; display: block; margin: .8em 0; }
svg.diagram { max-width: 100%; height: auto; display: block; margin: .8em auto; }
figure { margin: 1em 0; } figcaption { font-size: 90%; color: #555; text-align: center; }
table { border-collapse: collapse; font-size: 90%; margin: .6em 0; }
th, td { border: 1px solid #bbb; padding: .25em .6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
pre { background: #f4f4f4; padding: .6em; overflow-x: auto; white-space: pre-wrap; }
.caption { color: #444; }
.box { border-left: 4px solid #888; background: #f7f7f7; padding: .3em .9em; margin: .8em 0; }
.box-title { font-weight: 600; margin: .3em 0; }
.erratum { border-color: #d08000; background: #fff8e8; }
.note { border-color: #5080c0; background: #f0f5fc; }
.definition { border-color: #50a050; background: #f2faf2; }
.answer { border-color: #8050b0; background: #f7f2fc; }
.claim { padding: .35em .8em; margin: .5em 0; border-radius: 4px; }
.claim.holds { background: #e8f6e8; border: 1px solid #6a6; }
.claim.fails { background: #fbe9e9; border: 1px solid #c66; }
.verdict { font-weight: 600; }
div.math.block { overflow-x: auto; margin: .6em 0; }
nav li { margin: .15em 0; }
ul.contents { list-style: none; padding-left: 0; }
@media print {
  body { max-width: none; margin: 0; font-size: 10.5pt; }
  article.chapter { break-before: page; border: none; }
  img, svg, figure, table, pre, .box, .claim, div.math.block { break-inside: avoid; }
  div.math.block { overflow: visible; }
  h2, h3, h4 { break-after: avoid; }
  a { color: inherit; text-decoration: none; }
}
"""

# Marks every image that decoded, so a headless browser test can read what rendered.
_SCRIPT = """
window.addEventListener('load', function () {
  var ok = 0;
  for (var i = 0; i < document.images.length; i++) {
    var img = document.images[i];
    var good = img.complete && img.naturalWidth > 0;
    img.setAttribute('data-rendered', good ? 'yes' : 'no');
    if (good) ok++;
  }
  document.body.setAttribute('data-images-rendered', String(ok));
});
"""


def _section(s: Section) -> list[str]:
    esc = html.escape
    out = [f'<section class="run" id="{esc(s.id)}"><h4>{esc(s.title)}</h4>']
    if s.caption:
        out.append(f'<p class="caption">{esc(s.caption)}</p>')
    for png in s.pngs:
        out.append(f'<img alt="{esc(s.title)}" src="data:image/png;base64,{png}">')
    if s.table is not None:
        header, rows = s.table
        out.append("<table><thead><tr>" + "".join(f"<th>{esc(h)}</th>" for h in header) + "</tr></thead><tbody>")
        out += ["<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in rows]
        out.append("</tbody></table>")
    for c in s.claims:
        verdict = "holds in this run" if c.holds else "does not hold in this run"
        out.append(f'<div class="claim {"holds" if c.holds else "fails"}"><span class="claim-text">{esc(c.text)}</span>'
                   f' <span class="verdict">{verdict}</span>: <span class="evidence">{esc(c.evidence)}</span></div>')  # fmt: skip
    if s.commands:
        out.append("<p>Reproduce with:</p><pre>" + esc("\n".join(s.commands)) + "</pre>")
    out.append("</section>")
    return out


def render(chapters: Sequence[Chapter], title: str, subtitle: str = "", front: str = "") -> str:
    """The page: title, ``front`` (HTML: an index, say), a table of contents, then the chapters."""
    esc = html.escape
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{esc(title)}</title><style>{_CSS}</style><script>{_SCRIPT}</script></head><body>",
        f"<h1>{esc(title)}</h1>",
        f"<p>{esc(subtitle)} Built {datetime.now(UTC):%Y-%m-%d %H:%M} UTC from logged runs only.</p>",
        front,
        '<nav><h2>Contents</h2><ul class="contents">',
    ]
    for ch in chapters:
        runs = "".join(f'<li><a href="#{esc(s.id)}">{esc(s.title)}</a></li>' for s in ch.sections)
        out.append(f'<li><a href="#{esc(ch.id)}">{esc(ch.title)}</a>' + (f"<ul>{runs}</ul>" if runs else "") + "</li>")
    out.append("</ul></nav>")
    for ch in chapters:
        out.append(f'<article class="chapter" id="{esc(ch.id)}"><h2>{esc(ch.title)}</h2>')
        for part in ch.parts:
            out += _section(part) if isinstance(part, Section) else [part]
        out.append("</article>")
    out.append("</body></html>")
    return "\n".join(out)


def write_report(
    chapters: Sequence[Chapter], path: str | Path, title: str, subtitle: str = "", front: str = ""
) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, render(chapters, title, subtitle, front).encode("utf-8"))
    return path


def generic_section(experiment: str, runs: Sequence[RunRecord]) -> Section:
    """A plain section for runs of an experiment that has no section of its own: each run's final metrics."""
    rows = [[r.path.name, r.status, " ".join(f"{k}={v:.4g}" for k, v in sorted(r.final().items()))] for r in runs]
    return Section(
        id=f"exp-{experiment}",
        title=f"Experiment {experiment}",
        caption=f"Runs of the experiment {experiment}.",
        table=(["run", "status", "final metrics"], rows),
        commands=[str(r.meta.get("command")) for r in runs],
    )


def pct(x: float | None) -> str:
    """A fraction as a percentage with two decimals; '-' when missing."""
    return "-" if x is None else f"{100 * x:.2f}"


def fmt(x: float | None, spec: str = ".4f") -> str:
    """A number formatted by ``spec``; '-' when missing."""
    return "-" if x is None else format(x, spec)
