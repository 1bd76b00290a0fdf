"""Figures drawn only from what runs logged (``metrics.jsonl``); nothing here trains."""

from __future__ import annotations

from collections.abc import Callable, Sequence

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


def overlay(
    records: Sequence[RunRecord],
    keys: Sequence[str],
    label: Callable[[RunRecord], str],
    title: str,
    log_keys: Sequence[str] = (),
) -> Figure:
    """One panel per key, one line per run (same colour for a run across panels)."""
    fig, axes = plt.subplots(1, len(keys), figsize=(4.6 * len(keys), 3.4), squeeze=False)
    for ax, key in zip(axes[0], keys, strict=True):
        for i, record in enumerate(records):
            steps, values = record.series(key)
            if steps:
                ax.plot(
                    steps,
                    values,
                    "-" if len(steps) > 12 else "o-",
                    color=f"C{i % 10}",
                    label=label(record),
                    markersize=3,
                )
        ax.set(xlabel="step", title=key)
        if key in log_keys:
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig
