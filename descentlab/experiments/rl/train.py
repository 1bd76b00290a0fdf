"""``descentlab rl train``: one agent (qlearning, dqn, reinforce, ppo) on one environment, as a run.

The agent is evaluated greedily every ``eval_every`` steps (``eval/mean_return``, and on GridRoute
``eval/mean_effectiveness``), logs its own scalars (``charts/episodic_return``, ``losses/td_loss``, ...),
saves its policy in ``agent.pt`` (for ``rl eval`` and ``rl play``) and ends with a 100-episode greedy
evaluation. Ctrl-C saves the whole agent (networks, optimizer, replay buffer, random states) in
``checkpoint.pt``; ``--resume`` continues from that step with new episodes (environment states are not saved).

Hyperparameters left unset take the algorithm's preset for the environment (rl-baselines3-zoo's where it
has one; see ``descentlab.rl``); the settings are in :mod:`descentlab.experiments.rl.common`.

Read top to bottom: the run, figures and tables, claims.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from descentlab.errors import CheckpointError
from descentlab.experiments.declaration import Experiment, TourSettings
from descentlab.experiments.rl.common import (
    FINAL_AGENT,
    GRID,
    Evaluator,
    RLConfig,
    RLSettings,
    build_agent,
    episode_frames,
    load_agent,
    save_agent,
)
from descentlab.report import Bound, Claim, Section
from descentlab.report.plots import colour_axis, running_mean
from descentlab.rl import evaluate, random_policy
from descentlab.rl.common import Log, hidden_sizes, make_env
from descentlab.runs import Run, RunRecord, StopFlag, seed_everything
from descentlab.runs.resources import mlp_bytes, require_memory

WALL_CLOCK = ("charts/SPS",)  # steps per second: logged to timing.jsonl, so that metrics.jsonl is reproducible


def check(cfg: RLSettings) -> None:
    """The environment can be made with these settings (a map file that parses, with a reachable goal), and
    the agent's networks and replay buffer fit in memory."""
    env = make_env(cfg.env, **cfg.env_kwargs())
    space = env.observation_space
    env.close()
    agent = cfg.agent_config()
    obs = int(np.prod(space.shape)) if isinstance(space, gym.spaces.Box) else 1
    widths = hidden_sizes(agent.hidden) if hasattr(agent, "hidden") else []
    networks = mlp_bytes([obs, *widths, int(env.action_space.n)], getattr(agent, "batch_size", 1)) if widths else 0.0  # type: ignore[attr-defined]
    replay = 4.0 * 2 * obs * getattr(agent, "buffer_size", 0)  # each transition's observation and the next one
    require_memory(2 * networks + replay, f"rl train of {cfg.algo} on {cfg.env} (observations of {obs:,} numbers, "
                   f"hidden {getattr(agent, 'hidden', '-')}, replay buffer {getattr(agent, 'buffer_size', 0):,})")  # fmt: skip


def wallclock_apart(run: Run) -> Log:
    """The agent's ``log``: its scalars go to the run's metrics, except wall-clock ones (:data:`WALL_CLOCK`),
    which go to ``timing.jsonl``."""

    def log(step: int, scalars: dict[str, float]) -> None:
        timed = {k: v for k, v in scalars.items() if k in WALL_CLOCK}
        run.log(step, {k: v for k, v in scalars.items() if k not in timed})
        if timed:
            run.log_wallclock(step, timed)

    return log


