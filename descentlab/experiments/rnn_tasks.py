"""``descentlab rnn topology|adding|gradient-flow``: the four topologies, long-range memory, gradient flow.

* ``topology --task one-to-one|one-to-many|many-to-one|many-to-many``: one small task per topology (see
  :mod:`descentlab.rnn.tasks`), trained with Adam, its test score and a figure of examples.
* ``adding``: a plain tanh RNN and an LSTM on the adding problem at ``--length`` steps; the mean squared
  error against the 0.167 of always answering 1.
* ``gradient-flow``: the norm of dL/dh_t against t at initialization, for a tanh RNN at several
  recurrent weight scales and for an LSTM; then a tanh RNN whose gradients explode trained with and
  without gradient clipping.

Each run logs namespaced metrics, checkpoints on Ctrl-C and resumes like every run. Read top to bottom:
configs, the shared training loop, the three experiments, figures and tables.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from torch import Tensor, nn

from descentlab import optim as dl_optim
from descentlab.config import RunConfig, param
from descentlab.data import mnist
from descentlab.errors import Interrupted, ParameterError
from descentlab.experiments.declaration import Experiment, TourSettings, check_mnist
from descentlab.report import Bound, Claim, Section
from descentlab.report.plots import colour_axis
from descentlab.rnn import GRUCell, LSTMCell, RNNCell
from descentlab.rnn.tasks import (
    ADDING_BASELINE,
    DIGIT_NAMES,
    Captioner,
    FeedForward,
    RowClassifier,
    SequenceRegressor,
    Translator,
    adding_problem,
    digit_sequences,
    pad_digits,
    say,
    spell,
    unspell,
)
from descentlab.runs import (
    Run,
    RunRecord,
    StopFlag,
    atomic_write_bytes,
    rng_state,
    seed_everything,
    select_device,
    set_rng_state,
)
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


@dataclass(frozen=True)
class AddingConfig(RunConfig):
    """Settings of ``descentlab rnn adding``."""

    cells: str = param("rnn,lstm", "cells to train in turn, comma-separated (rnn, gru, lstm)")
    length: int = param(100, "sequence length T", low=2, high=100_000)
    hidden: int = param(64, "hidden units", low=1, high=4096)
    steps: int = param(3000, "training steps per cell", low=1, high=10**8)
    batch_size: int = param(64, "sequences per step", low=1, high=10_000)
    lr: float = param(2e-3, "Adam's learning rate", low=0.0, low_open=True, high=1.0)
    clip: float = param(1.0, "clip the gradients' global norm to this (0: no clipping)", low=0.0, high=1e6)
    eval_every: int = param(100, "steps between evaluations on 1,000 held-out sequences", low=1, high=10**8)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.cell_names()

    def cell_names(self) -> list[str]:
        names = [c.strip() for c in self.cells.split(",") if c.strip()]
        if not names or any(c not in ("rnn", "gru", "lstm") for c in names) or len(set(names)) != len(names):
            valid = "distinct names of rnn, gru, lstm, e.g. rnn,lstm"
            raise ParameterError("cells", f"{self.cells!r} is not valid; valid: {valid}")
        return names

    @property
    def run_name(self) -> str:
        return f"T{self.length}"


def _numbers(name: str, text: str, low: float, what: str) -> list[float]:
    """A comma list of numbers above ``low`` (and at most ``-low`` when ``low`` is negative), or the flag's error."""
    try:
        values = [float(s) for s in text.split(",")]
    except ValueError:
        values = []
    if not values or not all(math.isfinite(v) and v > low and (low >= 0 or v <= -low) for v in values):
        raise ParameterError(name, f"{text!r} is not valid; valid: {what}, comma-separated")
    return values


