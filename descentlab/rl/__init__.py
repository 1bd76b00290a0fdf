"""Reinforcement learning: the unit's route-finding environment and four agents.

* :class:`~descentlab.rl.envs.GridRoute` (``descentlab/GridRoute-v0``): shortest route on a grid map,
  scored by effectiveness, with positive, negative or both reinforcements.
* :class:`QLearning` (tabular), :class:`DQN` (and Double DQN), :class:`Reinforce` (with a baseline),
  :class:`PPO` (clipped, GAE, vectorized). Each has a config dataclass, ``learn(total_steps, log,
  callback)``, a greedy ``act(obs_batch)``, and ``state_dict``/``load_state_dict`` for checkpoints.

>>> from descentlab.rl import make_agent, evaluate
>>> agent = make_agent("ppo", "CartPole-v1", seed=0)
>>> agent.learn(50_000)
>>> evaluate(agent.act, "CartPole-v1", episodes=100)["mean_return"]
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

from descentlab.errors import ParameterError
from descentlab.rl import dqn, ppo, qlearning, reinforce
from descentlab.rl.common import KNOWN_ENVS, evaluate, make_env, make_vec_env, random_policy, with_overrides
from descentlab.rl.dqn import DQN, DQNConfig
from descentlab.rl.envs import ENV_ID, REWARDS, GridRoute, register
from descentlab.rl.ppo import PPO, PPOConfig
from descentlab.rl.qlearning import QLearning, QLearningConfig
from descentlab.rl.reinforce import Reinforce, ReinforceConfig

register()


class Algorithm(NamedTuple):
    agent: Any  # the agent class: agent(config, env_id, seed, device, **env_kwargs)
    config: Any  # its config dataclass, whose fields are its hyperparameters
    presets: dict[str, dict[str, Any]]  # environment id -> hyperparameters that differ from the defaults


ALGORITHMS: dict[str, Algorithm] = {
    "qlearning": Algorithm(QLearning, QLearningConfig, qlearning.PRESETS),
    "dqn": Algorithm(DQN, DQNConfig, dqn.PRESETS),
    "reinforce": Algorithm(Reinforce, ReinforceConfig, reinforce.PRESETS),
    "ppo": Algorithm(PPO, PPOConfig, ppo.PRESETS),
}


def algorithms_with(name: str) -> list[str]:
    """The algorithms that have the hyperparameter ``name``."""
    return [a for a, spec in ALGORITHMS.items() if name in {f.name for f in dataclasses.fields(spec.config)}]


def _algorithm(algo: str) -> Algorithm:
    if algo not in ALGORITHMS:
        raise ParameterError("algo", f"{algo!r} is not valid; valid: one of {', '.join(ALGORITHMS)}")
    return ALGORITHMS[algo]


def agent_config(algo: str, env_id: str, **overrides: Any) -> Any:
    """The algorithm's config for ``env_id``: its defaults, the environment's preset, then ``overrides``
    (None values are left out). A hyperparameter the algorithm does not have is a :class:`ParameterError`
    that names the algorithms that have it, as is a value out of its range."""
    spec = _algorithm(algo)
    overrides = {name: value for name, value in overrides.items() if value is not None}
    for name in overrides:
        if algo not in algorithms_with(name):
            others = algorithms_with(name)
            where = (
                f"only {', '.join(others)} {'has' if len(others) == 1 else 'have'} it" if others else "no agent has it"
            )
            raise ParameterError(name, f"{algo} has no such hyperparameter; {where}")
    return with_overrides(with_overrides(spec.config(), spec.presets.get(env_id, {})), overrides)


def make_agent(
    algo: str, env_id: str, seed: int = 0, device: str = "cpu", config: Any = None, **env_kwargs: Any
) -> Any:
    """An agent of ``algo`` (qlearning, dqn, reinforce, ppo) for ``env_id``; ``config`` defaults to
    :func:`agent_config`. ``env_kwargs`` go to ``gymnasium.make`` (GridRoute's map, reward, ...)."""
    spec = _algorithm(algo)
    cfg = config if config is not None else agent_config(algo, env_id)
    return spec.agent(cfg, env_id, seed, device, **env_kwargs)


__all__ = [
    "ALGORITHMS",
    "DQN",
    "ENV_ID",
    "KNOWN_ENVS",
    "PPO",
    "REWARDS",
    "Algorithm",
    "DQNConfig",
    "GridRoute",
    "PPOConfig",
    "QLearning",
    "QLearningConfig",
    "Reinforce",
    "ReinforceConfig",
    "agent_config",
    "algorithms_with",
    "evaluate",
    "make_agent",
    "make_env",
    "make_vec_env",
    "random_policy",
]
