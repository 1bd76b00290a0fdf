"""Environment steps per second of PPO and DQN against the number of environment copies N, stepped in this
process (``--vec sync``: Gymnasium's SyncVectorEnv; one copy: :class:`descentlab.rl.common.OneEnv`) or each in
a worker process (``--vec async``: AsyncVectorEnv), on LunarLander-v3 (Box2D physics: a costly step) by default.
The same agent and seeds either way; training included (the whole ``learn`` loop), starting the worker
processes not. Each measured ``--repeats`` times, sync and async alternating, median kept; ``speed-up`` is the
steps per second against the same agent's one copy in this process.

Then the default path of ``rl train --algo dqn`` (one copy in this process) on CartPole-v1 with its preset:
:class:`OneEnv` against Gymnasium's ``SyncVectorEnv`` of one copy, which it stands in for, alternating.

    python benchmarks/vec_envs.py [--algos ppo dqn (none: only the one-copy table)] [--envs LunarLander-v3] [--n-envs 1 2 4 8 16]
                                  [--steps 8192] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import time

import gymnasium as gym
import numpy as np
import torch

from descentlab.rl import agent_config, make_agent
from descentlab.rl.common import _made

# PPO: rollouts of 64 steps per copy. DQN: the LunarLander preset (an update per environment step) trains far
# more per step than it steps; a phase every 64 steps of 16 updates measures the stepping too
SETTINGS = {"ppo": dict(n_steps=64), "dqn": dict(train_freq=64, gradient_steps=16, learning_starts=256)}


def steps_per_second(algo: str, env_id: str, vec: str, n_envs: int, steps: int) -> float:
    cfg = agent_config(algo, env_id, n_envs=n_envs, vec=vec, **SETTINGS[algo])
    agent = make_agent(algo, env_id, 0, "cpu", cfg)
    agent.envs  # noqa: B018 - the copies (and an async vector's worker processes) are made before the clock starts
    started = time.perf_counter()
    agent.learn(steps)
    seconds = time.perf_counter() - started
    agent.close()
    return agent.steps / seconds


def one_copy_seconds(vector: str, steps: int, seed: int) -> float:
    """Seconds of DQN's CartPole-v1 preset for ``steps`` steps on one copy: ``OneEnv`` (the default) or
    Gymnasium's ``SyncVectorEnv`` (the reference)."""
    agent = make_agent("dqn", "CartPole-v1", seed, "cpu", agent_config("dqn", "CartPole-v1"))
    if vector == "SyncVectorEnv":
        agent._envs = gym.vector.SyncVectorEnv([lambda: _made("CartPole-v1", {})],
                                               autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)  # fmt: skip
    agent.envs  # noqa: B018
    started = time.perf_counter()
    agent.learn(steps)
    seconds = time.perf_counter() - started
    agent.close()
    return seconds


def stepping_microseconds(vector: str, steps: int = 20_000) -> float:
    """Microseconds a step of CartPole-v1 alone (random actions, no agent) through one copy's vector."""
    from descentlab.rl.common import OneEnv

    if vector == "OneEnv":
        envs: gym.vector.VectorEnv = OneEnv(_made("CartPole-v1", {}))
    else:
        envs = gym.vector.SyncVectorEnv(
            [lambda: _made("CartPole-v1", {})], autoreset_mode=gym.vector.AutoresetMode.SAME_STEP
        )
    envs.reset(seed=[0])
    actions = np.random.default_rng(0).integers(2, size=(steps, 1))
    started = time.perf_counter()
    for a in actions:
        envs.step(a)
    seconds = time.perf_counter() - started
    envs.close()
    return seconds / steps * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--algos", nargs="*", default=["ppo", "dqn"], choices=sorted(SETTINGS))  # none: one copy only
    parser.add_argument("--envs", nargs="+", default=["LunarLander-v3"])
    parser.add_argument("--n-envs", nargs="+", type=int, default=[1, 2, 4, 8, 16])
    parser.add_argument("--steps", type=int, default=8192)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--one-copy-steps", type=int, default=5000)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"{args.steps} environment steps, {os.cpu_count()} cores, median of {args.repeats}, 1 torch thread")
    print(f"{'agent':<5} {'environment':<16} {'N':>3} {'sync steps/s':>13} {'async steps/s':>14} {'async/sync':>11} "
          f"{'speed-up sync':>14} {'speed-up async':>15}")  # fmt: skip
    for algo in args.algos:
        for env_id in args.envs:
            base = None
            for n in args.n_envs:
                runs: dict[str, list[float]] = {"sync": [], "async": []}
                for _ in range(args.repeats):
                    for vec in runs:
                        runs[vec].append(steps_per_second(algo, env_id, vec, n, args.steps))
                med = {k: sorted(v)[len(v) // 2] for k, v in runs.items()}
                base = base or med["sync"]
                print(f"{algo:<5} {env_id:<16} {n:>3} {med['sync']:>13,.0f} {med['async']:>14,.0f} "
                      f"{med['async'] / med['sync']:>11.2f} {med['sync'] / base:>14.2f} {med['async'] / base:>15.2f}",
                      flush=True)  # fmt: skip
    times: dict[str, list[float]] = {"OneEnv": [], "SyncVectorEnv": []}
    stepping: dict[str, list[float]] = {"OneEnv": [], "SyncVectorEnv": []}
    for seed in range(max(5, args.repeats)):
        for vector in times:
            times[vector].append(one_copy_seconds(vector, args.one_copy_steps, seed))
            stepping[vector].append(stepping_microseconds(vector))
    med = {k: sorted(v)[len(v) // 2] for k, v in times.items()}
    print(f"\nDQN, CartPole-v1 preset, one copy, {args.one_copy_steps} steps, median of {len(times['OneEnv'])} seeds")
    print(f"{'OneEnv s':>9} {'SyncVectorEnv s':>16} {'OneEnv/Sync':>12}")
    print(f"{med['OneEnv']:>9.3f} {med['SyncVectorEnv']:>16.3f} {med['OneEnv'] / med['SyncVectorEnv']:>12.2f}")
    us = {k: sorted(v)[len(v) // 2] for k, v in stepping.items()}
    print(
        f"CartPole-v1 alone, 20,000 random steps: OneEnv {us['OneEnv']:.1f} us a step, SyncVectorEnv "
        f"{us['SyncVectorEnv']:.1f} ({us['OneEnv'] / us['SyncVectorEnv']:.2f})"
    )


if __name__ == "__main__":
    main()