@dataclass(frozen=True)
class GradientFlowConfig(RunConfig):
    """Settings of ``descentlab rnn gradient-flow``."""

    length: int = param(100, "sequence length T", low=2, high=100_000)
    hidden: int = param(64, "hidden units", low=1, high=4096)
    scales: str = param("0.5,1.0,2.0,4.0", "tanh RNN: recurrent weights = scale x a random orthogonal matrix")
    forget_biases: str = param(
        "0,1,3", "LSTM: initial forget-gate biases, a curve each (0: gates half open, 1: the usual start, 3: open)"
    )
    batch_size: int = param(64, "sequences averaged over", low=1, high=10_000)
    explode_scale: float = param(
        1.5, "the clipping experiment: the tanh RNN's recurrent weight scale", low=0.0, high=100.0
    )
    clip: float = param(1.0, "the clipping experiment: global norm to clip to", low=0.0, low_open=True, high=1e6)
    lr: float = param(0.1, "the clipping experiment: SGD's learning rate", low=0.0, low_open=True, high=100.0)
    steps: int = param(300, "the clipping experiment: training steps for each of clipped and not", low=1, high=10**8)

    def scale_values(self) -> list[float]:
        return _numbers("scales", self.scales, low=0.0, what="positive numbers")

    def forget_bias_values(self) -> list[float]:
        return _numbers("forget_biases", self.forget_biases, low=-100.0, what="numbers from -100 to 100")

    def __post_init__(self) -> None:
        super().__post_init__()
        self.scale_values()
        self.forget_bias_values()

    @property
    def run_name(self) -> str:
        return f"T{self.length}"


# ---- the shared training loop -----------------------------------------------------------------


def fit(
    name: str,
    model: nn.Module,
    loss_fn: Callable[[int], Tensor],
    evaluate: Callable[[], dict[str, float]],
    steps: int,
    eval_every: int,
    run: Run,
    stop: StopFlag,
    state: dict[str, Any] | None,
    step0: int = 0,
    lr: float = 1e-3,
    clip: float = 0.0,
    finished: dict[str, float] | None = None,
) -> dict[str, float]:
    """Adam on ``loss_fn(step)`` for ``steps`` steps, logging ``NAME/train/loss``, the gradient norm and
    ``evaluate()``'s metrics (prefixed ``NAME/``) every ``eval_every`` steps at global step ``step0 + t``.
    On Ctrl-C it checkpoints its state with ``finished`` (the results of models trained before it)."""
    optimizer = dl_optim.Adam(model.parameters(), lr=lr)
    t, loss_sum, count = 0, 0.0, 0
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        set_rng_state(state["rng"])
        t, loss_sum, count = state["t"], state["loss_sum"], state["count"]
    metrics: dict[str, float] = {}
    while t < steps:
        model.train()
        loss = loss_fn(t)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), clip if clip else math.inf)
        optimizer.step()
        t, loss_sum, count = t + 1, loss_sum + loss.item(), count + 1
        if t % eval_every == 0 or t == steps:
            model.eval()
            metrics = {f"{name}/{k}": v for k, v in evaluate().items()}
            run.log(step0 + t, {f"{name}/train/loss": loss_sum / count, f"{name}/grad_norm": float(norm), **metrics})
            loss_sum, count = 0.0, 0
        if stop.requested or stop.checkpoint_due():
            path = str(run.save_checkpoint({
                "name": name, "model": model.state_dict(), "optimizer": optimizer.state_dict(), "rng": rng_state(),
                "t": t, "loss_sum": loss_sum, "count": count, "finished": finished or {}, "step": step0 + t,
            }))  # fmt: skip
            if stop.requested:
                raise Interrupted(path)
    return metrics


def in_turn(
    names: list[str],
    train_one: Callable[[str, dict[str, Any] | None, int, dict[str, float]], dict[str, float]],
    steps: int,
    state: dict[str, Any] | None,
) -> dict[str, float]:  # fmt: skip
    """Train each name in turn (global steps continue from one to the next), resuming where ``state`` says."""
    finished: dict[str, float] = dict(state["finished"]) if state else {}
    for k, name in enumerate(names):
        if any(key.startswith(f"{name}/") for key in finished):
            continue
        own = state if state is not None and state.get("name") == name else None
        finished |= train_one(name, own, k * steps, finished)
    return finished


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