def train(cfg: RLSettings, run: Run, stop: StopFlag, state: dict[str, Any] | None = None) -> dict[str, float]:
    seed_everything(cfg.seed)
    torch.set_num_threads(cfg.threads)
    agent = build_agent(cfg)
    seconds = 0.0
    if state is not None:
        try:
            agent.load_state_dict(state["agent"])
        except (KeyError, RuntimeError, ValueError) as e:
            raise CheckpointError(
                f"{run.checkpoint_path}: the saved agent does not fit this run's config: {e}"
            ) from None
        seconds = float(state.get("seconds", 0.0))
    so_far = (float(state.get("best_return", -math.inf)), int(state.get("best_step", -1))) if state else (-math.inf, -1)
    evaluator = Evaluator(agent, cfg, run, stop, seconds=seconds, best=so_far)
    if state is None:
        evaluator.evaluate(0, cfg.eval_episodes)  # the untrained agent
        baseline = evaluate(random_policy(cfg.env, cfg.seed, **evaluator.env_kwargs), cfg.env, cfg.final_episodes,
                            seed=20_000, **evaluator.env_kwargs)  # fmt: skip
        run.log(0, {"random/mean_return": baseline["mean_return"]})
    try:
        agent.learn(cfg.steps, log=wallclock_apart(run), callback=evaluator)
    finally:
        if hasattr(agent, "close"):
            agent.close()  # an async vector's worker processes end with the training
    evaluator.seconds += time.perf_counter() - evaluator.mark
    save_agent(run.path, cfg, agent, FINAL_AGENT, step=agent.steps)
    final = evaluator.evaluate(agent.steps, cfg.final_episodes, seed=20_000, periodic=False)
    best_agent, _ = load_agent(run.path, "best")
    best = evaluate(best_agent.act, cfg.env, cfg.final_episodes, seed=20_000, **evaluator.env_kwargs)
    metrics = {"final/mean_return": final["mean_return"], "final/std_return": final["std_return"],
               "best/mean_return": best["mean_return"], "best/std_return": best["std_return"],
               "best/step": float(evaluator.best_step),
               "steps": float(agent.steps), "episodes": float(agent.episodes.count), "updates": float(agent.updates),
               "train_seconds": evaluator.seconds, "steps_per_second": agent.steps / max(evaluator.seconds, 1e-9),
               "out_of_time": float(evaluator.out_of_time), "solved": float(evaluator.solved)}  # fmt: skip
    if "mean_effectiveness" in final:
        metrics["final/mean_effectiveness"] = final["mean_effectiveness"]
        metrics["best/mean_effectiveness"] = best["mean_effectiveness"]
    return metrics


def route_pictures(run_dir: str | Path, episodes: int = 3) -> list[tuple[str, Any, Any]]:
    """For GridRoute runs: ``(caption, before, after)`` images of the same episodes, untrained and trained
    (the final agent, whose effectiveness the run's final evaluation measured)."""
    agent, cfg = load_agent(run_dir, "final")
    untrained = build_agent(cfg)
    out = []
    for seed in range(episodes):
        before, _, info_before = episode_frames(untrained, cfg, seed)
        after, _, info_after = episode_frames(agent, cfg, seed)
        caption = (f"episode {seed}: optimal {info_after.get('optimal_length')} steps; before: "
                   f"{_route_words(info_before)}; after: {_route_words(info_after)}")  # fmt: skip
        out.append((caption, before[-1], after[-1]))
    return out


def _route_words(info: dict[str, Any]) -> str:
    if info.get("is_success"):
        return f"{info['path_length']} steps, {100 * info['effectiveness']:.0f}%"
    return "goal not reached, 0%"


# ---- figures and tables -------------------------------------------------------------------------


def rl_curves(record: RunRecord) -> Figure:
    """Episodic return of training episodes (running mean of 20) and of the greedy evaluations, against
    environment steps, with the return of a policy acting at random; on GridRoute the evaluations'
    effectiveness on a second axis."""
    cfg = record.config
    fig, ax = plt.subplots(figsize=(8, 4.5))
    episodes = [(r["step"], r["charts/episodic_return"]) for r in record.metrics if "charts/episodic_return" in r]
    evals = [(r["step"], r["eval/mean_return"]) for r in record.metrics if "eval/mean_return" in r]
    if episodes:
        steps, returns = zip(*episodes, strict=True)
        ax.plot(steps, returns, ".", ms=2, alpha=0.25, color="C0")
        ax.plot(steps, running_mean(returns, 20), color="C0", label="training episodes (running mean of 20)")
    if evals:
        ax.plot(*zip(*evals, strict=True), "o-", color="C1", label="greedy evaluation (mean)")
    chance = [r["random/mean_return"] for r in record.metrics if "random/mean_return" in r]
    if chance:
        ax.axhline(chance[0], color="gray", ls=":", label="a policy acting at random")
    ax.set(xlabel="environment steps", ylabel="episodic return", title=f"{cfg.get('algo')} on {cfg.get('env')}")
    ax.grid(alpha=0.3)
    eff = [(r["step"], 100 * r["eval/mean_effectiveness"]) for r in record.metrics if "eval/mean_effectiveness" in r]
    if eff:
        twin = ax.twinx()
        twin.plot(*zip(*eff, strict=True), "s--", color="C2", label="greedy effectiveness %")
        twin.set(ylabel="effectiveness %", ylim=(0, 105))
        colour_axis(twin, "C2", side="right")
    handles = [h for a in fig.axes for h in a.get_legend_handles_labels()[0]]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)  # one legend, below
    fig.tight_layout()
    return fig


