"""Regenerate descentlab/landscape/default_lrs.json: each optimizer's learning rate on each landscape,
found by an Optuna search (TPE, seeded) for the lowest f after STEPS steps from the landscape's
customary start, without noise. Takes about 15 minutes on 2 CPU cores.

    python benchmarks/tune_landscape_lrs.py
"""

from __future__ import annotations

import json
import time
from datetime import date

import optuna
import torch

from descentlab.landscape import LANDSCAPES
from descentlab.landscape.race import LR_FILE, LR_RANGE, RACE_OPTIMIZERS, tune_lr

STEPS, TRIALS, SEED = 500, 30, 0

if __name__ == "__main__":
    started = time.time()
    lrs: dict[str, dict[str, float]] = {}
    for name, ls in LANDSCAPES.items():
        lrs[name] = {opt: tune_lr(ls, opt, STEPS, TRIALS, SEED) for opt in RACE_OPTIMIZERS}
        print(f"{name}: {lrs[name]} ({time.time() - started:.0f} s)", flush=True)
    data = {
        "provenance": (
            f"Optuna {optuna.__version__} TPE search (seed {SEED}, {TRIALS} trials per landscape and optimizer, "
            f"lr log-uniform in [{LR_RANGE[0]:g}, {LR_RANGE[1]:g}]) by benchmarks/tune_landscape_lrs.py on "
            f"{date.today().isoformat()} (torch {torch.__version__}): the rate with the lowest f after {STEPS} steps "
            "from the landscape's customary start, without noise; a diverged run scores +inf. On the saddles, which "
            "are unbounded below, this picks the rate that leaves the saddle fastest."
        ),
        "steps": STEPS,
        "trials": TRIALS,
        "seed": SEED,
        "lr_range": list(LR_RANGE),
        "lrs": lrs,
    }
    LR_FILE.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    print(f"written {LR_FILE} in {time.time() - started:.1f} s")
