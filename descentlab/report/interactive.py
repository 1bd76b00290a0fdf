"""Interactive figures: curves or paths computed beforehand for a grid of settings, drawn by the page.

An :class:`Explorer` holds everything a figure can show: its controls (a :class:`Slider` steps through a
list of values; :class:`Toggles` switch layers on and off), its layers (a curve or a path drawn for each
setting of the sliders it depends on) and, for every such setting, the points computed by whoever made the
explorer, and a line of text. :meth:`Explorer.html` embeds them as JSON in the page; ``assets/interactive.js``
only draws them: a slider snaps to the values computed, so what is drawn is exactly what was computed. The
report knows nothing of what the points are.

A layer's series is found under :func:`series_key`: its name and the index of each slider it depends on
(``"momentum|3,5"``); the info line under the indices of all sliders (``"3,5"``).
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCRIPT = (Path(__file__).with_name("assets") / "interactive.js").read_text(encoding="utf-8")


@dataclass(frozen=True)
class Slider:
    name: str  # the key of the control: "beta"
    label: str  # shown beside it: "momentum β"
    values: tuple[float, ...]  # the settings computed, in order
    initial: int = 0  # the index shown first
    digits: int = 3  # significant digits of the value shown


@dataclass(frozen=True)
class Toggles:
    name: str
    label: str
    options: tuple[str, ...]  # layer names
    initial: tuple[str, ...] = ()  # the ones on at first (all when empty)


@dataclass(frozen=True)
class Layer:
    name: str  # its key in the series: "momentum"
    label: str  # in the legend
    colour: str
    depends: tuple[str, ...] = ()  # the sliders whose setting chooses its series
    dashed: bool = False


@dataclass
class Explorer:
    """An interactive figure: a plane of paths (over a ``shading`` of the plane) or curves."""

    id: str  # the figure's anchor: "interactive-momentum"
    title: str
    caption: str  # what to do with it, and where its numbers come from (plain text)
    x: tuple[float, float]  # the window drawn
    y: tuple[float, float]
    xlabel: str
    ylabel: str
    controls: Sequence[Slider | Toggles]
    layers: Sequence[Layer]
    series: dict[str, list[tuple[float, float]]] = field(default_factory=dict)  # series_key -> points
    info: dict[str, str] = field(default_factory=dict)  # the sliders' indices ("3,5") -> a line of text
    shading: list[list[float]] | None = None  # shade in [0, 1] on a grid over the window (rows from y low to high)
    marks: list[tuple[float, float, str]] = field(default_factory=list)  # labelled points: the minimum, ...
    digits: int = 5  # significant digits kept of every point

    def sliders(self) -> list[Slider]:
        return [c for c in self.controls if isinstance(c, Slider)]

    def spec(self) -> dict[str, Any]:
        """What the page's script is given, as JSON."""

        def num(v: float) -> float | None:
            return float(f"{v:.{self.digits}g}") if math.isfinite(v) else None

        controls = [
            {"type": "slider", "name": c.name, "label": c.label, "values": [num(v) for v in c.values],
             "shown": [f"{v:.{c.digits}g}" for v in c.values], "initial": c.initial}
            if isinstance(c, Slider)
            else {"type": "toggles", "name": c.name, "label": c.label, "options": list(c.options),
                  "initial": list(c.initial or c.options)}
            for c in self.controls
        ]  # fmt: skip
        return {
            "x": list(self.x), "y": list(self.y), "xlabel": self.xlabel, "ylabel": self.ylabel,
            "controls": controls,
            "layers": [{"name": lay.name, "label": lay.label, "colour": lay.colour, "depends": list(lay.depends),
                        "dashed": lay.dashed} for lay in self.layers],
            "series": {k: [[num(x), num(y)] for x, y in pts] for k, pts in self.series.items()},
            "info": self.info,
            "field": [[round(v, 3) for v in row] for row in self.shading] if self.shading is not None else None,
            "marks": [[num(x), num(y), text] for x, y, text in self.marks],
        }  # fmt: skip

    def check(self) -> None:
        """Every series and info line the controls can ask for exists; ``ValueError`` otherwise."""
        sliders = {s.name: s for s in self.sliders()}
        for lay in self.layers:
            unknown = [d for d in lay.depends if d not in sliders]
            if unknown:
                raise ValueError(f"{self.id}: layer {lay.name!r} depends on {unknown[0]!r}, which is no slider")
            for key in keys([sliders[d] for d in lay.depends]):
                if series_key(lay.name, key) not in self.series:
                    raise ValueError(f"{self.id}: no series {series_key(lay.name, key)!r}")
        for key in keys(list(sliders.values())):
            if key not in self.info:
                raise ValueError(f"{self.id}: no info line for the setting {key!r}")

    def html(self) -> str:
        """The figure: a ``<figure class="interactive">`` whose JSON the page's script draws. Without scripts
        (print) it shows its caption and the first setting's info line."""
        self.check()
        esc = html.escape
        data = json.dumps(self.spec(), separators=(",", ":"), allow_nan=False).replace("</", "<\\/")
        first = ",".join(str(s.initial) for s in self.sliders())
        return (
            f'<figure class="interactive" id="{esc(self.id)}"><p class="box-title">{esc(self.title)}</p>'
            f'<div class="explorer"></div><p class="explorer-info">{esc(self.info.get(first, ""))}</p>'
            f"<figcaption>{esc(self.caption)}</figcaption>"
            f'<script type="application/json" class="explorer-data">{data}</script></figure>'
        )


def keys(sliders: Sequence[Slider]) -> list[str]:
    """Every setting of ``sliders``: their indices joined by commas ("" for none)."""
    out = [""]
    for s in sliders:
        out = [f"{k},{i}" if k else str(i) for k in out for i in range(len(s.values))]
    return out


def series_key(layer: str, setting: str) -> str:
    return f"{layer}|{setting}"