# ---- the adding problem -----------------------------------------------------------------------


def adding_train(cfg: AddingConfig, run: Run, stop: StopFlag, state: dict[str, Any] | None = None) -> dict[str, float]:
    device = select_device(cfg.device)
    val_x, val_y = adding_problem(1000, cfg.length, torch.Generator().manual_seed(10_000 + cfg.seed))
    val_x, val_y = val_x.to(device), val_y.to(device)
    flow_file = run.path / "flow.json"  # per cell, after training: ||dL/dh_t|| for t = 1..T

    def train_one(name: str, own: dict[str, Any] | None, step0: int, done: dict[str, float]) -> dict[str, float]:
        seed_everything(cfg.seed)
        model = SequenceRegressor(name, cfg.hidden).to(device)
        gen = torch.Generator().manual_seed(cfg.seed)
        batches = [adding_problem(cfg.batch_size, cfg.length, gen) for _ in range(cfg.steps)]

        def loss_fn(t: int) -> Tensor:
            x, y = batches[t]
            return F.mse_loss(model(x.to(device)), y.to(device))

        @torch.no_grad()
        def evaluate() -> dict[str, float]:
            return {"val/mse": F.mse_loss(model(val_x), val_y).item()}

        out = fit(name, model, loss_fn, evaluate, cfg.steps, cfg.eval_every, run, stop, own, step0, cfg.lr, cfg.clip,
                  done)  # fmt: skip
        test_x, test_y = adding_problem(10_000, cfg.length, torch.Generator().manual_seed(20_000 + cfg.seed))
        with torch.no_grad():
            out[f"{name}/test/mse"] = F.mse_loss(model(test_x.to(device)), test_y.to(device)).item()
        # how far back the trained model's gradient reaches: ||dL/dh_t|| on 256 validation sequences
        cell = {"rnn": RNNCell, "gru": GRUCell, "lstm": LSTMCell}[name](2, cfg.hidden)
        cell.load_state_dict({k.removesuffix("_l0"): v.cpu() for k, v in model.rnn.state_dict().items()})
        head = nn.Linear(cfg.hidden, 1)
        head.load_state_dict({k: v.cpu() for k, v in model.head.state_dict().items()})
        flow = hidden_gradients(cell, val_x[:, :256].cpu(), val_y[:256].cpu(), head)
        flows = json.loads(flow_file.read_text()) if flow_file.is_file() else {}
        atomic_write_bytes(flow_file, json.dumps(flows | {name: flow}).encode())
        out[f"{name}/flow_first_over_last"] = flow[0] / flow[-1]
        return out

    return in_turn(cfg.cell_names(), train_one, cfg.steps, state)


# ---- gradient flow ----------------------------------------------------------------------------


def hidden_gradients(cell: nn.Module, x: Tensor, y: Tensor, head: nn.Linear) -> list[float]:
    """||dL/dh_t|| for t = 1..T (mean over the batch), L the squared error of the last state's read-out."""
    n, size = x.shape[1], head.in_features
    h = torch.zeros(n, size)
    c = torch.zeros(n, size)
    hs = []
    for t in range(len(x)):
        if isinstance(cell, LSTMCell):
            h, c = cell(x[t], (h, c))
        else:
            h = cell(x[t], h)
        h.retain_grad()
        hs.append(h)
    F.mse_loss(head(h).squeeze(-1), y).backward()
    return [float(g.grad.norm(dim=1).mean()) for g in hs]


def _tanh_rnn(cfg: GradientFlowConfig, scale: float) -> RNNCell:
    cell = RNNCell(2, cfg.hidden)
    with torch.no_grad():
        cell.weight_hh.copy_(scale * torch.linalg.qr(torch.randn(cfg.hidden, cfg.hidden))[0])
    return cell


