"""``descentlab rnn gradient-flow``: how the gradient flows back through time in a tanh RNN and an LSTM.

The norm of dL/dh_t against t at initialization, for a tanh RNN at several recurrent weight scales and for
an LSTM; then a tanh RNN whose gradients explode trained with and without gradient clipping.

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
from torch import nn

from descentlab import optim as dl_optim
from descentlab.config import RunConfig, param
from descentlab.errors import Interrupted, ParameterError
from descentlab.experiments.declaration import Experiment, TourSettings
from descentlab.experiments.rnn.common import hidden_gradients
from descentlab.report import Bound, Claim, Section
from descentlab.rnn import LSTMCell, RNNCell
from descentlab.rnn.tasks import SequenceRegressor, adding_problem
from descentlab.runs import Run, RunRecord, StopFlag, seed_everything


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


# ---- gradient flow ----------------------------------------------------------------------------


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


def flow_table(record: RunRecord) -> tuple[list[str], list[list[str]]]:
    m = record.final()
    rows = [[k.split("/")[0], f"{v:.3g}" if v > 0 else "0 (below float32's smallest number: it underflowed)"]
            for k, v in m.items() if k.endswith("/first_over_last")]  # fmt: skip
    rows += [[f"{n}: final MSE, largest gradient norm", f"{m[f'{n}/final_mse']:.3g}, {m[f'{n}/max_grad_norm']:.3g}"]
             for n in ("unclipped", "clipped") if f"{n}/final_mse" in m]  # fmt: skip
    return ["model", "||dL/dh_1|| / ||dL/dh_T|| (or result)"], rows


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


def gradient_flow_tour(settings: TourSettings) -> list[GradientFlowConfig]:
    q = settings.quick
    return [GradientFlowConfig(seed=settings.seed, device=settings.device, length=50 if q else 100,
                               steps=60 if q else 300)]  # fmt: skip


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
