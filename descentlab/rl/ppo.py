r"""Proximal Policy Optimization with the clipped objective (Schulman et al. 2017).

``n_envs`` copies of the environment (``gymnasium.vector``) each run ``n_steps`` steps with the current
policy :math:`\pi_{\theta_{old}}`; the rollout's advantages come from generalized advantage estimation
(Schulman et al. 2016) with the critic :math:`V_\phi`:

.. math::
    \delta_t = r_t + \gamma (1 - d_{t+1}) V(s_{t+1}) - V(s_t), \qquad
    \hat A_t = \delta_t + \gamma \lambda (1 - d_{t+1}) \hat A_{t+1}, \qquad \hat R_t = \hat A_t + V(s_t)

Then ``epochs`` passes over the rollout in shuffled minibatches of ``batch_size`` minimize

.. math::
    L = -\mathbb{E}\big[\min(\rho_t \hat A_t, \operatorname{clip}(\rho_t, 1-\epsilon, 1+\epsilon) \hat A_t)\big]
        + c_v \, \mathbb{E}\big[(V_\phi(s_t) - \hat R_t)^2\big] - c_e \, \mathbb{E}[H(\pi_\theta(\cdot|s_t))],
    \qquad \rho_t = \frac{\pi_\theta(a_t|s_t)}{\pi_{\theta_{old}}(a_t|s_t)}

(advantages normalized per minibatch, the global gradient norm clipped at ``max_grad_norm``). An
episode cut off by a time limit is not a failure: its last reward gets :math:`\gamma V(s_T)` added, the
value of the state where it was cut (as Stable-Baselines3 does). ``anneal`` decays the learning rate
and :math:`\epsilon` linearly to 0 over the run (rl-baselines3-zoo's ``lin_`` schedules).
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from descentlab.config import Options, param
from descentlab.errors import ParameterError
from descentlab.optim.by_name import OPTIMIZERS, optimizer_by_name
from descentlab.optim.flat import flat_parameters
from descentlab.rl.common import (
    VECTORIZATIONS,
    Callback,
    Episodes,
    Log,
    VectorEnvs,
    as_tensor,
    counters,
    hidden_sizes,
    load_counters,
    make_env,
    mlp,
    observation_size,
)


@dataclass(frozen=True)
class PPOConfig(Options):
    """PPO's hyperparameters; the defaults are rl-baselines3-zoo's for CartPole-v1."""

    lr: float = param(1e-3, "learning rate", low=0.0, low_open=True, high=10.0)
    gamma: float = param(0.98, "discount factor", low=0.0, high=1.0)
    hidden: str = param("64,64", "hidden layer widths, e.g. 64,64")
    activation: str = param("tanh", "the networks' activation: tanh (the PPO papers') or relu (cheaper on a CPU)",
                            choices=("tanh", "relu"))  # fmt: skip
    optimizer: str = param("adam", "a descentlab.optim optimizer", choices=OPTIMIZERS)
    n_envs: int = param(8, "parallel environments", low=1, high=256)
    vec: str = param("sync", "sync: the environments step in this process; async: each in a worker process "
                     "(Gymnasium's AsyncVectorEnv); the same steps either way", choices=VECTORIZATIONS)  # fmt: skip
    n_steps: int = param(32, "steps per environment per rollout", low=1, high=10**6)
    batch_size: int = param(256, "minibatch size", low=1, high=10**6)
    epochs: int = param(20, "passes over each rollout", low=1, high=10_000)
    gae_lambda: float = param(0.8, "GAE lambda", low=0.0, high=1.0)
    clip: float = param(0.2, "clipping epsilon of the probability ratio", low=0.0, low_open=True, high=1.0)
    ent_coef: float = param(0.0, "entropy bonus coefficient", low=0.0, high=1e3)
    vf_coef: float = param(0.5, "value loss coefficient", low=0.0, high=1e3)
    max_grad_norm: float = param(0.5, "clip the gradients' global norm to this", low=0.0, low_open=True, high=1e6)
    anneal: bool = param(True, "lr and clip decay linearly to 0 over the run")

    def __post_init__(self) -> None:
        super().__post_init__()
        hidden_sizes(self.hidden)


PRESETS: dict[str, dict[str, Any]] = {
    "LunarLander-v3": dict(
        n_envs=16,
        n_steps=1024,
        batch_size=64,
        gae_lambda=0.98,
        gamma=0.999,
        epochs=4,
        ent_coef=0.01,
        lr=3e-4,
        anneal=False,
    ),
    "Acrobot-v1": dict(
        n_envs=16, n_steps=256, batch_size=64, gae_lambda=0.94, gamma=0.99, epochs=4, lr=3e-4, anneal=False
    ),
    "MountainCar-v0": dict(
        n_envs=16, n_steps=16, batch_size=64, gae_lambda=0.98, gamma=0.99, epochs=4, ent_coef=0.0, lr=3e-4, anneal=False
    ),
    "descentlab/GridRoute-v0": dict(
        n_envs=8,
        n_steps=128,
        batch_size=256,
        gae_lambda=0.95,
        gamma=0.97,
        epochs=4,
        ent_coef=0.01,
        lr=5e-4,
        hidden="256,256",
    ),
}  # fmt: skip  (rl-baselines3-zoo's, without its observation normalization; GridRoute's are ours)


ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU}


class ActorCritic(nn.Module):
    r"""The policy and value networks, written as two separate MLPs (the readable reference).

    ``policy``: obs -> hidden -> ... -> one logit per action of :math:`\pi(a|s)`; ``value``: the same
    shape with one output, :math:`V(s)`. They share no weights. Orthogonal initialization with gain
    :math:`\sqrt 2` inside, 0.01 at the policy's output and 1 at the value's (Engstrom et al. 2020).
    :class:`StackedActorCritic` computes the same function faster and is what :class:`PPO` uses.
    """

    def __init__(self, n_obs: int, n_actions: int, hidden: list[int], activation: str = "tanh") -> None:
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ParameterError("activation", f"{activation!r} is not valid; valid: tanh, relu")
        self.policy = mlp([n_obs, *hidden, n_actions], ACTIVATIONS[activation], out_gain=0.01)
        self.value_net = mlp([n_obs, *hidden, 1], ACTIVATIONS[activation], out_gain=1.0)

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(logits, value)`` for a batch of observations: ``(N, actions)`` and ``(N,)``."""
        return self.policy(obs), self.value_net(obs)[:, 0]

    def value(self, obs: torch.Tensor) -> torch.Tensor:
        return self.value_net(obs)[:, 0]


