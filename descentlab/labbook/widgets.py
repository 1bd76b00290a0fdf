"""Sliders for the notebooks (``ipywidgets``): each change calls the library again and redraws.

Every function here returns a widget whose figure is recomputed by descentlab itself (its optimizers on its
landscapes, its network trained with its dropout, its neuron simulated): the notebook is a second view of the
library, never a second implementation. They need the notebook extra: ``pip install -e ".[notebooks]"``.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from descentlab.labbook.explorers import DROPOUT_EPOCHS, dropout_curves, shade
from descentlab.landscape import LANDSCAPES, descend
from descentlab.landscape.race import default_lr
from descentlab.neuro.models import LIF, simulate
from descentlab.optim import SGD, Adagrad, RMSProp


def drawn(widget: Any) -> Any:
    """``widget``, once its first figure is drawn; ``RuntimeError`` if drawing it failed (ipywidgets shows
    the traceback and goes on, which would leave the cell looking fine)."""
    if widget.result is None:
        raise RuntimeError("the figure could not be drawn: see the error above")
    return widget


def _plane(ax: Any, name: str) -> None:
    landscape = LANDSCAPES[name]
    (x0, x1), (y0, y1) = landscape.window
    ax.imshow(shade(landscape, 80), origin="lower", extent=(x0, x1, y0, y1), cmap="Blues_r", aspect="auto")
    for m in landscape.minima:
        ax.plot(*m, "k*", markersize=10)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_xlabel("x")
    ax.set_ylabel("y")


def race_widget() -> Any:
    """SGD with momentum on a landscape: the learning rate and the momentum as sliders."""
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    def draw(landscape: str, lr: float, momentum: float, steps: int) -> str:
        land = LANDSCAPES[landscape]
        path = descend(land, lambda p: SGD(p, lr=lr, momentum=momentum), land.start, steps)
        plain = descend(land, lambda p: SGD(p, lr=lr), land.start, steps)
        _, ax = plt.subplots(figsize=(7, 4.5))
        _plane(ax, landscape)
        for p, label, style in ((plain, "gradient descent", "--"), (path, f"momentum {momentum}", "-")):
            xs, ys = zip(*p.points, strict=True)
            end = "diverged" if p.diverged else f"f = {p.losses[-1]:.3g}"
            ax.plot(xs, ys, style, linewidth=2, label=f"{label}: {end}")
        ax.legend(loc="upper right", fontsize=9)
        ax.set_title(f"{landscape}: {steps} steps at learning rate {lr:.3g}")
        plt.show()
        return ax.get_title()

    return drawn(widgets.interactive(
        draw,
        landscape=widgets.Dropdown(options=["rosenbrock", "quadratic-bowl", "beale", "six-hump-camel"]),
        lr=widgets.FloatLogSlider(value=default_lr("rosenbrock", "momentum"), base=10, min=-4, max=-0.5, step=0.1,
                                  description="learning rate", continuous_update=False),
        momentum=widgets.FloatSlider(value=0.9, min=0.0, max=0.99, step=0.01, description="momentum",
                                     continuous_update=False),
        steps=widgets.IntSlider(value=500, min=50, max=2000, step=50, description="steps", continuous_update=False),
    ))  # fmt: skip


def momentum_widget() -> Any:
    """Step size and momentum on the ill-conditioned bowl f = (x² + 25 y²) / 2."""
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    bowl = LANDSCAPES["quadratic-bowl"]

    def draw(lr: float, beta: float) -> str:
        path = descend(bowl, lambda p: SGD(p, lr=lr, momentum=beta), bowl.start, 100)
        _, ax = plt.subplots(figsize=(7, 4))
        _plane(ax, "quadratic-bowl")
        xs, ys = zip(*path.points, strict=True)
        ax.plot(xs, ys, "r-", linewidth=2)
        end = "diverged" if path.diverged else f"f = {path.losses[-1]:.2g} after 100 steps"
        ax.set_title(f"α = {lr:.3g}, β = {beta:.2f}: {end} (best: α* = 0.111, β* = 0.444)")
        plt.show()
        return ax.get_title()

    return drawn(widgets.interactive(
        draw,
        lr=widgets.FloatLogSlider(value=0.0786, base=10, min=-2.5, max=-0.6, step=0.05, description="step α",
                                  continuous_update=False),
        beta=widgets.FloatSlider(value=0.0, min=0.0, max=0.99, step=0.01, description="momentum β",
                                 continuous_update=False),
    ))  # fmt: skip


def adaptive_widget() -> Any:
    """Adagrad against RMSProp on Rosenbrock's valley: RMSProp's decay as a slider."""
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    rosen = LANDSCAPES["rosenbrock"]
    ada = descend(rosen, lambda p: Adagrad(p, lr=0.5), rosen.start, 500)

    def draw(decay: float) -> str:
        rms = descend(rosen, lambda p: RMSProp(p, lr=0.01, alpha=decay), rosen.start, 500)
        _, ax = plt.subplots(figsize=(7, 4.5))
        _plane(ax, "rosenbrock")
        for p, label in ((ada, "Adagrad (lr 0.5)"), (rms, f"RMSProp (lr 0.01, decay {decay:.3f})")):
            xs, ys = zip(*p.points, strict=True)
            ax.plot(xs, ys, linewidth=2, label=f"{label}: f = {p.losses[-1]:.3g}")
        ax.legend(loc="upper right", fontsize=9)
        plt.show()
        return f"RMSProp at decay {decay}: f = {rms.losses[-1]:.3g}"

    return drawn(widgets.interactive(
        draw, decay=widgets.FloatSlider(value=0.99, min=0.5, max=0.999, step=0.001, readout_format=".3f",
                                        description="decay", continuous_update=False),
    ))  # fmt: skip


def dropout_widget() -> Any:
    """A small network trained on 1,000 MNIST images with the keep probability chosen (a few seconds a run)."""
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    def draw(keep: float) -> str:
        train, val = dropout_curves(keep)
        plain_train, plain_val = dropout_curves(1.0)
        epochs = range(1, DROPOUT_EPOCHS + 1)
        _, ax = plt.subplots(figsize=(7, 4))
        ax.plot(epochs, train, label=f"training, keep {keep:.2f}")
        ax.plot(epochs, val, label=f"validation, keep {keep:.2f}")
        ax.plot(epochs, plain_val, "--", color="grey", label="validation, no dropout")
        ax.set_xlabel("epoch")
        ax.set_ylabel("cross-entropy loss")
        ax.set_title(f"gap at the end: {val[-1] - train[-1]:.3f} (no dropout: {plain_val[-1] - plain_train[-1]:.3f})")
        ax.legend(fontsize=9)
        plt.show()
        return ax.get_title()

    return drawn(widgets.interactive(
        draw, keep=widgets.FloatSlider(value=0.5, min=0.2, max=1.0, step=0.05, description="keep p",
                                       continuous_update=False),
    ))  # fmt: skip


def lif_widget() -> Any:
    """A leaky integrate-and-fire neuron under a constant current: the current as a slider, with the firing
    rate the closed form predicts beside the simulated one."""
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    neuron = LIF()

    def draw(current: float) -> str:
        record, count = simulate(neuron, current, 200.0)
        assert record is not None
        drive = neuron.resistance * current
        theory = (1000 / (neuron.tau_m * math.log(drive / (drive - neuron.threshold)))
                  if drive > neuron.threshold else 0.0)  # fmt: skip
        _, ax = plt.subplots(figsize=(7, 3.5))
        ax.plot(record.t, record.v[:, 0], linewidth=1)
        ax.axhline(neuron.threshold, color="grey", linestyle="--", label="threshold")
        spikes = record.t[record.spikes[:, 0]]
        ax.plot(spikes, torch.full_like(spikes, neuron.threshold * 1.1), "k|", markersize=12, label="spikes")
        ax.set_xlabel("time (ms)")
        ax.set_ylabel("membrane potential")
        ax.set_title(f"I = {current:.2f}: {int(count[0]) * 5} spikes/s simulated, {theory:.0f} from "
                     "τ ln(RI / (RI - ϑ))")  # fmt: skip
        ax.legend(loc="lower right", fontsize=9)
        plt.show()
        return ax.get_title()

    return drawn(widgets.interactive(
        draw, current=widgets.FloatSlider(value=1.5, min=0.5, max=5.0, step=0.05, description="current I",
                                          continuous_update=False),
    ))  # fmt: skip


#: the widget a notebook shows where the lab book has an interactive figure, or after a demonstration
WIDGETS = {
    "momentum": "momentum_widget",
    "race": "race_widget",
    "adaptive": "adaptive_widget",
    "dropout": "dropout_widget",
    "neuro-patterns": "lif_widget",
}
