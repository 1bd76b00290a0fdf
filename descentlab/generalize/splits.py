"""Train / validation / test splits: reproducible, and stratified so that every split has the class
proportions of the whole.

The unit's rule: fit the weights on the training set, choose settings (learning rate, dropout,
when to stop) on the validation set, and touch the test set once, for the number you report. For
MNIST the official 10,000 test images are the test set, and the 60,000 training images are split
into 55,000 for training and 5,000 for validation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from descentlab.data import mnist
from descentlab.errors import ParameterError


def _labels(dataset: Any) -> Tensor:
    """The labels of a labels tensor, an ``(inputs, labels)`` pair, or a dataset with ``targets``."""
    if isinstance(dataset, Tensor):
        return dataset
    if isinstance(dataset, tuple | list) and len(dataset) == 2 and isinstance(dataset[1], Tensor):
        return dataset[1]
    targets = getattr(dataset, "targets", None)
    if isinstance(targets, Tensor):
        return targets
    raise TypeError("split: give a labels tensor, an (inputs, labels) pair, or a dataset with a .targets tensor")


def split(dataset: Any, fractions: Sequence[float], stratify: bool = True, seed: int = 0) -> list[Tensor]:
    """Indices of each split, in a seeded random order.

    ``fractions`` are positive and sum to 1 (to 1e-9); split sizes are rounded by largest remainder so
    they add up to the whole. With ``stratify``, each class is divided the same way, so every split
    holds each class in the proportions of the whole (within one example per class).
    """
    labels = _labels(dataset)
    fr = [float(f) for f in fractions]
    if len(fr) < 2 or any(not f > 0 for f in fr) or abs(sum(fr) - 1) > 1e-9:
        raise ParameterError(
            "fractions", f"{list(fractions)} is not valid; valid: two or more numbers > 0 that sum to 1"
        )
    gen = torch.Generator().manual_seed(seed)
    groups = (
        [torch.nonzero(labels == c).flatten() for c in labels.unique()] if stratify else [torch.arange(len(labels))]
    )
    quotas = _quotas([len(g) for g in groups], fr)
    parts: list[list[Tensor]] = [[] for _ in fr]
    for members, sizes in zip(groups, quotas, strict=True):
        members = members[torch.randperm(len(members), generator=gen)]
        begin = 0
        for k, size in enumerate(sizes):
            parts[k].append(members[begin : begin + size])
            begin += size
    return [torch.cat(p)[torch.randperm(sum(len(q) for q in p), generator=gen)] for p in parts]


def _sizes(n: int, fractions: Sequence[float]) -> list[int]:
    """Split ``n`` by ``fractions`` into integers summing to ``n`` (largest remainders get the rest)."""
    exact = [n * f for f in fractions]
    sizes = [int(e) for e in exact]
    order = sorted(range(len(exact)), key=lambda k: exact[k] - sizes[k], reverse=True)
    for k in order[: n - sum(sizes)]:
        sizes[k] += 1
    return sizes


def _quotas(counts: list[int], fractions: Sequence[float]) -> list[list[int]]:
    """Per-group split sizes: each group divided by largest remainder, then single examples moved
    between splits (from the group most over its share in one and under it in the other) until the
    split totals are those of the whole, ``_sizes(sum(counts))``."""
    quotas = [_sizes(c, fractions) for c in counts]
    targets = _sizes(sum(counts), fractions)
    k_range = range(len(fractions))
    while True:
        totals = [sum(q[k] for q in quotas) for k in k_range]
        over = [k for k in k_range if totals[k] > targets[k]]
        under = [k for k in k_range if totals[k] < targets[k]]
        if not over:
            return quotas
        k, j = over[0], under[0]

        excess = [(q[k] - c * fractions[k]) - (q[j] - c * fractions[j]) for q, c in zip(quotas, counts, strict=True)]
        g = max((g for g in range(len(counts)) if quotas[g][k] > 0), key=excess.__getitem__)
        quotas[g][k] -= 1
        quotas[g][j] += 1


def mnist_splits(val_size: int = 5000, seed: int = 0) -> dict[str, tuple[Tensor, Tensor]]:
    """MNIST as uint8 images (N, 28, 28) and labels: 'train' and 'val' stratified from the official
    training set (60,000 - ``val_size`` and ``val_size``), and 'test', the official 10,000."""
    images, labels = mnist("train")
    if not 0 < val_size < len(labels):
        raise ParameterError("val_size", f"{val_size} is out of range; valid: 0 < val_size < {len(labels)}")
    train, val = split(labels, [1 - val_size / len(labels), val_size / len(labels)], seed=seed)
    test_images, test_labels = mnist("test")
    return {
        "train": (images[train], labels[train]),
        "val": (images[val], labels[val]),
        "test": (test_images, test_labels),
    }
