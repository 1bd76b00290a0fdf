"""The HTML report of some runs, rendered in headless Chromium: its sections, images, math and index show."""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib.image
import matplotlib.pyplot as plt
import pytest
from conftest import TINY, broken_links, chromium, cli, command_error, printed_commands
from matplotlib.text import Text

from descentlab.labbook import build_chapters, front_matter
from descentlab.report import Chapter, commands_block, render
from descentlab.report.html import COLUMN_PX, DPI, LEAST_TEXT_PX, legible
from descentlab.report.markup import MathError, markdown, math


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("report")
    for opt in ("sgd", "adam"):
        result = cli("optim", "train", *TINY, "--epochs", "1", "--optimizer", opt, "--out", str(root / "runs"))
        assert result.returncode == 0, result.stderr
    out = root / "report.html"
    result = cli("report", str(root / "runs"), "-o", str(out))
    assert result.returncode == 0, result.stderr
    return out


def test_report_is_self_contained(report: Path) -> None:
    html = report.read_text()
    assert re.findall(r'<section class="run" id="([^"]+)"', html) == ["optimization"]  # both runs, one section
    assert re.findall(r'<img [^>]*src="([^"]{0,22})', html) == ["data:image/png;base64,"]  # both runs' curves
    assert not re.findall(r'(?:src|href)="(?:https?:)?//', html)  # nothing fetched from a network
    assert any(c.startswith("descentlab optim train --seed 0 --optimizer adam") for c in printed_commands(html))


@pytest.mark.e2e
def test_report_renders_in_headless_chromium(report: Path, tmp_path: Path) -> None:
    dom = chromium(tmp_path, "--virtual-time-budget=10000", "--dump-dom", report.as_uri()).stdout
    # only the chapter these runs belong to, with its prose and equations
    assert re.findall(r'<article class="chapter" id="([^"]+)">', dom) == ["chapter-optimization"]
    assert dom.count("<math") > 20
    rendered = re.findall(r'data-rendered="(\w+)"', dom)
    assert rendered == ["yes"], rendered
    assert 'data-images-rendered="1"' in dom
    # two runs do not answer a revision question: the index lists all 12, linking none to a missing anchor
    index = dom[dom.index('<nav class="questions" id="questions">') :].split("</nav>", 1)[0]
    assert index.count("<li") == 12
    for anchor in re.findall(r'href="#([^"]+)"', index):
        assert f'id="{anchor}"' in dom, anchor

    shot = tmp_path / "shot.png"
    chromium(tmp_path, "--window-size=1100,2600", f"--screenshot={shot}", report.as_uri())
    pixels = matplotlib.image.imread(shot)
    assert pixels.shape[:2] == (2600, 1100)
    assert pixels[..., :3].std() > 0.05  # not a blank page


def test_report_rejects_a_non_html_output(report: Path, tmp_path: Path) -> None:
    result = cli("report", str(report.parent / "runs"), "-o", str(tmp_path / "r.pdf"))
    assert result.returncode == 2 and "ending in .html" in result.stderr


# ---- the markup: Markdown with LaTeX, to HTML with MathML --------------------------------------


def test_math_becomes_mathml() -> None:
    inline = math(r"\theta_{t+1} = \theta_t - \eta \nabla L")
    assert inline.startswith("<math") and 'display="inline"' in inline
    assert "<msub>" in inline and "&#x003B7;" in inline  # a subscript, and the eta
    assert 'display="block"' in math(r"\frac{a}{b}", display=True)
    assert "<mfrac>" in math(r"\frac{a}{b}")


def test_math_reads_as_typeset() -> None:
    """':=' is one symbol (not ': ='), a function's name is set off from its argument by a thin space as TeX
    does (not before a bracket), and the formula's source travels with it for screen readers and copying."""
    assert "<mo>&#x02254;</mo>" in math(r"w := w - \eta g") and "<mi>:</mi>" not in math(r"w := w - \eta g")
    assert '<mi>log</mi><mspace width="0.1667em" /><mi>p</mi>' in math(r"\log p")
    assert '<mi>log</mi><mspace width="0.1667em" /><msub><mi>' in math(r"\log \pi_\theta")
    assert "<mi>log</mi><mo" in math(r"\log(p)")
    assert math(r"x < y").endswith('<annotation encoding="application/x-tex">x &lt; y</annotation></semantics></math>')
    assert math("x").count("<semantics><mrow>") == 1
    # a prime stays at its letter's size, beside it (a superscript prime shrinks and floats off)
    assert '<mi>f</mi><mo lspace="0" rspace="0">&#x02032;</mo>' in math("f'(x)")
    assert '<msub><mi>&#x003B7;</mi><mi>t</mi></msub><mo lspace="0" rspace="0">&#x02032;</mo>' in math(r"\eta'_t")


