"""``descentlab rl train`` and ``descentlab rl rewards``: reinforcement learning as runs.

``rl train`` trains one agent (qlearning, dqn, reinforce, ppo) on one environment, evaluates it greedily
every ``eval_every`` steps (``eval/mean_return``, and on GridRoute ``eval/mean_effectiveness``), logs
the agent's own scalars (``charts/episodic_return``, ``losses/td_loss``, ...), saves the policy in
``agent.pt`` (for ``rl eval`` and ``rl play``) and ends with a 100-episode greedy evaluation. Ctrl-C
saves the whole agent (networks, optimizer, replay buffer, random states) in ``checkpoint.pt``;
``--resume`` continues from that step with new episodes (environment states are not saved).

``rl rewards`` trains the same agent on GridRoute once per reward scheme - positive reinforcement,
negative reinforcement, and the same cost from a pessimistic Q-table - and compares how many steps each
needs to reach 90% effectiveness.

Hyperparameters left unset take the algorithm's preset for the environment (rl-baselines3-zoo's where it
has one; see ``descentlab.rl``).

Read top to bottom: config, environment options, the run, the saved agent, figures and tables.
"""

from __future__ import annotations

import dataclasses
import io
import json
import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from PIL import Image

from descentlab.config import Options, RunConfig, field_type, param
from descentlab.errors import CheckpointError, Interrupted, ParameterError, UserError, first_line, shown
from descentlab.experiments.declaration import Call, Command, Experiment, TourSettings
from descentlab.report import Bound, Claim, Section
from descentlab.report.plots import colour_axis, running_mean
from descentlab.rl import ALGORITHMS, agent_config, algorithms_with, evaluate, make_agent, random_policy
from descentlab.rl.common import Log, hidden_sizes, make_env
from descentlab.rl.envs import GridRoute
from descentlab.runs import (
    Run,
    RunRecord,
    StopFlag,
    atomic_write_bytes,
    load_checkpoint,
    load_run,
    save_checkpoint,
    seed_everything,
)
from descentlab.runs.resources import mlp_bytes, require_memory

GRID = "descentlab/GridRoute-v0"
WALL_CLOCK = ("charts/SPS",)  # steps per second: logged to timing.jsonl, so that metrics.jsonl is reproducible

#: steps a run takes when --total-steps is not given
BUDGETS = {("dqn", "CartPole-v1"): 50_000, ("ppo", "CartPole-v1"): 100_000, ("reinforce", "CartPole-v1"): 150_000,
           ("qlearning", GRID): 100_000, ("dqn", GRID): 200_000, ("ppo", GRID): 300_000, ("reinforce", GRID): 300_000,
           ("ppo", "LunarLander-v3"): 1_000_000, ("dqn", "LunarLander-v3"): 100_000,
           ("dqn", "Acrobot-v1"): 100_000, ("ppo", "Acrobot-v1"): 1_000_000, ("dqn", "MountainCar-v0"): 120_000}  # fmt: skip
DEFAULT_BUDGET = 100_000


@dataclass(frozen=True)
class GridOptions(RunConfig):
    """The GridRoute map and rewards (used when the environment is descentlab/GridRoute-v0)."""

    map: str = param("", "a text map file (# wall, . free, S start, G goal); empty: generate one")
    grid_size: int = param(10, "side of a generated square map", low=3, high=64)
    obstacles: float = param(0.2, "fraction of a generated map's cells drawn as walls", low=0.0, high=0.6)
    map_seed: int = param(0, "seed of the generated map", low=0, high=2**31 - 1)
    route: str = param("random", "random: start and goal drawn each episode; fixed: the map's S and G, "
                       "or its top-left and bottom-right free cells", choices=("random", "fixed"))  # fmt: skip
    max_episode_steps: int | None = param(None, "GridRoute's episode limit (default 4 x (height + width), at "
                                          "least 3 x the optimal length)", low=1, high=1_000_000)  # fmt: skip

    def grid_kwargs(self, reward: str) -> dict[str, Any]:
        """``gymnasium.make`` arguments of GridRoute for these options."""
        kwargs: dict[str, Any] = {"reward": reward, "max_steps": self.max_episode_steps}
        if self.map:
            if not Path(self.map).is_file():
                raise ParameterError("map", f"{self.map}: no such file")
            kwargs["map"] = Path(self.map)
        else:
            kwargs |= {"size": (self.grid_size, self.grid_size), "obstacles": self.obstacles, "map_seed": self.map_seed}
        if self.route == "fixed":
            env = GridRoute(**kwargs)
            if env.fixed_start is None or env.fixed_goal is None:
                kwargs |= {"start": env.free[0], "goal": env.free[-1]}
        return kwargs


