import json
import sys
import time

import torch

sys.path.insert(0, "benchmarks")
sys.path.insert(0, ".")
torch.set_num_threads(1)
import rl as B  # noqa: E402

from descentlab.rl import agent_config, make_agent  # noqa: E402

algo = sys.argv[1]
over = json.loads(sys.argv[2])
seeds = [int(s) for s in sys.argv[3].split(",")]
for seed in seeds:
    cfg = agent_config(algo, "CartPole-v1", **over)
    agent = make_agent(algo, "CartPole-v1", seed=seed, config=cfg)
    clock = B.Clock(agent.act, 2000, 20)
    agent.learn(B.BUDGET[algo], callback=clock.check)
    r = clock.result or {"steps": None, "seconds": time.perf_counter() - clock.started - clock.paused}
    print(algo, over, seed, r, flush=True)
