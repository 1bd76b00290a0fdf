"""What every agent shares: making environments, networks, schedules, episode bookkeeping, evaluation."""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from descentlab.errors import ParameterError, first_line
from descentlab.rl.envs import register

#: Gymnasium environments the agents are tested on (any registered id with a Discrete action space works).
KNOWN_ENVS = ("descentlab/GridRoute-v0", "CartPole-v1", "Acrobot-v1", "MountainCar-v0", "LunarLander-v3")

Log = Callable[[int, dict[str, float]], None]
Callback = Callable[[int], bool]  # called with the step count after each environment step; True stops learning
Act = Callable[[np.ndarray], np.ndarray]  # a batch of observations -> a batch of actions


def make_env(env_id: str, render_mode: str | None = None, **kwargs: Any) -> gym.Env:
    """``gymnasium.make`` with a one-line error (naming ``env``) for an unknown id or a continuous action space."""
    register()  # descentlab/GridRoute-v0
    if not isinstance(env_id, str) or ":" in env_id:
        # Gymnasium reads "module:Env" as "import module, then make Env": an id must not import code.
        raise ParameterError("env", f"{env_id!r}: not an environment id; valid: a registered id (register your own "
                             f"with gymnasium.register first); tested: {', '.join(KNOWN_ENVS)}")  # fmt: skip
    try:
        with warnings.catch_warnings():  # an out-of-date id's multi-line warning: the error below says it in one
            warnings.simplefilter("ignore", DeprecationWarning)
            env = gym.make(env_id, render_mode=render_mode, **kwargs)
    except gym.error.Error as e:
        raise ParameterError("env", f"{env_id}: {str(e).splitlines()[0]}; tested: {', '.join(KNOWN_ENVS)}") from None
    except (TypeError, ValueError, ImportError) as e:  # an id Gymnasium cannot even parse, or bad keywords
        raise ParameterError("env", f"{env_id}: {first_line(e)}; tested: {', '.join(KNOWN_ENVS)}") from None
    if not isinstance(env.action_space, gym.spaces.Discrete):
        env.close()
        raise ParameterError("env", f"{env_id}: its actions are not discrete; the agents take Discrete action spaces")
    return env


VECTORIZATIONS = ("sync", "async")


def _made(env_id: str, kwargs: dict[str, Any]) -> gym.Env:
    """One copy, made in whichever process steps it (an async worker registers GridRoute there too)."""
    register()
    return gym.make(env_id, **kwargs)


def make_vec_env(env_id: str, n: int, vectorization: str = "sync", **kwargs: Any) -> gym.vector.VectorEnv:
    """``n`` copies: in this process (``"sync"``, ``SyncVectorEnv``) or each in a worker process of its own
    (``"async"``, ``AsyncVectorEnv``, worth it when stepping the environment costs more than sending its
    observations, as LunarLander's physics does). The copies and their seeds are the same either way, so the
    same agent sees the same steps. A finished episode restarts in the same step and its last observation is in
    ``info["final_obs"]`` (Gymnasium's ``SAME_STEP`` autoreset)."""
    if vectorization not in VECTORIZATIONS:
        raise ParameterError("vec", f"{vectorization!r} is not valid; valid: {', '.join(VECTORIZATIONS)}")
    make_env(env_id, **kwargs).close()  # the same checks and errors as a single environment
    fns = [partial(_made, env_id, kwargs) for _ in range(n)]
    if vectorization == "async":
        return gym.vector.AsyncVectorEnv(fns, autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)
    return gym.vector.SyncVectorEnv(fns, autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)