@dataclass(frozen=True)
class RLSettings(GridOptions):
    """The settings of ``descentlab rl train`` that are not an agent's hyperparameters."""

    env: str = param("CartPole-v1", "a Gymnasium id: CartPole-v1, Acrobot-v1, MountainCar-v0, LunarLander-v3, "
                     "descentlab/GridRoute-v0, ...")  # fmt: skip
    algo: str = param("ppo", "the agent", choices=tuple(ALGORITHMS))
    total_steps: int | None = param(None, "environment steps (default: the preset budget)", low=1, high=10**10)
    reward: str = param("negative", "GridRoute's reinforcement: positive, negative or both (negative is the "
                        "one that depends only on the state; see rl rewards)", choices=("positive", "negative", "both"))  # fmt: skip
    eval_every: int | None = param(None, "steps between greedy evaluations (default total/25)", low=1, high=10**10)
    eval_episodes: int = param(20, "episodes per periodic greedy evaluation", low=1, high=10_000)
    final_episodes: int = param(100, "episodes of the final greedy evaluation", low=1, high=100_000)
    max_seconds: float = param(0.0, "training-time budget in seconds (0: none)", low=0.0, high=1e7)
    stop_at_return: float | None = param(None, "stop training once a periodic greedy evaluation's mean return "
                                         "reaches this (the task is solved)", low=-1e9, high=1e9)  # fmt: skip
    threads: int = param(1, "torch threads (small networks run fastest on one)", low=1, high=256)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.agent_config()  # a hyperparameter the algorithm lacks, or out of its range, is an error now

    @property
    def run_name(self) -> str:
        env = self.env.split("/")[-1].split("-v")[0].lower()
        return f"{env}-{self.algo}" + (f"-{self.reward}" if self.env == GRID else "")

    @property
    def steps(self) -> int:
        return self.total_steps or BUDGETS.get((self.algo, self.env), DEFAULT_BUDGET)

    def env_kwargs(self) -> dict[str, Any]:
        if self.env != GRID:
            return {}
        return self.grid_kwargs(self.reward)

    def hyperparameters(self) -> dict[str, Any]:
        """The agent hyperparameters given (not None); the others take the preset for the environment."""
        return {n: getattr(self, n) for n in HYPERPARAMETERS if getattr(self, n, None) is not None}

    def agent_config(self) -> Any:
        return agent_config(self.algo, self.env, **self.hyperparameters())


def _hyperparameter_fields() -> list[tuple[str, Any, Any]]:
    """Every agent's hyperparameters, each once, as optional settings: None takes the preset. The help
    text and valid range are those the first algorithm declaring the field gives it."""
    seen: dict[str, tuple[str, Any, Any]] = {}
    for spec in ALGORITHMS.values():
        for f in dataclasses.fields(spec.config):
            if f.name in seen:
                continue
            base, _ = field_type(spec.config, f.name)
            algos = ", ".join(algorithms_with(f.name))
            meta = dict(f.metadata) | {"help": f"{f.metadata['help']} ({algos}; default: the preset)"}
            seen[f.name] = (f.name, base | None, dataclasses.field(default=None, metadata=meta))
    return list(seen.values())


HYPERPARAMETERS = tuple(name for name, _, _ in _hyperparameter_fields())  # none shadows a setting (test_rl.py)

#: Settings of ``descentlab rl train``: :class:`RLSettings` and every agent's hyperparameters, declared once
#: on the agents' config classes (``descentlab.rl``); a hyperparameter the chosen algorithm lacks is an error.
RLConfig: Any = dataclasses.make_dataclass(
    "RLConfig", _hyperparameter_fields(), bases=(RLSettings,), frozen=True, namespace={"__module__": __name__}
)


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


