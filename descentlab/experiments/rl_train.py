"""``descentlab rl train`` and ``descentlab rl rewards``: reinforcement learning as runs.

``rl train`` trains one agent (qlearning, dqn, reinforce, ppo) on one environment, evaluates it greedily
every ``eval_every`` steps (``eval/mean_return``, and on GridRoute ``eval/mean_effectiveness``), logs
the agent's own scalars (``charts/episodic_return``, ``losses/td_loss``, ...), saves the policy in
``agent.pt`` (for ``rl eval`` and ``rl play``) and ends with a 100-episode greedy evaluation. Ctrl-C
saves the whole agent (networks, optimizer, replay buffer, random states) in ``checkpoint.pt``;
``--resume`` continues from that step with new episodes (environment states are not saved).

``rl rewards`` trains the same agent on GridRoute once per reward scheme - positive reinforcement,
negative reinforcement - and compares how many steps each needs to reach 90% effectiveness.

Hyperparameters left unset take the algorithm's preset for the environment (rl-baselines3-zoo's where it
has one; see ``descentlab.rl``).

Read top to bottom: config, environment options, the run, the saved agent, figures and tables.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from descentlab.config import RunConfig, param
from descentlab.errors import CheckpointError, Interrupted, UserError
from descentlab.optim.by_name import OPTIMIZERS
from descentlab.runs import Run, RunRecord, StopFlag, load_checkpoint, save_checkpoint, seed_everything

EXPERIMENT = "rl-train"
REWARDS_EXPERIMENT = "rl-rewards"
GRID = "descentlab/GridRoute-v0"
ALGOS = ("qlearning", "dqn", "reinforce", "ppo")

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
                                          "least 3 x the optimal length)", low=1)  # fmt: skip

    def grid_kwargs(self, reward: str) -> dict[str, Any]:
        """``gymnasium.make`` arguments of GridRoute for these options."""
        from descentlab.rl.envs import GridRoute

        kwargs: dict[str, Any] = {"reward": reward, "max_steps": self.max_episode_steps}
        if self.map:
            if not Path(self.map).is_file():
                raise UserError(f"--map {self.map}: no such file")
            kwargs["map"] = Path(self.map)
        else:
            kwargs |= {"size": (self.grid_size, self.grid_size), "obstacles": self.obstacles, "map_seed": self.map_seed}
        if self.route == "fixed":
            env = GridRoute(**kwargs)
            if env.fixed_start is None or env.fixed_goal is None:
                kwargs |= {"start": env.free[0], "goal": env.free[-1]}
        return kwargs


@dataclass(frozen=True)
class RLConfig(GridOptions):
    """Settings of ``descentlab rl train``; unset hyperparameters take the preset for the environment."""

    env: str = param("CartPole-v1", "a Gymnasium id: CartPole-v1, Acrobot-v1, MountainCar-v0, LunarLander-v3, "
                     "descentlab/GridRoute-v0, ...")  # fmt: skip
    algo: str = param("ppo", "the agent", choices=ALGOS)
    total_steps: int | None = param(None, "environment steps (default: the preset budget)", low=1)
    reward: str = param("negative", "GridRoute's reinforcement: positive, negative or both (negative is the "
                        "one that depends only on the state; see rl rewards)", choices=("positive", "negative", "both"))  # fmt: skip
    eval_every: int | None = param(None, "steps between greedy evaluations (default total/25)", low=1)
    eval_episodes: int = param(20, "episodes per periodic greedy evaluation", low=1, high=10_000)
    final_episodes: int = param(100, "episodes of the final greedy evaluation", low=1, high=100_000)
    max_seconds: float = param(0.0, "training-time budget in seconds (0: none)", low=0.0)
    threads: int = param(1, "torch threads (small networks run fastest on one)", low=1, high=256)
    # hyperparameters (None: the preset)
    lr: float | None = param(None, "learning rate (alpha for qlearning)", low=0.0, low_open=True, high=10.0)
    gamma: float | None = param(None, "discount factor", low=0.0, high=1.0)
    hidden: str | None = param(None, "hidden layer widths, e.g. 64,64")
    optimizer: str | None = param(None, "a descentlab.optim optimizer", choices=OPTIMIZERS)
    batch_size: int | None = param(None, "minibatch size (dqn, ppo)", low=1)
    buffer_size: int | None = param(None, "replay buffer capacity (dqn)", low=1)
    learning_starts: int | None = param(None, "random steps before learning (dqn)", low=0)
    train_freq: int | None = param(None, "steps between training phases (dqn)", low=1)
    gradient_steps: int | None = param(None, "optimizer steps per phase, -1: as many as steps (dqn)", low=-1)
    target_update: int | None = param(None, "steps between target-network updates (dqn)", low=1)
    tau: float | None = param(None, "target update: 1 hard copy, < 1 Polyak averaging (dqn)", low=0.0,
                              low_open=True, high=1.0)  # fmt: skip
    double: bool | None = param(None, "Double DQN (dqn)")
    eps_start: float | None = param(None, "initial epsilon (dqn, qlearning)", low=0.0, high=1.0)
    eps_end: float | None = param(None, "final epsilon (dqn, qlearning)", low=0.0, high=1.0)
    eps_fraction: float | None = param(None, "fraction of the run over which epsilon falls", low=0.0, high=1.0)
    n_envs: int | None = param(None, "parallel environments (ppo)", low=1, high=256)
    n_steps: int | None = param(None, "steps per environment per rollout (ppo)", low=1)
    epochs: int | None = param(None, "passes over each rollout (ppo)", low=1)
    gae_lambda: float | None = param(None, "GAE lambda (ppo)", low=0.0, high=1.0)
    clip: float | None = param(None, "clipping epsilon (ppo)", low=0.0, low_open=True, high=1.0)
    ent_coef: float | None = param(None, "entropy bonus (ppo, reinforce)", low=0.0)
    anneal: bool | None = param(None, "lr and clip decay linearly to 0 (ppo)")
    episodes_per_update: int | None = param(None, "episodes per update (reinforce)", low=1)

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

    def agent_config(self) -> Any:
        from descentlab.rl import agent_config

        if self.hidden is not None:
            from descentlab.rl.common import hidden_sizes

            hidden_sizes(self.hidden)  # a one-line error for a malformed list
        given = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in ("algo", "env")}
        return agent_config(self.algo, self.env, **given)


def build_agent(cfg: RLConfig) -> Any:
    from descentlab.rl import make_agent

    if cfg.env != GRID and cfg.reward != "negative":
        raise UserError(f"--reward {cfg.reward}: reward schemes are GridRoute's; {cfg.env} has its own reward")
    return make_agent(cfg.algo, cfg.env, cfg.seed, "cpu" if cfg.device == "auto" else cfg.device,
                      cfg.agent_config(), **cfg.env_kwargs())  # fmt: skip


# ---- the run ------------------------------------------------------------------------------------


class Evaluator:
    """The callback of ``agent.learn``: greedy evaluations every ``every`` steps (clock stopped), Ctrl-C,
    and the time budget. ``seconds`` is training time, evaluations excluded."""

    def __init__(self, agent: Any, cfg: RLConfig, run: Run, stop: StopFlag, prefix: str = "", seconds: float = 0.0,
                 save: bool = True) -> None:  # fmt: skip
        self.agent, self.cfg, self.run, self.stop, self.prefix, self.save = agent, cfg, run, stop, prefix, save
        self.env_kwargs = cfg.env_kwargs()  # once: a fixed GridRoute route is found by building its map
        self.every = cfg.eval_every or max(1, cfg.steps // 25)
        self.next_eval = (agent.steps // self.every + 1) * self.every
        self.seconds, self.mark = seconds, time.perf_counter()
        self.out_of_time = False
        self.history: list[tuple[int, dict[str, Any]]] = []

    def evaluate(self, step: int, episodes: int, seed: int = 10_000) -> dict[str, Any]:
        from descentlab.rl import evaluate

        self.seconds += time.perf_counter() - self.mark
        result = evaluate(self.agent.act, self.cfg.env, episodes, seed=seed, **self.env_kwargs)
        scalars = {f"{self.prefix}eval/mean_return": result["mean_return"],
                   f"{self.prefix}eval/std_return": result["std_return"]}  # fmt: skip
        if "mean_effectiveness" in result:
            scalars[f"{self.prefix}eval/mean_effectiveness"] = result["mean_effectiveness"]
        self.run.log(step, scalars)
        self.run.log_timing(step, self.seconds)
        self.history.append((step, result))
        self.mark = time.perf_counter()
        return result

    def __call__(self, step: int) -> bool:
        if step >= self.next_eval:
            self.next_eval = (step // self.every + 1) * self.every
            self.evaluate(step, self.cfg.eval_episodes)
        if self.stop.requested:
            self.seconds += time.perf_counter() - self.mark
            if not self.save:  # rl rewards: --resume starts the comparison over
                raise Interrupted(str(self.run.save_checkpoint({"step": 0})))
            path = self.run.save_checkpoint({"step": step, "agent": self.agent.state_dict(), "seconds": self.seconds})
            raise Interrupted(str(path))
        if self.cfg.max_seconds and self.seconds + time.perf_counter() - self.mark >= self.cfg.max_seconds:
            self.out_of_time = True
            return True
        return False


def train(cfg: RLConfig, run: Run, stop: StopFlag, state: dict[str, Any] | None = None) -> dict[str, float]:
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
    evaluator = Evaluator(agent, cfg, run, stop, seconds=seconds)
    if state is None:
        evaluator.evaluate(0, cfg.eval_episodes)  # the untrained agent
    agent.learn(cfg.steps, log=run.log, callback=evaluator)
    evaluator.seconds += time.perf_counter() - evaluator.mark
    save_agent(run.path, cfg, agent)
    final = evaluator.evaluate(agent.steps, cfg.final_episodes, seed=20_000)
    metrics = {"final/mean_return": final["mean_return"], "final/std_return": final["std_return"],
               "steps": float(agent.steps), "episodes": float(agent.episodes.count), "updates": float(agent.updates),
               "train_seconds": evaluator.seconds, "steps_per_second": agent.steps / max(evaluator.seconds, 1e-9),
               "out_of_time": float(evaluator.out_of_time)}  # fmt: skip
    if "mean_effectiveness" in final:
        metrics["final/mean_effectiveness"] = final["mean_effectiveness"]
    return metrics


# ---- the saved agent ----------------------------------------------------------------------------


def save_agent(folder: Path, cfg: RLConfig, agent: Any) -> None:
    save_checkpoint(folder / "agent.pt", {"algo": cfg.algo, "env": cfg.env, "policy": agent.policy_state()})


def load_agent(run_dir: str | Path) -> tuple[Any, RLConfig]:
    """The trained agent of a ``descentlab rl train`` run (its policy loaded) and the run's config."""
    from descentlab.runs import load_run

    folder = Path(run_dir)
    if not folder.is_dir():
        raise UserError(f"{folder}: no such run folder")
    record = load_run(folder)
    if record.experiment != EXPERIMENT:
        raise UserError(f"{folder}: a {record.experiment} run, not an rl train (rl-train) run")
    if not (folder / "agent.pt").is_file():
        raise UserError(f"{folder}: no agent.pt (it is written when training ends)")
    cfg = RLConfig(**{k: v for k, v in record.config.items()})
    saved = load_checkpoint(folder / "agent.pt")
    if saved.get("algo") != cfg.algo or saved.get("env") != cfg.env:
        raise CheckpointError(f"{folder / 'agent.pt'}: holds a {saved.get('algo')} agent for {saved.get('env')}, "
                              f"the run is {cfg.algo} on {cfg.env}")  # fmt: skip
    agent = build_agent(cfg)
    try:
        agent.load_policy_state(saved["policy"])
    except (KeyError, RuntimeError, ValueError, AttributeError) as e:
        raise CheckpointError(f"{folder / 'agent.pt'}: the policy does not fit the run's config: "
                              f"{str(e).splitlines()[0]}") from None  # fmt: skip
    return agent, cfg