class StackedActorCritic(nn.Module):
    r""":class:`ActorCritic` computed side by side: the fast layout of the same two networks.

    Layer ``k`` of both networks is one batched product, ``torch.baddbmm`` over a stack of the two weight
    matrices ``(2, in, out)``, so a forward pass is 5 kernels instead of 12 (the value network's output
    layer is padded to the policy's width with zero columns; only its first column is read, the others
    get no gradient). :meth:`load_networks` copies an :class:`ActorCritic`'s weights in, so the two are
    tested equal (``tests/test_rl.py``).
    """

    def __init__(self, n_obs: int, n_actions: int, hidden: list[int], activation: str = "tanh") -> None:
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ParameterError("activation", f"{activation!r} is not valid; valid: tanh, relu")
        self.activation = torch.tanh if activation == "tanh" else torch.relu
        sizes = [n_obs, *hidden, n_actions]
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for i in range(len(sizes) - 1):
            w = torch.empty(2, sizes[i], sizes[i + 1])
            last = i == len(sizes) - 2
            for member, gain in enumerate((0.01, 1.0) if last else (math.sqrt(2), math.sqrt(2))):
                nn.init.orthogonal_(w[member].T, gain)  # (out, in) orthogonal, as nn.Linear's weight
            if last:
                w[1, :, 1:] = 0.0  # the value network has one output
            self.weights.append(nn.Parameter(w))
            self.biases.append(nn.Parameter(torch.zeros(2, 1, sizes[i + 1])))

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(logits, value)`` for a batch of observations."""
        h = obs.flatten(1).unsqueeze(0).expand(2, -1, -1)  # (2, N, in)
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            h = torch.baddbmm(b, h, w)  # (2, N, out): both networks' layer i at once
            if i < last:
                h = self.activation(h)
        return h[0], h[1, :, 0]

    def value(self, obs: torch.Tensor) -> torch.Tensor:
        return self(obs)[1]

    @torch.no_grad()
    def load_networks(self, reference: ActorCritic) -> None:
        """Take the weights of ``reference``'s two networks (of the same sizes)."""
        policy = [m for m in reference.policy if isinstance(m, nn.Linear)]
        value = [m for m in reference.value_net if isinstance(m, nn.Linear)]
        for w, b, p, v in zip(self.weights, self.biases, policy, value, strict=True):
            w.zero_()
            b.zero_()
            w[0].copy_(p.weight.T)
            b[0, 0].copy_(p.bias)
            w[1, :, : v.out_features].copy_(v.weight.T)
            b[1, 0, : v.out_features].copy_(v.bias)


