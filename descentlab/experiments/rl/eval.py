"""``descentlab rl eval RUN``: a trained agent's greedy return (and on GridRoute its effectiveness) over episodes."""

from __future__ import annotations

import json
from dataclasses import dataclass

from descentlab.config import Options, param
from descentlab.experiments.declaration import Call, Command
from descentlab.experiments.rl.common import AGENT_CHOICE, load_agent
from descentlab.rl import evaluate


@dataclass(frozen=True)
class EvalOptions(Options):
    run_dir: str = param("", "a descentlab rl train run folder", positional=True, metavar="RUN_DIR")
    agent: str = AGENT_CHOICE
    episodes: int = param(100, "episodes", low=1, high=1_000_000)
    seed: int = param(20_000, "seed of the first episode", low=0, high=2**31 - 1)
    json: bool = param(False, "print one JSON object")


def run_eval(call: Call) -> int:
    opts: EvalOptions = call.options
    agent, cfg = load_agent(opts.run_dir, opts.agent)
    result = evaluate(agent.act, cfg.env, opts.episodes, seed=opts.seed, **cfg.env_kwargs())
    out = {"run": str(opts.run_dir), "agent": opts.agent, "env": cfg.env, "algo": cfg.algo, "episodes": result["episodes"],
           "mean_return": result["mean_return"], "std_return": result["std_return"]}  # fmt: skip
    if "mean_effectiveness" in result:
        out["mean_effectiveness"] = result["mean_effectiveness"]
    if opts.json:
        print(json.dumps(out))
    else:
        text = (f"{cfg.algo} on {cfg.env} ({opts.agent} agent), {out['episodes']} greedy episodes: "
                f"return {out['mean_return']:.2f} +- {out['std_return']:.2f}")  # fmt: skip
        if "mean_effectiveness" in out:
            text += f", effectiveness {100 * out['mean_effectiveness']:.1f}%"
        print(text)
    return 0


RL_EVAL = Command(
    command="rl eval",
    help="greedy evaluation of a trained agent",
    description="Run the trained agent's greedy policy for --episodes episodes (20 at a time).",
    examples=("descentlab rl eval runs/rl-train/cartpole-ppo__0__20261126-120000 --episodes 100 --json",),
    run=run_eval,
    options=EvalOptions,
)
