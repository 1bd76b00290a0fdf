r"""REINFORCE with a learned baseline (Williams 1992).

The policy :math:`\pi_\theta(a|s)` plays ``episodes_per_update`` whole episodes; each step's return
:math:`G_t = \sum_{k \ge t} \gamma^{k-t} r_k` is compared with a learned baseline :math:`b_\phi(s_t)`,
and the policy moves along the likelihood-ratio gradient

.. math::
    \nabla_\theta J \approx \frac{1}{N} \sum_t (G_t - b_\phi(s_t)) \, \nabla_\theta \log \pi_\theta(a_t|s_t),
    \qquad L_b(\phi) = \frac{1}{N} \sum_t (b_\phi(s_t) - G_t)^2

Subtracting the baseline leaves the gradient's expectation unchanged and lowers its variance.
An entropy bonus ``ent_coef * H(pi)`` keeps early exploration up.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from descentlab.config import Options, param
from descentlab.optim.by_name import OPTIMIZERS, optimizer_by_name
from descentlab.optim.flat import flat_parameters
from descentlab.rl.common import (
    Callback,
    Episodes,
    Log,
    as_tensor,
    counters,
    hidden_sizes,
    load_counters,
    make_env,
    mlp,
    observation_size,
)
from descentlab.rl.ppo import sample


@dataclass(frozen=True)
class ReinforceConfig(Options):
    """REINFORCE's hyperparameters (defaults suit CartPole-v1)."""

    lr: float = param(1e-2, "learning rate of the policy", low=0.0, low_open=True, high=10.0)
    baseline_lr: float = param(1e-2, "learning rate of the baseline", low=0.0, low_open=True, high=10.0)
    gamma: float = param(0.99, "discount factor", low=0.0, high=1.0)
    hidden: str = param("64", "hidden layer widths, e.g. 64,64")
    optimizer: str = param("adam", "a descentlab.optim optimizer", choices=OPTIMIZERS)
    episodes_per_update: int = param(4, "whole episodes per policy update", low=1, high=10**6)
    ent_coef: float = param(0.0, "entropy bonus coefficient", low=0.0, high=1e3)

    def __post_init__(self) -> None:
        super().__post_init__()
        hidden_sizes(self.hidden)


PRESETS: dict[str, dict[str, Any]] = {
    "LunarLander-v3": dict(lr=2e-3, baseline_lr=5e-3, hidden="128,128", episodes_per_update=8, ent_coef=0.01),
    "Acrobot-v1": dict(lr=5e-3, baseline_lr=5e-3, hidden="64,64", episodes_per_update=4),
    "descentlab/GridRoute-v0": dict(lr=2e-3, baseline_lr=2e-3, hidden="256", episodes_per_update=8, gamma=0.97,
                                    ent_coef=0.01),
}  # fmt: skip


