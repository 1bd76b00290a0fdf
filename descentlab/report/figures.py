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


def loss_against_epochs_and_seconds(
    records: Sequence[RunRecord], label: Callable[[RunRecord], str], title: str, key: str = "val/loss"
) -> Figure:
    """``key`` against epochs and against seconds of optimization, one line per run.

    The epoch of each point is the ``val/epoch`` or ``train/epoch`` logged with it; the seconds come
    from ``timing.jsonl`` at the same step.
    """
    fig, (ax_epoch, ax_time) = plt.subplots(1, 2, figsize=(11, 3.8))
    epoch_key = key.split("/")[0] + "/epoch"
    for i, record in enumerate(records):
        steps, values = record.series(key)
        epoch_at = dict(zip(*record.series(epoch_key), strict=True))
        seconds_at = {int(t["step"]): float(t["elapsed_s"]) for t in record.timing}
        style = {"color": f"C{i % 10}", "label": label(record), "marker": "o", "markersize": 3}
        ax_epoch.plot([epoch_at[s] for s in steps], values, **style)
        timed = [(seconds_at[s], v) for s, v in zip(steps, values, strict=True) if s in seconds_at]
        ax_time.plot([t for t, _ in timed], [v for _, v in timed], **style)
    ax_epoch.set(xlabel="epoch", ylabel=key, yscale="log", title="against epochs")
    ax_time.set(xlabel="seconds of optimization", yscale="log", title="against time")
    for ax in (ax_epoch, ax_time):
        ax.grid(alpha=0.3)
    ax_time.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.02, 0.5))
    fig.suptitle(title)
    fig.tight_layout()
    return fig
