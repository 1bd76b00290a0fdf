"""Optimizer step time: descentlab.optim (default, compiled, flat, flat+compiled) against torch.optim (default,
for-loop, foreach, fused), on 48 large tensors and on 500 small ones (see descentlab/optim/bench.py).

python benchmarks/optim_step.py [--device cpu|cuda] [--rounds 15] [--only Adam RMSProp] [--model large|many|both] [--clip 1.0 | --zero-grad]
"""

from __future__ import annotations

import argparse

from descentlab.optim.bench import CASES, MODELS, main

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--only", nargs="+", choices=[c.name for c in CASES], metavar="NAME")
    parser.add_argument("--model", choices=[*MODELS, "both"], default="both")
    parser.add_argument("--compile-many", action="store_true", help="also time fast on the 500 tensors (slow)")
    parser.add_argument(
        "--clip",
        type=float,
        default=None,
        help="time clipping to this global norm, then the step, against torch's clip_grad_norm_ then step",
    )
    parser.add_argument(
        "--zero-grad",
        action="store_true",
        help="time the step and zeroing the gradients: ours step(zero_grad=True) against torch's step then zero_grad",
    )
    args = parser.parse_args()
    if args.clip is not None and args.zero_grad:
        parser.error("--clip and --zero-grad time different things; give one")
    models = MODELS if args.model == "both" else (args.model,)
    print(main(args.device, args.only, args.rounds, models, args.compile_many, args.clip, args.zero_grad))
