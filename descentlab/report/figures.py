"""Figures drawn only from what runs logged (``metrics.jsonl``); nothing here trains."""

from __future__ import annotations

import math
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


def _contours(ax: Any, landscape_name: str) -> None:
    """Filled contours of an analytic landscape (computed from its formula; no training)."""
    import numpy as np
    import torch

    from descentlab.landscape import LANDSCAPES

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


def race_paths(data: dict[str, Any]) -> Figure:
    """Each optimizer's path over the landscape's contours (start and minima marked), and f against step."""
    fig, (ax_map, ax_loss) = plt.subplots(1, 2, figsize=(12, 4.8))
    _contours(ax_map, data["landscape"])
    for i, path in enumerate(data["paths"]):
        xs, ys = zip(*path["points"], strict=True)
        style = {
            "color": f"C{i % 10}",
            "label": f"{path['name']} (lr={path['lr']:g}){' diverged' if path['diverged'] else ''}",
        }
        ax_map.plot(xs, ys, "-", linewidth=1.4, **style)
        ax_loss.plot(range(len(path["losses"])), path["losses"], **style)
    start = data["paths"][0]["points"][0]
    ax_map.plot(*start, "o", color="red", markersize=8, markeredgecolor="k", zorder=6, label="start")
    values = [v for p in data["paths"] for v in p["losses"]]
    if min(values) > 0:
        ax_loss.set_yscale("log")
    ax_loss.set(xlabel="step", ylabel="f(x, y)", title="loss against step")
    ax_loss.grid(alpha=0.3)
    ax_loss.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.02, 0.5))
    fig.tight_layout()
    return fig


def race_animation(data: dict[str, Any], path: Any, max_frames: int = 60) -> None:
    """An animated GIF of the race: each optimizer's path drawn up to the frame's step."""
    from matplotlib.animation import FuncAnimation, PillowWriter

    fig, ax = plt.subplots(figsize=(6, 5))
    _contours(ax, data["landscape"])
    lines = [ax.plot([], [], "-", color=f"C{i % 10}", label=p["name"])[0] for i, p in enumerate(data["paths"])]
    ax.legend(fontsize=7, loc="upper right")
    longest = max(len(p["points"]) for p in data["paths"])
    frames = min(max_frames, longest)

    def draw(frame: int) -> list[Any]:
        upto = max(1, round(longest * (frame + 1) / frames))
        for line, p in zip(lines, data["paths"], strict=True):
            xs, ys = zip(*p["points"][:upto], strict=True)
            line.set_data(xs, ys)
        return lines

    FuncAnimation(fig, draw, frames=frames, blit=True).save(path, writer=PillowWriter(fps=12))
    plt.close(fig)


def hessian_density(result: dict[str, Any]) -> Figure:
    """The eigenvalue density saved in ``hessian.json`` (quadrature nodes and weights), top eigenvalues marked."""
    import torch

    from descentlab.landscape.hessian import Spectrum

    spectrum = Spectrum(
        [torch.tensor(n, dtype=torch.float64) for n in result["density_nodes"]],
        [torch.tensor(w, dtype=torch.float64) for w in result["density_weights"]],
    )
    nodes = torch.cat(spectrum.nodes)
    spread = float(nodes.max() - nodes.min()) or 1.0
    grid = torch.linspace(
        float(nodes.min()) - 0.05 * spread, float(nodes.max()) + 0.05 * spread, 2000, dtype=torch.float64
    )
    values = spectrum.density(grid, sigma=spread / 100)
    fig, ax = plt.subplots(figsize=(6.5, 3.5))
    ax.semilogy(grid.numpy(), values.clamp_min(1e-8).numpy())
    for e in result["top_eigenvalues"]:
        ax.axvline(e, color="tab:red", alpha=0.4, linewidth=0.8)
    ax.set(xlabel="eigenvalue", ylabel="density", title=f"Hessian spectrum ({result['parameters']:,} parameters)")
    fig.tight_layout()
    return fig


