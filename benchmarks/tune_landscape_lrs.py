"""Regenerate descentlab/landscape/default_lrs.json: a grid search of each optimizer's learning rate
on each landscape (lowest final f after STEPS steps from the landscape's customary start, no noise).

    python benchmarks/tune_landscape_lrs.py
"""

from __future__ import annotations

import json
import time
from datetime import date

import torch

from descentlab.landscape import LANDSCAPES
from descentlab.landscape.race import LR_FILE, LR_GRID, RACE_OPTIMIZERS, tune_lr

STEPS = 500

if __name__ == "__main__":
    started = time.time()
    lrs = {name: {opt: tune_lr(ls, opt, STEPS) for opt in RACE_OPTIMIZERS} for name, ls in LANDSCAPES.items()}
    data = {
        "provenance": (
            f"grid search by benchmarks/tune_landscape_lrs.py on {date.today().isoformat()} (torch {torch.__version__}): "
            f"for each landscape and optimizer, the rate of the grid with the lowest f after {STEPS} steps from the "
            "landscape's customary start, without noise; diverged runs excluded. On the saddles, which are unbounded "
            "below, this picks the rate that leaves the saddle fastest."
        ),
        "steps": STEPS,
        "grid": list(LR_GRID),
        "lrs": lrs,
    }
    LR_FILE.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(lrs, indent=1))
    print(f"written {LR_FILE} in {time.time() - started:.1f} s")