def gradient_flow_train(
    cfg: GradientFlowConfig, run: Run, stop: StopFlag, state: dict[str, Any] | None = None
) -> dict[str, float]:
    seed_everything(cfg.seed)
    x, y = adding_problem(cfg.batch_size, cfg.length, torch.Generator().manual_seed(cfg.seed))
    head = nn.Linear(cfg.hidden, 1)
    curves: dict[str, list[float]] = {}
    for scale in cfg.scale_values():
        curves[f"rnn x{scale:g}"] = hidden_gradients(_tanh_rnn(cfg, scale), x, y, head)
    forget = slice(cfg.hidden, 2 * cfg.hidden)  # gates are stacked i, f, g, o
    for forget_bias in cfg.forget_bias_values():
        torch.manual_seed(cfg.seed)  # the same weights but for the forget gates' bias
        lstm = LSTMCell(2, cfg.hidden)
        with torch.no_grad():
            for bias, value in ((lstm.bias_hh, forget_bias), (lstm.bias_ih, 0.0)):
                if bias is not None:
                    bias[forget].fill_(value)
        curves[f"lstm b{forget_bias:g}"] = hidden_gradients(lstm, x, y, head)
    for t in range(cfg.length):
        run.log(t + 1, {f"flow/{k}": v[t] for k, v in curves.items()})
    metrics = {f"{k}/first_over_last": v[0] / v[-1] for k, v in curves.items()}

    # gradient clipping: the same exploding tanh RNN trained with plain SGD, with and without it
    gen = torch.Generator().manual_seed(cfg.seed + 1)
    batches = [adding_problem(cfg.batch_size, cfg.length, gen) for _ in range(cfg.steps)]
    for k, clipped in enumerate((False, True)):
        name = "clipped" if clipped else "unclipped"
        torch.manual_seed(cfg.seed)
        model = SequenceRegressor("rnn", cfg.hidden, impl="bptt")
        with torch.no_grad():
            model.rnn.get_parameter("weight_hh_l0").copy_(_tanh_rnn(cfg, cfg.explode_scale).weight_hh)
        opt = dl_optim.SGD(model.parameters(), lr=cfg.lr)
        worst = 0.0
        for t, (bx, by) in enumerate(batches):
            loss = F.mse_loss(model(bx), by)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            norm = float(torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip if clipped else math.inf))
            worst = max(worst, norm) if math.isfinite(norm) else math.inf
            opt.step()
            run.log(cfg.length + k * cfg.steps + t + 1, {f"{name}/loss": loss.item(), f"{name}/grad_norm": norm})
            if stop.requested:
                raise Interrupted(str(run.save_restart_checkpoint()))  # a short analysis: resuming reruns it
        with torch.no_grad():
            final = F.mse_loss(model(x), y).item()
        metrics |= {f"{name}/final_mse": final, f"{name}/max_grad_norm": worst}
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


