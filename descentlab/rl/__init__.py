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

import os
from typing import Any

from descentlab.errors import UserError
from descentlab.rl import dqn, ppo, qlearning, reinforce
from descentlab.rl.common import KNOWN_ENVS, evaluate, make_env, make_vec_env, with_overrides
from descentlab.rl.dqn import DQN, DQNConfig
from descentlab.rl.envs import ENV_ID, REWARDS, GridRoute, register
from descentlab.rl.ppo import PPO, PPOConfig
from descentlab.rl.qlearning import QLearning, QLearningConfig
from descentlab.rl.reinforce import Reinforce, ReinforceConfig

register()
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # Gymnasium's pygame renderers draw off-screen
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

#: algorithm name -> (agent class, config class, per-environment presets)
ALGORITHMS: dict[str, tuple[Any, Any, dict[str, dict[str, Any]]]] = {
    "qlearning": (QLearning, QLearningConfig, qlearning.PRESETS),
    "dqn": (DQN, DQNConfig, dqn.PRESETS),
    "reinforce": (Reinforce, ReinforceConfig, reinforce.PRESETS),
    "ppo": (PPO, PPOConfig, ppo.PRESETS),
}


def agent_config(algo: str, env_id: str, **overrides: Any) -> Any:
    """The algorithm's config for ``env_id``: its defaults, the environment's preset, then ``overrides``
    (fields the algorithm does not have, and None values, are ignored)."""
    if algo not in ALGORITHMS:
        raise UserError(f"--algo {algo!r}: valid: {', '.join(ALGORITHMS)}")
    _, config_cls, presets = ALGORITHMS[algo]
    return with_overrides(with_overrides(config_cls(), presets.get(env_id, {})), overrides)


def make_agent(
    algo: str, env_id: str, seed: int = 0, device: str = "cpu", config: Any = None, **env_kwargs: Any
) -> Any:
    """An agent of ``algo`` (qlearning, dqn, reinforce, ppo) for ``env_id``; ``config`` defaults to
    :func:`agent_config`. ``env_kwargs`` go to ``gymnasium.make`` (GridRoute's map, reward, ...)."""
    cls = ALGORITHMS[algo][0] if algo in ALGORITHMS else None
    cfg = config if config is not None else agent_config(algo, env_id)
    assert cls is not None
    return cls(cfg, env_id, seed, device, **env_kwargs)


__all__ = [
    "ALGORITHMS",
    "DQN",
    "ENV_ID",
    "KNOWN_ENVS",
    "PPO",
    "REWARDS",
    "DQNConfig",
    "GridRoute",
    "PPOConfig",
    "QLearning",
    "QLearningConfig",
    "Reinforce",
    "ReinforceConfig",
    "agent_config",
    "evaluate",
    "make_agent",
    "make_env",
    "make_vec_env",
]