def route_figure(pictures: Sequence[tuple[str, Any, Any]]) -> Figure:
    """GridRoute episodes before and after learning: the map (walls dark), an optimal path (green), the
    path taken (blue), the agent (red) and the goal (gold)."""
    fig, axes = plt.subplots(2, len(pictures), figsize=(3.2 * len(pictures), 7.2), squeeze=False)
    for j, (caption, before, after) in enumerate(pictures):
        for i, image in enumerate((before, after)):
            axes[i][j].imshow(image)
            axes[i][j].set_xticks([])
            axes[i][j].set_yticks([])
        axes[0][j].set_title(caption.replace("; ", "\n"))  # one title a column, above it: nothing to overlap
    for i, when in enumerate(("before learning", "after learning")):
        axes[i][0].set_ylabel(when)  # the rows named once, at their left
    fig.tight_layout()
    return fig


def train_figures(record: RunRecord) -> dict[str, Figure]:
    out = {"returns.png": rl_curves(record)}
    if record.config.get("env") == GRID and (record.path / "agent.pt").is_file():
        out["routes.png"] = route_figure(route_pictures(record.path))
    return out


def result_table(record: RunRecord) -> tuple[list[str], list[list[str]]]:
    """One row per kept agent: the final one and the best evaluated, each over the final evaluation's episodes."""
    m, c = record.final(), record.config
    header = ["agent", "env", "algo", "at step", f"mean return ({c.get('final_episodes', 100)} ep)", "std"]
    if "final/mean_effectiveness" in m:
        header.append("effectiveness %")
    header.append("train s")
    rows = []
    for which, step in (("final", m.get("steps", 0)), ("best", m.get("best/step"))):
        if f"{which}/mean_return" not in m:
            continue
        row = [which, str(c["env"]), str(c["algo"]), f"{step:,.0f}" if step is not None else "-",
               f"{m[f'{which}/mean_return']:.2f}", f"{m.get(f'{which}/std_return', float('nan')):.2f}"]  # fmt: skip
        if "final/mean_effectiveness" in m:
            row.append(f"{100 * m.get(f'{which}/mean_effectiveness', float('nan')):.1f}")
        row.append(f"{m.get('train_seconds', 0):.1f}")
        rows.append(row)
    return header, rows


# ---- report sections and declarations -----------------------------------------------------------


def _first_eval(record: RunRecord, key: str) -> float:
    _, values = record.series(key)
    return values[0] if values else math.nan


def train_claims(record: RunRecord) -> list[Claim]:
    m, env = record.final(), str(record.config.get("env"))
    if env == GRID:
        before, after = _first_eval(record, "eval/mean_effectiveness"), m.get("final/mean_effectiveness", math.nan)
        return [Claim(
            "After learning, the greedy agent takes a shortest route in every evaluation episode (100% "
            "effectiveness); before learning it did not",
            f"effectiveness {100 * before:.0f}% before learning, {100 * after:.1f}% after",
            [Bound("the share of evaluation episodes off a shortest route after learning", 1 - after, "<", 1e-9),
             Bound("effectiveness before learning", before, "<", 1)],
        )]  # fmt: skip
    before, after = _first_eval(record, "eval/mean_return"), m.get("final/mean_return", math.nan)
    _, randoms = record.series("random/mean_return")
    chance = randoms[0] if randoms else math.nan
    return [Claim(
        f"Trial and error pays: after training, the {str(record.config.get('algo')).upper()} agent's greedy return "
        "is higher than before training, and higher than that of a policy acting at random",
        f"mean greedy return {before:.1f} before training, {after:.1f} after; acting at random {chance:.1f}",
        [Bound("mean greedy return after training", after, ">", before),
         Bound("mean greedy return after training", after, ">", chance)],
    )]  # fmt: skip