def adding_curves(record: RunRecord) -> Figure:
    """Validation mean squared error against steps for each cell on the adding problem, and the 0.167
    of always answering 1."""
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
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 6))
    length = int(record.config.get("length", 100))
    flow = [r for r in record.metrics if r["step"] <= length]
    keys = sorted({k for r in flow for k in r if k.startswith("flow/")}, key=lambda k: (k.startswith("flow/lstm"), k))
    for key in keys:
        pts = [(r["step"], r[key]) for r in flow if key in r and r[key] > 0]  # an underflow to 0 has no logarithm
        lstm = key.startswith("flow/lstm")
        label = key.removeprefix("flow/").replace(" b", ", forget bias ") if lstm else key.removeprefix("flow/")
        if pts:
            left.plot(*zip(*pts, strict=True), label=label, linestyle="--" if lstm else "-")
    left.set(xlabel="time step t", ylabel="||dL/dh_t||", yscale="log",
             title="gradient reaching each step (loss at the last step)")  # fmt: skip
    left.grid(alpha=0.3, which="both")
    left.legend(loc="upper center", bbox_to_anchor=(0.5, -0.17), ncol=2)  # below: the curves fill the axes
    for i, name in enumerate(("unclipped", "clipped")):
        pts = [(r["step"] - length, r[f"{name}/grad_norm"]) for r in record.metrics if f"{name}/grad_norm" in r]
        if pts:
            offset = i * int(record.config.get("steps", 0))
            finite = [(s - offset, v) for s, v in pts if math.isfinite(v)]
            right.plot([s for s, _ in finite], [v for _, v in finite], color=f"C{i}",
                       label=f"{name} (gradient norm before clipping)")  # fmt: skip
            broken = next((s - offset for s, v in pts if not math.isfinite(v)), None)
            if broken is not None:  # from here on the weights are inf or NaN: no norm left to draw
                right.axvline(broken, color=f"C{i}", ls="--", label=f"{name}: gradient inf or NaN from step {broken}")
    right.axhline(float(record.config.get("clip", 1.0)), color="gray", ls=":", label="clipping threshold")
    right.set(xlabel="training step", ylabel="gradient norm", yscale="log",
              title=f"tanh RNN, recurrent scale {record.config.get('explode_scale')}")  # fmt: skip
    right.grid(alpha=0.3, which="both")
    right.legend(loc="upper center", bbox_to_anchor=(0.5, -0.17), ncol=1)
    fig.tight_layout()
    return fig


def topology_table(record: RunRecord) -> tuple[list[str], list[list[str]]]:
    m, task = record.final(), record.config["task"]
    return ["task", "test accuracy %", "parameters"], [[task, f"{100 * m[f'{task}/test/accuracy']:.2f}",
                                                        f"{m[f'{task}/parameters']:,.0f}"]]  # fmt: skip


def adding_table(record: RunRecord) -> tuple[list[str], list[list[str]]]:
    m = record.final()
    rows = []
    for name in AddingConfig(**record.config).cell_names():
        if f"{name}/test/mse" in m:
            mse = m[f"{name}/test/mse"]
            rows.append([name, f"{mse:.4f}", f"{ADDING_BASELINE:.3f}", "yes" if mse < 0.1 * ADDING_BASELINE else "no",
                         f"{m.get(f'{name}/flow_first_over_last', math.nan):.3g}"])  # fmt: skip
    return ["cell", "test MSE", "always-1 MSE", "solved (< 10% of it)", "trained ||dL/dh_1|| / ||dL/dh_T||"], rows


def flow_table(record: RunRecord) -> tuple[list[str], list[list[str]]]:
    m = record.final()
    rows = [[k.split("/")[0], f"{v:.3g}" if v > 0 else "0 (below float32's smallest number: it underflowed)"]
            for k, v in m.items() if k.endswith("/first_over_last")]  # fmt: skip
    rows += [[f"{n}: final MSE, largest gradient norm", f"{m[f'{n}/final_mse']:.3g}, {m[f'{n}/max_grad_norm']:.3g}"]
             for n in ("unclipped", "clipped") if f"{n}/final_mse" in m]  # fmt: skip
    return ["model", "||dL/dh_1|| / ||dL/dh_T|| (or result)"], rows


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


def adding_claims(record: RunRecord) -> list[Claim]:
    m = record.final()
    if "lstm/test/mse" not in m or "rnn/test/mse" not in m:
        return []
    lstm, rnn = m["lstm/test/mse"], m["rnn/test/mse"]
    return [Claim(
        f"Over {record.config.get('length')} steps the LSTM learns the adding problem (test error below a tenth of "
        f"the {ADDING_BASELINE:.3f} of always answering 1) and the tanh RNN does not (above half of it)",
        f"test mean squared error: LSTM {lstm:.4f}, RNN {rnn:.4f}",
        [Bound("the LSTM's test error", lstm, "<", 0.1 * ADDING_BASELINE),
         Bound("the RNN's test error", rnn, ">", 0.5 * ADDING_BASELINE)],
    )]  # fmt: skip