ACTOR_CRITIC = StackedActorCritic  # PPO's networks: the stacked layout (ActorCritic is the reference)


def sample(logits: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Actions drawn from softmax(logits) by inverting the CDF, and their log-probabilities."""
    log_probs = logits.log_softmax(-1)
    u = torch.rand(logits.shape[0], 1, generator=generator, device=logits.device)
    cdf = log_probs.exp().cumsum(-1)
    actions = (cdf < u).sum(-1).clamp_max(logits.shape[-1] - 1)
    return actions, log_probs.gather(1, actions.unsqueeze(1)).squeeze(1)


def gae(rewards: torch.Tensor, values: torch.Tensor, starts: torch.Tensor, next_value: torch.Tensor,
        next_start: torch.Tensor, gamma: float, lam: float) -> torch.Tensor:  # fmt: skip
    """Generalized advantage estimates of a rollout, ``(T, n)`` like its inputs.

    ``starts[t]`` is 1 where the observation of step ``t`` began a new episode; ``next_value`` and
    ``next_start`` describe the observation after the rollout's last step. Backwards in time:
    ``delta_t = r_t + gamma (1 - starts[t+1]) V(s_{t+1}) - V(s_t)`` and
    ``A_t = delta_t + gamma lambda (1 - starts[t+1]) A_{t+1}``.
    """
    steps = rewards.shape[0]
    advantages = torch.zeros_like(rewards)
    running = torch.zeros_like(next_value)
    for t in reversed(range(steps)):
        not_done = 1.0 - (next_start if t == steps - 1 else starts[t + 1])
        value_next = next_value if t == steps - 1 else values[t + 1]
        delta = rewards[t] + gamma * not_done * value_next - values[t]
        running = delta + gamma * lam * not_done * running
        advantages[t] = running
    return advantages


class PPO(VectorEnvs):
    """A PPO agent on ``n_envs`` copies of one environment; ``act`` is the most likely action."""

    algo = "ppo"

    def __init__(self, cfg: PPOConfig, env_id: str, seed: int = 0, device: str = "cpu", **env_kwargs: Any) -> None:
        self.cfg, self.env_id, self.seed, self.env_kwargs = cfg, env_id, seed, env_kwargs
        self.device = torch.device(device)
        probe = make_env(env_id, **env_kwargs)  # the spaces; the copies are made when learning starts
        self.observation_space, n_actions = probe.observation_space, int(probe.action_space.n)  # type: ignore[attr-defined]
        probe.close()
        self._envs: gym.vector.VectorEnv | None = None
        torch.manual_seed(seed)
        n_obs = observation_size(self.observation_space)
        self.net = ACTOR_CRITIC(n_obs, n_actions, hidden_sizes(cfg.hidden), cfg.activation).to(self.device)
        self.flat = flat_parameters(self.net)  # both networks' weights as one tensor
        self.optimizer = optimizer_by_name(cfg.optimizer, [self.flat], cfg.lr)
        if cfg.optimizer == "adam":
            self.optimizer.param_groups[0]["eps"] = 1e-5  # the PPO implementations' Adam epsilon
        self.generator = torch.Generator().manual_seed(seed)
        self.steps = self.updates = self.resets = 0
        self.episodes = Episodes(cfg.n_envs)

    @torch.no_grad()
    def act(self, obs: np.ndarray) -> np.ndarray:
        return self.net(as_tensor(obs, self.device))[0].argmax(1).cpu().numpy()

    def learn(self, total_steps: int, log: Log | None = None, callback: Callback | None = None) -> None:
        cfg, log, dev = self.cfg, log or (lambda step, scalars: None), self.device
        n, t_max = cfg.n_envs, cfg.n_steps
        obs_shape = self.observation_space.shape or ()
        obs_buf = torch.zeros((t_max, n, *obs_shape), device=dev)
        act_buf = torch.zeros((t_max, n), dtype=torch.long, device=dev)
        logp_buf, rew_buf, done_buf, val_buf = (torch.zeros((t_max, n), device=dev) for _ in range(4))
        seeds = [self.seed + 7919 * self.resets + i for i in range(n)]  # a resumed run starts new episodes
        obs = as_tensor(self.envs.reset(seed=seeds)[0], dev)  # type: ignore[arg-type]  # a list is accepted
        self.resets += 1
        done = torch.zeros(n, device=dev)
        started, start_step = time.perf_counter(), self.steps
        while self.steps < total_steps:
            frac = 1.0 - self.steps / total_steps if cfg.anneal else 1.0
            for group in self.optimizer.param_groups:
                group["lr"] = cfg.lr * frac
            clip = cfg.clip * frac

            # rollout with pi_theta_old
            for t in range(t_max):
                with torch.no_grad():
                    logits, values = self.net(obs)
                    actions, log_probs = sample(logits, self.generator)
                obs_buf[t], act_buf[t], logp_buf[t], val_buf[t], done_buf[t] = obs, actions, log_probs, values, done
                next_obs, rewards, terminated, truncated, infos = self.envs.step(actions.cpu().numpy())
                rewards = rewards.astype(np.float32)
                for i in np.flatnonzero(truncated & ~terminated):  # a time limit: bootstrap from s_T
                    with torch.no_grad():
                        final = as_tensor(infos["final_obs"][i], dev).unsqueeze(0)
                        rewards[i] += cfg.gamma * float(self.net.value(final)[0])
                rew_buf[t] = torch.from_numpy(rewards)
                finished = terminated | truncated
                self.steps += n
                for episode in self.episodes.add(rewards, finished, infos):
                    log(self.steps, episode)
                obs, done = as_tensor(next_obs, dev), torch.from_numpy(finished.astype(np.float32)).to(dev)
                if callback is not None and callback(self.steps):
                    return

            with torch.no_grad():
                next_value = self.net.value(obs)
            advantages = gae(rew_buf, val_buf, done_buf, next_value, done, cfg.gamma, cfg.gae_lambda)
            returns = advantages + val_buf

            stats = self.update(obs_buf.flatten(0, 1), act_buf.flatten(), logp_buf.flatten(),
                                advantages.flatten(), returns.flatten(), clip)  # fmt: skip
            sps = (self.steps - start_step) / (time.perf_counter() - started)
            log(self.steps, stats | {"charts/learning_rate": cfg.lr * frac, "charts/SPS": sps})

    def update(self, obs: torch.Tensor, actions: torch.Tensor, old_logp: torch.Tensor, advantages: torch.Tensor,
               returns: torch.Tensor, clip: float) -> dict[str, float]:  # fmt: skip
        """``epochs`` passes of minibatch steps on the clipped surrogate objective."""
        cfg, size = self.cfg, len(actions)
        batch = min(cfg.batch_size, size)
        for _ in range(cfg.epochs):
            order = torch.randperm(size, generator=self.generator).to(actions.device)
            for start in range(0, size - batch + 1, batch):
                mb = order[start : start + batch]
                logits, values = self.net(obs[mb])
                log_probs_all = logits.log_softmax(-1)
                log_probs = log_probs_all.gather(1, actions[mb].unsqueeze(1)).squeeze(1)
                entropy = -(log_probs_all.exp() * log_probs_all).sum(-1).mean()
                adv = advantages[mb]
                adv = (adv - adv.mean()) / (adv.std() + 1e-8) if batch > 1 else adv
                ratio = (log_probs - old_logp[mb]).exp()  # rho_t
                policy_loss = -torch.min(ratio * adv, ratio.clamp(1 - clip, 1 + clip) * adv).mean()
                value_loss = (values - returns[mb]).pow(2).mean()
                loss = policy_loss + cfg.vf_coef * value_loss - cfg.ent_coef * entropy
                self.flat.grad.zero_()  # type: ignore[union-attr]
                loss.backward()
                nn.utils.clip_grad_norm_(self.flat, cfg.max_grad_norm)
                self.optimizer.step()
                self.updates += 1
        with torch.no_grad():
            clipped = ((ratio - 1).abs() > clip).float().mean()
        return {"losses/policy_loss": float(policy_loss.detach()), "losses/value_loss": float(value_loss.detach()),
                "losses/entropy": float(entropy.detach()), "losses/clip_fraction": float(clipped)}  # fmt: skip

    def state_dict(self) -> dict[str, Any]:
        return {"config": dataclasses.asdict(self.cfg), "net": self.net.state_dict(),
                "optimizer": self.optimizer.state_dict(), **counters(self), "generator": self.generator.get_state()}  # fmt: skip

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.net.load_state_dict(state["net"])
        self.optimizer.load_state_dict(state["optimizer"])
        load_counters(self, state)
        self.generator.set_state(state["generator"])

    def policy_state(self) -> dict[str, Any]:
        return {"net": self.net.state_dict()}

    def load_policy_state(self, state: dict[str, Any]) -> None:
        self.net.load_state_dict(state["net"])