def test_a_formula_that_cannot_be_read_is_an_error_naming_it() -> None:
    with pytest.raises(MathError, match=r"'\\\\frac\{a': its braces do not balance"):
        math(r"\frac{a")
    with pytest.raises(MathError, match=r"unknown command \\learningrate"):
        math(r"\learningrate \cdot g")  # latex2mathml would leave it on the page as text
    with pytest.raises(MathError, match=r"'x\^'"):
        markdown("The power $x^$ is bad.")


def test_markdown_with_math_boxes_and_headings() -> None:
    text = "## Momentum's step\n\nThe step $v = \\beta v + g$.\n\n$$x = y$$\n\n::: erratum\nThe unit says *no*.\n:::\n"
    out = markdown(text, headings_below=2, prefix="ch-")
    assert '<h3 id="ch-momentums-step">' in out
    assert out.count("<math") == 2 and "$" not in out
    assert '<div class="box erratum"><p class="box-title">Erratum</p>' in out and "<em>no</em>" in out
    answer = markdown("::: answer A3\nAn RNN loops.\n:::\n", {"A3": "Revision question A3: illustrate an RNN"})
    assert '<div class="box answer" id="answer-A3"><p class="box-title">Revision question A3: illustrate' in answer


# ---- the book: every command it prints parses, every link resolves, the math is laid out ------------


def test_every_command_the_books_text_prints_parses() -> None:
    """The commands in the chapters' prose, the start page and the exercises (the runs' own commands are
    checked in the tour's book, tests/test_tour.py). A wrong flag (``rnn topology --topology``) fails."""
    built = build_chapters([], every_chapter=True)
    page = render(built, "t", "", front_matter(built))
    commands = printed_commands(page)
    assert len(commands) > 30
    assert {c: command_error(c) for c in commands if command_error(c)} == {}
    assert command_error("descentlab rnn topology --topology many-to-many")  # the check can fail
    assert command_error("descentlab optim train --lr -1")


def test_the_book_as_pages_links_resolve_both_ways(report: Path, tmp_path: Path) -> None:
    result = cli("report", str(report.parent / "runs"), "-o", str(tmp_path / "book"))
    assert result.returncode == 0, result.stderr
    book = tmp_path / "book"
    pages = {p.name: p.read_text() for p in book.glob("*.html")}
    assert sorted(pages) == ["exercises.html", "glossary.html", "index.html", "optimization.html"]
    assert (book / "style.css").is_file() and (book / "stix-two-math.woff2").stat().st_size > 50_000
    assert broken_links(pages) == []
    # the start page leads to the chapter, its concept sections and run, the questions and the exercises
    index = pages["index.html"]
    for href in ("optimization.html#chapter-optimization", "optimization.html#optimization-momentum",
                 "optimization.html#optimization", "exercises.html"):  # fmt: skip
        assert f'href="{href}"' in index, href
    assert (
        'id="questions"' in index and 'href="index.html#questions">back to the questions' in pages["optimization.html"]
    )
    # and back: each page's navigation, the chapter's exercises to the exercises page and back
    assert all('<a href="index.html">Start</a>' in text for text in pages.values())
    assert 'href="exercises.html#exercises"' in pages["optimization.html"]
    assert 'href="optimization.html#exercise-adam_step"' in pages["exercises.html"]
    assert 'href="exercise-rnn_forward' not in pages["exercises.html"]  # a chapter not in this book: no link
    # the single page's links resolve too, and it needs no other file
    single = report.read_text()
    assert broken_links({"report.html": single}) == []
    assert "data:font/woff2;base64," in single and 'href="style.css"' not in single


def test_report_refuses_a_folder_of_other_files(report: Path, tmp_path: Path) -> None:
    (tmp_path / "mine.txt").write_text("keep me")
    result = cli("report", str(report.parent / "runs"), "-o", str(tmp_path))
    assert result.returncode == 2 and "holds other files" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.txt"]


