"""The lab book's interactive figures: their data are the library's own paths and runs, every setting the
controls can reach was computed, the page draws exactly those points (headless Chromium, after moving a
slider as a reader would), and all of them together add less than 1 MB to the page."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
from conftest import chromium

from descentlab.labbook.explorers import (
    EXPLORERS,
    MOMENTUM_STEPS,
    RACE_EVERY,
    RACE_STARTS,
    RACE_STEPS,
    explorer,
    explorer_html,
)
from descentlab.landscape import LANDSCAPES, descend, descend_together
from descentlab.landscape.race import RACE_OPTIMIZERS, default_lr
from descentlab.optim import SGD, RMSProp
from descentlab.report import Chapter, Explorer, Layer, Slider
from descentlab.report.html import render
from descentlab.report.interactive import series_key


def test_descend_together_takes_each_path_descend_takes() -> None:
    """Many points under one optimizer with a parameter group each: every path equals a lone descent with its
    settings, bit for bit, a diverging one included (it stops where descend's stops)."""
    bowl = LANDSCAPES["quadratic-bowl"]
    settings = [(0.05, 0.0), (0.05, 0.9), (0.2, 0.0), (0.11, 0.44)]  # 0.2 > 2 / 25: plain descent diverges
    together = descend_together(bowl, [bowl.start] * 4, lambda pts: SGD(
        [{"params": [p], "lr": lr, "momentum": b} for p, (lr, b) in zip(pts, settings, strict=True)]), 150)  # fmt: skip
    for (lr, beta), path in zip(settings, together, strict=True):
        alone = descend(bowl, lambda p, lr=lr, beta=beta: SGD(p, lr=lr, momentum=beta), bowl.start, 150)
        assert path.points == alone.points and path.diverged == alone.diverged
    assert together[2].diverged and not together[3].diverged


def test_the_momentum_figure_holds_the_librarys_paths_and_the_theorys_best_values() -> None:
    ex = explorer("momentum")
    lrs, betas = (s.values for s in ex.sliders())
    bowl = LANDSCAPES["quadratic-bowl"]
    for i, j in [(0, 0), (7, 0), (8, 3), (10, 9)]:
        path = descend(bowl, lambda p, i=i, j=j: SGD(p, lr=lrs[i], momentum=betas[j]), bowl.start, MOMENTUM_STEPS)
        assert ex.series[series_key("momentum", f"{i},{j}")] == path.points
    # curvatures 1 and 25: alpha* = (2 / (1 + 5))^2 = 1/9 and beta* = ((5 - 1) / (5 + 1))^2 = 4/9, by hand
    assert lrs[8] == pytest.approx(1 / 9, rel=1e-9) and betas[3] == pytest.approx(4 / 9, rel=1e-9)
    assert "κ = 25" in ex.info["8,3"] and "α* = (2 / (√1 + √25))² = 0.111" in ex.info["8,3"]


def test_the_race_and_adaptive_figures_hold_the_librarys_paths() -> None:
    race = explorer("race")
    rosen = LANDSCAPES["rosenbrock"]
    for i, name in [(0, "adam"), (6, "momentum"), (8, "adagrad")]:
        lr = default_lr("rosenbrock", name)
        path = descend(rosen, lambda p, name=name, lr=lr: RACE_OPTIMIZERS[name](p, lr), RACE_STARTS[i], RACE_STEPS)
        assert race.series[series_key(name, str(i))] == path.points[::RACE_EVERY] + path.points[-1:]
    adaptive = explorer("adaptive")
    decay = adaptive.sliders()[0].values[2]
    rms = descend(rosen, lambda p: RMSProp(p, lr=0.01, alpha=decay), rosen.start, 500)
    assert adaptive.series[series_key("rmsprop", "2")] == rms.points


def test_an_explorer_missing_a_setting_is_refused() -> None:
    ex = Explorer("interactive-x", "t", "c", (0, 1), (0, 1), "x", "y", [Slider("a", "a", (1.0, 2.0))],
                  [Layer("line", "line", "#000", ("a",))], {"line|0": [(0.0, 0.0)]}, {"0": "", "1": ""})  # fmt: skip
    with pytest.raises(ValueError, match=r"no series 'line\|1'"):
        ex.html()
    ex.series["line|1"] = [(1.0, 1.0)]
    assert '<figure class="interactive" id="interactive-x">' in ex.html()


def test_the_four_figures_add_less_than_a_megabyte() -> None:
    sizes = {name: len(explorer_html(name).encode("utf-8")) for name in EXPLORERS}
    assert set(sizes) == {"momentum", "race", "adaptive", "dropout"}
    assert sum(sizes.values()) < 1_000_000, sizes


def _polylines(dom: str, figure: str) -> dict[str, list[tuple[float, float]]]:
    part = dom[dom.index(f'id="{figure}"') :]
    part = part[: part.index("</figure>")]
    found = {}
    for attrs in re.findall(r"<polyline ([^>]*)>", part):
        layer = re.search(r'data-layer="([^"]+)"', attrs).group(1)
        points = re.search(r'points="([^"]*)"', attrs).group(1)
        found[layer] = [tuple(float(v) for v in p.split(",")) for p in points.split()]
    return found


def _transform(dom: str, figure: str) -> tuple[float, float, float, float]:
    part = dom[dom.index(f'id="{figure}"') :]
    ax, bx, ay, by = (float(v) for v in re.search(r'data-transform="([^"]+)"', part).group(1).split(","))
    return ax, bx, ay, by


@pytest.mark.e2e
def test_moving_the_momentum_slider_redraws_the_librarys_path_in_chromium(tmp_path: Path) -> None:
    """The page as the reader gets it, opened twice in headless Chromium: as it loads, and after a script set
    the sliders to alpha* and beta* and sent the 'input' events a reader's drag sends. The path drawn then
    equals the library's path for that setting, recomputed here by descentlab.optim.SGD, to within 0.05 px
    (the page keeps 5 significant digits and draws to 0.01 px)."""
    html = render([Chapter("chapter-x", "x", [explorer_html("momentum")])], "t")
    move = ("var a = document.querySelector('#interactive-momentum input[name=lr]'); a.value = 8;"
            "a.dispatchEvent(new Event('input'));"
            "var b = document.querySelector('#interactive-momentum input[name=beta]'); b.value = 3;"
            "b.dispatchEvent(new Event('input'));")  # fmt: skip
    after_load = f"<script>document.addEventListener('DOMContentLoaded', function () {{ {move} }});</script>"
    pages = {"before": html, "after": html.replace("</body>", after_load + "</body>")}
    drawn = {}
    for name, text in pages.items():
        page = tmp_path / f"{name}.html"
        page.write_text(text, encoding="utf-8")
        dom = chromium(tmp_path, "--virtual-time-budget=5000", "--dump-dom", page.as_uri()).stdout
        drawn[name] = (_polylines(dom, "interactive-momentum"), _transform(dom, "interactive-momentum"), dom)
    before, after = drawn["before"][0], drawn["after"][0]
    assert set(after) == {"momentum", "gd"} and after["momentum"] != before["momentum"]
    ax, bx, ay, by = drawn["after"][1]
    bowl = LANDSCAPES["quadratic-bowl"]
    lr, beta = (2 / (1 + 5)) ** 2, ((5 - 1) / (5 + 1)) ** 2  # alpha* and beta* for curvatures 1 and 25
    path = descend(bowl, lambda p: SGD(p, lr=lr, momentum=beta), bowl.start, MOMENTUM_STEPS).points
    assert len(after["momentum"]) == len(path)
    worst = max(math.dist((ax * x + bx, ay * y + by), q) for (x, y), q in zip(path, after["momentum"], strict=True))
    assert worst < 0.05, f"the drawn path is {worst:.3f} px from the library's"
    assert 'data-setting="8,3"' in drawn["after"][2] and "κ = 25" in drawn["after"][2]


def test_the_book_places_each_figure_and_each_predict_box_reveals_on_demand() -> None:
    from descentlab.labbook import build_chapters
    from descentlab.report.markup import markdown

    built = build_chapters([], every_chapter=True)
    pages = {ch.id: "".join(p for p in ch.parts if isinstance(p, str)) for ch in built}
    assert pages["chapter-optimization"].count('<figure class="interactive"') == 2
    assert 'id="interactive-race"' in pages["chapter-nonconvex"]
    assert 'id="interactive-dropout"' in pages["chapter-generalization"]
    for chapter, text in pages.items():
        assert 2 <= text.count('<div class="box predict">') <= 3, chapter
    box = markdown("::: predict\nWhich?\n\n<details><summary>Reveal</summary>\n\nThis one.\n\n</details>\n:::")
    assert box.startswith('<div class="box predict"><p class="box-title">Predict, then run</p>')
    assert "<p>Which?</p>" in box and "<details><summary>Reveal</summary>\n<p>This one.</p>\n</details>" in box