def discounted_returns(rewards: list[float], gamma: float, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """G_t = r_t + gamma G_{t+1}, from the episode's end backwards (in Python floats, stored as ``dtype``)."""
    out = torch.zeros(len(rewards), dtype=dtype)
    running = 0.0
    for t in reversed(range(len(rewards))):
        running = rewards[t] + gamma * running
        out[t] = running
    return out


class Reinforce:
    """A REINFORCE agent with a state-value baseline; ``act`` is the most likely action."""

    algo = "reinforce"

    def __init__(
        self, cfg: ReinforceConfig, env_id: str, seed: int = 0, device: str = "cpu", **env_kwargs: Any
    ) -> None:
        self.cfg, self.env_id, self.seed, self.env_kwargs = cfg, env_id, seed, env_kwargs
        self.device = torch.device(device)
        self.env = make_env(env_id, **env_kwargs)
        torch.manual_seed(seed)
        n_obs, n_actions = observation_size(self.env.observation_space), int(self.env.action_space.n)  # type: ignore[attr-defined]
        self.policy = mlp([n_obs, *hidden_sizes(cfg.hidden), n_actions], nn.Tanh).to(self.device)
        self.baseline = mlp([n_obs, *hidden_sizes(cfg.hidden), 1], nn.Tanh).to(self.device)
        self.flat, self.baseline_flat = flat_parameters(self.policy), flat_parameters(self.baseline)
        self.optimizer = optimizer_by_name(cfg.optimizer, [self.flat], cfg.lr)
        self.baseline_optimizer = optimizer_by_name(cfg.optimizer, [self.baseline_flat], cfg.baseline_lr)
        self.generator = torch.Generator().manual_seed(seed)
        self.steps = self.updates = self.resets = 0
        self.episodes = Episodes(1)

    @torch.no_grad()
    def act(self, obs: np.ndarray) -> np.ndarray:
        return self.policy(as_tensor(obs, self.device)).argmax(1).cpu().numpy()

    def learn(self, total_steps: int, log: Log | None = None, callback: Callback | None = None) -> None:
        cfg, log = self.cfg, log or (lambda step, scalars: None)
        obs, _ = self.env.reset(seed=self.seed + 7919 * self.resets)
        self.resets += 1
        started, start_step = time.perf_counter(), self.steps
        batch_obs: list[np.ndarray] = []
        batch_actions: list[int] = []
        batch_returns: list[torch.Tensor] = []
        rewards: list[float] = []
        while self.steps < total_steps:
            with torch.no_grad():
                action, _ = sample(self.policy(as_tensor(obs, self.device).unsqueeze(0)), self.generator)
            a = int(action)
            next_obs, reward, terminated, truncated, info = self.env.step(a)
            batch_obs.append(np.asarray(obs, dtype=np.float32))
            batch_actions.append(a)
            rewards.append(float(reward))
            self.steps += 1
            done = terminated or truncated
            for episode in self.episodes.add(np.array([float(reward)]), np.array([done]), info if done else None):
                log(self.steps, episode)
            obs = next_obs
            if done:
                batch_returns.append(discounted_returns(rewards, cfg.gamma))
                rewards = []
                obs, _ = self.env.reset()
                if len(batch_returns) == cfg.episodes_per_update:
                    stats = self.update(np.stack(batch_obs), batch_actions, torch.cat(batch_returns))
                    batch_obs, batch_actions, batch_returns = [], [], []
                    sps = (self.steps - start_step) / (time.perf_counter() - started)
                    log(self.steps, stats | {"charts/SPS": sps})
            if callback is not None and callback(self.steps):
                return

    def update(self, obs_np: np.ndarray, actions_list: list[int], returns: torch.Tensor) -> dict[str, float]:
        obs = as_tensor(obs_np, self.device)
        actions = torch.tensor(actions_list, device=self.device)
        returns = returns.to(self.device)
        baseline = self.baseline(obs).squeeze(1)
        advantage = (returns - baseline).detach()  # G_t - b(s_t)
        log_probs_all = self.policy(obs).log_softmax(-1)
        log_probs = log_probs_all.gather(1, actions.unsqueeze(1)).squeeze(1)
        entropy = -(log_probs_all.exp() * log_probs_all).sum(-1).mean()
        policy_loss = -(advantage * log_probs).mean() - self.cfg.ent_coef * entropy
        baseline_loss = (baseline - returns).pow(2).mean()
        self.flat.grad.zero_()  # type: ignore[union-attr]
        policy_loss.backward()
        self.optimizer.step()
        self.baseline_flat.grad.zero_()  # type: ignore[union-attr]
        baseline_loss.backward()
        self.baseline_optimizer.step()
        self.updates += 1
        return {"losses/policy_loss": float(policy_loss.detach()), "losses/baseline_loss": float(baseline_loss.detach()),
                "losses/entropy": float(entropy.detach())}  # fmt: skip

    def state_dict(self) -> dict[str, Any]:
        return {"config": dataclasses.asdict(self.cfg), "policy": self.policy.state_dict(),
                "baseline": self.baseline.state_dict(), "optimizer": self.optimizer.state_dict(),
                "baseline_optimizer": self.baseline_optimizer.state_dict(), **counters(self),
                "generator": self.generator.get_state()}  # fmt: skip

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.policy.load_state_dict(state["policy"])
        self.baseline.load_state_dict(state["baseline"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.baseline_optimizer.load_state_dict(state["baseline_optimizer"])
        load_counters(self, state)
        self.generator.set_state(state["generator"])

    def policy_state(self) -> dict[str, Any]:
        return {"policy": self.policy.state_dict()}

    def load_policy_state(self, state: dict[str, Any]) -> None:
        self.policy.load_state_dict(state["policy"])
