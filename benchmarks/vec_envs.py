"""Environment steps per second of PPO and DQN against the number of environment copies N, stepped in this
process (``--vec sync``: Gymnasium's SyncVectorEnv) or each in a worker process (``--vec async``:
AsyncVectorEnv), on LunarLander-v3 (Box2D physics: a costly step) by default. The same agent and seeds either
way; training included (the whole ``learn`` loop), starting the worker processes not. Each measured
``--repeats`` times, sync and async alternating, median kept; ``speed-up`` is the steps per second against the
same agent's one copy in this process.

    python benchmarks/vec_envs.py [--algos ppo dqn] [--envs LunarLander-v3] [--n-envs 1 2 4 8 16]
                                  [--steps 8192] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import time

import torch

from descentlab.rl import agent_config, make_agent

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--algos", nargs="+", default=["ppo", "dqn"], choices=sorted(SETTINGS))
    parser.add_argument("--envs", nargs="+", default=["LunarLander-v3"])
    parser.add_argument("--n-envs", nargs="+", type=int, default=[1, 2, 4, 8, 16])
    parser.add_argument("--steps", type=int, default=8192)
    parser.add_argument("--repeats", type=int, default=3)
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


if __name__ == "__main__":
    main()
