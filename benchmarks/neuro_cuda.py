"""The neuron models and the spiking layer on a GPU: the same results as on the CPU, and their speed.

    python benchmarks/neuro_cuda.py      (needs CUDA)

1. Spike counts of LIF, Izhikevich and Hodgkin-Huxley populations (float64, currents spread over a
   range) on CUDA against the CPU: equal counts expected up to rare threshold ties.
2. A training step of the 784-1000-10 spiking network (float32): the loss on CUDA against the CPU.
3. 10,000 and 1,000,000 LIF neurons for 1,000 steps on CUDA, neuron-steps per second, ours against
   snnTorch's Leaky when snnTorch is importable.
"""

from __future__ import annotations

import math
import time

import torch

from descentlab.experiments.neuro.train_snn import SpikingMLP
from descentlab.neuro import LIF, HodgkinHuxley, Izhikevich, Reset, simulate


def main() -> None:
    assert torch.cuda.is_available(), "needs a GPU"
    print(torch.cuda.get_device_name(), "torch", torch.__version__)
    for name, model, high in (("lif", LIF(dt=0.1), 3.0), ("izhikevich", Izhikevich.pattern("chattering"), 20.0),
                              ("hodgkin-huxley", HodgkinHuxley(dt=0.025), 40.0)):  # fmt: skip
        currents = torch.linspace(0.0, high, 256, dtype=torch.float64)
        _, cpu = simulate(model, currents, 200.0, n=256, record=False)
        _, gpu = simulate(model, currents.cuda(), 200.0, n=256, device="cuda", record=False)
        differ = int((cpu != gpu.cpu()).sum())
        print(f"{name}: {int(cpu.sum())} spikes on the CPU, {int(gpu.sum())} on CUDA; neurons that differ: {differ}")
    torch.manual_seed(0)
    net = SpikingMLP(1000, 25, 0.95, 1.0, "atan", "direct")
    x, y = torch.randn(128, 784), torch.randint(0, 10, (128,))
    losses = []
    for device in ("cpu", "cuda"):
        m = net.to(device)
        loss = torch.nn.functional.cross_entropy(m(x.to(device)), y.to(device))
        loss.backward()
        losses.append(float(loss))
    print(f"SNN training loss CPU {losses[0]:.6f}, CUDA {losses[1]:.6f}, difference {abs(losses[0] - losses[1]):.2e}")
    try:
        import snntorch
    except ImportError:
        snntorch = None
    for n in (10_000, 1_000_000):
        current = (1.0 + torch.arange(n, device="cuda") / n).float()
        lif = LIF(tau_m=10.0, threshold=1.0, reset=Reset.SUBTRACT, dt=1.0)
        beta = math.exp(-0.1)
        fns = {"descentlab": lambda lif=lif, current=current, n=n: _ours(lif, current, n)}
        if snntorch is not None:
            leaky = snntorch.Leaky(beta=beta, threshold=1.0).cuda()
            drive = current * (1 - beta)
            fns["snnTorch"] = lambda leaky=leaky, drive=drive, n=n: _theirs(leaky, drive, n)
        times = {}
        for k, fn in fns.items():
            fn()
            torch.cuda.synchronize()
            t = time.perf_counter()
            fn()
            torch.cuda.synchronize()
            times[k] = time.perf_counter() - t
        print(f"{n:,} LIF neurons x 1,000 steps on CUDA: "
              + ", ".join(f"{k} {1000 * s:.1f} ms ({n * 1000 / s / 1e9:.2f} G neuron-steps/s)" for k, s in times.items())
              + (f"; ours {times['snnTorch'] / times['descentlab']:.2f}x snnTorch" if "snnTorch" in times else ""))  # fmt: skip


def _ours(lif: LIF, current: torch.Tensor, n: int) -> None:
    state = lif.init(n, device="cuda", dtype=torch.float32)
    for _ in range(1000):
        state, _ = lif.step(state, current)


def _theirs(leaky: torch.nn.Module, drive: torch.Tensor, n: int) -> None:
    mem = torch.zeros(n, device="cuda")
    with torch.no_grad():
        for _ in range(1000):
            _, mem = leaky(drive, mem)


if __name__ == "__main__":
    main()