class VectorEnvs:
    """What an agent that steps ``cfg.n_envs`` copies of its environment (``cfg.vec``: in this process or each
    in a worker process) shares: the copies, made on first use, and ``close``. The agent sets ``env_id``,
    ``env_kwargs``, ``cfg`` and ``_envs = None``."""

    env_id: str
    env_kwargs: dict[str, Any]
    cfg: Any
    _envs: gym.vector.VectorEnv | None

    @property
    def envs(self) -> gym.vector.VectorEnv:
        """The ``n_envs`` copies, made on first use."""
        if self._envs is None:
            self._envs = make_vec_env(self.env_id, self.cfg.n_envs, self.cfg.vec, **self.env_kwargs)
        return self._envs

    def close(self) -> None:
        """Close the environments (and end an async vector's worker processes)."""
        if self._envs is not None:
            self._envs.close()
            self._envs = None


def random_policy(env_id: str, seed: int = 0, **kwargs: Any) -> Act:
    """A policy that draws each action uniformly at random (seeded): the baseline any learning must beat."""
    env = make_env(env_id, **kwargs)
    n = int(env.action_space.n)  # type: ignore[attr-defined]  # make_env checked it is Discrete
    env.close()
    rng = np.random.default_rng(seed)
    return lambda obs: rng.integers(n, size=len(obs))


def mlp(sizes: list[int], activation: type[nn.Module] = nn.ReLU, out_gain: float | None = None) -> nn.Sequential:
    """Flatten, then Linear-activation layers through ``sizes``, no activation after the last.

    With ``out_gain`` every layer gets orthogonal weights (gain sqrt(2) inside, ``out_gain`` at the
    output) and zero biases, the initialization of the PPO implementations (Engstrom et al. 2020).
    """
    layers: list[nn.Module] = [nn.Flatten()]
    for i in range(len(sizes) - 1):
        linear = nn.Linear(sizes[i], sizes[i + 1])
        if out_gain is not None:
            nn.init.orthogonal_(linear.weight, out_gain if i == len(sizes) - 2 else math.sqrt(2))
            nn.init.zeros_(linear.bias)
        layers.append(linear)
        if i < len(sizes) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)


MAX_WIDTH, MAX_LAYERS = 8192, 16  # an agent's network; larger ones are not what these agents are for


def hidden_sizes(text: str) -> list[int]:
    try:
        sizes = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        sizes = []
    if not sizes or any(s < 1 or s > MAX_WIDTH for s in sizes) or len(sizes) > MAX_LAYERS:
        raise ParameterError("hidden", f"{text[:60]!r} is not valid; valid: 1 to {MAX_LAYERS} comma-separated layer "
                             f"widths of 1 to {MAX_WIDTH} such as 64,64")  # fmt: skip
    return sizes


def observation_size(space: gym.Space) -> int:
    if not isinstance(space, gym.spaces.Box):
        raise ParameterError("env", f"observation space {space}: the deep agents take Box observations")
    return int(np.prod(space.shape))


def linear(start: float, end: float, fraction: float, total: int) -> Callable[[int], float]:
    """``start`` at step 0 to ``end`` at step ``fraction * total``, then ``end`` (an epsilon or lr schedule)."""
    span = max(1.0, fraction * total)
    return lambda step: end + (start - end) * max(0.0, 1.0 - step / span)


def with_overrides(config: Any, overrides: Mapping[str, Any]) -> Any:
    """``config`` with the fields named in ``overrides`` replaced (None values are left out); a name the
    config does not have is a :class:`ParameterError`."""
    names = {f.name for f in dataclasses.fields(config)}
    for key in overrides:
        if key not in names:
            raise ParameterError(key, f"{type(config).__name__} has no such field; valid: {', '.join(sorted(names))}")
    return dataclasses.replace(config, **{k: v for k, v in overrides.items() if v is not None})


