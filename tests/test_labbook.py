"""The lab book's content: chapters in the unit's order, every experiment in its place, every revision
question answered once, every diagram and term there, the unit's slips in erratum boxes, and all of it
rendering to HTML with MathML."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from conftest import assert_one_line_error, cli

from descentlab.exercises import EXERCISES
from descentlab.experiments import DECLARATIONS
from descentlab.labbook import HERE, Directive, build_chapters, chapters, glossary, plan_names, questions


def _text(chapter: str) -> str:
    return "\n".join(p for ch in chapters() if ch.id == chapter for p in ch.parts if isinstance(p, str))


def test_the_chapters_follow_the_unit() -> None:
    assert [ch.id for ch in chapters()] == ["optimization", "nonconvex", "generalization", "stn", "rnn", "lm", "rl",
                                            "neuro"]  # fmt: skip
    assert [ch.number for ch in chapters()] == list(range(1, 9))


def test_every_demonstration_has_its_place_in_a_chapter() -> None:
    names = plan_names()
    assert len(names) == len(set(names))  # shown once
    by_name = {d.name: d for d in DECLARATIONS}
    assert set(names) <= set(by_name)  # a chapter names only declarations that exist
    shown = {d.name for d in DECLARATIONS if d.tour is not None or d.sections is not None}
    assert shown == set(names)  # and every one with a tour step or report sections is in a chapter
    assert plan_names("rnn") == ["rnn-topology", "rnn-gradient-flow", "rnn-adding"]


def test_the_six_diagrams_are_svg_and_all_are_used() -> None:
    used = [p.name for ch in chapters() for p in ch.parts if isinstance(p, Directive) and p.kind == "diagram"]
    files = sorted(p.stem for p in (HERE / "diagrams").glob("*.svg"))
    assert (
        sorted(used)
        == files
        == sorted(["agent-environment", "lstm-cell", "rnn-lm", "rnn-topologies", "rnn-unrolled", "stn-pipeline"])
    )
    for name in files:
        root = ET.fromstring((HERE / "diagrams" / f"{name}.svg").read_text())
        assert root.tag == "{http://www.w3.org/2000/svg}svg" and root.get("viewBox"), name
        assert root.get("role") == "img" and root.get("aria-label"), name  # read out by screen readers
        # ids and classes are prefixed, so that six diagrams inline on one page do not restyle each other
        names = [v for el in root.iter() for v in f"{el.get('id', '')} {el.get('class', '')}".split()]
        names += re.findall(
            r"\.([a-z][\w-]*)\s*\{", "".join(el.text or "" for el in root.iter() if el.tag.endswith("style"))
        )
        prefixes = {v.split("-")[0] for v in names if v != "diagram"}
        assert len(prefixes) == 1 and all("-" in v for v in names if v != "diagram"), (name, prefixes)


def test_every_revision_question_is_answered_once() -> None:
    ids = [q.id for q in questions()]
    assert ids == [f"A{i}" for i in range(1, 9)] + [f"B{i}" for i in range(1, 5)]
    answered = re.findall(r"^::: answer (\w+)$", "\n".join(_text(ch.id) for ch in chapters()), flags=re.M)
    assert sorted(answered) == sorted(ids)


def test_the_glossary_defines_the_units_terms() -> None:
    html = glossary()
    for term in ["epoch", "iteration", "batch", "learning-rate", "loss", "convex", "stationary-point", "minimum",
                 "saddle-point", "overfitting", "generalization-gap", "perplexity", "reward", "policy"]:  # fmt: skip
        assert f'id="glossary-{term}"' in html, term
    assert "<math" in html and "$" not in html


ERRATA = [  # (chapter, words that must be inside an erratum box): the unit's slips the lab book corrects
    ("optimization", r"fewer\s+iterations"),  # mini-batch "faster because fewer iterations"
    ("optimization", r"running\s+sum"),  # Adagrad's alpha is not the learning rate
    ("optimization", r"has no \$\\epsilon\$"),  # RMSProp's missing epsilon
    ("optimization", r"small positive \*real\*"),  # AdaDelta's "integer" epsilon
    ("optimization", r"bias\s+corrections"),  # Adam
    ("generalization", r"\*keeping\*"),  # dropout's p
    ("rnn", r"h_\{t-1\}\$, the previous \*hidden state\*"),  # the RNN's input is h(t-1), not x(t-1)
    ("rnn", r"four neural networks"),  # three gates and the candidate
]
NOTES = [  # not the unit's errors: a convention, and a distinction its text leaves open, in note boxes
    ("stn", r"2 x 3 matrix"),  # the affine parameters' order
    ("rl", r"not punishment"),
]


@pytest.mark.parametrize(
    ("kind", "chapter", "words"), [("erratum", *e) for e in ERRATA] + [("note", *n) for n in NOTES]
)
def test_the_units_slips_are_in_erratum_boxes_and_its_conventions_in_notes(kind: str, chapter: str, words: str) -> None:
    boxes = re.findall(rf"^::: {kind}\n(.*?)^:::$", _text(chapter), flags=re.M | re.S)
    assert any(re.search(words, box) for box in boxes), words


def test_every_chapter_renders_with_math_and_no_latex_left() -> None:
    built = build_chapters([], every_chapter=True)
    assert [ch.id for ch in built] == [f"chapter-{ch.id}" for ch in chapters()]
    for ch in built:
        page = "".join(p for p in ch.parts if isinstance(p, str))
        assert page.count("<math") >= 3, ch.id
        text = re.sub(r"<(math|style|svg)\b.*?</\1>", "", page, flags=re.S)
        assert not re.findall(r"\$|\\[a-zA-Z]{2,}", text), ch.id
    equations = "".join(p for p in built[0].parts if isinstance(p, str))
    assert 'id="optimization-adam"' in equations  # each concept has an anchor
    # Adam's bias correction as display math: m hat = m / (1 - beta_1^t)
    adam = equations[equations.index('id="optimization-adam"') :]
    assert re.search(r'<math [^>]*display="block">.*?<mfrac><mrow><msub><mi>m</mi><mi>t</mi></msub></mrow><mrow><mn>1</mn>'
                     r"<mo>&#x02212;</mo><msubsup><mi>&#x003B2;</mi><mn>1</mn><mi>t</mi></msubsup>", adam)  # fmt: skip


def test_tour_rejects_an_unknown_chapter() -> None:
    assert_one_line_error(cli("tour", "--chapter", "optimisation"), "--chapter", "optimization", "neuro")


def test_every_exercise_links_to_the_section_it_practises() -> None:
    """Each exercise's section (``Exercise.section``) is an anchor of its own chapter, and the chapter's
    list of exercises links to it."""
    built = build_chapters([], every_chapter=True)
    page = "".join(p for ch in built for p in ch.parts if isinstance(p, str))
    anchors = set(re.findall(r'\bid="([^"]+)"', page)) | {ch.id for ch in built}
    assert {e.name: e.section for e in EXERCISES if e.section not in anchors} == {}
    for e in EXERCISES:
        assert e.section == f"chapter-{e.chapter}" or e.section.startswith(f"{e.chapter}-"), e.name
        assert f'<li id="exercise-{e.name}">' in page and f'practises <a href="#{e.section}">' in page, e.name
