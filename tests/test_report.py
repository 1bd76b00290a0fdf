"""The HTML report of some runs, rendered in headless Chromium: its sections, images, math and index show."""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib.image
import pytest
from conftest import TINY, chromium, cli

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
    assert "descentlab optim train --seed 0 --optimizer adam" in html


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
    index = dom[dom.index('<nav class="questions">') :].split("</nav>", 1)[0]
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
