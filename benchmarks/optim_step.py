"""Optimizer step time: descentlab.optim (compiled single pass) against torch.optim's fastest.

python benchmarks/optim_step.py [--device cpu|cuda] [--rounds 15] [--only Adam RMSProp]
"""

from __future__ import annotations

import argparse

from descentlab.optim.bench import CASES, main

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--only", nargs="+", choices=[c.name for c in CASES], metavar="NAME")
    args = parser.parse_args()
    print(main(args.device, args.only, args.rounds))
