"""``descentlab rnn topology --task one-to-one|one-to-many|many-to-one|many-to-many``: the four topologies.

One small task per topology (see :mod:`descentlab.rnn.tasks`), trained with Adam, its test score and a
figure of examples. The run logs namespaced metrics, checkpoints on Ctrl-C and resumes like every run.

Read top to bottom: config, the experiment, figure and table.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from torch import Tensor

from descentlab.config import RunConfig, param
from descentlab.data import mnist
from descentlab.experiments.declaration import Experiment, TourSettings, check_mnist
from descentlab.experiments.rnn.common import fit
from descentlab.report import Bound, Claim, Section
from descentlab.report.plots import colour_axis
from descentlab.rnn.tasks import (
    DIGIT_NAMES,
    Captioner,
    FeedForward,
    RowClassifier,
    Translator,
    digit_sequences,
    pad_digits,
    say,
    spell,
    unspell,
)
from descentlab.runs import Run, RunRecord, StopFlag, seed_everything, select_device
from descentlab.training.mnist import MEAN, STD

TASKS = ("one-to-one", "one-to-many", "many-to-one", "many-to-many")


@dataclass(frozen=True)
class TopologyConfig(RunConfig):
    """Settings of ``descentlab rnn topology``."""

    task: str = param("many-to-one", "which topology's task", choices=TASKS)
    cell: str = param("lstm", "recurrent cell of the many-to-one classifier", choices=("lstm", "gru", "rnn"))
    hidden: int = param(128, "hidden units", low=1, high=4096)
    steps: int = param(1500, "training steps", low=1, high=10**8)
    batch_size: int = param(64, "examples per step", low=1, high=10_000)
    lr: float = param(2e-3, "Adam's learning rate", low=0.0, low_open=True, high=1.0)
    eval_every: int = param(250, "steps between evaluations", low=1, high=10**8)
    test_size: int = param(2000, "test examples scored at each evaluation and at the end", low=10, high=10_000)

    @property
    def run_name(self) -> str:
        return self.task + (f"-{self.cell}" if self.task == "many-to-one" else "")


# ---- topologies -------------------------------------------------------------------------------


def _mnist(device: torch.device, test_size: int) -> dict[str, tuple[Tensor, Tensor]]:
    x, y = mnist("train")
    xt, yt = mnist("test")
    norm = (x.float() / 255 - MEAN) / STD, (xt[:test_size].float() / 255 - MEAN) / STD
    return {"train": (norm[0].to(device), y.to(device)), "test": (norm[1].to(device), yt[:test_size].to(device))}


def topology_train(
    cfg: TopologyConfig, run: Run, stop: StopFlag, state: dict[str, Any] | None = None
) -> dict[str, float]:
    device = select_device(cfg.device)
    seed_everything(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    name = cfg.task
    examples: dict[str, Any] = {}
    if cfg.task in ("one-to-one", "many-to-one", "one-to-many"):
        data = _mnist(device, cfg.test_size)
        x, y = data["train"]
        xt, yt = data["test"]
        order = torch.randint(0, len(y), (cfg.steps, cfg.batch_size), generator=gen)
    if cfg.task in ("one-to-one", "many-to-one"):
        model: Any = (FeedForward(cfg.hidden) if cfg.task == "one-to-one" else RowClassifier(cfg.cell, cfg.hidden)).to(
            device
        )

        def loss_fn(t: int) -> Tensor:
            idx = order[t].to(device)
            return F.cross_entropy(model(x[idx]), y[idx])

        @torch.no_grad()
        def evaluate() -> dict[str, float]:
            return {"test/accuracy": (model(xt).argmax(1) == yt).float().mean().item()}

    elif cfg.task == "one-to-many":
        model = Captioner(cfg.hidden).to(device)
        words = spell(list(DIGIT_NAMES)).to(device)  # column d spells digit d

        def loss_fn(t: int) -> Tensor:
            idx = order[t].to(device)
            return model.decoder.loss(model.state(x[idx]), words[:, y[idx]])

        @torch.no_grad()
        def evaluate() -> dict[str, float]:
            out = model.decoder.greedy(model.state(xt), words.shape[0])
            said = [unspell(out[:, j]) for j in range(out.shape[1])]
            truth = [say([int(d)]) for d in yt]
            examples["pairs"] = list(zip(said[:12], truth[:12], strict=True))
            return {"test/accuracy": sum(a == b for a, b in zip(said, truth, strict=True)) / len(truth)}

    else:
        model = Translator(cfg.hidden).to(device)
        seqs = digit_sequences(cfg.steps * cfg.batch_size, 1, 5, gen)
        test = digit_sequences(cfg.test_size, 1, 5, torch.Generator().manual_seed(10_000 + cfg.seed))
        test_in = pad_digits(test).to(device)
        test_words = [say(s) for s in test]

        def loss_fn(t: int) -> Tensor:
            batch = seqs[t * cfg.batch_size : (t + 1) * cfg.batch_size]
            return model.decoder.loss(model.state(pad_digits(batch).to(device)),
                                      spell([say(s) for s in batch]).to(device))  # fmt: skip

        @torch.no_grad()
        def evaluate() -> dict[str, float]:
            longest = max(len(w) for w in test_words) + 1
            out = model.decoder.greedy(model.state(test_in), longest)
            said = [unspell(out[:, j]) for j in range(out.shape[1])]
            examples["pairs"] = [
                (" ".join(map(str, s)) + " -> " + a, b)
                for s, a, b in zip(test[:12], said[:12], test_words[:12], strict=True)
            ]
            return {"test/accuracy": sum(a == b for a, b in zip(said, test_words, strict=True)) / len(said)}

    metrics = fit(name, model, loss_fn, evaluate, cfg.steps, cfg.eval_every, run, stop, state, lr=cfg.lr)
    metrics[f"{name}/parameters"] = float(sum(p.numel() for p in model.parameters()))
    if "pairs" in examples:
        (run.path / "examples.txt").write_text("".join(f"{a}\t{b}\n" for a, b in examples["pairs"]), encoding="utf-8")
    return metrics


# ---- figures and tables -----------------------------------------------------------------------


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
        colour_axis(ax, "C0")
        colour_axis(twin, "C1", side="right")
    if pairs:
        text_ax = axes[0][1]
        text_ax.axis("off")
        lines = [f"{'ok ' if p[0].endswith(p[1]) else 'x  '}{p[0]}   (true: {p[1]})" for p in pairs if len(p) == 2]
        text_ax.text(0, 1, "model output on test examples\n\n" + "\n".join(lines), va="top", family="monospace",
                     fontsize=8)  # fmt: skip
    fig.tight_layout()
    return fig


def topology_table(record: RunRecord) -> tuple[list[str], list[list[str]]]:
    m, task = record.final(), record.config["task"]
    return ["task", "test accuracy %", "parameters"], [[task, f"{100 * m[f'{task}/test/accuracy']:.2f}",
                                                        f"{m[f'{task}/parameters']:,.0f}"]]  # fmt: skip


# ---- report sections and declarations -----------------------------------------------------------


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


TOPOLOGY_WORDS = {
    "one-to-one": "an MNIST digit in, its class out: a multilayer perceptron, the feed-forward baseline",
    "one-to-many": "an MNIST digit in, its English name out letter by letter, each letter fed back (captioning)",
    "many-to-one": "an MNIST image in row by row (28 steps), its class out at the last step (classification)",
    "many-to-many": "a sequence of digits in, their names out ('3 1 4' -> 'three one four') by an encoder and a "
    "decoder (translation)",
}


def topology_claims(record: RunRecord) -> list[Claim]:
    task = str(record.config.get("task"))
    m = record.final()
    accuracy = m.get(f"{task}/test/accuracy", math.nan)
    if task in ("one-to-one", "many-to-one"):
        return [Claim(f"The {task} network classifies test digits far above chance: above 70% (chance is 10%)",
                      f"test accuracy {100 * accuracy:.1f}%", [Bound("test error", 1 - accuracy, "<", 0.3)])]  # fmt: skip
    _, losses = record.series(f"{task}/train/loss")
    first, last = (losses[0], losses[-1]) if losses else (math.nan, math.nan)
    return [Claim(
        f"The {task} network learns to write: its training loss falls below half of its first value",
        f"training loss {first:.2f} -> {last:.2f}; test sequences exactly right: {100 * accuracy:.1f}%",
        [Bound("the last training loss over the first", last / first, "<", 0.5)],
    )]  # fmt: skip


def topology_sections(runs: Sequence[RunRecord]) -> list[Section]:
    """One section per topology, in the order one-to-one, one-to-many, many-to-one, many-to-many."""
    done = sorted((r for r in runs if r.status == "complete"), key=lambda r: TASKS.index(str(r.config.get("task"))))
    return [
        Section(
            id=f"topology-{r.config.get('task')}",
            title=f"{str(r.config.get('task')).replace('-', ' ').capitalize()}",
            caption=_sentence(TOPOLOGY_WORDS.get(str(r.config.get("task")), ""))
            + f"; {r.config.get('steps')} steps of Adam.",
            figures=[topology_figure(r)],
            table=topology_table(r),
            commands=[str(r.meta.get("command"))],
            claims=topology_claims(r),
        )
        for r in done
    ]


def topology_tour(settings: TourSettings) -> list[TopologyConfig]:
    steps = 200 if settings.quick else 800
    return [TopologyConfig(seed=settings.seed, device=settings.device, task=task, hidden=64, steps=steps,
                           eval_every=steps // 4, test_size=500 if settings.quick else 2000) for task in TASKS]  # fmt: skip


RNN_TOPOLOGY = Experiment(
    check=check_mnist,
    command="rnn topology",
    help="one task per topology: one-to-one, one-to-many, many-to-one, many-to-many",
    description=(
        "one-to-one: a feed-forward MNIST classifier (the baseline); one-to-many: an MNIST digit\n"
        "captioned with its English name, letter by letter; many-to-one: MNIST read row by row (28\n"
        "steps) and classified at the end; many-to-many: digit sequences translated into words\n"
        "('3 1 4' -> 'three one four') by an encoder-decoder. Prints the test accuracy (exact words for\n"
        "the text tasks) and writes topology.png (and examples.txt)."
    ),
    examples=("descentlab rnn topology --task one-to-many", "descentlab rnn topology --task many-to-many --steps 3000"),
    config=TopologyConfig,
    train=topology_train,
    figures=lambda record: {"topology.png": topology_figure(record)},
    table=topology_table,
    sections=topology_sections,
    tour=topology_tour,
    headline=lambda r: topology_claims(r)[0].evidence,
)