MATH_PROBE = """<script>
window.addEventListener('load', function () {
  document.fonts.ready.then(function () {
    function height(sel, text) {
      var found = Array.from(document.querySelectorAll(sel)).filter(function (e) { return e.textContent.trim() === text; });
      return found.length ? found[0].getBoundingClientRect().height : -1;
    }
    var b = document.body;
    b.setAttribute('data-line', document.getElementById('probe-line').getBoundingClientRect().height);
    b.setAttribute('data-bracket', height('#probe-matrix mo', '['));
    b.setAttribute('data-sum', height('#probe-sum mo', '\\u2211'));
    b.setAttribute('data-letter', height('#probe-sum mi', 'Q'));
    b.setAttribute('data-math-font', document.fonts.check('16px "STIX Two Math"') ? 'yes' : 'no');
  });
});
</script>"""


@pytest.mark.e2e
def test_math_is_laid_out_with_the_embedded_math_font_in_chromium(tmp_path: Path) -> None:
    """Defect: without a math font, Chromium on Linux left brackets and sums at text size. With the embedded
    STIX Two Math, a bracket around a two-row matrix is taller than 1.5 lines and a display sum is larger
    than a letter beside it (TeX makes it about twice as tall)."""
    body = markdown(r"""<p><span id="probe-line">one line of text</span></p>

<div id="probe-matrix">

$$A_\theta = \begin{bmatrix} \theta_{11} & \theta_{12} & \theta_{13} \\ \theta_{21} & \theta_{22} & \theta_{23} \end{bmatrix}$$

</div>
<div id="probe-sum">

$$L(w) = \frac{1}{n} \sum_{i=1}^{n} Q_i(w)$$

</div>
""")
    page = tmp_path / "math.html"
    page.write_text(render([Chapter("probe", "Probe", [body, MATH_PROBE])], "math"))
    dom = chromium(tmp_path, "--virtual-time-budget=10000", "--dump-dom", page.as_uri()).stdout
    got = {k: re.search(rf'data-{k}="([^"]+)"', dom) for k in ("line", "bracket", "sum", "letter", "math-font")}
    assert all(got.values()), got
    line, bracket, sum_, letter = (float(got[k].group(1)) for k in ("line", "bracket", "sum", "letter"))  # type: ignore[union-attr]
    assert got["math-font"].group(1) == "yes"  # type: ignore[union-attr]
    assert bracket > 1.5 * line, (bracket, line)
    assert sum_ > 1.4 * letter, (sum_, letter)


def test_every_text_of_a_figure_is_at_least_9_pt_as_the_page_shows_it() -> None:
    """A wide figure (shown scaled down to the page's column) with a 7 pt legend outside its axes and
    default 10 pt ticks: after ``legible`` every text, drawn, is at least 12 CSS px (9 pt) at the width the
    page shows the PNG (its tight box, at most the column's 948 px)."""
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.9))
    for ax in axes:
        ax.plot([1, 10, 100], [1, 0.1, 0.01], label="a long legend label")
        ax.set(xscale="log", yscale="log", title="against epochs", xlabel="epochs")
    axes[-1].legend(fontsize=7, loc="center left", bbox_to_anchor=(1.02, 0.5))
    fig.tight_layout()

    def smallest_px() -> float:
        fig.canvas.draw()
        width = fig.get_tightbbox(fig.canvas.get_renderer()).width * DPI  # type: ignore[attr-defined]
        shown = min(1.0, COLUMN_PX / width)
        return min(t.get_fontsize() * DPI / 72 * shown for t in fig.findobj(Text) if t.get_visible() and t.get_text())

    assert smallest_px() < 7  # the defect: a 7 pt legend in a figure scaled to two thirds
    legible(fig)
    assert smallest_px() >= LEAST_TEXT_PX
    plt.close(fig)


def test_commands_wrap_between_words_each_command_a_block_of_its_own() -> None:
    block = commands_block(["descentlab optim train --lr 0.01 --optimizer adam", "descentlab rl eval " + "r" * 50])
    assert block.count('<span class="cmd">') == 2  # one block each: a second command never reads as a wrapped line
    assert '<span class="tok">--lr 0.01</span>' in block  # a flag with its value: no line ends between them
    assert '<span class="tok">--optimizer adam</span>' in block and '<span class="tok">descentlab</span>' in block
    assert f'<span class="tok long">{"r" * 50}</span>' in block  # a run's path may break where it must
    assert printed_commands(block) == sorted(["descentlab optim train --lr 0.01 --optimizer adam",
                                              "descentlab rl eval " + "r" * 50])  # fmt: skip
