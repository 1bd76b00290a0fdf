"""Time to solve CartPole-v1: descentlab's DQN and PPO against Stable-Baselines3's, same process, same machine.

For each algorithm and seed, each library trains from scratch; every ``--eval-every`` environment steps
the clock stops and a greedy evaluation over 20 episodes runs (the same evaluator and episode seeds for
both libraries). The first time its mean reaches 475, a 100-episode greedy evaluation confirms it; the
run is *solved* when that also reaches 475, and its time to solve is the training wall-clock up to
then, evaluations excluded. SB3 runs with rl-baselines3-zoo's hyperparameters for CartPole-v1 (DQN
5e4 steps, PPO 8 environments and 1e5 steps); descentlab runs twice, with its own CartPole preset
(``ours``; for PPO the same as zoo's) and with exactly zoo's (``ours-zoo``).
Target: solved in at least 4 of 5 seeds, and time to solve at most half of SB3's.

Stable-Baselines3 is never a dependency of descentlab: set up its environment with
``bash benchmarks/setup_bench_env.sh`` and run ``.venv-bench/bin/python benchmarks/rl.py``.

    python benchmarks/rl.py [--algos dqn,ppo] [--seeds 0,1,2,3,4] [--libs ours,sb3] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import torch

from descentlab.rl import ALGORITHMS, evaluate, make_agent

ENV = "CartPole-v1"
SOLVED = 475.0
BUDGET = {"dqn": 50_000, "ppo": 100_000}

# rl-baselines3-zoo, hyperparams/dqn.yml and ppo.yml, CartPole-v1
ZOO: dict[str, dict[str, Any]] = {
    "dqn": dict(learning_rate=2.3e-3, batch_size=64, buffer_size=100_000, learning_starts=1000, gamma=0.99,
                target_update_interval=10, train_freq=256, gradient_steps=128, exploration_fraction=0.16,
                exploration_final_eps=0.04, policy_kwargs=dict(net_arch=[256, 256])),
    "ppo": dict(n_steps=32, batch_size=256, gae_lambda=0.8, gamma=0.98, n_epochs=20, ent_coef=0.0,
                learning_rate=lambda progress: 1e-3 * progress, clip_range=lambda progress: 0.2 * progress),  # lin_
}  # fmt: skip


class Clock:
    """Training time with evaluations taken out, and the solve check every ``every`` steps."""

    def __init__(self, act: Callable[[Any], Any], every: int, episodes: int) -> None:
        self.act, self.every, self.episodes = act, every, episodes
        self.started = time.perf_counter()
        self.paused = 0.0
        self.next_check = every
        self.result: dict[str, Any] | None = None
        self.evals = 0

    def check(self, steps: int) -> bool:
        """Called after each environment step; True when solved (stop training)."""
        if steps < self.next_check:
            return False
        self.next_check = (steps // self.every + 1) * self.every
        pause = time.perf_counter()
        train_seconds = pause - self.started - self.paused
        self.evals += 1
        mean = evaluate(self.act, ENV, self.episodes, seed=10_000)["mean_return"]
        solved = False
        if mean >= SOLVED:
            confirm = evaluate(self.act, ENV, 100, seed=20_000)["mean_return"]
            if confirm >= SOLVED:
                self.result = {"steps": steps, "seconds": train_seconds, "eval20": mean, "eval100": confirm}
                solved = True
        self.paused += time.perf_counter() - pause
        return solved


def run_ours(algo: str, seed: int, every: int, episodes: int, zoo: bool = False) -> dict[str, Any]:
    """descentlab's agent with its preset for CartPole, or with ``zoo=True`` exactly zoo's hyperparameters."""
    config = ALGORITHMS[algo][1]() if zoo else None  # the config classes' defaults are zoo's for CartPole
    agent = make_agent(algo, ENV, seed=seed, config=config)
    clock = Clock(agent.act, every, episodes)
    agent.learn(BUDGET[algo], callback=clock.check)
    return clock.result or {"steps": None, "seconds": time.perf_counter() - clock.started - clock.paused}


def run_sb3(algo: str, seed: int, every: int, episodes: int) -> dict[str, Any]:
    import stable_baselines3 as sb3
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env

    if algo == "dqn":
        model: Any = sb3.DQN("MlpPolicy", ENV, seed=seed, device="cpu", **ZOO["dqn"])
    else:
        model = sb3.PPO("MlpPolicy", make_vec_env(ENV, n_envs=8, seed=seed), seed=seed, device="cpu", **ZOO["ppo"])
    clock = Clock(lambda obs: model.predict(obs, deterministic=True)[0], every, episodes)

    class Check(BaseCallback):
        def _on_step(self) -> bool:
            return not clock.check(self.model.num_timesteps)

    clock.started = time.perf_counter()  # model construction is not training
    model.learn(BUDGET[algo], callback=Check())
    return clock.result or {"steps": None, "seconds": time.perf_counter() - clock.started - clock.paused}


def _cell(r: dict[str, Any]) -> list[str]:
    if r.get("steps") is None:
        return ["not solved", f"({r['seconds']:.1f})", "-"]
    return [f"{r['steps']:,}", f"{r['seconds']:.2f}", f"{r['eval100']:.1f}"]


def main(algos: list[str], seeds: list[int], libs: list[str], every: int, episodes: int) -> tuple[str, list[dict]]:
    rows, records = [], []
    for algo in algos:
        for seed in seeds:
            result = {}
            for lib in libs:
                if lib == "ours-zoo" and "ours" in result and not ALGORITHMS[algo][2].get(ENV):
                    result[lib] = result["ours"]  # no CartPole preset: descentlab's config is zoo's
                else:
                    run = {"ours": run_ours, "ours-zoo": partial(run_ours, zoo=True), "sb3": run_sb3}[lib]
                    result[lib] = run(algo, seed, every, episodes)
                records.append({"algo": algo, "seed": seed, "lib": lib, **result[lib]})
            row = [algo, str(seed)]
            for lib in libs:
                row += _cell(result[lib])
            for lib in (k for k in libs if k != "sb3"):
                solved = "sb3" in result and result[lib].get("steps") and result["sb3"].get("steps")
                row.append(f"{result[lib]['seconds'] / result['sb3']['seconds']:.2f}" if solved else "-")
            rows.append(row)
            print(" | ".join(row), flush=True)
    header = ["algo", "seed"]
    names = {"ours": "descentlab", "ours-zoo": "descentlab (zoo's)", "sb3": "SB3 2.9.2"}
    for lib in libs:
        header += [f"{names[lib]} steps", f"{names[lib]} s", f"{names[lib]} 100-ep mean"]
    header += [f"ratio {names[lib]} / SB3" for lib in libs if lib != "sb3"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    for algo in algos:
        summary = []
        for lib in libs:
            solved = [r for r in records if r["algo"] == algo and r["lib"] == lib and r.get("steps")]
            med = statistics.median(r["seconds"] for r in solved) if solved else float("nan")
            summary.append(f"{lib}: solved {len(solved)}/{len(seeds)}, median {med:.2f} s")
        lines.append(f"\n{algo}: " + "; ".join(summary))
        med = {lib: statistics.median([r["seconds"] for r in records if r["algo"] == algo and r["lib"] == lib
                                       and r.get("steps")] or [float("nan")]) for lib in libs}  # fmt: skip
        for lib in (k for k in libs if k != "sb3" and "sb3" in libs):
            lines.append(
                f"{algo}: median time to solve, {names[lib]} / SB3: {med[lib] / med['sb3']:.2f} (target <= 0.5)"
            )
    return "\n".join(lines), records


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--algos", default="dqn,ppo", help="comma list of dqn, ppo")
    p.add_argument("--seeds", default="0,1,2,3,4", help="comma list of seeds")
    p.add_argument(
        "--libs",
        default="ours,ours-zoo,sb3",
        help="comma list of ours (descentlab's preset), ours-zoo (zoo's hyperparameters), sb3",
    )
    p.add_argument("--threads", type=int, default=1, help="torch threads for both libraries (default 1)")
    p.add_argument("--eval-every", type=int, default=2000, help="steps between greedy evaluations")
    p.add_argument("--eval-episodes", type=int, default=20, help="episodes per evaluation")
    p.add_argument("--json-out", help="also write every run's record to this JSON file")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    libs = a.libs.split(",")
    if "sb3" in libs:
        try:
            import stable_baselines3
        except ImportError:
            raise SystemExit("stable-baselines3 is not installed here: bash benchmarks/setup_bench_env.sh, then "
                             ".venv-bench/bin/python benchmarks/rl.py") from None  # fmt: skip
        print(f"stable-baselines3 {stable_baselines3.__version__}, torch {torch.__version__}, {a.threads} thread(s)")
    table, recs = main(a.algos.split(","), [int(s) for s in a.seeds.split(",")], libs, a.eval_every, a.eval_episodes)
    print(table)
    if a.json_out:
        with open(a.json_out, "w") as f:
            json.dump(recs, f, indent=1)
