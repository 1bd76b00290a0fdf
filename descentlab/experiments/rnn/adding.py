"""``descentlab rnn adding``: long-range memory, a plain tanh RNN against an LSTM on the adding problem.

Both train at ``--length`` steps; the score is the mean squared error against the 0.167 of always answering
1. The run logs namespaced metrics, checkpoints on Ctrl-C and resumes like every run.

Read top to bottom: config, the experiment, figure and table.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from torch import Tensor, nn

from descentlab.config import RunConfig, param
from descentlab.errors import ParameterError
from descentlab.experiments.declaration import Experiment, TourSettings
from descentlab.experiments.rnn.common import fit, hidden_gradients, in_turn
from descentlab.report import Bound, Claim, Section
from descentlab.rnn import GRUCell, LSTMCell, RNNCell
from descentlab.rnn.tasks import ADDING_BASELINE, SequenceRegressor, adding_problem
from descentlab.runs import Run, RunRecord, StopFlag, atomic_write_bytes, seed_everything, select_device


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


def adding_table(record: RunRecord) -> tuple[list[str], list[list[str]]]:
    m = record.final()
    rows = []
    for name in AddingConfig(**record.config).cell_names():
        if f"{name}/test/mse" in m:
            mse = m[f"{name}/test/mse"]
            rows.append([name, f"{mse:.4f}", f"{ADDING_BASELINE:.3f}", "yes" if mse < 0.1 * ADDING_BASELINE else "no",
                         f"{m.get(f'{name}/flow_first_over_last', math.nan):.3g}"])  # fmt: skip
    return ["cell", "test MSE", "always-1 MSE", "solved (< 10% of it)", "trained ||dL/dh_1|| / ||dL/dh_T||"], rows


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


def adding_tour(settings: TourSettings) -> list[AddingConfig]:
    q = settings.quick
    return [AddingConfig(seed=settings.seed, device=settings.device, length=30 if q else 50, hidden=32, lr=0.01,
                         steps=900 if q else 1500, eval_every=100)]  # fmt: skip


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
