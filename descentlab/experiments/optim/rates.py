"""``descentlab optim rates``: Adagrad's per-weight learning rate only shrinks; RMSProp's recovers.

Both optimizers minimize the same ill-conditioned quadratic bowl :math:`f(w) = \\tfrac12 \\sum_i c_i w_i^2`
(curvatures ``c`` from 1 to 100) from the same start. Each step logs the loss and each weight's *effective
learning rate*, the factor that multiplies its gradient: Adagrad's :math:`\\eta / (\\sqrt{\\alpha_t} + \\epsilon)`
with :math:`\\alpha_t` the running sum of squared gradients, RMSProp's :math:`\\eta / (\\sqrt{v_t} + \\epsilon)` with
:math:`v_t` their moving average. Near the minimum the gradients shrink: Adagrad's sum stays large, so its
rates keep falling; RMSProp forgets old gradients, so its rates grow back.

Read top to bottom: config, the run (reading the optimizers' state), figures, claims, declaration.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure

from descentlab import optim
from descentlab.config import RunConfig, param
from descentlab.experiments.declaration import Experiment, TourSettings
from descentlab.report import Bound, Claim, Section
from descentlab.runs import Run, RunRecord, StopFlag

CURVATURES = (1.0, 10.0, 100.0)
START = (3.0, -2.0, 1.0)


@dataclass(frozen=True)
class RatesConfig(RunConfig):
    """Settings of ``descentlab optim rates``."""

    steps: int = param(300, "steps of each optimizer", low=2, high=100_000)
    adagrad_lr: float = param(0.5, "Adagrad's eta", low=0.0, low_open=True, high=10.0)
    rmsprop_lr: float = param(0.05, "RMSProp's eta", low=0.0, low_open=True, high=10.0)

    @property
    def run_name(self) -> str:
        return f"quadratic-{self.steps}steps"


def _effective_rates(opt: torch.optim.Optimizer, w: torch.Tensor, name: str) -> torch.Tensor:
    """Each weight's factor on its gradient this step, from the optimizer's own state."""
    group, state = opt.param_groups[0], opt.state[w]
    accumulated = state["sum"] if name == "adagrad" else state["square_avg"]  # torch.optim's state names
    return group["lr"] / (accumulated.sqrt() + group["eps"])


def train(cfg: RatesConfig, run: Run, stop: StopFlag, state: dict[str, Any] | None = None) -> dict[str, float]:
    """Both optimizers from the same start; ``rate/NAME/wI`` is weight I's effective learning rate."""
    c = torch.tensor(CURVATURES, dtype=torch.float64)
    metrics: dict[str, float] = {}
    for name, make in (("adagrad", lambda p: optim.Adagrad(p, lr=cfg.adagrad_lr)),
                       ("rmsprop", lambda p: optim.RMSProp(p, lr=cfg.rmsprop_lr))):  # fmt: skip
        w = torch.tensor(START, dtype=torch.float64, requires_grad=True)
        opt = make([w])
        for step in range(1, cfg.steps + 1):
            loss = 0.5 * (c * w * w).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
            rates = _effective_rates(opt, w, name)
            run.log(step, {f"{name}/loss": loss.item(), **{f"rate/{name}/w{i}": float(r) for i, r in enumerate(rates)}})
        metrics[f"{name}/final_loss"] = 0.5 * float((c * w.detach() ** 2).sum())
    return metrics


def rates_figure(record: RunRecord) -> Figure:
    """Each weight's effective learning rate against step, for both optimizers; the loss below."""
    fig, (ax, ax_loss) = plt.subplots(1, 2, figsize=(12, 4))
    for k, name in enumerate(("adagrad", "rmsprop")):
        for i, curvature in enumerate(CURVATURES):
            steps, values = record.series(f"rate/{name}/w{i}")
            ax.plot(steps, values, color=f"C{k}", ls=("-", "--", ":")[i], label=f"{name}, curvature {curvature:g}")
        steps, losses = record.series(f"{name}/loss")
        ax_loss.plot(steps, losses, color=f"C{k}", label=name)
    ax.set(xlabel="step", ylabel="effective learning rate", yscale="log", title="each weight's learning rate")
    ax_loss.set(xlabel="step", ylabel="f(w)", yscale="log", title="the loss")
    for a in (ax, ax_loss):
        a.grid(alpha=0.3, which="both")
        a.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2)  # below: no curve hidden
    fig.tight_layout()
    return fig


