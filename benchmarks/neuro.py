"""Spiking-network speed: descentlab.neuro against snnTorch (and Brian2), side by side in one process.

1. Simulation: 10,000 LIF neurons for 1,000 steps under a constant current (float32), neuron-steps per
   second: our ``LIF.step`` against snnTorch's ``Leaky`` with the same decay and threshold, interleaved
   rounds, medians; Brian2 (``--brian2 PYTHON``: a Python with brian2, which needs numpy < 2.4 and so lives
   in its own environment) runs the same network in a subprocess with its numpy and its cython code
   generation (compiled before timing) and reports its ``run()`` time.
2. Training: the 784-1000-10 spiking network of ``descentlab neuro train-snn`` (25 steps, direct input,
   arctan surrogate, Adam), images per second of forward + backward + step, ours against the same
   network written with ``snntorch.Leaky`` as its tutorials do (the input layer applied every step), and
   with the input layer hoisted out of the loop as ours does.
Targets: at least 1.0x snnTorch and Brian2 in simulation, 1.0x snnTorch in training.

    python benchmarks/neuro.py [--rounds 7] [--threads 1] [--brian2 /path/to/python]
"""

from __future__ import annotations

import argparse
import math
import subprocess

import torch
from timing import medians
from torch import nn

from descentlab.neuro import LIF, Reset

N, STEPS, DT, TAU = 10_000, 1000, 1.0, 10.0

BRIAN2 = f"""
import time, brian2 as b
b.prefs.codegen.target = "TARGET"
b.defaultclock.dt = {DT} * b.ms
g = b.NeuronGroup({N}, "dv/dt = (-v + I) / ({TAU} * ms) : 1\\nI : 1", threshold="v >= 1", reset="v -= 1",
                  method="exact")
g.I = "1.0 + 1.0 * i / {N}"
b.run(10 * b.ms)  # build and warm up
t = time.perf_counter()
b.run({STEPS * DT} * b.ms)
print(time.perf_counter() - t)
"""


def simulation(rounds: int) -> list[list[str]]:
    import snntorch

    current = 1.0 + torch.arange(N, dtype=torch.float32) / N
    lif = LIF(tau_m=TAU, threshold=1.0, reset=Reset.SUBTRACT, dt=DT)
    beta = math.exp(-DT / TAU)
    theirs = snntorch.Leaky(beta=beta, threshold=1.0, reset_mechanism="subtract")
    drive = current * (1 - beta)  # the same membrane: U <- beta U + (1 - beta) R I

    def ours() -> None:
        state = lif.init(N, dtype=torch.float32)
        for _ in range(STEPS):
            state, _ = lif.step(state, current)

    def snn() -> None:
        mem = torch.zeros(N)
        with torch.no_grad():
            for _ in range(STEPS):
                _, mem = theirs(drive, mem)

    times = medians({"descentlab": ours, "snnTorch": snn}, rounds, lambda: None)  # ms
    return [[name, f"{ms:.1f}", f"{N * STEPS / ms / 1e3:.1f}", f"{times['snnTorch'] / ms:.2f}"]
            for name, ms in times.items()]  # fmt: skip


def training(rounds: int, batch: int = 128, hidden: int = 1000, steps: int = 25) -> list[list[str]]:
    import snntorch
    from snntorch import surrogate

    from descentlab import optim
    from descentlab.experiments.neuro.train_snn import SpikingMLP

    class Tutorial(nn.Module):  # snnTorch's tutorial network: the input layer inside the time loop
        def __init__(self, hoist: bool) -> None:
            super().__init__()
            self.fc1, self.fc2 = nn.Linear(784, hidden), nn.Linear(hidden, 10)
            self.lif1 = snntorch.Leaky(beta=0.95, spike_grad=surrogate.atan())
            self.lif2 = snntorch.Leaky(beta=0.95, spike_grad=surrogate.atan())
            self.hoist = hoist

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            mem1, mem2 = self.lif1.init_leaky(), self.lif2.init_leaky()
            total = 0.0
            cur = self.fc1(x) if self.hoist else None
            for _ in range(steps):
                spk1, mem1 = self.lif1(cur if self.hoist else self.fc1(x), mem1)
                _, mem2 = self.lif2(self.fc2(spk1), mem2)
                total = total + mem2
            return total / steps

    torch.manual_seed(0)
    x, y = torch.randn(batch, 784), torch.randint(0, 10, (batch,))
    models = {"descentlab": SpikingMLP(hidden, steps, 0.95, 1.0, "atan", "direct"),
              "snnTorch (tutorial)": Tutorial(hoist=False), "snnTorch, input hoisted": Tutorial(hoist=True)}  # fmt: skip
    opts = {k: optim.Adam(m.parameters(), lr=5e-4) for k, m in models.items()}

    def step(name: str) -> None:
        loss = nn.functional.cross_entropy(models[name](x), y)
        opts[name].zero_grad()
        loss.backward()
        opts[name].step()

    times = medians({k: (lambda k=k: step(k)) for k in models}, rounds, lambda: None)  # ms
    ref = times["snnTorch (tutorial)"]
    return [[name, f"{ms:.1f}", f"{1000 * batch / ms:,.0f}", f"{ref / ms:.2f}"] for name, ms in times.items()]


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--brian2", metavar="PYTHON", help="a Python interpreter with brian2 installed")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    import snntorch

    print(f"torch {torch.__version__}, snnTorch {snntorch.__version__}, {a.threads} thread(s), median of {a.rounds}")
    rows = simulation(a.rounds)
    if a.brian2:
        version = subprocess.run([a.brian2, "-c", "import brian2; print(brian2.__version__)"], capture_output=True,
                                 text=True).stdout.strip()  # fmt: skip
        ours_ms = float(rows[0][1])
        for target in ("numpy", "cython"):  # Brian2's runtime code generation targets
            code = BRIAN2.replace("TARGET", target)
            out = subprocess.run([a.brian2, "-c", code], capture_output=True, text=True, timeout=1200)
            if out.returncode != 0:
                print(f"Brian2 ({target}) failed: " + (out.stderr.strip().splitlines() or ["?"])[-1])
                continue
            ms = 1000 * float(out.stdout.strip().splitlines()[-1])
            rows.append([f"Brian2 {version} ({target} target)", f"{ms:.1f}", f"{N * STEPS / ms / 1e3:.1f}",
                         f"{float(rows[1][1]) / ms:.2f}"])  # fmt: skip
            print(f"descentlab against Brian2 ({target}): {ms / ours_ms:.2f}x")
    print(f"\n{N:,} LIF neurons x {STEPS:,} steps")
    print(table(["simulator", "ms", "M neuron-steps/s", "speed vs snnTorch"], rows))
    print("\n784-1000-10 spiking network, 25 steps, batch 128: one training step")
    print(table(["implementation", "ms", "images/s", "speed vs snnTorch (tutorial)"], training(a.rounds)))