def episode_frames(agent: Any, cfg: RLConfig, seed: int = 0, max_steps: int = 1000) -> tuple[list[Any], float, Any]:
    """One greedy episode rendered as RGB frames; returns ``(frames, return, final info)``."""
    import numpy as np

    from descentlab.rl.common import make_env

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
    """For GridRoute runs: ``(caption, before, after)`` images of the same episodes, untrained and trained."""
    agent, cfg = load_agent(run_dir)
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
    schemes: str = param("positive,negative", "reward schemes to compare, in order",
                         choices=("positive,negative", "positive,negative,both", "positive", "negative", "both"))  # fmt: skip
    total_steps: int = param(100_000, "environment steps per scheme", low=1)
    eval_every: int = param(2000, "steps between greedy evaluations", low=1)
    eval_episodes: int = param(10, "episodes per evaluation (a fixed route gives the same episode each time)",
                               low=1, high=10_000)  # fmt: skip
    target: float = param(0.9, "effectiveness whose first reach is reported", low=0.0, high=1.0)
    threads: int = param(1, "torch threads", low=1, high=256)

    @property
    def run_name(self) -> str:
        return f"{self.algo}-{self.route}-{self.grid_size}x{self.grid_size}"


def rewards_train(
    cfg: RewardsConfig, run: Run, stop: StopFlag, state: dict[str, Any] | None = None
) -> dict[str, float]:
    """Each scheme in turn, from the same seed; a resumed comparison starts over (it takes seconds)."""
    seed_everything(cfg.seed)
    torch.set_num_threads(cfg.threads)
    metrics: dict[str, float] = {"target": cfg.target}
    for scheme in cfg.schemes.split(","):
        fields = {f.name: getattr(cfg, f.name) for f in dataclasses.fields(GridOptions)}
        one = RLConfig(**fields, env=GRID, algo=cfg.algo, total_steps=cfg.total_steps, reward=scheme,
                       eval_every=cfg.eval_every, eval_episodes=cfg.eval_episodes)  # fmt: skip
        agent = build_agent(one)
        evaluator = Evaluator(agent, one, run, stop, prefix=f"{scheme}/", save=False)
        evaluator.evaluate(0, cfg.eval_episodes)
        agent.learn(cfg.total_steps, log=None, callback=evaluator)
        reached = next((s for s, r in evaluator.history if r.get("mean_effectiveness", 0.0) >= cfg.target), None)
        after = [r.get("mean_effectiveness", 0.0) >= cfg.target for s, r in evaluator.history
                 if reached is not None and s >= reached]  # fmt: skip
        metrics |= {f"{scheme}/steps_to_target": float(reached) if reached is not None else float("nan"),
                    f"{scheme}/final_effectiveness": evaluator.history[-1][1].get("mean_effectiveness", float("nan")),
                    f"{scheme}/train_seconds": evaluator.seconds,
                    f"{scheme}/held_target": sum(after) / len(after) if after else float("nan")}  # fmt: skip
    return metrics


