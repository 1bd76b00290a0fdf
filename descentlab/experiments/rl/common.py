"""What the rl group's commands share: the settings of one agent on one environment (``rl train``'s
config; ``rl rewards`` builds one per reward scheme), the agent built from them, its periodic greedy
evaluation, and the saved agent that ``rl train`` writes and ``rl eval`` and ``rl play`` read.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from descentlab.config import RunConfig, field_type, param
from descentlab.errors import CheckpointError, Interrupted, ParameterError, UserError, first_line, shown
from descentlab.rl import ALGORITHMS, agent_config, algorithms_with, evaluate, make_agent
from descentlab.rl.common import make_env
from descentlab.rl.envs import GridRoute
from descentlab.runs import Run, StopFlag, load_checkpoint, load_run, save_checkpoint

GRID = "descentlab/GridRoute-v0"

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


def build_agent(cfg: RLSettings) -> Any:
    if cfg.env != GRID and cfg.reward != "negative":
        raise ParameterError("reward", f"{cfg.reward}: reward schemes are GridRoute's; {cfg.env} has its own reward")
    return make_agent(cfg.algo, cfg.env, cfg.seed, "cpu" if cfg.device == "auto" else cfg.device,
                      cfg.agent_config(), **cfg.env_kwargs())  # fmt: skip


# ---- the periodic greedy evaluation --------------------------------------------------------------


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
    if record.experiment != "rl-train":  # the name of RL_TRAIN (rl/train.py)
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


# ---- which saved agent rl eval and rl play read --------------------------------------------------


AGENT_CHOICE = param("best", "which agent: best (the best periodic greedy evaluation's) or final (when training "
                     "ended)", choices=("best", "final"))  # fmt: skip
