r"""Deep Q-Network (Mnih et al. 2015), with Double DQN as an option (van Hasselt et al. 2016).

The agent learns :math:`Q_\theta(s, a)`, the expected discounted return of taking action ``a`` in state
``s`` and acting greedily after. Each environment step it acts epsilon-greedily (a random action with
probability :math:`\epsilon`, annealed linearly), stores the transition :math:`(s, a, r, s', d)` in a
replay buffer, and every ``train_freq`` steps takes ``gradient_steps`` steps of the chosen optimizer
on minibatches drawn uniformly from the buffer, minimizing the Huber loss of the temporal-difference
error against a *target network* :math:`\theta^-`:

.. math::
    y = r + \gamma (1 - d) \, Q_{\theta^-}(s', \arg\max_{a'} Q_{\theta^\star}(s', a')), \qquad
    L(\theta) = \operatorname{Huber}(Q_\theta(s, a) - y)

with :math:`\theta^\star = \theta^-` for DQN (so the target is :math:`\max_{a'} Q_{\theta^-}(s', a')`)
and :math:`\theta^\star = \theta` for Double DQN, which picks the action with the online network and
values it with the target network, curbing DQN's overestimation. ``d`` is 1 only when the episode
*terminated*; an episode cut off by a time limit still bootstraps from :math:`s'`. Every
``target_update`` environment steps the target network moves to :math:`\tau\theta + (1-\tau)\theta^-`
(``tau=1``: the paper's hard copy; ``tau<1``: Polyak averaging).

With ``n_envs`` > 1 the agent steps ``n_envs`` copies of the environment together (``gymnasium.vector``, in
this process or each in a worker process: ``vec``), as CleanRL's and Stable-Baselines3's DQN do: each step adds
``n_envs`` transitions, and ``train_freq``, ``target_update`` and the budget count the copies' steps together.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F

from descentlab.config import Options, param
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
    linear,
    load_counters,
    make_env,
    mlp,
    observation_size,
)


@dataclass(frozen=True)
class DQNConfig(Options):
    """DQN's hyperparameters; the defaults are rl-baselines3-zoo's for CartPole-v1 (``PRESETS`` adjusts them
    per environment, CartPole's included)."""

    lr: float = param(2.3e-3, "learning rate", low=0.0, low_open=True, high=10.0)
    gamma: float = param(0.99, "discount factor", low=0.0, high=1.0)
    hidden: str = param("256,256", "hidden layer widths, e.g. 64,64")
    optimizer: str = param("adam", "a descentlab.optim optimizer", choices=OPTIMIZERS)
    buffer_size: int = param(100_000, "replay buffer capacity", low=1, high=10**8)
    batch_size: int = param(64, "minibatch size", low=1, high=10**6)
    learning_starts: int = param(1000, "random actions, no updates, for the first steps", low=0, high=10**10)
    train_freq: int = param(256, "environment steps between training phases", low=1, high=10**9)
    gradient_steps: int = param(128, "optimizer steps per training phase, -1: as many as steps", low=-1, high=10**6)
    target_update: int = param(10, "environment steps between target-network updates", low=1, high=10**10)
    tau: float = param(1.0, "target update: 1 hard copy, < 1 Polyak averaging", low=0.0, low_open=True, high=1.0)
    eps_start: float = param(1.0, "initial epsilon of epsilon-greedy exploration", low=0.0, high=1.0)
    eps_end: float = param(0.04, "final epsilon", low=0.0, high=1.0)
    eps_fraction: float = param(0.16, "fraction of the run over which epsilon falls", low=0.0, high=1.0)
    double: bool = param(False, "Double DQN: the online network picks the next action, the target values it")
    max_grad_norm: float = param(10.0, "clip the gradients' global norm to this", low=0.0, low_open=True, high=1e6)
    n_envs: int = param(1, "parallel environments", low=1, high=256)
    vec: str = param("sync", "sync: the environments step in this process; async: each in a worker process "
                     "(Gymnasium's AsyncVectorEnv); the same steps either way", choices=VECTORIZATIONS)  # fmt: skip

    def __post_init__(self) -> None:
        super().__post_init__()
        hidden_sizes(self.hidden)


_ZOO_CLASSIC: dict[str, Any] = dict(lr=6.3e-4, batch_size=128, buffer_size=50_000, learning_starts=0, target_update=250,
                                    train_freq=4, gradient_steps=-1, eps_fraction=0.12, eps_end=0.1)  # fmt: skip

#: rl-baselines3-zoo's DQN hyperparameters for the other environments (the defaults are CartPole's).
PRESETS: dict[str, dict[str, Any]] = {
    # descentlab's CartPole preset: zoo's, with half the updates on twice the batch, a 128-unit network and
    # Double DQN. Over 5 seeds (benchmarks/results/h200-cpu-2026-11-26/cartpole_sweep.txt) it solved in
    # a median of 18k steps against zoo's 32k, at a fifth of the time.
    "CartPole-v1": dict(hidden="128,128", gradient_steps=64, batch_size=128, double=True),
    "Acrobot-v1": _ZOO_CLASSIC,
    "LunarLander-v3": _ZOO_CLASSIC,
    "MountainCar-v0": dict(
        lr=4e-3,
        batch_size=128,
        buffer_size=10_000,
        learning_starts=1000,
        gamma=0.98,
        target_update=600,
        train_freq=16,
        gradient_steps=8,
        eps_fraction=0.2,
        eps_end=0.07,
    ),
    "descentlab/GridRoute-v0": dict(
        lr=1e-3,
        batch_size=128,
        buffer_size=100_000,
        learning_starts=1000,
        train_freq=4,  # a sweep of 12 variants (benchmarks/rl.py): 97.6% at 100k steps; train_freq=1 was at 78% after 55k
        gradient_steps=1,
        target_update=500,
        eps_fraction=0.5,  # of the 200k-step budget: epsilon reaches 0.02 at 100k, as in the sweep
        eps_end=0.02,
        double=True,
        gamma=0.97,
    ),
}  # fmt: skip  (gradient_steps=-1: as many as environment steps since the last phase, as in SB3)


class ReplayBuffer:
    """The last ``capacity`` transitions in preallocated tensors; ``sample`` draws uniformly."""

    def __init__(self, capacity: int, obs_shape: tuple[int, ...], device: torch.device) -> None:
        self.capacity, self.obs_shape, self.device = capacity, obs_shape, device
        self.size = self.pos = 0
        self._allocated = False

    def _allocate(self) -> None:  # on first use: an agent loaded only to act needs no buffer
        shape, dev = (self.capacity, *self.obs_shape), self.device
        self.obs, self.next_obs = torch.zeros(shape, device=dev), torch.zeros(shape, device=dev)
        self.actions = torch.zeros(self.capacity, dtype=torch.long, device=dev)
        self.rewards = torch.zeros(self.capacity, device=dev)
        self.terminated = torch.zeros(self.capacity, device=dev)
        self._allocated = True

    def add(self, obs: np.ndarray, action: int, reward: float, next_obs: np.ndarray, terminated: bool) -> None:
        if not self._allocated:
            self._allocate()
        i = self.pos
        self.obs[i] = torch.from_numpy(np.asarray(obs, dtype=np.float32))
        self.next_obs[i] = torch.from_numpy(np.asarray(next_obs, dtype=np.float32))
        self.actions[i], self.rewards[i], self.terminated[i] = action, reward, float(terminated)
        self.pos, self.size = (i + 1) % self.capacity, min(self.size + 1, self.capacity)

    def state_dict(self) -> dict[str, Any]:
        n = self.size
        if not self._allocated:
            self._allocate()
        return {"obs": self.obs[:n].clone(), "next_obs": self.next_obs[:n].clone(), "actions": self.actions[:n].clone(),
                "rewards": self.rewards[:n].clone(), "terminated": self.terminated[:n].clone(), "pos": self.pos}  # fmt: skip

    def load_state_dict(self, state: dict[str, Any]) -> None:
        n = len(state["actions"])
        if not self._allocated:
            self._allocate()
        for key in ("obs", "next_obs", "actions", "rewards", "terminated"):
            getattr(self, key)[:n] = state[key]
        self.size, self.pos = n, int(state["pos"])


class DQN(VectorEnvs):
    """A DQN agent on ``n_envs`` copies of one environment; ``learn`` trains it, ``act`` is its greedy policy."""

    algo = "dqn"

    def __init__(self, cfg: DQNConfig, env_id: str, seed: int = 0, device: str = "cpu", **env_kwargs: Any) -> None:
        self.cfg, self.env_id, self.seed, self.env_kwargs = cfg, env_id, seed, env_kwargs
        self.device = torch.device(device)
        probe = make_env(env_id, **env_kwargs)  # the spaces; the copies are made when learning starts
        self.observation_space, self.n_actions = probe.observation_space, int(probe.action_space.n)  # type: ignore[attr-defined]
        probe.close()
        self._envs: gym.vector.VectorEnv | None = None
        torch.manual_seed(seed)
        sizes = [observation_size(self.observation_space), *hidden_sizes(cfg.hidden), self.n_actions]
        self.q = mlp(sizes).to(self.device)  # Q_theta
        self.q_target = mlp(sizes).to(self.device)  # Q_theta^-
        self.q_target.load_state_dict(self.q.state_dict())
        self.flat = flat_parameters(self.q)  # theta as one tensor: one optimizer kernel per operation
        self.optimizer = optimizer_by_name(cfg.optimizer, [self.flat], cfg.lr)
        self.buffer = ReplayBuffer(cfg.buffer_size, tuple(self.observation_space.shape or ()), self.device)
        self.rng = np.random.default_rng(seed)  # exploration
        self.generator = torch.Generator().manual_seed(seed)  # minibatches
        self.steps = self.updates = 0
        self.episodes = Episodes(cfg.n_envs)
        self.resets = 0

    @torch.no_grad()
    def act(self, obs: np.ndarray) -> np.ndarray:
        """Greedy actions, argmax_a Q(s, a), for a batch of observations."""
        return self.q(as_tensor(obs, self.device)).argmax(1).cpu().numpy()

    def explore(self, obs: np.ndarray, epsilon: float) -> np.ndarray:
        """Epsilon-greedy actions for the copies' observations ``(n_envs, ...)``: each copy's action is random
        with probability ``epsilon`` (always before ``learning_starts``), else greedy, in one forward pass."""
        n, random_only = len(obs), self.steps < self.cfg.learning_starts
        actions = np.zeros(n, dtype=np.int64)
        greedy = np.zeros(n, dtype=bool)
        for i in range(n):
            if random_only or self.rng.random() < epsilon:
                actions[i] = self.rng.integers(self.n_actions)
            else:
                greedy[i] = True
        if greedy.any():
            actions[greedy] = self.act(obs[greedy])
        return actions

    def learn(self, total_steps: int, log: Log | None = None, callback: Callback | None = None) -> None:
        cfg, log, n = self.cfg, log or (lambda step, scalars: None), self.cfg.n_envs
        epsilon = linear(cfg.eps_start, cfg.eps_end, cfg.eps_fraction, total_steps)
        seeds = [self.seed + 7919 * self.resets + i for i in range(n)]  # a resumed run starts new episodes
        obs, _ = self.envs.reset(seed=seeds)  # type: ignore[arg-type]  # a list is accepted
        self.resets += 1
        started, start_step, since_train = time.perf_counter(), self.steps, 0

        def crossed(every: int) -> bool:  # whether the copies' last steps passed a multiple of ``every``
            return self.steps // every > (self.steps - n) // every

        while self.steps < total_steps:
            actions = self.explore(obs, epsilon(self.steps))
            next_obs, rewards, terminated, truncated, infos = self.envs.step(actions)
            done = terminated | truncated
            for i in range(n):  # a finished copy restarted in this step: its last observation is in infos
                last = infos["final_obs"][i] if done[i] else next_obs[i]
                self.buffer.add(obs[i], int(actions[i]), float(rewards[i]), last, bool(terminated[i]))
            self.steps += n
            since_train += n
            for episode in self.episodes.add(rewards, done, infos):
                log(self.steps, episode | {"charts/epsilon": epsilon(self.steps)})
            obs = next_obs

            # learn: a training phase every train_freq steps
            if self.steps >= cfg.learning_starts and crossed(cfg.train_freq):
                loss, q_mean = self.train(cfg.gradient_steps if cfg.gradient_steps > 0 else since_train)
                since_train = 0
                if self.steps % max(cfg.train_freq, 100) < max(cfg.train_freq, n):  # about every 100 steps
                    sps = (self.steps - start_step) / (time.perf_counter() - started)
                    log(self.steps, {"losses/td_loss": loss, "losses/q_values": q_mean, "charts/SPS": sps})
            if crossed(cfg.target_update):
                self.update_target()
            if callback is not None and callback(self.steps):
                return

    def train(self, gradient_steps: int) -> tuple[float, float]:
        """``gradient_steps`` optimizer steps on the TD error; returns the last loss and mean Q.

        No environment step, and so no target update, happens inside a training phase: the target
        network is the same for all its minibatches, so their target values ``Q_target(s', .)`` come from
        one batched forward pass first (the same numbers as one pass per minibatch, fewer calls). Double
        DQN's ``argmax`` follows the online network as it changes: each step runs the online network once
        on ``s`` and ``s'`` stacked, and only the ``s`` half carries a gradient.
        """
        cfg, buf = self.cfg, self.buffer
        idx = torch.randint(0, buf.size, (gradient_steps, cfg.batch_size), generator=self.generator).to(buf.obs.device)
        obs, actions = buf.obs[idx], buf.actions[idx].unsqueeze(-1)  # every minibatch, gathered at once
        next_obs, rewards, not_done = buf.next_obs[idx], buf.rewards[idx], 1.0 - buf.terminated[idx]
        with torch.no_grad():
            q_next = self.q_target(next_obs.flatten(0, 1)).view(*idx.shape, -1)  # Q_target(s', .)
            if not cfg.double:
                y_all = rewards + cfg.gamma * not_done * q_next.max(-1).values  # r + gamma (1 - d) max_a' Q_target
        batch = cfg.batch_size
        for k in range(gradient_steps):
            if cfg.double:  # a' = argmax Q(s', .) with the online network, valued by the target network
                q_both = self.q(torch.cat([obs[k], next_obs[k]]))
                q_all, best = q_both[:batch], q_both[batch:].detach().argmax(1, keepdim=True)
                y = rewards[k] + cfg.gamma * not_done[k] * q_next[k].gather(1, best).squeeze(1)
            else:
                q_all, y = self.q(obs[k]), y_all[k]
            q_sa = q_all.gather(1, actions[k]).squeeze(1)
            loss = F.smooth_l1_loss(q_sa, y)  # Huber
            self.flat.grad.zero_()  # type: ignore[union-attr]
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.flat, cfg.max_grad_norm)
            self.optimizer.step()
            self.updates += 1
        return float(loss.detach()), float(q_sa.detach().mean())

    @torch.no_grad()
    def update_target(self) -> None:
        if self.cfg.tau >= 1.0:
            self.q_target.load_state_dict(self.q.state_dict())
        else:
            for target, online in zip(self.q_target.parameters(), self.q.parameters(), strict=True):
                target.lerp_(online, self.cfg.tau)  # theta^- <- tau theta + (1 - tau) theta^-

    def state_dict(self) -> dict[str, Any]:
        return {
            "config": dataclasses.asdict(self.cfg), "q": self.q.state_dict(), "q_target": self.q_target.state_dict(),
            "optimizer": self.optimizer.state_dict(), "buffer": self.buffer.state_dict(), **counters(self),
            "rng": self.rng.bit_generator.state, "generator": self.generator.get_state(),
        }  # fmt: skip

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.q.load_state_dict(state["q"])
        self.q_target.load_state_dict(state["q_target"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.buffer.load_state_dict(state["buffer"])
        load_counters(self, state)
        self.rng.bit_generator.state = state["rng"]
        self.generator.set_state(state["generator"])

    def policy_state(self) -> dict[str, Any]:
        """What ``act`` needs: the Q-network's weights."""
        return {"q": self.q.state_dict()}

    def load_policy_state(self, state: dict[str, Any]) -> None:
        self.q.load_state_dict(state["q"])