# ---- figures and tables -------------------------------------------------------------------------


def figures(record: RunRecord) -> dict[str, Any]:
    from descentlab.report.figures import reward_scheme_curves, rl_curves, route_figure

    if record.experiment == REWARDS_EXPERIMENT:
        return {"effectiveness.png": reward_scheme_curves(record)}
    out = {"returns.png": rl_curves(record)}
    if record.config.get("env") == GRID and (record.path / "agent.pt").is_file():
        out["routes.png"] = route_figure(route_pictures(record.path))
    return out


def result_table(record: RunRecord) -> tuple[list[str], list[list[str]]]:
    m, c = record.final(), record.config
    row = [str(c["env"]), str(c["algo"]), f"{m.get('steps', 0):,.0f}", f"{m.get('final/mean_return', float('nan')):.2f}",
           f"{m.get('final/std_return', float('nan')):.2f}"]  # fmt: skip
    header = ["env", "algo", "steps", f"mean return ({c.get('final_episodes', 100)} ep)", "std"]
    if "final/mean_effectiveness" in m:
        row.append(f"{100 * m['final/mean_effectiveness']:.1f}")
        header.append("effectiveness %")
    row.append(f"{m.get('train_seconds', 0):.1f}")
    header.append("train s")
    return header, [row]


def rewards_table(record: RunRecord) -> tuple[list[str], list[list[str]]]:
    m, c = record.final(), record.config
    target = 100 * float(m.get("target", c.get("target", 0.9)))
    rows = []
    for scheme in str(c["schemes"]).split(","):
        steps = m.get(f"{scheme}/steps_to_target", float("nan"))
        held = m.get(f"{scheme}/held_target", float("nan"))
        rows.append([scheme, "not reached" if steps != steps else f"{steps:,.0f}",
                     "-" if held != held else f"{100 * held:.0f}",
                     f"{100 * m.get(f'{scheme}/final_effectiveness', float('nan')):.1f}",
                     f"{m.get(f'{scheme}/train_seconds', 0):.1f}"])  # fmt: skip
    header = ["reward", f"steps to {target:.0f}% effectiveness", f"evaluations at {target:.0f}% or more from then, %",
              "final effectiveness %", "train s"]  # fmt: skip
    return header, rows
