"""The report: one self-contained HTML page in chapters that prints cleanly, or a small site of pages.

A :class:`Chapter` is a sequence of parts: HTML fragments (prose, equations as MathML, diagrams, made by
:mod:`descentlab.report.markup`) and :class:`Section` objects, each the results of some runs: a caption,
figures drawn from logged metrics (embedded as base64 PNG), a table, the :class:`Claim` the runs demonstrate
with its verdict, and the commands that reproduce them. Nothing here knows a domain; nothing is retrained.

:func:`write_report` writes the single page, every figure and the math font embedded (for printing and
mailing); :func:`write_site` writes :class:`Page` objects as a folder of pages sharing ``style.css`` and the
font, each with a navigation bar, links between pages resolved from the anchors each page has. Neither
needs a script or a network to be read. The math font (STIX Two Math, SIL Open Font License) has an
OpenType MATH table, which browsers need to stretch brackets and enlarge sums in display style.
"""

from __future__ import annotations

import base64
import html
import io
import re
import warnings
from collections.abc import Sequence
from dataclasses import InitVar, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.layout_engine import TightLayoutEngine
from matplotlib.text import Text

from descentlab.report.claim import Claim
from descentlab.report.interactive import SCRIPT as INTERACTIVE_SCRIPT
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


DPI = 100  # pixels per inch of a figure's PNG
COLUMN_PX = 948  # the width the page shows a figure at most (980 px less padding): a wider PNG is scaled down
LEAST_TEXT_PX = 12  # 9 pt on a screen of 96 px to the inch: the smallest text a figure may show


def _points(text: Text) -> float:
    return float(text.get_fontsize())  # matplotlib types it float | str; a drawn text's size is in points


def legible(fig: Figure) -> Figure:
    """Raise every text of ``fig`` (tick labels, legends, titles) to at least 9 pt at the size the page shows
    the figure, then lay it out again. A figure wider than the column is scaled down, so its text must be
    larger; its width on the page is taken as 1.1 times its own (a legend outside the axes widens it), which
    costs no drawing."""
    shown = min(1.0, COLUMN_PX / (1.1 * fig.get_figwidth() * DPI))
    least_pt = LEAST_TEXT_PX / shown * 72 / DPI
    small = [t for t in fig.findobj(Text) if t.get_text() and _points(t) < least_pt]
    for ax in fig.axes:  # ticks made when the figure is drawn take their size from here
        labels = ax.xaxis.get_ticklabels() + ax.yaxis.get_ticklabels()
        if any(_points(t) < least_pt for t in labels) or not labels:
            ax.tick_params(which="both", labelsize=least_pt)
    for text in small:
        text.set_fontsize(least_pt)
    engine = fig.get_layout_engine()
    if small and isinstance(engine, (TightLayoutEngine, type(None))):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # an axes tight_layout cannot place keeps its place
            if engine is None:
                fig.tight_layout()
            else:
                engine.execute(fig)  # with the figure's own pads
    return fig


