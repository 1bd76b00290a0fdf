"""Data-parallel scaling: training throughput of ``optim train`` and ``lm train`` run by ``torchrun
--nproc-per-node N`` against N = 1 (the same command under torchrun, one process), the same global batch and
data, side by side.

Throughput is examples per second of training (``timing.jsonl``'s seconds in optimization steps, which
include waiting for the gradient exchange and leave out evaluation); efficiency is throughput(N) /
(N x throughput(1)). Each N is run ``--repeats`` times, alternating, and the median kept. Every process gets
``cores / N`` threads (torchrun's OMP_NUM_THREADS), so N = 1 uses the whole machine too.

    python benchmarks/scaling.py [--experiments optim-train lm-train] [--nprocs 1 2] [--repeats 3] [--batch-size 256]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def command(experiment: str, out: Path, args: argparse.Namespace) -> tuple[list[str], int]:
    """The experiment's command line and the examples (images, or tokens) one step trains on."""
    if experiment == "optim-train":
        return (["optim", "train", "--batch-size", str(args.batch_size), "--hidden", str(args.hidden), "--train-size",
                 str(args.train_size), "--val-size", "200", "--epochs", "1", "--eval-every", "1000000", "--log-every",
                 "10", "--device", "cpu", "--out", str(out)], args.batch_size)  # fmt: skip
    # lm train: the 2x200 tied LSTM on the first 70,000 Penn Treebank tokens, 20 streams of 35 steps
    return (["lm", "train", "--tied", "--train-tokens", "70000", "--epochs", "1", "--log-every", "10", "--device",
             "cpu", "--out", str(out)], 20 * 35)  # fmt: skip


def throughput(out: Path, per_step: int) -> float:
    (timing,) = out.glob("*/*/timing.jsonl")
    rows = [json.loads(line) for line in timing.read_text().splitlines() if line.strip()]
    last = max((r for r in rows if "elapsed_s" in r), key=lambda r: r["step"])
    return last["step"] * per_step / last["elapsed_s"]


def run(experiment: str, nproc: int, args: argparse.Namespace) -> float:
    cores = os.cpu_count() or 1
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": str(max(1, cores // nproc))}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        line, per_step = command(experiment, out, args)
        full = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}",
                "-m", "descentlab", *line]  # fmt: skip
        done = subprocess.run(full, capture_output=True, text=True, env=env)
        if done.returncode != 0:
            raise SystemExit(f"{experiment} N={nproc} failed:\n{done.stderr[-3000:]}")
        return throughput(out, per_step)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nprocs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--hidden", type=int, default=1024)
    parser.add_argument("--train-size", type=int, default=12_800)
    parser.add_argument("--experiments", nargs="+", default=["optim-train", "lm-train"],
                        choices=["optim-train", "lm-train"])  # fmt: skip
    args = parser.parse_args()
    for experiment in args.experiments:
        results: dict[int, list[float]] = {n: [] for n in args.nprocs}
        for _ in range(args.repeats):
            for n in args.nprocs:
                results[n].append(run(experiment, n, args))
        med = {n: sorted(v)[len(v) // 2] for n, v in results.items()}
        base = med.get(1)
        about = (
            f"optim train, MLP 784-{args.hidden}-10, global batch {args.batch_size}, {args.train_size} images"
            if experiment == "optim-train"
            else "lm train, 2x200 tied LSTM, 20 streams x 35 steps, 70,000 tokens"
        )
        print(f"{about}; {os.cpu_count()} cores, median of {args.repeats}")
        unit = "images/s" if experiment == "optim-train" else "tokens/s"
        print(f"{'N':>3} {'threads each':>13} {unit:>11} {'speed-up':>9} {'efficiency':>11}")
        for n, v in med.items():
            speed = f"{v / base:.2f}" if base else "-"
            eff = f"{v / (n * base):.2f}" if base else "-"
            print(f"{n:>3} {max(1, (os.cpu_count() or 1) // n):>13} {v:>11,.0f} {speed:>9} {eff:>11}")


if __name__ == "__main__":
    main()
