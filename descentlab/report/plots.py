"""Plots that know no domain: curves of the metrics any run logs, drawn only from what it logged.

Domain figures (an optimizer's path over contours, a route on a map, LSTM gates) live with their
experiment; these read the naming conventions every run follows (``train/loss``, ``val/loss``,
``VARIANT/train/loss``, ``timing.jsonl``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only; never a window
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from descentlab.runs.listing import RunRecord


def learning_curves(record: RunRecord) -> Figure:
    """Training and validation loss against step, and validation accuracy, for one run."""
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.4))
    for key, style in (("train/loss", "-"), ("val/loss", "o--")):
        steps, values = record.series(key)
        if steps:
            ax_loss.plot(steps, values, style, label=key, markersize=4)
    ax_loss.set(xlabel="step", ylabel="cross-entropy", title="loss", yscale="log")
    ax_loss.legend()
    steps, values = record.series("val/accuracy")
    ax_acc.plot(steps, [100 * v for v in values], "o-", color="tab:green", markersize=4)
    ax_acc.set(xlabel="step", ylabel="%", title="validation accuracy")
    ax_acc.grid(alpha=0.3)
    fig.suptitle(record.path.name, fontsize=9)
    fig.tight_layout()
    return fig


def loss_against_cost(
    records: Sequence[RunRecord], label: Callable[[RunRecord], str], title: str, key: str = "val/loss"
) -> Figure:
    """``key`` against epochs, against updates (steps) and against seconds of optimization, one line per run,
    each axis logarithmic.

    The epoch of each point is the ``val/epoch`` or ``train/epoch`` logged with it; the seconds come
    from ``timing.jsonl`` at the same step.
    """
    fig, axes = plt.subplots(2, 2, figsize=(10, 7.6))
    (ax_epoch, ax_step), (ax_time, ax_key) = axes
    epoch_key = key.split("/")[0] + "/epoch"
    for i, record in enumerate(records):
        steps, values = record.series(key)
        epoch_at = dict(zip(*record.series(epoch_key), strict=True))
        seconds_at = record.seconds_at()
        style = {"color": f"C{i % 10}", "label": label(record), "marker": "o", "markersize": 3,
                 "linestyle": ("-", "--", "-.", ":")[i % 4]}  # fmt: skip
        ax_epoch.plot([epoch_at[s] for s in steps], values, **style)
        ax_step.plot(steps, values, **style)
        timed = [(seconds_at[s], v) for s, v in zip(steps, values, strict=True) if s in seconds_at]
        ax_time.plot([t for t, _ in timed], [v for _, v in timed], **style)
    ax_epoch.set(xlabel="epochs", ylabel=key, title="against epochs")
    ax_step.set(xlabel="updates (iterations)", ylabel=key, title="against updates")
    ax_time.set(xlabel="seconds of optimization", ylabel=key, title="against time")
    for ax in (ax_epoch, ax_step, ax_time):
        ax.set(xscale="log", yscale="log")
        ax.grid(alpha=0.3, which="both")
    ax_key.axis("off")  # the fourth cell holds the legend, at full size: one key for the three panels
    ax_key.legend(*ax_time.get_legend_handles_labels(), loc="center", fontsize=11, frameon=False)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def variant_curves(record: RunRecord, names: Sequence[str] = ("plain", "dropout")) -> Figure:
    """Training and validation loss and error against epoch for each variant of a run (plain and dropout, or cnn and st-cnn), one figure."""
    fig, (ax_loss, ax_err) = plt.subplots(1, 2, figsize=(11, 4))
    for i, name in enumerate(names):
        for ax, key in ((ax_loss, "loss"), (ax_err, "error")):
            for split, style in (("train", "-"), ("val", "--")):
                wanted = f"{name}/{split}/{key}"
                points = [
                    (r[f"{name}/epoch"], r[wanted]) for r in record.metrics if f"{name}/epoch" in r and wanted in r
                ]
                scale = 100.0 if key == "error" else 1.0
                if points:
                    ax.plot([e for e, _ in points], [scale * v for _, v in points], style, color=f"C{i}",
                            label=f"{name}: {split}")  # fmt: skip
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy", title="loss (training: 5,000 images, eval mode)",
                yscale="log")  # fmt: skip
    ax_err.set(xlabel="epoch", ylabel="error %", title="error", yscale="log")
    for ax in (ax_loss, ax_err):
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def running_mean(values: Sequence[float], window: int) -> list[float]:
    """The mean of the last ``window`` values at each point (fewer at the start)."""
    out, total = [], 0.0
    for i, v in enumerate(values):
        total += v - (values[i - window] if i >= window else 0.0)
        out.append(total / min(i + 1, window))
    return out


def colour_axis(ax: Any, colour: str, side: str = "left") -> None:
    """Colour an axis's label, ticks and spine like its curve: with two y-axes (``twinx``), which curve
    reads on which axis shows at a glance."""
    ax.yaxis.label.set_color(colour)
    ax.tick_params(axis="y", colors=colour)
    ax.spines[side].set_color(colour)
