"""Our LSTM against ``torch.nn.LSTM``, forward plus backward, side by side in one process (medians of
interleaved rounds), at the medium language model's size: sequence 35, batch 20, input and hidden 650,
2 layers. Targets: at most 1.1x for the layer a user gets without ``impl`` (the "default" row),
at most 1.2x for the written-out path run fast (``impl="bptt"``: forward and backpropagation through time
written out by hand), 1.0x for torch's kernel behind our parameters (``impl="fused"``).

    python benchmarks/rnn.py [--rounds 20] [--device cpu|cuda] [--hidden 650] [--threads N]
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import torch
from timing import medians

from descentlab.rnn import IMPLS, LSTM


def main(rounds: int, device: str, hidden: int, seq: int = 35, batch: int = 20, layers: int = 2) -> str:
    dev = torch.device(device)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    torch.manual_seed(0)
    reference = torch.nn.LSTM(hidden, hidden, layers).to(dev)
    models: dict[str, torch.nn.Module] = {"torch.nn.LSTM": reference}
    for impl in (*IMPLS, None):
        ours = (LSTM(hidden, hidden, layers) if impl is None else LSTM(hidden, hidden, layers, impl=impl)).to(dev)
        ours.load_state_dict(reference.state_dict())
        models[impl or f"default ({ours.impl})"] = ours
    x = torch.randn(seq, batch, hidden, device=dev)

    def train_step(model: torch.nn.Module) -> Callable[[], None]:
        def run() -> None:
            out, (h, _) = model(x)
            (out.square().mean() + h.sum() * 0).backward()

        return run

    ms = medians({k: train_step(m) for k, m in models.items()}, rounds, sync, warmup=2)
    base = ms["torch.nn.LSTM"]
    targets = {"loop": "", "bptt": "<= 1.2", "fused": "<= 1.0", "torch.nn.LSTM": ""}
    lines = [f"{'implementation':<16} {'fwd+bwd ms':>11} {'ratio':>6} {'target':>7}"]
    for name, t in ms.items():
        lines.append(f"{name:<16} {t:>11.2f} {t / base:>6.2f} {targets.get(name, '<= 1.1'):>7}")
    lines.append(f"seq {seq}, batch {batch}, hidden {hidden}, {layers} layers; device {device}; "
                 f"{torch.get_num_threads()} threads; {rounds} rounds")  # fmt: skip
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--hidden", type=int, default=650)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(main(args.rounds, args.device, args.hidden))
