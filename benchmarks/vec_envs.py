"""PPO's environment steps per second with the environments stepped in this process (``--vec sync``,
Gymnasium's SyncVectorEnv) against one worker process each (``--vec async``, AsyncVectorEnv), on
LunarLander-v3 (Box2D physics: a costly step) and CartPole-v1 (a cheap one), the same agent and seeds; each
measured ``--repeats`` times, alternating, median kept. Training included (the whole ``learn`` loop); starting
the worker processes is not.

    python benchmarks/vec_envs.py [--envs LunarLander-v3 CartPole-v1] [--n-envs 16] [--steps 8192] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import time

import torch

from descentlab.rl import agent_config, make_agent


def steps_per_second(env_id: str, vec: str, n_envs: int, steps: int) -> float:
    cfg = agent_config("ppo", env_id, n_envs=n_envs, n_steps=64, vec=vec)
    agent = make_agent("ppo", env_id, 0, "cpu", cfg)
    agent.envs  # noqa: B018 - the copies (and an async vector's worker processes) are made before the clock starts
    started = time.perf_counter()
    agent.learn(steps)
    seconds = time.perf_counter() - started
    agent.close()
    return agent.steps / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--envs", nargs="+", default=["LunarLander-v3", "CartPole-v1"])
    parser.add_argument("--n-envs", type=int, default=16)
    parser.add_argument("--steps", type=int, default=8192)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"PPO, {args.n_envs} environments, {args.steps} steps, {os.cpu_count()} cores, median of {args.repeats}")
    print(f"{'environment':<16} {'sync steps/s':>13} {'async steps/s':>14} {'async/sync':>11}")
    for env_id in args.envs:
        runs: dict[str, list[float]] = {"sync": [], "async": []}
        for _ in range(args.repeats):
            for vec in runs:
                runs[vec].append(steps_per_second(env_id, vec, args.n_envs, args.steps))
        med = {k: sorted(v)[len(v) // 2] for k, v in runs.items()}
        print(f"{env_id:<16} {med['sync']:>13,.0f} {med['async']:>14,.0f} {med['async'] / med['sync']:>11.2f}")


if __name__ == "__main__":
    main()