def search_history(trials: list[dict[str, Any]], objective: str, study: str) -> Figure:
    """A hyperparameter search: each trial's objective (pruned trials marked) and the best so far."""
    fig, ax = plt.subplots(figsize=(7, 4))
    complete = [(t["number"], t["value"]) for t in trials if t["state"] == "complete" and t["value"] is not None]
    finite = [(n, v) for n, v in complete if math.isfinite(v)]
    if finite:
        ax.plot(*zip(*finite, strict=True), "o", color="C0", label="complete trial")
        best, line = math.inf, []
        for n, v in sorted(finite):
            best = min(best, v)
            line.append((n, best))
        ax.step(*zip(*line, strict=True), where="post", color="C3", label="best so far")
    pruned = [t["number"] for t in trials if t["state"] == "pruned"]
    if pruned:
        low = min((v for _, v in finite), default=0.0)
        ax.plot(pruned, [low] * len(pruned), "x", color="0.5", label="pruned (stopped early)")
    ax.set(xlabel="trial", ylabel=objective, title=f"study {study}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def loss_interpolation(result: dict[str, Any]) -> Figure:
    """Training and validation loss along the lines of ``surface.json`` (alpha 0 and 1 marked)."""
    lines = result["lines"]
    fig, axes = plt.subplots(1, len(lines), figsize=(6 * len(lines), 3.8), squeeze=False)
    for ax, line in zip(axes[0], lines, strict=True):
        ax.plot(line["alphas"], line["train"], label="training loss", color="C0")
        ax.plot(line["alphas"], line["val"], label="validation loss", color="C1", linestyle="--")
        for a in (0.0, 1.0):
            ax.axvline(a, color="0.6", linewidth=0.8)
        ax.set_yscale("log")
        ax.set(xlabel="alpha", ylabel="cross-entropy", title=line["name"])
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def loss_plane(result: dict[str, Any]) -> Figure:
    """The loss on the plane of two filter-normalized directions: contours (log scale) and a 3D view."""
    import numpy as np

    coords = np.array(result["coords"])
    a, b = np.meshgrid(coords, coords)  # rows: b, columns: a (as LossSurface.plane)
    z = np.log10(np.array(result["plane"]))
    fig = plt.figure(figsize=(12, 4.8))
    ax = fig.add_subplot(1, 2, 1)
    filled = ax.contourf(a, b, z, levels=30, cmap="viridis")
    ax.contour(a, b, z, levels=15, colors="k", linewidths=0.4)
    ax.plot(0, 0, "r*", markersize=12, label="trained weights")
    fig.colorbar(filled, ax=ax, label="log10 training loss")
    ax.set(xlabel="direction 1 (filter-normalized)", ylabel="direction 2", title="loss surface, contours")
    ax.legend(fontsize=8, loc="upper right")
    ax3 = fig.add_subplot(1, 2, 2, projection="3d")
    ax3.plot_surface(a, b, z, cmap="viridis", linewidth=0, antialiased=True)
    ax3.set(xlabel="direction 1", ylabel="direction 2", zlabel="log10 loss", title="loss surface, 3D")
    fig.tight_layout()
    return fig


def plateau_steps(data: dict[str, Any]) -> Figure:
    """Steps to leave the plateau against the starting distance, one line per method (log scale)."""
    fig, ax = plt.subplots(figsize=(6, 4))
    radii = data["radii"]
    for i, name in enumerate(("gd", "momentum", "rmsprop", "adam")):
        steps = [data["metrics"].get(f"{name}/steps_to_leave@r={r:g}", -1.0) for r in radii]
        pts = [(r, s) for r, s in zip(radii, steps, strict=True) if s > 0]
        if pts:
            ax.plot(*zip(*pts, strict=True), "o-", color=f"C{i}", label=name)
    ax.set_yscale("log")
    ax.set(xlabel="distance of the start from the well's centre", ylabel="steps until f < 0.5",
           title="a flat region: steps to leave it")  # fmt: skip
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def many_starts(data: dict[str, Any]) -> Figure:
    """Many random starts: where they end (over the contours), the final values, and best-of-k restarts."""
    import numpy as np

    fig, (ax_map, ax_hist, ax_best) = plt.subplots(1, 3, figsize=(16, 4.6))
    _contours(ax_map, data["landscape"])
    ax_map.set_title(f"{data['landscape']}: where {len(data['starts'])} runs end")
    labels = {"plain": "gradient descent", "noise": "with annealed gradient noise"}
    values = [np.array(data[k]["values"]) for k in labels]
    top = max(float(v.max()) for v in values)
    bins = np.linspace(min(float(v.min()) for v in values), top, 40)
    for i, (key, label) in enumerate(labels.items()):
        finals = np.array(data[key]["finals"])
        ax_map.plot(finals[:, 0], finals[:, 1], "o", color=f"C{i}", markersize=4 + 2 * (1 - i), alpha=0.5, label=label)
        ax_hist.hist(data[key]["values"], bins=bins, color=f"C{i}", alpha=0.55, label=label)
        ks = data[key]["best_of"]["k"]
        ax_best.plot(ks, data[key]["best_of"]["mean"], "o-", color=f"C{i}", label=label)
    ax_map.legend(fontsize=7, loc="lower left")
    ax_hist.set(xlabel="final f", ylabel="runs", title="final values of all runs")
    ax_hist.legend(fontsize=8)
    ax_best.set_xscale("log")
    ax_best.set(xlabel="restarts k", ylabel="mean best f of k runs", title="restarts: the best of k runs")
    ax_best.grid(alpha=0.3, which="both")
    ax_best.legend(fontsize=8)
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


def time_to_target(record: RunRecord) -> Figure:
    """Validation accuracy against seconds of training for each optimizer, with the target marked."""
    from descentlab.experiments.generalization import unit_variants

    seconds_at = {int(r["step"]): float(r["elapsed_s"]) for r in record.timing}
    target = float(record.config.get("target", 0.97))
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for i, name in enumerate(unit_variants()):
        steps, values = record.series(f"{name}/val/accuracy")
        if steps:
            ax.plot([seconds_at.get(s, math.nan) for s in steps], [100 * v for v in values], ".-", color=f"C{i}",
                    label=name)  # fmt: skip
    ax.axhline(100 * target, color="k", linewidth=0.8, linestyle=":", label=f"target {100 * target:g}%")
    ax.set(xlabel="seconds of training (evaluation excluded)", ylabel="validation accuracy %",
           title="time to a target (AlgoPerf-style)", ylim=(80, 100))  # fmt: skip
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig


def transformed_digits(inputs: Any, outputs: Any, title: str) -> Figure:
    """Input digits (top row) above what the spatial transformer made of them (bottom row)."""
    n = len(inputs)
    fig, axes = plt.subplots(2, n, figsize=(1.2 * n, 2.7), squeeze=False)
    for j in range(n):
        for row, images in enumerate((inputs, outputs)):
            axes[row, j].imshow(images[j, 0].numpy(), cmap="gray", vmin=0, vmax=1)
            axes[row, j].set_xticks([])
            axes[row, j].set_yticks([])
    axes[0, 0].set_ylabel("input", fontsize=8)
    axes[1, 0].set_ylabel("transformed", fontsize=8)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


def lm_curves(record: RunRecord) -> Figure:
    """Training perplexity (running mean between records) and validation perplexity after each epoch,
    against epochs, with the learning rate underneath."""
    fig, (ax, ax_lr) = plt.subplots(2, 1, figsize=(8, 5.5), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    train = [(r["epoch"], r["train/perplexity"]) for r in record.metrics if "train/perplexity" in r]
    val = [(r["epoch"], r["val/perplexity"]) for r in record.metrics if "val/perplexity" in r]
    lr = [(r["epoch"], r["lr"]) for r in record.metrics if "lr" in r]
    if train:
        ax.plot(*zip(*train, strict=True), label="training (dropout on)")
    if val:
        ax.plot(*zip(*val, strict=True), "o-", label="validation")
    ax.set(ylabel="perplexity", yscale="log", title=f"{record.path.name}: word-level language model")
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    if lr:
        ax_lr.step(*zip(*lr, strict=True), where="post")
    ax_lr.set(xlabel="epoch", ylabel="learning rate", yscale="log")
    ax_lr.grid(alpha=0.3, which="both")
    fig.tight_layout()
    return fig


def topology_figure(record: RunRecord) -> Figure:
    """A topology task's training loss and test accuracy against steps, with examples when it writes text."""
    task = str(record.config.get("task"))
    examples = record.path / "examples.txt"
    pairs = (
        [line.split("\t") for line in examples.read_text(encoding="utf-8").splitlines()] if examples.is_file() else []
    )
    fig, axes = plt.subplots(1, 2 if pairs else 1, figsize=(11 if pairs else 6, 4), squeeze=False)
    ax = axes[0][0]
    pts = [(r["step"], r[f"{task}/test/accuracy"]) for r in record.metrics if f"{task}/test/accuracy" in r]
    loss = [(r["step"], r[f"{task}/train/loss"]) for r in record.metrics if f"{task}/train/loss" in r]
    if pts:
        ax.plot([s for s, _ in pts], [100 * a for _, a in pts], "o-", color="C0", label="test accuracy %")
    ax.set(xlabel="step", ylabel="test accuracy %", title=f"{task}", ylim=(0, 100))
    ax.grid(alpha=0.3)
    if loss:
        twin = ax.twinx()
        twin.plot([s for s, _ in loss], [v for _, v in loss], color="C1", label="training loss")
        twin.set(ylabel="training loss", yscale="log")
    if pairs:
        text_ax = axes[0][1]
        text_ax.axis("off")
        lines = [f"{'ok ' if p[0].endswith(p[1]) else 'x  '}{p[0]}   (true: {p[1]})" for p in pairs if len(p) == 2]
        text_ax.text(0, 1, "model output on test examples\n\n" + "\n".join(lines), va="top", family="monospace",
                     fontsize=8)  # fmt: skip
    fig.tight_layout()
    return fig


def adding_curves(record: RunRecord) -> Figure:
    """Validation mean squared error against steps for each cell on the adding problem, and the 0.167
    of always answering 1."""
    import json

    from descentlab.rnn.tasks import ADDING_BASELINE

    fig, (ax, ax_flow) = plt.subplots(1, 2, figsize=(12, 4.5))
    names = [c.strip() for c in str(record.config.get("cells", "rnn,lstm")).split(",")]
    steps = int(record.config.get("steps", 1))
    for i, name in enumerate(names):
        pts = [(r["step"] - i * steps, r[f"{name}/val/mse"]) for r in record.metrics if f"{name}/val/mse" in r]
        if pts:
            ax.plot(*zip(*pts, strict=True), label=name)
    ax.axhline(ADDING_BASELINE, color="gray", ls="--", label="always answer 1 (0.167)")
    ax.set(xlabel="training step", ylabel="validation MSE", yscale="log",
           title=f"adding problem, T = {record.config.get('length')}")  # fmt: skip
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    flow_file = record.path / "flow.json"
    flows = json.loads(flow_file.read_text()) if flow_file.is_file() else {}
    for i, name in enumerate(names):
        if name in flows:
            ax_flow.plot(range(1, len(flows[name]) + 1), flows[name], color=f"C{i}", label=f"{name}, trained")
    ax_flow.set(xlabel="time step t", ylabel="||dL/dh_t||", yscale="log",
                title="after training: the gradient reaching each step")  # fmt: skip
    ax_flow.grid(alpha=0.3, which="both")
    ax_flow.legend()
    fig.tight_layout()
    return fig


def gradient_flow(record: RunRecord) -> Figure:
    """Left: ||dL/dh_t|| against t at initialization (loss at the last step). Right: the exploding tanh
    RNN's gradient norm during training, with and without clipping."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    length = int(record.config.get("length", 100))
    flow = [r for r in record.metrics if r["step"] <= length]
    keys = sorted({k for r in flow for k in r if k.startswith("flow/")}, key=lambda k: (k == "flow/lstm", k))
    for key in keys:
        pts = [(r["step"], r[key]) for r in flow if key in r]
        left.plot(*zip(*pts, strict=True), label=key.removeprefix("flow/"))
    left.set(xlabel="time step t", ylabel="||dL/dh_t||", yscale="log",
             title="gradient reaching each step (loss at the last step)")  # fmt: skip
    left.grid(alpha=0.3, which="both")
    left.legend(fontsize=8)
    for i, name in enumerate(("unclipped", "clipped")):
        pts = [(r["step"] - length, r[f"{name}/grad_norm"]) for r in record.metrics if f"{name}/grad_norm" in r]
        if pts:
            offset = i * int(record.config.get("steps", 0))
            right.plot(
                [s - offset for s, _ in pts], [v for _, v in pts], label=f"{name} (gradient norm before clipping)"
            )
    right.axhline(float(record.config.get("clip", 1.0)), color="gray", ls=":", label="clipping threshold")
    right.set(xlabel="training step", ylabel="gradient norm", yscale="log",
              title=f"tanh RNN, recurrent scale {record.config.get('explode_scale')}")  # fmt: skip
    right.grid(alpha=0.3, which="both")
    right.legend(fontsize=8)
    fig.tight_layout()
    return fig


def lstm_gates(words: Sequence[str], gates: Any, units: int = 24) -> Figure:
    """The first layer's input, forget and output gates (and the candidate) while the LSTM reads a
    sentence: one heat map per gate, words down, the first ``units`` hidden units across."""
    names = ("input", "forget", "cell", "output")
    fig, axes = plt.subplots(1, 4, figsize=(14, 0.32 * len(words) + 1.6), sharey=True)
    for ax, name in zip(axes, names, strict=True):
        values = getattr(gates, name)[:, 0, :units].detach().cpu().numpy()  # (T, units)
        low, cmap = (-1.0, "RdBu_r") if name == "cell" else (0.0, "viridis")
        im = ax.imshow(values, aspect="auto", vmin=low, vmax=1.0, cmap=cmap)
        ax.set(title=f"{name} gate" if name != "cell" else "candidate g (tanh)", xlabel="hidden unit")
        ax.set_yticks(range(len(words)), list(words), fontsize=8)
        fig.colorbar(im, ax=ax, fraction=0.046)
    fig.suptitle("LSTM gates (layer 1) while reading a validation sentence, one row per word")
    fig.tight_layout()
    return fig


def _running_mean(values: Sequence[float], window: int) -> list[float]:
    out, total = [], 0.0
    for i, v in enumerate(values):
        total += v - (values[i - window] if i >= window else 0.0)
        out.append(total / min(i + 1, window))
    return out


def rl_curves(record: RunRecord) -> Figure:
    """Episodic return of training episodes (running mean of 20) and of the greedy evaluations, against
    environment steps; on GridRoute the evaluations' effectiveness on a second axis."""
    cfg = record.config
    fig, ax = plt.subplots(figsize=(8, 4.5))
    episodes = [(r["step"], r["charts/episodic_return"]) for r in record.metrics if "charts/episodic_return" in r]
    evals = [(r["step"], r["eval/mean_return"]) for r in record.metrics if "eval/mean_return" in r]
    if episodes:
        steps, returns = zip(*episodes, strict=True)
        ax.plot(steps, returns, ".", ms=2, alpha=0.25, color="C0")
        ax.plot(steps, _running_mean(returns, 20), color="C0", label="training episodes (running mean of 20)")
    if evals:
        ax.plot(*zip(*evals, strict=True), "o-", color="C1", label="greedy evaluation (mean)")
    ax.set(xlabel="environment steps", ylabel="episodic return", title=f"{cfg.get('algo')} on {cfg.get('env')}")
    ax.grid(alpha=0.3)
    eff = [(r["step"], 100 * r["eval/mean_effectiveness"]) for r in record.metrics if "eval/mean_effectiveness" in r]
    if eff:
        twin = ax.twinx()
        twin.plot(*zip(*eff, strict=True), "s--", color="C2", label="greedy effectiveness %")
        twin.set(ylabel="effectiveness %", ylim=(0, 105))
        twin.legend(loc="lower center")
    ax.legend(loc="upper left")
    fig.tight_layout()
    return fig


def route_figure(pictures: Sequence[tuple[str, Any, Any]]) -> Figure:
    """GridRoute episodes before and after learning: the map (walls dark), an optimal path (green), the
    path taken (blue), the agent (red) and the goal (gold)."""
    fig, axes = plt.subplots(2, len(pictures), figsize=(3.2 * len(pictures), 6.8), squeeze=False)
    for j, (caption, before, after) in enumerate(pictures):
        for i, (image, when) in enumerate(((before, "before learning"), (after, "after learning"))):
            axes[i][j].imshow(image)
            axes[i][j].set_xticks([])
            axes[i][j].set_yticks([])
            axes[i][j].set_title(when, fontsize=9)
        axes[1][j].set_xlabel(caption.replace("; ", "\n"), fontsize=8)
    fig.tight_layout()
    return fig


def reward_scheme_curves(record: RunRecord) -> Figure:
    """Greedy effectiveness against steps, one curve per reward scheme, with the target line."""
    cfg = record.config
    target = 100 * float(cfg.get("target", 0.9))
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for scheme in str(cfg.get("schemes", "positive,negative")).split(","):
        key = f"{scheme}/eval/mean_effectiveness"
        pts = [(r["step"], 100 * r[key]) for r in record.metrics if key in r]
        label = {"positive": "positive reinforcement (reward at the goal)",
                 "negative": "negative reinforcement (cost until the goal)"}.get(scheme, scheme)  # fmt: skip
        if pts:
            ax.plot(*zip(*pts, strict=True), "o-", ms=3, label=label)
    ax.axhline(target, color="gray", ls=":", label=f"{target:.0f}% target")
    ax.set(xlabel="environment steps", ylabel="greedy effectiveness %", ylim=(0, 105),
           title=f"{cfg.get('algo')} on a {cfg.get('grid_size')}x{cfg.get('grid_size')} GridRoute, route {cfg.get('route')}")  # fmt: skip
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    return fig


def neuron_figure(
    recording: Any, title: str, current: float, fi: tuple[list[float], list[float]] | None = None
) -> Figure:
    """A neuron's membrane potential against time with its spikes marked (the last neuron of the recording),
    a raster of every neuron's spikes when there are several, and optionally the f-I curve."""
    n = recording.v.shape[1]
    panels = 1 + (n > 1) + (fi is not None)
    fig, axes = plt.subplots(1, panels, figsize=(5.5 * panels, 3.6), squeeze=False)
    ax = axes[0][0]
    t, v = recording.t.numpy(), recording.v[:, -1].numpy()
    ax.plot(t, v, lw=0.8)
    spikes = recording.spikes[:, -1].numpy().astype(bool)
    ax.plot(t[spikes], v[spikes], "|", color="C3", ms=12, label=f"{int(spikes.sum())} spikes")
    ax.set(xlabel="time (ms)", ylabel="membrane potential", title=f"{title}, current {current:g}")
    ax.legend(loc="upper right")
    ax.grid(alpha=0.3)
    k = 1
    if n > 1:
        steps, neurons = recording.spikes.nonzero(as_tuple=True)
        axes[0][k].plot(t[steps.numpy()], neurons.numpy(), "|", ms=3, color="k")
        axes[0][k].set(xlabel="time (ms)", ylabel=f"neuron (current 0 to {current:g})", title="raster", ylim=(-1, n))
        k += 1
    if fi:
        axes[0][k].plot(*fi, "o-", ms=3)
        axes[0][k].set(xlabel="current", ylabel="firing rate (Hz)", title="f-I curve")
        axes[0][k].grid(alpha=0.3)
    fig.tight_layout()
    return fig


def stdp_weights(result: Any) -> Figure:
    """STDP on a repeated pattern: every synapse's weight over time (pattern afferents orange, noise-only
    grey), and the neuron's spikes in the last seconds with the pattern's presentations shaded."""
    fig, (ax, ax_spk) = plt.subplots(2, 1, figsize=(8, 6), gridspec_kw={"height_ratios": [3, 1]})
    t, w = result.times.numpy(), result.weights.numpy()
    members = result.pattern_inputs.numpy()
    ax.plot(t, w[:, ~members], color="0.6", lw=0.4, alpha=0.5)
    ax.plot(t, w[:, members], color="C1", lw=0.4, alpha=0.6)
    ax.plot([], [], color="C1", label="afferents in the pattern")
    ax.plot([], [], color="0.6", label="noise-only afferents")
    ax.set(xlabel="time (s)", ylabel="synaptic weight", title="STDP: weights over time")
    ax.legend(loc="center right")
    steps = len(result.post_spikes)
    last = slice(max(0, steps - 2000), steps)  # the last 2 s at 1 ms steps
    import numpy as np

    ms = np.arange(steps, dtype=float)[last]
    shown = result.in_pattern.numpy()[last]
    ax_spk.fill_between(ms, 0, 1, where=shown, color="C1", alpha=0.25, step="mid", label="pattern shown")
    spikes = result.post_spikes.numpy()[last]
    ax_spk.vlines(ms[spikes], 0, 1, color="C3", label="neuron spikes")
    ax_spk.set(xlabel="time (ms)", yticks=[], title="the last 2 seconds")
    ax_spk.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    return fig


def neuron_patterns(traces: dict[str, Any], config: dict[str, Any]) -> Figure:
    """Izhikevich's five firing patterns and a Hodgkin-Huxley action potential: membrane against time."""
    names = list(traces)
    fig, axes = plt.subplots(len(names), 1, figsize=(8, 1.6 * len(names)), sharex=False)
    for ax, name in zip(axes, names, strict=True):
        t, v = traces[name]["t"].numpy(), traces[name]["v"].numpy()
        ax.plot(t, v, lw=0.8, color="C3" if name == "hodgkin-huxley" else "C0")
        current = config.get("hh_current") if name == "hodgkin-huxley" else config.get("current")
        ax.set_title(f"{name} (I = {current:g})", fontsize=9, loc="left")
        ax.set_ylabel("mV", fontsize=8)
        ax.grid(alpha=0.3)
    axes[-1].set_xlabel("time (ms)")
    fig.tight_layout()
    return fig