def adding_sections(runs: Sequence[RunRecord]) -> list[Section]:
    """'Long-range memory' from ``descentlab rnn adding`` runs."""
    return [
        Section(
            id="adding",
            title=f"The adding problem over {r.config.get('length')} steps",
            caption=(
                f"Each step gives a number and a marker; the target is the sum of the two marked numbers. Each cell "
                f"({r.config.get('cells')}) with {r.config.get('hidden')} units trains for {r.config.get('steps')} "
                "steps; right: the gradient reaching each step after training."
            ),
            figures=[adding_curves(r)],
            table=adding_table(r),
            commands=[str(r.meta.get("command"))],
            claims=adding_claims(r),
        )
        for r in runs
        if r.status == "complete"
    ]


def flow_claims(record: RunRecord) -> list[Claim]:
    m = record.final()
    scales = [k.split("/")[0] for k in m if k.startswith("rnn x") and k.endswith("/first_over_last")]
    low = min(scales, key=lambda k: float(k.removeprefix("rnn x")), default=None)
    high = max(scales, key=lambda k: float(k.removeprefix("rnn x")), default=None)
    out = []
    if low is not None and high is not None and low != high:
        small, large = m[f"{low}/first_over_last"], m[f"{high}/first_over_last"]
        out.append(Claim(
            f"Through {record.config.get('length')} steps of a tanh RNN the gradient vanishes when the recurrent "
            f"weights are small ({low.removeprefix('rnn ')}: the first step gets less than a millionth of the last "
            f"step's) and explodes when they are large ({high.removeprefix('rnn ')}: more than a million times)",
            f"||dL/dh_1|| / ||dL/dh_T||: {small:.2g} and {large:.2g}",
            [Bound(f"{low}: ||dL/dh_1|| / ||dL/dh_T||", small, "<", 1e-6),
             Bound(f"{high}: ||dL/dh_1|| / ||dL/dh_T||", large, ">", 1e6)],
        ))  # fmt: skip
    if "clipped/final_mse" in m and "unclipped/final_mse" in m:
        clipped, unclipped = m["clipped/final_mse"], m["unclipped/final_mse"]
        out.append(Claim(
            "Gradient clipping keeps the exploding RNN trainable: with clipping its final loss is finite and lower "
            "than without",
            f"final mean squared error: clipped {clipped:.3g}, unclipped {unclipped:.3g}",
            [Bound("the clipped RNN's final error", clipped, "<", math.inf if math.isnan(unclipped) else unclipped)],
        ))  # fmt: skip
    # last, so that the claims made before it keep their numbers (gradient-flow#1, #2) in recorded tours
    lstms = {float(k.split("/")[0].removeprefix("lstm b")): v for k, v in m.items()
             if k.startswith("lstm b") and k.endswith("/first_over_last")}  # fmt: skip
    if 0.0 in lstms and 3.0 in lstms:
        closed, opened = lstms[0.0], lstms[3.0]
        out.append(Claim(
            "An LSTM passes the gradient back through its cell as far as its forget gates are open: with forget-gate "
            "bias 3 (gates near 0.95) the first step gets more than 1,000 times the share of the last step's "
            "gradient it gets with bias 0 (gates near 0.5, which halve it at every step)",
            f"||dL/dh_1|| / ||dL/dh_T||: bias 3 {opened:.3g}, bias 0 {closed:.3g}",
            [Bound("LSTM bias 3 over LSTM bias 0", opened / max(closed, 1e-45), ">", 1e3)],
        ))  # fmt: skip
    return out