def _png(fig: Figure) -> str:
    buf = io.BytesIO()
    legible(fig).savefig(buf, format="png", dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


ASSETS = Path(__file__).with_name("assets")
FONT = "stix-two-math.woff2"  # STIX Two Math, cut to the characters of mathematics (scripts/subset_math_font.py)


def stylesheet(font_url: str) -> str:
    """The lab book's CSS, its math font loaded from ``font_url`` (a file beside it, or a data: URL)."""
    face = f'@font-face {{ font-family: "STIX Two Math"; src: url({font_url}) format("woff2"); }}\n'
    return face + (ASSETS / "book.css").read_text(encoding="utf-8")


def _embedded_font() -> str:
    return "data:font/woff2;base64," + base64.b64encode((ASSETS / FONT).read_bytes()).decode("ascii")


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


def _words(command: str) -> list[str]:
    """A command's words, a flag kept with its value (``--lr 0.01``) so that no line ends between them."""
    out: list[str] = []
    for word in command.split(" "):
        if out and out[-1].startswith("-") and " " not in out[-1] and not word.startswith("-"):
            out[-1] += " " + word
        else:
            out.append(word)
    return out


def commands_block(commands: Sequence[str]) -> str:
    """Commands as a ``<pre>``, one block each (a wrapped line hangs under its command's start, so where one
    command ends and the next begins shows), whose lines break between words only: never inside a flag such
    as ``--learning-rate`` (which a browser would break at its hyphen) nor between a flag and its value. A
    word too long for a line (a run's path) may break anywhere."""
    esc = html.escape
    lines = []
    for c in commands:
        words = [f'<span class="tok{" long" if len(w) > 40 else ""}">{esc(w)}</span>' for w in _words(c)]
        lines.append(f'<span class="cmd">{" ".join(words)}\n</span>')
    return '<pre class="commands">' + "".join(lines) + "</pre>"


def _section(s: Section) -> list[str]:
    esc = html.escape
    out = [f'<section class="run" id="{esc(s.id)}"><h4>{esc(s.title)}</h4>']
    if s.caption:
        out.append(f'<p class="caption">{esc(s.caption)}</p>')
    for i, png in enumerate(s.pngs, 1):
        alt = f"Figure {i} of {len(s.pngs)} of {s.title}" + (f": {s.caption}" if s.caption else "")
        out.append(f'<img alt="{esc(alt)}" src="data:image/png;base64,{png}">')
    if s.table is not None:
        header, rows = s.table
        out.append("<table><thead><tr>" + "".join(f"<th>{esc(h)}</th>" for h in header) + "</tr></thead><tbody>")
        out += ["<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in rows]
        out.append("</tbody></table>")
    for c in s.claims:  # the verdict first: a claim worded in the negative cannot read as "does not holds"
        verdict = "Holds in this run" if c.holds else "Does not hold in this run"
        out.append(f'<div class="claim {"holds" if c.holds else "fails"}"><span class="verdict">{verdict}:</span> '
                   f'<span class="claim-text">{esc(c.text)}</span>. <span class="evidence">{esc(c.evidence)}</span></div>')  # fmt: skip
    if s.commands:
        out.append(f'<div class="reproduce"><p>Reproduce with:</p>{commands_block(s.commands)}</div>')
    out.append('<p class="back"><a href="#top">back to the top</a></p></section>')
    return out


def section_html(s: Section) -> str:
    """A run section alone: its figures, table, claims with their verdicts, and commands."""
    return "\n".join(_section(s))


def chapter_html(ch: Chapter) -> str:
    """A chapter as an ``<article>``: its prose, equations and diagrams, and its run sections in place."""
    out = [f'<article class="chapter" id="{html.escape(ch.id)}"><h2>{html.escape(ch.title)}</h2>']
    for part in ch.parts:
        out += _section(part) if isinstance(part, Section) else [part]
    out.append("</article>")
    return "\n".join(out)


_HEADING = re.compile(
    r'<h3 id="([^"]+)">(.*?)</h3>|<section class="[^"]*\brun\b[^"]*" id="([^"]+)"><h4>(.*?)</h4>', re.S
)


def contents(chapters: Sequence[Chapter], bodies: Sequence[str]) -> str:
    """The contents: every chapter with its concept sections (its ``<h3>`` headings: the unit's topics and
    the exercises) and, under them, its run sections; each a link to its anchor. ``bodies`` are the
    chapters' HTML (:func:`chapter_html`), rendered once by the caller."""
    esc = html.escape
    out = ['<nav class="contents" id="contents"><h2>Contents</h2><ul class="contents">']
    for ch, body in zip(chapters, bodies, strict=True):
        items: list[str] = []
        open_topic = False
        for topic_id, topic, run_id, run in _HEADING.findall(body):
            if topic_id:
                items.append(("</ul></li>" if open_topic else "") + f'<li><a href="#{topic_id}">{topic}</a><ul>')
                open_topic = True
            else:
                items.append(f'<li class="run"><a href="#{run_id}">{run}</a></li>')
        items.append("</ul></li>" if open_topic else "")
        out.append(f'<li><a href="#{esc(ch.id)}">{esc(ch.title)}</a><ul>{"".join(items)}</ul></li>')
    out.append("</ul></nav>")
    return "".join(out).replace("<ul></ul>", "")


def _document(title: str, head: str, body: str) -> str:
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(title)}</title>{head}<script>{_SCRIPT}</script><script>{INTERACTIVE_SCRIPT}</script>",
        "</head><body>",
        body,
        "</body></html>",
    ])  # fmt: skip


