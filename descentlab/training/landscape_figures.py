"""Figures of paths over an analytic landscape, which the landscape experiments share: its contours
(minima and saddles marked) and each optimizer's path over them beside f against step."""

from __future__ import annotations

from typing import Any

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from descentlab.landscape import LANDSCAPES


def contours(ax: Any, landscape_name: str) -> None:
    """Filled contours of an analytic landscape (computed from its formula; no training)."""
    ls = LANDSCAPES[landscape_name]
    (x0, x1), (y0, y1) = ls.window
    xs, ys = torch.meshgrid(
        torch.linspace(x0, x1, 300, dtype=torch.float64),
        torch.linspace(y0, y1, 300, dtype=torch.float64),
        indexing="xy",
    )
    z = ls(xs, ys).numpy()
    shifted = z - z.min() + 1e-3  # log-spaced levels need positive values
    levels = np.geomspace(shifted.min(), shifted.max(), 30)
    ax.contourf(
        xs.numpy(), ys.numpy(), shifted, levels=levels, cmap="Greys_r", norm=matplotlib.colors.LogNorm(), alpha=0.8
    )
    for m in ls.minima:
        ax.plot(*m, "*", color="gold", markersize=14, markeredgecolor="k", zorder=5)
    for s in ls.saddles:
        ax.plot(*s, "X", color="gold", markersize=11, markeredgecolor="k", zorder=5)
    ax.set(xlim=(x0, x1), ylim=(y0, y1), xlabel="x", ylabel="y", title=f"{landscape_name}: paths from the same start")


LINESTYLES = ("-", "--", "-.", ":")  # with the colours, so that a path under another still shows at its ends


def race_paths(data: dict[str, Any], apart: bool = False) -> Figure:
    """Each optimizer's path over the landscape's contours (start and minima marked), and f against step;
    ``apart`` gives each path its own map (noisy paths drawn over each other hide each other)."""
    paths = data["paths"]
    maps = len(paths) if apart else 1
    fig, axes = plt.subplots(1, maps + 1, figsize=(4.6 * maps + 5.4, 4.8), squeeze=False)
    ax_loss = axes[0][-1]
    for ax in axes[0][:-1]:
        contours(ax, data["landscape"])
    for i, path in enumerate(paths):
        ax_map = axes[0][i if apart else 0]
        xs, ys = zip(*path["points"], strict=True)
        style = {
            "color": f"C{i % 10}",
            "ls": LINESTYLES[i % len(LINESTYLES)],
            "label": f"{path['name']} (lr={path['lr']:g}){' diverged' if path['diverged'] else ''}",
        }
        ax_map.plot(xs, ys, linewidth=1.4, **style)
        ax_loss.plot(range(len(path["losses"])), path["losses"], **style)
        if apart:
            ax_map.set_title(f"{path['name']} (lr={path['lr']:g})")
    start = paths[0]["points"][0]
    for ax in axes[0][:-1]:
        ax.plot(*start, "o", color="red", markersize=8, markeredgecolor="k", zorder=6, label="start")
    values = [v for p in paths for v in p["losses"]]
    if min(values) > 0:
        ax_loss.set_yscale("log")
    ax_loss.set(xlabel="step", ylabel="f(x, y)", title="loss against step")
    ax_loss.grid(alpha=0.3)
    ax_loss.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2)
    fig.tight_layout()
    return fig
