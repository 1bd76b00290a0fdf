"""Training throughput of the language model (tokens per second) with our recurrent layer against the same
model on ``torch.nn.LSTM``, in the same training loop, side by side in one process: each round trains one
chunk with each implementation in turn (same weights, same batch), and the table gives medians.
Targets: at least 0.9x torch's tokens/s with the written-out LSTM (``bptt``), 1.0x with the
fast path (``fused``).

    python benchmarks/lm.py [--rounds 20] [--hidden 200] [--device cpu|cuda] [--impls torch,fused,bptt,loop]
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

from descentlab import optim
from descentlab.lm.model import LanguageModel, detach


def main(rounds: int, hidden: int, device: str, impls: list[str], batch: int = 20, bptt: int = 35,
         vocab: int = 10_000) -> str:  # fmt: skip
    dev = torch.device(device)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    torch.manual_seed(0)
    models = {}
    for impl in impls:
        torch.manual_seed(0)
        models[impl] = LanguageModel(vocab, hidden, hidden, 2, 0.2, tied=True, impl=impl).to(dev)
    opts = {k: optim.SGD(m.parameters(), lr=20.0) for k, m in models.items()}
    states = {k: m.init_state(batch) for k, m in models.items()}
    gen = torch.Generator().manual_seed(0)
    data = torch.randint(0, vocab, (bptt + 1, batch), generator=gen).to(dev)
    x, y = data[:-1], data[1:]

    def step(name: str) -> None:  # the loop of descentlab.experiments.lm.train, one chunk
        model = models[name]
        states[name] = detach(states[name])
        logits, states[name] = model(x, states[name])
        loss = F.cross_entropy(logits.flatten(0, 1), y.flatten())
        opts[name].zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.25)
        opts[name].step()
        loss.item()

    for name in models:  # warm up (and compile)
        for _ in range(3):
            step(name)
    times: dict[str, list[float]] = {k: [] for k in models}
    for _ in range(rounds):
        for name in models:
            sync()
            start = time.perf_counter()
            step(name)
            sync()
            times[name].append(time.perf_counter() - start)
    med = {k: sorted(v)[rounds // 2] for k, v in times.items()}
    base = batch * bptt / med["torch"] if "torch" in med else None
    targets = {"bptt": ">= 0.9", "fused": ">= 1.0"}
    lines = [f"{'recurrent layer':<16} {'ms/chunk':>9} {'tokens/s':>10} {'vs torch':>9} {'target':>7}"]
    for name, t in med.items():
        tps = batch * bptt / t
        ratio = f"{tps / base:.2f}" if base else "-"
        lines.append(f"{name:<16} {1e3 * t:>9.2f} {tps:>10,.0f} {ratio:>9} {targets.get(name, ''):>7}")
    lines.append(f"2x{hidden} tied LSTM LM, vocab {vocab:,}, batch {batch}, bptt {bptt}, SGD + clipping; "
                 f"device {device}; {torch.get_num_threads()} threads; {rounds} rounds")  # fmt: skip
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--hidden", type=int, default=200)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--impls", default="torch,fused,bptt,loop")
    args = parser.parse_args()
    print(main(args.rounds, args.hidden, args.device, args.impls.split(",")))