def _built(subtitle: str) -> str:
    return f"{html.escape(subtitle)} Built {datetime.now(UTC):%Y-%m-%d %H:%M} UTC from logged runs only."


def render(chapters: Sequence[Chapter], title: str, subtitle: str = "", front: str = "") -> str:
    """The single page: title, ``front`` (HTML: an index, say), the contents, then the chapters. It needs no
    other file: the figures and the math font are embedded."""
    bodies = [chapter_html(ch) for ch in chapters]
    body = "\n".join([f'<header id="top"><h1>{html.escape(title)}</h1><p>{_built(subtitle)}</p></header>', front,
                      contents(chapters, bodies), *bodies])  # fmt: skip
    return _document(title, f"<style>{stylesheet(_embedded_font())}</style>", _relink(body, "", {"": _anchors(body)}))


def write_report(
    chapters: Sequence[Chapter], path: str | Path, title: str, subtitle: str = "", front: str = ""
) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, render(chapters, title, subtitle, front).encode("utf-8"))
    return path


@dataclass(frozen=True)
class Page:
    """A page of the site: its file name, its name in the navigation, its HTML, and whether every page's
    navigation links to it (beside the start page and the previous and next pages)."""

    name: str
    title: str
    body: str
    pinned: bool = False


def _relink(body: str, here: str, ids: dict[str, set[str]]) -> str:
    """A link to an anchor on another page points at that page (``page.html#x``); a link to an anchor that
    no page has (a run section of a run not in this book) becomes plain text."""

    def fix(found: re.Match[str]) -> str:
        target, text = found.group(1), found.group(2)
        if target in ids[here]:
            return found.group(0)
        page = next((name for name, anchors in ids.items() if target in anchors), None)
        return text if page is None else f'<a href="{page}#{target}">{text}</a>'

    return re.sub(r'<a href="#([^"]+)">(.*?)</a>', fix, body, flags=re.S)


def _anchors(body: str) -> set[str]:
    return set(re.findall(r'\bid="([^"]+)"', body))


def site(pages: Sequence[Page], title: str, subtitle: str = "") -> dict[str, str]:
    """The site's pages (file name to HTML), the first its start page. Each page has a navigation bar at its
    top and bottom; a link to an anchor on another page is made to point at that page."""
    esc = html.escape
    ids = {p.name: _anchors(p.body) | {"top"} for p in pages}
    out = {}
    for i, page in enumerate(pages):
        links = [f'<a href="{pages[0].name}">Start</a>']
        if i > 1:
            links.append(f'<a href="{pages[i - 1].name}" rel="prev">previous: {esc(pages[i - 1].title)}</a>')
        if i + 1 < len(pages):
            links.append(f'<a href="{pages[i + 1].name}" rel="next">next: {esc(pages[i + 1].title)}</a>')
        links += [f'<a href="{p.name}">{esc(p.title)}</a>' for p in pages if p.pinned and p is not page]
        nav = "".join(links)
        header = f"<header><h1>{esc(title)}</h1><p>{_built(subtitle)}</p></header>" if i == 0 else ""
        body = (f'<nav class="pages" id="top">{nav}</nav>{header}{_relink(page.body, page.name, ids)}'
                f'<nav class="pages bottom">{nav}</nav>')  # fmt: skip
        out[page.name] = _document(
            f"{page.title} - {title}" if i else title, '<link rel="stylesheet" href="style.css">', body
        )
    return out


def write_site(pages: Sequence[Page], folder: str | Path, title: str, subtitle: str = "") -> Path:
    """Write the site into ``folder`` (its pages, ``style.css`` and the math font); returns its start page."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in site(pages, title, subtitle).items():
        atomic_write_bytes(folder / name, text.encode("utf-8"))
    atomic_write_bytes(folder / "style.css", stylesheet(FONT).encode("utf-8"))
    atomic_write_bytes(folder / FONT, (ASSETS / FONT).read_bytes())
    return folder / pages[0].name


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