def _rates(record: RunRecord, name: str) -> list[list[float]]:
    return [record.series(f"rate/{name}/w{i}")[1] for i in range(len(CURVATURES))]


def claims(record: RunRecord) -> list[Claim]:
    adagrad, rmsprop = _rates(record, "adagrad"), _rates(record, "rmsprop")
    rises = sum(b > a for rates in adagrad for a, b in itertools.pairwise(rates))
    a_first, a_last = sum(r[0] for r in adagrad) / len(adagrad), sum(r[-1] for r in adagrad) / len(adagrad)
    r_low = sum(min(r) for r in rmsprop) / len(rmsprop)
    r_last = sum(r[-1] for r in rmsprop) / len(rmsprop)
    return [
        Claim(
            "Adagrad's learning rate only shrinks: no weight's effective rate ever rises from one step to the next",
            f"rises: {rises}; mean effective rate {a_first:.3g} after the first step, {a_last:.3g} at the end",
            [
                Bound("steps at which a weight's effective rate rose", rises, "<", 1),
                Bound("Adagrad's mean effective rate at the end over after the first step", a_last / a_first, "<", 1),
            ],
        ),
        Claim(
            "RMSProp forgets old gradients, so near the minimum, where the gradients are small, its effective "
            "learning rate grows back (at the end more than twice its lowest) and ends more than 3 times Adagrad's",
            f"RMSProp's mean effective rate: lowest {r_low:.3g}, at the end {r_last:.3g}; Adagrad's at the end "
            f"{a_last:.3g}",
            [
                Bound("RMSProp's mean effective rate at the end over its lowest", r_last / r_low, ">", 2),
                Bound("RMSProp's mean effective rate at the end over Adagrad's", r_last / a_last, ">", 3),
            ],
        ),
    ]


def sections(runs: Sequence[RunRecord]) -> list[Section]:
    return [
        Section(
            id="adagrad-rates",
            title="Adagrad's shrinking learning rate, and RMSProp's",
            caption=(
                f"Both minimize f(w) = sum_i c_i w_i^2 / 2 with curvatures {', '.join(f'{c:g}' for c in CURVATURES)} "
                f"from the same start, {r.config.get('steps')} steps (Adagrad eta {r.config.get('adagrad_lr')}, "
                f"RMSProp eta {r.config.get('rmsprop_lr')}); the effective learning rate is each weight's factor on "
                "its gradient, read from the optimizer's state."
            ),
            figures=[rates_figure(r)],
            commands=[str(r.meta.get("command"))],
            claims=claims(r),
        )
        for r in runs
        if r.status == "complete"
    ]


def tour(settings: TourSettings) -> list[RatesConfig]:
    return [RatesConfig(seed=settings.seed, device=settings.device, steps=600)]


OPTIM_RATES = Experiment(
    command="optim rates",
    help="Adagrad's per-weight learning rate only shrinks, RMSProp's recovers: both on a quadratic bowl",
    description=(
        "Adagrad and RMSProp minimize the same ill-conditioned quadratic from the same start; each step logs\n"
        "every weight's effective learning rate (its factor on the gradient) and the loss. Writes rates.png."
    ),
    examples=("descentlab optim rates", "descentlab optim rates --steps 1000 --adagrad-lr 1.0"),
    config=RatesConfig,
    train=train,
    figures=lambda record: {"rates.png": rates_figure(record)},
    sections=sections,
    tour=tour,
    headline=lambda r: claims(r)[1].evidence,
)
