"""``descentlab rl rewards``: the same agent on GridRoute once per reward scheme.

Positive reinforcement, negative reinforcement, and the same cost from a pessimistic Q-table: how many steps
each needs to reach 90% effectiveness, and whether it stays there.

Read top to bottom: config, the run, figure and table, claims.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure

from descentlab.config import param
from descentlab.errors import ParameterError
from descentlab.experiments.declaration import Experiment, TourSettings
from descentlab.experiments.rl.common import GRID, Evaluator, GridOptions, RLConfig, build_agent
from descentlab.report import Bound, Claim, Section
from descentlab.rl import agent_config
from descentlab.rl.common import make_env
from descentlab.rl.envs import GridRoute
from descentlab.runs import Run, RunRecord, StopFlag, seed_everything

# ---- rewards: positive against negative reinforcement --------------------------------------------


@dataclass(frozen=True)
class RewardsConfig(GridOptions):
    """Settings of ``descentlab rl rewards``: one agent per reward scheme on the same GridRoute map."""

    route: str = param("fixed", "fixed: the map's S and G, or its top-left and bottom-right free cells; random: "
                       "drawn each episode", choices=("random", "fixed"))  # fmt: skip
    algo: str = param("qlearning", "the agent", choices=("qlearning", "dqn", "ppo", "reinforce"))
    schemes: str = param("positive,negative,pessimistic", "reward schemes to compare, in order; pessimistic is "
                         "negative reinforcement from a table that starts below every value the cost gives "
                         "(qlearning only): it separates the cost from the exploration a zero start gives it",
                         choices=("positive,negative,pessimistic", "positive,negative", "positive,negative,both",
                                  "positive", "negative", "both", "pessimistic"))  # fmt: skip
    total_steps: int = param(100_000, "environment steps per scheme", low=1, high=10**10)
    eval_every: int = param(2000, "steps between greedy evaluations", low=1, high=10**10)
    eval_episodes: int = param(10, "episodes per evaluation (a fixed route gives the same episode each time)",
                               low=1, high=10_000)  # fmt: skip
    target: float = param(0.9, "effectiveness whose first reach is reported", low=0.0, high=1.0)
    threads: int = param(1, "torch threads", low=1, high=256)

    def __post_init__(self) -> None:
        super().__post_init__()
        if "pessimistic" in self.schemes.split(",") and self.algo != "qlearning":
            raise ParameterError("algo", f"{self.algo} has no Q-table to start pessimistically (the scheme "
                                 f"pessimistic, in the default schemes); valid: qlearning, or {self.algo} with "
                                 "--schemes positive,negative")  # fmt: skip

    @property
    def run_name(self) -> str:
        return f"{self.algo}-{self.route}-{self.grid_size}x{self.grid_size}"


def pessimistic_start(cfg: RewardsConfig) -> float:
    """A Q-table start below every value a per-step cost ``c`` can give: twice ``-c / (1 - gamma)``, the
    value of paying the cost forever. From there a tried action's value rises above an untried one's (its
    target ``-c + gamma * q`` is above ``q``), where from zero it falls below: the zero start explores."""
    env = GridRoute(**cfg.grid_kwargs("negative"))
    gamma = agent_config("qlearning", GRID).gamma
    return -2 * env.step_cost / (1 - gamma)


def rewards_train(
    cfg: RewardsConfig, run: Run, stop: StopFlag, state: dict[str, Any] | None = None
) -> dict[str, float]:
    """Each scheme in turn, from the same seed; a resumed comparison starts over (it takes seconds)."""
    seed_everything(cfg.seed)
    torch.set_num_threads(cfg.threads)
    metrics: dict[str, float] = {"target": cfg.target}
    for scheme in cfg.schemes.split(","):
        fields = {f.name: getattr(cfg, f.name) for f in dataclasses.fields(GridOptions)}
        reward = "negative" if scheme == "pessimistic" else scheme
        q_init = pessimistic_start(cfg) if scheme == "pessimistic" else None
        one = RLConfig(**fields, env=GRID, algo=cfg.algo, total_steps=cfg.total_steps, reward=reward,
                       eval_every=cfg.eval_every, eval_episodes=cfg.eval_episodes, q_init=q_init)  # fmt: skip
        agent = build_agent(one)
        evaluator = Evaluator(agent, one, run, stop, prefix=f"{scheme}/", save=False)
        evaluator.evaluate(0, cfg.eval_episodes)
        agent.learn(cfg.total_steps, log=None, callback=evaluator)
        hits = [(s, r.get("mean_effectiveness", 0.0) >= cfg.target) for s, r in evaluator.history]
        reached = next((s for s, hit in hits if hit), None)
        after = [hit for s, hit in hits if reached is not None and s >= reached]
        settled = next((s for i, (s, _) in enumerate(hits) if all(hit for _, hit in hits[i:])), None)
        if q_init is not None:
            metrics[f"{scheme}/q_init"] = q_init
        metrics |= {f"{scheme}/steps_to_target": float(reached) if reached is not None else float("nan"),
                    f"{scheme}/steps_to_settle": float(settled) if settled is not None else float("nan"),
                    f"{scheme}/final_effectiveness": evaluator.history[-1][1].get("mean_effectiveness", float("nan")),
                    f"{scheme}/train_seconds": evaluator.seconds,
                    f"{scheme}/held_target": sum(after) / len(after) if after else float("nan")}  # fmt: skip
    return metrics


#: the words of each reward scheme in figures and tables
SCHEME_WORDS = {"positive": "positive reinforcement: a reward at the goal",
                "negative": "negative reinforcement: a cost each step until the goal",
                "pessimistic": "the same cost, from a pessimistic start (no exploration drive)",
                "both": "both: the reward and the cost"}  # fmt: skip


def reward_scheme_curves(record: RunRecord) -> Figure:
    """Greedy effectiveness against steps, one panel per reward scheme (a curve at 0% stays visible),
    with the target line."""
    cfg = record.config
    target = 100 * float(cfg.get("target", 0.9))
    schemes = str(cfg.get("schemes", "positive,negative")).split(",")
    fig, axes = plt.subplots(len(schemes), 1, figsize=(7, 1.2 + 1.6 * len(schemes)), sharex=True, squeeze=False)
    for i, (scheme, ax) in enumerate(zip(schemes, axes[:, 0], strict=True)):
        key = f"{scheme}/eval/mean_effectiveness"
        pts = [(r["step"], 100 * r[key]) for r in record.metrics if key in r]
        if pts:
            ax.plot(*zip(*pts, strict=True), "o-", ms=3, color=f"C{i}")
        ax.axhline(target, color="gray", ls=":")
        ax.set(ylabel="effectiveness %", ylim=(-5, 105), title=SCHEME_WORDS.get(scheme, scheme))
        ax.title.set_fontsize(10)
        ax.grid(alpha=0.3)
    axes[-1][0].set_xlabel(f"environment steps (dotted: the {target:.0f}% target)")
    fig.suptitle(f"{cfg.get('algo')} on a {cfg.get('grid_size')}x{cfg.get('grid_size')} GridRoute, route {cfg.get('route')}: "
                 "greedy effectiveness")  # fmt: skip
    fig.tight_layout()
    return fig


def rewards_table(record: RunRecord) -> tuple[list[str], list[list[str]]]:
    m, c = record.final(), record.config
    target = 100 * float(m.get("target", c.get("target", 0.9)))
    rows = []
    for scheme in str(c["schemes"]).split(","):
        steps = m.get(f"{scheme}/steps_to_target", float("nan"))
        settled = m.get(f"{scheme}/steps_to_settle", float("nan"))
        held = m.get(f"{scheme}/held_target", float("nan"))
        rows.append([scheme, "not reached" if steps != steps else f"{steps:,.0f}",
                     "-" if held != held else f"{100 * held:.0f}",
                     "never" if settled != settled else f"{settled:,.0f}",
                     f"{100 * m.get(f'{scheme}/final_effectiveness', float('nan')):.1f}",
                     f"{m.get(f'{scheme}/train_seconds', 0):.1f}"])  # fmt: skip
    header = ["reward", f"steps to {target:.0f}% effectiveness", f"evaluations at {target:.0f}% or more from then, %",
              f"steps from which every evaluation is at {target:.0f}% or more", "final effectiveness %",
              "train s"]  # fmt: skip
    return header, rows


def _settle(m: dict[str, float], scheme: str) -> tuple[float, str]:
    """The step from which every evaluation of ``scheme`` is at the target (inf if never), and its words."""
    step = m.get(f"{scheme}/steps_to_settle", math.nan)
    return (math.inf, "never") if math.isnan(step) else (step, f"from {step:,.0f} steps")


def rewards_claims(record: RunRecord) -> list[Claim]:
    m = record.final()
    target = 100 * float(m.get("target", 0.9))
    (pos, pos_words), (neg, neg_words) = _settle(m, "positive"), _settle(m, "negative")
    claims = [Claim(
        f"Negative reinforcement (a cost each step until the goal) teaches the route sooner than positive "
        f"reinforcement (a reward at the goal): its greedy evaluations are all {target:.0f}% effective or more from "
        "an earlier step on",
        f"every evaluation at {target:.0f}% or more: negative {neg_words}, positive {pos_words}",
        [Bound("negative reinforcement: steps to settle", neg, "<", pos)],
    )]  # fmt: skip
    if "pessimistic/final_effectiveness" in m:
        pess, pess_words = _settle(m, "pessimistic")
        claims.append(Claim(
            "The cost teaches through exploration: the same cost from a table that starts below every value it "
            "can give (where a tried action looks better than an untried one) settles later than from the zero "
            "start, on which every tried action looks worse than an untried one",
            f"every evaluation at {target:.0f}% or more: from zero {neg_words}, from "
            f"{m.get('pessimistic/q_init', math.nan):.2f} {pess_words}",
            [Bound("the cost from zero: steps to settle", neg, "<", pess)],
        ))  # fmt: skip
    return claims


def rewards_sections(runs: Sequence[RunRecord]) -> list[Section]:
    """'Positive against negative reinforcement' from ``descentlab rl rewards`` runs."""
    return [
        Section(
            id="rl-rewards",
            title="Positive against negative reinforcement",
            caption=(
                f"The same {r.config.get('algo')} agent on the same {r.config.get('grid_size')} x "
                f"{r.config.get('grid_size')} map, once per reward, {r.config.get('total_steps'):,} steps each; the "
                "effectiveness of greedy evaluations against steps."
                + (
                    " A Q-table that starts at zero is optimistic under a cost (a tried action's value falls below "
                    "an untried one's, so the agent tries new actions) and neutral under a reward at the goal; the "
                    "pessimistic run pays the same cost from a start below every value the cost gives, which "
                    "separates the cost from that exploration."
                    if "pessimistic" in str(r.config.get("schemes"))
                    else ""
                )
            ),
            figures=[reward_scheme_curves(r)],
            table=rewards_table(r),
            commands=[str(r.meta.get("command"))],
            claims=rewards_claims(r),
        )
        for r in runs
        if r.status == "complete"
    ]


def rewards_tour(settings: TourSettings) -> list[RewardsConfig]:
    q = settings.quick
    return [RewardsConfig(seed=settings.seed, device=settings.device, grid_size=10,
                          total_steps=20_000 if q else 50_000, eval_every=1000 if q else 2000, eval_episodes=5)]  # fmt: skip


RL_REWARDS = Experiment(
    check=lambda cfg: make_env(GRID, **cfg.grid_kwargs("both")).close(),  # the map parses, its goal is reachable
    command="rl rewards",
    help="positive against negative reinforcement on GridRoute: steps to 90% effectiveness",
    description=(
        "Train the same agent on the same GridRoute map once with positive reinforcement (a reward at\n"
        "the goal, scaled by effectiveness), once with negative reinforcement (a cost each step until\n"
        "the goal) and once with the same cost from a pessimistic Q-table (qlearning): plot the\n"
        "effectiveness curves and report the steps each needs to reach 90% and the step from which\n"
        "every evaluation stays at 90% or more."
    ),
    examples=(
        "descentlab rl rewards",
        "descentlab rl rewards --algo dqn --schemes positive,negative --total-steps 150000",
    ),
    config=RewardsConfig,
    train=rewards_train,
    figures=lambda record: {"effectiveness.png": reward_scheme_curves(record)},
    table=rewards_table,
    sections=rewards_sections,
    tour=rewards_tour,
    headline=lambda r: rewards_claims(r)[0].evidence,
)
