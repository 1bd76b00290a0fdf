"""The report: one self-contained HTML file, a section per concept of the unit.

Each section says what the concept is in two or three sentences, shows figures drawn from logged
metrics (embedded as base64 PNG), a table of key numbers, and the exact commands that reproduce it.
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

from descentlab.runs import RunRecord
from descentlab.runs.checkpoint import atomic_write_bytes


@dataclass
class Section:
    id: str  # HTML anchor
    title: str
    concept: str  # two or three sentences on the concept (plain text)
    figures: InitVar[Sequence[Figure]] = ()  # drawn into PNGs, and closed, as the section is made
    table: tuple[list[str], list[list[str]]] | None = None
    commands: list[str] = field(default_factory=list)
    note: str = ""  # where the unit's text is loose, and what is implemented instead
    pngs: list[str] = field(init=False, default_factory=list)  # the figures, base64 PNG

    def __post_init__(self, figures: Sequence[Figure]) -> None:
        self.pngs = [_png(fig) for fig in figures]  # at once: a report draws too many figures to keep open


def _png(fig: Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


_CSS = """
body { font-family: system-ui, sans-serif; max-width: 980px; margin: 2em auto; padding: 0 1em; color: #222; }
h1 { border-bottom: 2px solid #345; padding-bottom: .3em; }
section { border-top: 1px solid #ccc; padding-top: .5em; margin-top: 2em; }
img { max-width: 100%; display: block; margin: .8em 0; }
table { border-collapse: collapse; font-size: 90%; }
th, td { border: 1px solid #bbb; padding: .25em .6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
pre { background: #f4f4f4; padding: .6em; overflow-x: auto; }
.note { background: #fff8e0; border-left: 4px solid #e0b000; padding: .4em .8em; }
nav li { margin: .15em 0; }
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


def render(sections: list[Section], title: str, subtitle: str = "") -> str:
    esc = html.escape
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{esc(title)}</title><style>{_CSS}</style><script>{_SCRIPT}</script></head><body>",
        f"<h1>{esc(title)}</h1>",
        f"<p>{esc(subtitle)} Built {datetime.now(UTC):%Y-%m-%d %H:%M} UTC from logged runs only.</p>",
        "<nav><ol>",
        *[f'<li><a href="#{esc(s.id)}">{esc(s.title)}</a></li>' for s in sections],
        "</ol></nav>",
    ]
    for s in sections:
        out.append(f'<section id="{esc(s.id)}" class="concept"><h2>{esc(s.title)}</h2>')
        out.append(f"<p>{esc(s.concept)}</p>")
        if s.note:
            out.append(f'<p class="note">{esc(s.note)}</p>')
        for png in s.pngs:
            out.append(f'<img alt="{esc(s.title)}" src="data:image/png;base64,{png}">')
        if s.table is not None:
            header, rows = s.table
            out.append("<table><thead><tr>" + "".join(f"<th>{esc(h)}</th>" for h in header) + "</tr></thead><tbody>")
            out += ["<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in rows]
            out.append("</tbody></table>")
        if s.commands:
            out.append("<p>Reproduce with:</p><pre>" + esc("\n".join(s.commands)) + "</pre>")
        out.append("</section>")
    out.append("</body></html>")
    return "\n".join(out)


def write_report(sections: list[Section], path: str | Path, title: str, subtitle: str = "") -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, render(sections, title, subtitle).encode("utf-8"))
    return path


def generic_section(experiment: str, runs: Sequence[RunRecord]) -> Section:
    """A plain section for runs of an experiment that has no section of its own: each run's final metrics."""
    rows = [[r.path.name, r.status, " ".join(f"{k}={v:.4g}" for k, v in sorted(r.final().items()))] for r in runs]
    return Section(
        id=f"exp-{experiment}",
        title=f"Experiment {experiment}",
        concept=f"Runs of the experiment {experiment}.",
        table=(["run", "status", "final metrics"], rows),
        commands=[str(r.meta.get("command")) for r in runs],
    )


def pct(x: float | None) -> str:
    """A fraction as a percentage with two decimals; '-' when missing."""
    return "-" if x is None else f"{100 * x:.2f}"


def fmt(x: float | None, spec: str = ".4f") -> str:
    """A number formatted by ``spec``; '-' when missing."""
    return "-" if x is None else format(x, spec)
