"""Hessian tools' cost: one Hessian-vector product against one gradient, and the top 5 eigenvalues,
for an MLP 784-128-10 (101,770 parameters) on 1,000 MNIST images.

    python benchmarks/hessian.py [--rounds 20]
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

from descentlab.data import mnist
from descentlab.landscape.hessian import Hessian


def median_ms(fn, rounds: int) -> float:  # type: ignore[no-untyped-def]
    fn()
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1e3 * sorted(times)[rounds // 2]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    torch.manual_seed(0)
    images, labels = mnist("train")
    x, y = images[:1000].float().div(255).reshape(1000, -1), labels[:1000]
    model = torch.nn.Sequential(torch.nn.Linear(784, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
    params = list(model.parameters())
    n = sum(p.numel() for p in params)

    def loss() -> torch.Tensor:
        return F.cross_entropy(model(x), y)

    grad_ms = median_ms(lambda: torch.autograd.grad(loss(), params), args.rounds)
    hessian = Hessian(loss, params)
    v = torch.randn(n)
    hvp_ms = median_ms(lambda: hessian.matvec(v), args.rounds)
    build_ms = median_ms(lambda: Hessian(loss, params), args.rounds)
    start = time.perf_counter()
    top = hessian.top_eigenvalues(k=5, steps=30)
    top_s = time.perf_counter() - start
    print(
        f"MLP 784-128-10, {n:,} parameters, 1,000 MNIST images, torch {torch.__version__}, {torch.get_num_threads()} threads"
    )
    print(f"{'operation':44} {'ms':>9} {'x gradient':>11}")
    print(f"{'gradient (forward + backward)':44} {grad_ms:9.2f} {1.0:11.2f}")
    print(f"{'gradient graph for products (create_graph)':44} {build_ms:9.2f} {build_ms / grad_ms:11.2f}")
    print(f"{'Hessian-vector product (double backward)':44} {hvp_ms:9.2f} {hvp_ms / grad_ms:11.2f}")
    print(f"{'top 5 eigenvalues (Lanczos, 30 products)':44} {1e3 * top_s:9.2f} {1e3 * top_s / grad_ms:11.2f}")
    print("top 5 eigenvalues:", ", ".join(f"{e:.4f}" for e in top.tolist()))