def train_sections(runs: Sequence[RunRecord]) -> list[Section]:
    """'Reinforcement learning' from ``descentlab rl train`` runs: the route agent before and after
    learning on GridRoute, the return curve elsewhere (CartPole, LunarLander, ...)."""
    out = []
    for r in [r for r in runs if r.status == "complete" and (r.path / "agent.pt").is_file()]:
        env, algo = str(r.config.get("env")), str(r.config.get("algo"))
        figs = [rl_curves(r)]
        if env == GRID:
            figs.insert(0, route_figure(route_pictures(r.path)))
            caption = (
                f"{algo} on a {r.config.get('grid_size')} x {r.config.get('grid_size')} map, start and goal "
                f"{'fixed' if r.config.get('route') == 'fixed' else 'drawn each episode'}, {r.config.get('reward')} "
                "reinforcement. The pictures show the same episodes before learning and after (blue: the path taken; "
                "green: a shortest path); below, the return and effectiveness of greedy evaluations."
            )
        else:
            caption = (
                f"{algo.upper() if algo != 'reinforce' else 'REINFORCE'} on {env}: the return of each training "
                "episode (while still exploring) and of greedy evaluations (the policy's best action each step)."
            )
        out.append(
            Section(
                id=f"rl-{env.split('/')[-1].lower()}-{algo}",
                title=f"{algo} on {env}",
                caption=caption,
                figures=figs,
                table=result_table(r),
                commands=[
                    str(r.meta.get("command")),
                    f"descentlab rl eval {r.path} --episodes 100",
                    f"descentlab rl play {r.path} --out episode.gif",
                ],
                claims=train_claims(r),
            )
        )
    return out


def train_tour(settings: TourSettings) -> list[Any]:
    """The route agent on a small map, and PPO on CartPole."""
    q = settings.quick
    route = RLConfig(seed=settings.seed, device=settings.device, env=GRID, algo="qlearning", route="fixed",
                     grid_size=8 if q else 10, total_steps=8000 if q else 30_000, eval_episodes=5, final_episodes=20)  # fmt: skip
    cartpole = RLConfig(seed=settings.seed, device=settings.device, env="CartPole-v1", algo="ppo",
                        total_steps=12_000 if q else 50_000, final_episodes=20 if q else 100)  # fmt: skip
    return [route, cartpole]


RL_TRAIN = Experiment(
    check=check,
    command="rl train",
    help="train one agent on one environment, as a run",
    description=(
        "Train qlearning (tabular), dqn, reinforce or ppo on a Gymnasium environment with a Discrete\n"
        "action space. Greedy evaluations every --eval-every steps, the policy in agent.pt, a final\n"
        "100-episode evaluation. Unset hyperparameters take the preset for the environment\n"
        "(rl-baselines3-zoo's where it has one); a hyperparameter the chosen --algo lacks is an error.\n"
        "Ctrl-C checkpoints; --resume continues."
    ),
    examples=(
        "descentlab rl train --env CartPole-v1 --algo dqn",
        "descentlab rl train --env CartPole-v1 --algo ppo --total-steps 50000 --seed 1",
        "descentlab rl train --env descentlab/GridRoute-v0 --algo qlearning --route fixed",
        "descentlab rl train --env descentlab/GridRoute-v0 --algo dqn --map my_map.txt --reward negative",
        "descentlab rl train --env LunarLander-v3 --algo ppo --max-seconds 1800",
    ),
    config=RLConfig,
    train=train,
    figures=train_figures,
    table=result_table,
    sections=train_sections,
    tour=train_tour,
    headline=lambda r: train_claims(r)[0].evidence,
    logs_at_events=True,  # each training episode's end
)