class Episodes:
    """Returns, lengths and (GridRoute) effectiveness of the episodes of ``n`` parallel environments."""

    def __init__(self, n: int) -> None:
        self.returns = np.zeros(n)
        self.lengths = np.zeros(n, dtype=np.int64)
        self.count = 0

    def add(self, rewards: np.ndarray, done: np.ndarray, infos: Mapping[str, Any] | None = None) -> list[dict]:
        """Add one step's rewards; return the finished episodes' statistics (and reset their counters)."""
        self.returns += rewards
        self.lengths += 1
        finished = []
        for i in np.flatnonzero(done):
            stats = {"charts/episodic_return": float(self.returns[i]), "charts/episodic_length": float(self.lengths[i])}
            final = infos.get("final_info", infos) if infos else None  # a vector env's finished episodes
            effectiveness = _info_value(final, "effectiveness", int(i))
            if effectiveness is not None:
                stats["charts/effectiveness"] = effectiveness
            finished.append(stats)
            self.returns[i], self.lengths[i] = 0.0, 0
            self.count += 1
        return finished


def _info_value(infos: Mapping[str, Any] | None, key: str, i: int) -> float | None:
    """``infos[key]`` for environment ``i``: a vector env's array (with its ``_key`` mask) or a plain value."""
    if not infos or key not in infos:
        return None
    value = infos[key]
    if isinstance(value, np.ndarray):
        mask = infos.get(f"_{key}")
        if mask is not None and not mask[i]:
            return None
        return float(value[i])
    return float(value)


def evaluate(
    act: Act, env_id: str, episodes: int = 100, seed: int = 10_000, parallel: int = 20, **env_kwargs: Any
) -> dict[str, Any]:
    """Run ``episodes`` episodes with ``act`` (greedy for our agents), ``parallel`` at a time.

    Environment ``i`` of the batch runs a fixed share of the episodes, from ``reset(seed=seed + i)``, so
    the result does not favour short episodes and is the same for the same policy. Returns
    ``mean_return``, ``std_return``, ``returns`` and, where the environment reports it (GridRoute),
    ``mean_effectiveness`` and ``effectiveness``.
    """
    if episodes < 1:
        raise ParameterError("episodes", f"{episodes} is out of range; valid: an integer >= 1")
    n = min(parallel, episodes)
    quota = np.array([episodes // n + (i < episodes % n) for i in range(n)])
    envs = make_vec_env(env_id, n, **env_kwargs)
    obs, _ = envs.reset(seed=[seed + i for i in range(n)])  # type: ignore[arg-type]  # a list is accepted
    stats = Episodes(n)
    done_count = np.zeros(n, dtype=np.int64)
    returns: list[float] = []
    effectiveness: list[float] = []
    try:
        while (done_count < quota).any():
            actions = np.asarray(act(obs)).reshape(n)
            obs, rewards, terminated, truncated, infos = envs.step(actions)
            done = terminated | truncated
            for i, episode in zip(np.flatnonzero(done), stats.add(rewards, done, infos), strict=True):
                if done_count[i] < quota[i]:
                    returns.append(episode["charts/episodic_return"])
                    if "charts/effectiveness" in episode:
                        effectiveness.append(episode["charts/effectiveness"])
                done_count[i] += 1
    finally:
        envs.close()
    result: dict[str, Any] = {
        "episodes": len(returns),
        "mean_return": float(np.mean(returns)),
        "std_return": float(np.std(returns)),
        "returns": returns,
    }
    if effectiveness:
        result |= {"mean_effectiveness": float(np.mean(effectiveness)), "effectiveness": effectiveness}
    return result


def counters(agent: Any) -> dict[str, int]:
    """The step, update, reset and episode counts every agent keeps, for its ``state_dict``."""
    return {"steps": agent.steps, "updates": agent.updates, "resets": agent.resets, "episodes": agent.episodes.count}


def load_counters(agent: Any, state: dict[str, Any]) -> None:
    agent.steps, agent.updates, agent.resets = int(state["steps"]), int(state["updates"]), int(state["resets"])
    agent.episodes.count = int(state["episodes"])


def as_tensor(obs: np.ndarray, device: torch.device) -> torch.Tensor:
    return torch.as_tensor(obs, dtype=torch.float32, device=device)
