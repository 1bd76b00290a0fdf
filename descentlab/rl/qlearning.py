r"""Tabular Q-learning (Watkins 1989): the baseline on GridRoute.

A table holds :math:`Q(s, a)` for every observation seen (all ``q_init``, zero by default, at first). Acting
epsilon-greedily, after each step the entry of the action taken moves toward the one-step target:

.. math::
    Q(s, a) \leftarrow Q(s, a) + \alpha \big(r + \gamma (1 - d) \max_{a'} Q(s', a') - Q(s, a)\big)

with ``d`` = 1 when the episode terminated. Zero initial values are *optimistic* when rewards are
negative (every untried action looks better than a tried one), which drives exploration by itself;
with positive rewards only a start above every return (``q_init`` at the goal's reward) does that.
The table needs a finite set of observations: Discrete observation spaces and GridRoute.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from descentlab.config import Options, param
from descentlab.errors import ParameterError
from descentlab.rl.common import Callback, Episodes, Log, counters, linear, load_counters, make_env


@dataclass(frozen=True)
class QLearningConfig(Options):
    """Tabular Q-learning's hyperparameters (the defaults suit GridRoute)."""

    lr: float = param(0.5, "learning rate: alpha of the table update, the optimizer's for the deep agents",
                      low=0.0, low_open=True, high=10.0)  # fmt: skip
    gamma: float = param(0.97, "discount factor", low=0.0, high=1.0)
    eps_start: float = param(1.0, "initial epsilon of epsilon-greedy exploration", low=0.0, high=1.0)
    eps_end: float = param(0.05, "final epsilon", low=0.0, high=1.0)
    eps_fraction: float = param(0.5, "fraction of the run over which epsilon falls", low=0.0, high=1.0)
    q_init: float = param(0.0, "initial value of every table entry; above every return the task gives is "
                          "optimistic (untried actions look best), as 0 is when every reward is a cost",
                          low=-1e6, high=1e6)  # fmt: skip


PRESETS: dict[str, dict[str, Any]] = {}


def q_update(q_s: Any, action: int, reward: float, q_next: Any, terminated: bool, lr: float, gamma: float) -> None:
    """The Q-learning update of one transition, in place: ``q_s[action]`` moves toward the one-step target
    ``reward + gamma * max(q_next)``, which is ``reward`` alone when the episode terminated (a terminal
    state has no future, and ``q_next`` may be None). ``q_s`` and ``q_next`` are the rows of Q for s and s'
    (arrays or tensors)."""
    target = reward + (0.0 if terminated else gamma * float(q_next.max()))
    q_s[action] += lr * (target - float(q_s[action]))


class QLearning:
    """Tabular Q-learning; ``act`` takes the greedy action (ties to the lowest index)."""

    algo = "qlearning"

    def __init__(
        self, cfg: QLearningConfig, env_id: str, seed: int = 0, device: str = "cpu", **env_kwargs: Any
    ) -> None:
        self.cfg, self.env_id, self.seed, self.env_kwargs = cfg, env_id, seed, env_kwargs
        self.env = make_env(env_id, **env_kwargs)
        space = self.env.observation_space
        tabular = isinstance(space, gym.spaces.Discrete) or env_id.startswith("descentlab/GridRoute")
        if not tabular:
            self.env.close()
            raise ParameterError("algo", f"qlearning needs a finite set of observations (Discrete spaces or "
                                 f"descentlab/GridRoute-v0); {env_id} has {space}: use dqn, reinforce or ppo")  # fmt: skip
        self.n_actions = int(self.env.action_space.n)  # type: ignore[attr-defined]
        self.table: dict[bytes, np.ndarray] = {}
        self.rng = np.random.default_rng(seed)
        self.steps = self.updates = self.resets = 0
        self.episodes = Episodes(1)

    @staticmethod
    def key(obs: Any) -> bytes:
        return np.asarray(obs).tobytes()

    def q(self, obs: Any) -> np.ndarray:
        k = self.key(obs)
        if k not in self.table:
            self.table[k] = np.full(self.n_actions, self.cfg.q_init)
        return self.table[k]

    def act(self, obs: np.ndarray) -> np.ndarray:
        """Greedy actions for a batch of observations (unseen ones: action 0)."""
        unseen = np.full(self.n_actions, self.cfg.q_init)
        return np.array([int(np.argmax(self.table.get(self.key(o), unseen))) for o in np.asarray(obs)])

    def learn(self, total_steps: int, log: Log | None = None, callback: Callback | None = None) -> None:
        cfg, log = self.cfg, log or (lambda step, scalars: None)
        epsilon = linear(cfg.eps_start, cfg.eps_end, cfg.eps_fraction, total_steps)
        obs, _ = self.env.reset(seed=self.seed + 7919 * self.resets)
        self.resets += 1
        started, start_step = time.perf_counter(), self.steps
        while self.steps < total_steps:
            q_s = self.q(obs)
            if self.rng.random() < epsilon(self.steps):
                action = int(self.rng.integers(self.n_actions))
            else:  # greedy, ties broken at random so that equal untried values do not always pick action 0
                action = int(self.rng.choice(np.flatnonzero(q_s == q_s.max())))
            next_obs, reward, terminated, truncated, info = self.env.step(action)
            q_next = None if terminated else self.q(next_obs)  # a terminal state gets no row of its own
            q_update(q_s, action, float(reward), q_next, terminated, cfg.lr, cfg.gamma)
            self.steps += 1
            self.updates += 1
            done = terminated or truncated
            for episode in self.episodes.add(np.array([float(reward)]), np.array([done]), info if done else None):
                sps = (self.steps - start_step) / (time.perf_counter() - started)
                log(self.steps, episode | {"charts/epsilon": epsilon(self.steps), "charts/states": len(self.table),
                                           "charts/SPS": sps})  # fmt: skip
            obs = self.env.reset()[0] if done else next_obs
            if callback is not None and callback(self.steps):
                return

    def policy_state(self) -> dict[str, Any]:
        keys = list(self.table)
        shape = np.asarray(self.env.observation_space.sample()).shape
        dtype = np.asarray(self.env.observation_space.sample()).dtype
        obs = np.stack([np.frombuffer(k, dtype=dtype).reshape(shape) for k in keys]) if keys else np.zeros((0, *shape))
        values = np.stack([self.table[k] for k in keys]) if keys else np.zeros((0, self.n_actions))
        return {"observations": torch.from_numpy(np.ascontiguousarray(obs)), "values": torch.from_numpy(values)}

    def load_policy_state(self, state: dict[str, Any]) -> None:
        obs, values = state["observations"].numpy(), state["values"].numpy()
        self.table = {self.key(o): v.copy() for o, v in zip(obs, values, strict=True)}

    def state_dict(self) -> dict[str, Any]:
        return self.policy_state() | {
            "config": dataclasses.asdict(self.cfg), **counters(self), "rng": self.rng.bit_generator.state,
        }  # fmt: skip

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.load_policy_state(state)
        load_counters(self, state)
        self.rng.bit_generator.state = state["rng"]