def build_agent(cfg: RLSettings) -> Any:
    if cfg.env != GRID and cfg.reward != "negative":
        raise ParameterError("reward", f"{cfg.reward}: reward schemes are GridRoute's; {cfg.env} has its own reward")
    return make_agent(cfg.algo, cfg.env, cfg.seed, "cpu" if cfg.device == "auto" else cfg.device,
                      cfg.agent_config(), **cfg.env_kwargs())  # fmt: skip


def wallclock_apart(run: Run) -> Log:
    """The agent's ``log``: its scalars go to the run's metrics, except wall-clock ones (:data:`WALL_CLOCK`),
    which go to ``timing.jsonl``."""

    def log(step: int, scalars: dict[str, float]) -> None:
        timed = {k: v for k, v in scalars.items() if k in WALL_CLOCK}
        run.log(step, {k: v for k, v in scalars.items() if k not in timed})
        if timed:
            run.log_wallclock(step, timed)

    return log


# ---- the run ------------------------------------------------------------------------------------


class Evaluator:
    """The callback of ``agent.learn``: greedy evaluations every ``every`` steps (clock stopped), the best
    agent so far kept in ``best_agent.pt`` (as Stable-Baselines3's EvalCallback keeps it), stop signals,
    periodic checkpoints, the time budget and ``stop_at_return``. ``seconds`` is training time, evaluations
    excluded. ``save=False`` (``rl rewards``) keeps no agent and no mid-run checkpoint."""

    def __init__(self, agent: Any, cfg: RLSettings, run: Run, stop: StopFlag, prefix: str = "", seconds: float = 0.0,
                 save: bool = True, best: tuple[float, int] = (-math.inf, -1)) -> None:  # fmt: skip
        self.agent, self.cfg, self.run, self.stop, self.prefix, self.save = agent, cfg, run, stop, prefix, save
        self.env_kwargs = cfg.env_kwargs()  # once: a fixed GridRoute route is found by building its map
        self.every = cfg.eval_every or max(1, cfg.steps // 25)
        self.next_eval = (agent.steps // self.every + 1) * self.every
        self.seconds, self.mark = seconds, time.perf_counter()
        self.out_of_time, self.solved = False, False
        self.best_return, self.best_step = best
        self.history: list[tuple[int, dict[str, Any]]] = []

    def evaluate(self, step: int, episodes: int, seed: int = 10_000, periodic: bool = True) -> dict[str, Any]:
        """A greedy evaluation, logged; a periodic one may make this agent the best so far."""
        self.seconds += time.perf_counter() - self.mark
        result = evaluate(self.agent.act, self.cfg.env, episodes, seed=seed, **self.env_kwargs)
        scalars = {f"{self.prefix}eval/mean_return": result["mean_return"],
                   f"{self.prefix}eval/std_return": result["std_return"]}  # fmt: skip
        if "mean_effectiveness" in result:
            scalars[f"{self.prefix}eval/mean_effectiveness"] = result["mean_effectiveness"]
        self.run.log(step, scalars)
        self.run.log_timing(step, self.seconds)
        self.history.append((step, result))
        if periodic and self.save and result["mean_return"] > self.best_return:
            self.best_return, self.best_step = result["mean_return"], step
            save_agent(self.run.path, self.cfg, self.agent, BEST_AGENT, step=step, mean_return=self.best_return)
        if periodic and self.cfg.stop_at_return is not None and result["mean_return"] >= self.cfg.stop_at_return:
            self.solved = True
        self.mark = time.perf_counter()
        return result

    def _state(self, step: int) -> dict[str, Any]:
        seconds = self.seconds + time.perf_counter() - self.mark
        return {"step": step, "agent": self.agent.state_dict(), "seconds": seconds, "best_return": self.best_return,
                "best_step": self.best_step}  # fmt: skip

    def __call__(self, step: int) -> bool:
        if step >= self.next_eval:
            self.next_eval = (step // self.every + 1) * self.every
            self.evaluate(step, self.cfg.eval_episodes)
        if self.stop.requested:
            if not self.save:  # rl rewards: --resume starts the comparison over
                raise Interrupted(str(self.run.save_restart_checkpoint()))
            raise Interrupted(str(self.run.save_checkpoint(self._state(step))))
        if self.save and self.stop.checkpoint_due():
            self.run.save_checkpoint(self._state(step))
        if self.cfg.max_seconds and self.seconds + time.perf_counter() - self.mark >= self.cfg.max_seconds:
            self.out_of_time = True
        return self.out_of_time or self.solved


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


# ---- the saved agent ----------------------------------------------------------------------------


FINAL_AGENT, BEST_AGENT = "agent.pt", "best_agent.pt"  # the agent when training ended; the best evaluated


def save_agent(folder: Path, cfg: RLSettings, agent: Any, name: str = FINAL_AGENT, **extra: float) -> None:
    save_checkpoint(folder / name, {"algo": cfg.algo, "env": cfg.env, "policy": agent.policy_state(), **extra})


def load_agent(run_dir: str | Path, which: str = "best") -> tuple[Any, RLSettings]:
    """An agent of a ``descentlab rl train`` run (its policy loaded) and the run's config: ``which`` is
    ``"best"`` (the best periodic greedy evaluation's; the final one for a run that kept none) or ``"final"``."""
    folder = Path(run_dir)
    if not folder.is_dir():
        raise UserError(f"{shown(folder)}: no such run folder")
    record = load_run(folder)
    if record.experiment != RL_TRAIN.name:
        raise UserError(f"{folder}: a {record.experiment} run, not an rl train (rl-train) run")
    path = folder / (BEST_AGENT if which == "best" and (folder / BEST_AGENT).is_file() else FINAL_AGENT)
    if not path.is_file():
        raise UserError(f"{folder}: no {FINAL_AGENT} (it is written when training ends)")
    cfg = RLConfig(**{k: v for k, v in record.config.items()})
    saved = load_checkpoint(path)
    if saved.get("algo") != cfg.algo or saved.get("env") != cfg.env:
        raise CheckpointError(f"{path}: holds a {saved.get('algo')} agent for {saved.get('env')}, "
                              f"the run is {cfg.algo} on {cfg.env}")  # fmt: skip
    agent = build_agent(cfg)
    try:
        agent.load_policy_state(saved["policy"])
    except (KeyError, RuntimeError, ValueError, AttributeError) as e:
        raise CheckpointError(f"{path}: the policy does not fit the run's config: {first_line(e)}") from None
    return agent, cfg


def episode_frames(agent: Any, cfg: RLSettings, seed: int = 0, max_steps: int = 1000) -> tuple[list[Any], float, Any]:
    """One greedy episode rendered as RGB frames; returns ``(frames, return, final info)``.

    Gymnasium's classic-control environments draw with pygame; SDL is told to draw off-screen (and play
    no sound) unless the caller chose otherwise: it is set here, when a frame is first drawn, not on import.
    """
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
    env = make_env(cfg.env, render_mode="rgb_array", **cfg.env_kwargs())
    obs, info = env.reset(seed=seed)
    frames, total = [env.render()], 0.0
    for _ in range(max_steps):
        action = int(agent.act(np.asarray(obs)[None])[0])
        obs, reward, terminated, truncated, info = env.step(action)
        total += float(reward)
        frames.append(env.render())
        if terminated or truncated:
            break
    env.close()
    return frames, total, info


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


def train_tour(settings: TourSettings) -> list[Any]:
    """The route agent on a small map, and PPO on CartPole."""
    q = settings.quick
    route = RLConfig(seed=settings.seed, device=settings.device, env=GRID, algo="qlearning", route="fixed",
                     grid_size=8 if q else 10, total_steps=8000 if q else 30_000, eval_episodes=5, final_episodes=20)  # fmt: skip
    cartpole = RLConfig(seed=settings.seed, device=settings.device, env="CartPole-v1", algo="ppo",
                        total_steps=12_000 if q else 50_000, final_episodes=20 if q else 100)  # fmt: skip
    return [route, cartpole]


def rewards_tour(settings: TourSettings) -> list[RewardsConfig]:
    q = settings.quick
    return [RewardsConfig(seed=settings.seed, device=settings.device, grid_size=10,
                          total_steps=20_000 if q else 50_000, eval_every=1000 if q else 2000, eval_episodes=5)]  # fmt: skip


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


# ---- the rl group's other commands --------------------------------------------------------------


AGENT_CHOICE = param("best", "which agent: best (the best periodic greedy evaluation's) or final (when training "
                     "ended)", choices=("best", "final"))  # fmt: skip


@dataclass(frozen=True)
class EvalOptions(Options):
    run_dir: str = param("", "a descentlab rl train run folder", positional=True, metavar="RUN_DIR")
    agent: str = AGENT_CHOICE
    episodes: int = param(100, "episodes", low=1, high=1_000_000)
    seed: int = param(20_000, "seed of the first episode", low=0, high=2**31 - 1)
    json: bool = param(False, "print one JSON object")


def run_eval(call: Call) -> int:
    opts: EvalOptions = call.options
    agent, cfg = load_agent(opts.run_dir, opts.agent)
    result = evaluate(agent.act, cfg.env, opts.episodes, seed=opts.seed, **cfg.env_kwargs())
    out = {"run": str(opts.run_dir), "agent": opts.agent, "env": cfg.env, "algo": cfg.algo, "episodes": result["episodes"],
           "mean_return": result["mean_return"], "std_return": result["std_return"]}  # fmt: skip
    if "mean_effectiveness" in result:
        out["mean_effectiveness"] = result["mean_effectiveness"]
    if opts.json:
        print(json.dumps(out))
    else:
        text = (f"{cfg.algo} on {cfg.env} ({opts.agent} agent), {out['episodes']} greedy episodes: "
                f"return {out['mean_return']:.2f} +- {out['std_return']:.2f}")  # fmt: skip
        if "mean_effectiveness" in out:
            text += f", effectiveness {100 * out['mean_effectiveness']:.1f}%"
        print(text)
    return 0


RL_EVAL = Command(
    command="rl eval",
    help="greedy evaluation of a trained agent",
    description="Run the trained agent's greedy policy for --episodes episodes (20 at a time).",
    examples=("descentlab rl eval runs/rl-train/cartpole-ppo__0__20261126-120000 --episodes 100 --json",),
    run=run_eval,
    options=EvalOptions,
)


@dataclass(frozen=True)
class PlayOptions(Options):
    run_dir: str = param("", "a descentlab rl train run folder", positional=True, metavar="RUN_DIR")
    agent: str = AGENT_CHOICE
    out: str = param(None, "the GIF to write", metavar="FILE.gif", required=True)
    seed: int = param(0, "episode seed", low=0, high=2**31 - 1)
    fps: int = param(8, "frames per second", low=1, high=60)
    max_steps: int = param(500, "at most this many steps", low=1, high=100_000)

    def __post_init__(self) -> None:
        super().__post_init__()
        out = Path(self.out)
        if out.suffix.lower() != ".gif":
            raise ParameterError("out", f"{out}: the animation is a GIF; give a name ending in .gif")
        if not out.parent.is_dir():
            raise ParameterError("out", f"{out}: folder {out.parent} does not exist")


def run_play(call: Call) -> int:
    opts: PlayOptions = call.options
    agent, cfg = load_agent(opts.run_dir, opts.agent)
    frames, total, info = episode_frames(agent, cfg, opts.seed, opts.max_steps)
    images = [Image.fromarray(f) for f in frames]
    buf = io.BytesIO()
    images[0].save(buf, format="GIF", save_all=True, append_images=images[1:], duration=int(1000 / opts.fps), loop=0)
    atomic_write_bytes(Path(opts.out), buf.getvalue())
    text = f"{opts.out}: {len(frames) - 1} steps, return {total:.2f}"
    if "effectiveness" in info:
        text += f", effectiveness {100 * info['effectiveness']:.0f}% (optimal {info['optimal_length']} steps)"
    print(text)
    return 0


RL_PLAY = Command(
    command="rl play",
    help="one greedy episode as an animated GIF",
    description="Render one greedy episode of a trained agent frame by frame into a GIF.",
    examples=("descentlab rl play runs/rl-train/gridroute-dqn-both__0__20261126-120000 --out route.gif",),
    run=run_play,
    options=PlayOptions,
)