def gradient_flow_sections(runs: Sequence[RunRecord]) -> list[Section]:
    """'Vanishing and exploding gradients' from ``descentlab rnn gradient-flow`` runs."""
    return [
        Section(
            id="gradient-flow",
            title="The gradient reaching each step",
            caption=(
                f"Left: ||dL/dh_t|| at initialization for the loss at the last of {r.config.get('length')} steps, "
                f"tanh RNNs with recurrent weights scale x an orthogonal matrix, and the same LSTM at several initial "
                "forget-gate biases: the gradient through its cell is multiplied at each step by the forget gate, "
                "sigmoid(bias) at the start (0.5 at bias 0, 0.73 at 1, 0.95 at 3), so an LSTM vanishes too until "
                "its forget gates are open, which training learns (the adding problem below measures a trained "
                "one). The tanh RNN keeps a share only on the knife-edge of scale 1 (norm-preserving weights), "
                "between vanishing at 0.5 and exploding at 2; the LSTM's gates choose, step by step and input by "
                "input, what to keep. Right: the RNN of scale "
                f"{r.config.get('explode_scale')} trained with plain SGD, with and without clipping at "
                f"{r.config.get('clip')}."
            ),
            figures=[gradient_flow(r)],
            table=flow_table(r),
            commands=[str(r.meta.get("command"))],
            claims=flow_claims(r),
        )
        for r in runs
        if r.status == "complete"
    ]


def topology_tour(settings: TourSettings) -> list[TopologyConfig]:
    steps = 200 if settings.quick else 800
    return [TopologyConfig(seed=settings.seed, device=settings.device, task=task, hidden=64, steps=steps,
                           eval_every=steps // 4, test_size=500 if settings.quick else 2000) for task in TASKS]  # fmt: skip


def adding_tour(settings: TourSettings) -> list[AddingConfig]:
    q = settings.quick
    return [AddingConfig(seed=settings.seed, device=settings.device, length=30 if q else 50, hidden=32, lr=0.01,
                         steps=900 if q else 1500, eval_every=100)]  # fmt: skip


def gradient_flow_tour(settings: TourSettings) -> list[GradientFlowConfig]:
    q = settings.quick
    return [GradientFlowConfig(seed=settings.seed, device=settings.device, length=50 if q else 100,
                               steps=60 if q else 300)]  # fmt: skip


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

RNN_ADDING = Experiment(
    command="rnn adding",
    help="the adding problem: a plain RNN against an LSTM on a long-range memory task",
    description=(
        "T steps of (value, marker); the target is the sum of the two marked values. Always answering 1\n"
        "scores a mean squared error of 0.167. Trains each --cells in turn; writes adding.png."
    ),
    examples=("descentlab rnn adding --length 100", "descentlab rnn adding --cells lstm,gru --length 200"),
    config=AddingConfig,
    train=adding_train,
    figures=lambda record: {"adding.png": adding_curves(record)},
    table=adding_table,
    sections=adding_sections,
    tour=adding_tour,
    headline=lambda r: adding_claims(r)[0].evidence if adding_claims(r) else "",
)

RNN_GRADIENT_FLOW = Experiment(
    command="rnn gradient-flow",
    help="||dL/dh_t|| against t for tanh RNNs and an LSTM; clipping an exploding RNN",
    description=(
        "The gradient of the last step's loss with respect to every hidden state, at initialization, for\n"
        "tanh RNNs with recurrent weights scale x orthogonal and for an LSTM; then the exploding tanh RNN\n"
        "trained with plain SGD with and without gradient clipping. Writes gradient_flow.png."
    ),
    examples=("descentlab rnn gradient-flow", "descentlab rnn gradient-flow --length 200 --scales 0.9,1.0,1.1"),
    config=GradientFlowConfig,
    train=gradient_flow_train,
    figures=lambda record: {"gradient_flow.png": gradient_flow(record)},
    table=flow_table,
    sections=gradient_flow_sections,
    tour=gradient_flow_tour,
    headline=lambda r: "; ".join(c.evidence for c in flow_claims(r)),
)
