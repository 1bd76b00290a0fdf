r"""Markdown with LaTeX math, rendered offline to HTML with MathML: no JavaScript, no network.

Libraries: ``markdown-it-py`` (CommonMark, the parser behind MyST and Jupyter Book) with two plugins of
``mdit-py-plugins`` (``dollarmath`` for ``$inline$`` and ``$$display$$`` math, ``container`` for boxes), and
``latex2mathml``, which turns each formula into MathML in pure Python. Browsers render MathML natively
(Chromium since version 109, Firefox and Safari for longer), so the page needs no MathJax and prints as it
shows. A formula latex2mathml cannot read is an error naming it, never raw LaTeX left on the page.

Boxes: ``::: erratum`` (where a source's text is wrong, and what is right), ``::: note``, ``::: definition``,
and ``::: answer ID`` (an answer to a question; ``answers[ID]`` gives its heading and ``#answer-ID`` its
anchor).
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from typing import Any

from latex2mathml.converter import convert as latex_to_mathml
from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.container import container_plugin
from mdit_py_plugins.dollarmath import dollarmath_plugin

BOXES = ("erratum", "note", "definition", "answer", "predict")
BOX_TITLES = {"erratum": "Erratum", "note": "Note", "definition": "Definition", "predict": "Predict, then run"}


class MathError(ValueError):
    """A formula that cannot be converted to MathML."""


def math(latex: str, display: bool = False) -> str:
    """One formula as MathML (``display``: a block of its own). Unbalanced braces, a formula latex2mathml
    cannot parse and a command it does not know (which it would leave as text) are errors."""
    depth = 0
    for char in re.sub(r"\\[{}]", "", latex):
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth < 0:
            break
    if depth != 0:
        raise MathError(f"cannot render the formula {latex!r}: its braces do not balance")
    try:
        out = str(
            latex_to_mathml(re.sub(r"(?<!\\):=", r"\\coloneqq ", latex), display="block" if display else "inline")
        )
    except Exception as e:  # latex2mathml raises several kinds on bad input, some without a message
        raise MathError(f"cannot render the formula {latex!r}: {type(e).__name__} {e}".rstrip()) from None
    unknown = re.search(r">[^<]*(\\[A-Za-z]+)", out)
    if unknown:
        raise MathError(f"cannot render the formula {latex!r}: unknown command {unknown.group(1)}")
    # \log p: TeX puts a thin space between a function's name and an argument without brackets
    out = re.sub(r"(<mi>[a-z]{2,}</mi>)(?=<m(?:i|n|sub|sup|frac)\b)", r'\1<mspace width="0.1667em" />', out)
    # a prime is a raised glyph already: as a superscript it shrinks and floats off its letter (Unicode TR25)
    prime = '<mo lspace="0" rspace="0">&#x02032;</mo>'
    out = re.sub(r"<msup>(<mi>[^<]*</mi>)<mi>&#x02032;</mi></msup>", rf"\1{prime}", out)
    out = re.sub(r"<msubsup>(<mi>[^<]*</mi>)(<m[a-z]+>[^<]*</m[a-z]+>)<mi>&#x02032;</mi></msubsup>",
                 rf"<msub>\1\2</msub>{prime}", out)  # fmt: skip
    # the source as an annotation, for screen readers and for copying
    head, _, body = out.partition(">")
    tex = f'<annotation encoding="application/x-tex">{html.escape(latex)}</annotation>'
    return f"{head}><semantics>{body.removesuffix('</math>')}{tex}</semantics></math>"


def _render_math(content: str, options: dict[str, Any]) -> str:
    return math(content, display=bool(options.get("display_mode")))


def _box(kind: str, answers: Mapping[str, str]) -> Any:
    def render(self: Any, tokens: Sequence[Token], idx: int, _options: Any, env: Any) -> str:
        token = tokens[idx]
        if token.nesting != 1:
            back = '<p class="back"><a href="#questions">back to the questions</a></p>' if kind == "answer" else ""
            return f"{back}</div>\n"
        if kind == "answer":
            key = token.info.strip().split(maxsplit=1)[1] if len(token.info.split()) > 1 else ""
            heading = answers.get(key, key)
            return (f'<div class="box answer" id="answer-{html.escape(key)}">'
                    f'<p class="box-title">{html.escape(heading)}</p>\n')  # fmt: skip
        return f'<div class="box {kind}"><p class="box-title">{BOX_TITLES[kind]}</p>\n'

    return render


def renderer(answers: Mapping[str, str] | None = None) -> MarkdownIt:
    """A Markdown renderer with math and the boxes; ``answers`` maps answer ids to their headings."""
    md = MarkdownIt("commonmark", {"html": True, "typographer": False}).enable("table")
    md.use(dollarmath_plugin, allow_space=True, allow_digits=False, double_inline=True, renderer=_render_math)
    for kind in BOXES:
        md.use(container_plugin, name=kind, render=_box(kind, answers or {}))
    return md


def slug(text: str) -> str:
    """``"Adam's bias correction"`` -> ``"adams-bias-correction"``: an anchor made of a heading."""
    return "-".join(re.sub(r"[^a-z0-9 -]", "", text.lower()).split())


def markdown(text: str, answers: Mapping[str, str] | None = None, headings_below: int = 1, prefix: str = "") -> str:
    """``text`` (Markdown with $math$ and ::: boxes) as HTML. Its ``## Heading`` becomes a heading one level
    below ``<h{headings_below}>`` (``#`` too), anchored at ``#{prefix}{slug}``."""
    md = renderer(answers)
    tokens = md.parse(text)
    top = min((int(t.tag[1]) for t in tokens if t.type == "heading_open"), default=1)
    for i, token in enumerate(tokens):
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(6, int(token.tag[1]) - top + headings_below + 1)}"
        if token.type == "heading_open":
            token.attrSet("id", prefix + slug(tokens[i + 1].content))
    return str(md.renderer.render(tokens, md.options, {}))
