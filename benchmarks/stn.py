"""Spatial transformer costs, measured side by side in one process (medians of interleaved rounds):

1. the written-out bilinear sampler (``descentlab.stn.bilinear_sample``, eager and through
   ``torch.compile``) against ``torch.nn.functional.grid_sample``, forward and forward + backward, on a
   batch of 64 RTS-sized
   images (42 x 42) sampled to 28 x 28 (target: at most 2x);
2. one training step (Adam) of the ST-CNN against one of the CNN on the same batch (target: at most 1.3x).

    python benchmarks/stn.py [--rounds 30] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import torch
import torch.nn.functional as F
from timing import medians

from descentlab import optim
from descentlab.stn import GENERATORS, bilinear_sample, cnn, st_cnn
from descentlab.stn.sampler import compiled_bilinear_sample


def main(rounds: int, device: str) -> str:
    dev = torch.device(device)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    torch.manual_seed(0)
    x = torch.rand(64, 1, 42, 42, device=dev, requires_grad=True)
    theta = GENERATORS["affine"].identity().to(dev).expand(64, 6) + 0.1 * torch.randn(64, 6, device=dev)
    grid = GENERATORS["affine"](theta, (64, 1, 28, 28)).requires_grad_(True)

    def ours() -> None:
        bilinear_sample(x, grid)

    def torchs() -> None:
        F.grid_sample(x, grid, "bilinear", "zeros", align_corners=False)

    def ours_back() -> None:
        bilinear_sample(x, grid).sum().backward()

    def torchs_back() -> None:
        F.grid_sample(x, grid, "bilinear", "zeros", align_corners=False).sum().backward()

    compiled = compiled_bilinear_sample()

    def comp() -> None:
        compiled(x, grid)

    def comp_back() -> None:
        compiled(x, grid).sum().backward()

    fns = {
        "ours": ours,
        "comp": comp,
        "torch": torchs,
        "ours_b": ours_back,
        "comp_b": comp_back,
        "torch_b": torchs_back,
    }
    sampler = medians(fns, rounds, sync)

    y = torch.randint(0, 10, (64,), device=dev)
    images = x.detach()
    models = {"cnn": cnn((1, 42, 42)).to(dev), "st-cnn": st_cnn((1, 42, 42), "affine", (28, 28)).to(dev)}
    opts = {k: optim.Adam(m.parameters(), lr=1e-3) for k, m in models.items()}

    def step(name: str) -> Callable[[], None]:
        def run() -> None:
            loss = F.cross_entropy(models[name](images), y)
            opts[name].zero_grad(set_to_none=True)
            loss.backward()
            opts[name].step()

        return run

    steps = medians({k: step(k) for k in models}, rounds, sync)
    rows = [
        ("sampler forward (64 x 42x42 -> 28x28), eager", sampler["ours"], sampler["torch"], 2.0),
        ("sampler forward, torch.compile'd", sampler["comp"], sampler["torch"], 2.0),
        ("sampler forward + backward, eager", sampler["ours_b"], sampler["torch_b"], 2.0),
        ("sampler forward + backward, torch.compile'd", sampler["comp_b"], sampler["torch_b"], 2.0),
        ("training step: ST-CNN vs CNN (batch 64, 42x42)", steps["st-cnn"], steps["cnn"], 1.3),
    ]
    lines = [f"{'case':<48} {'ours / ST-CNN ms':>16} {'torch / CNN ms':>15} {'ratio':>6} {'target':>7}"]
    for name, a, b, target in rows:
        lines.append(f"{name:<48} {a:>16.3f} {b:>15.3f} {a / b:>6.2f} {'<= ' + str(target):>7}")
    params = {k: sum(p.numel() for p in m.parameters()) for k, m in models.items()}
    lines.append(f"parameters: CNN {params['cnn']:,}, ST-CNN {params['st-cnn']:,}; device {device}; {rounds} rounds")
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    args = parser.parse_args()
    print(main(args.rounds, args.device))
