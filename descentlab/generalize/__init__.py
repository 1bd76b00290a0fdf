"""Generalization: reproducible stratified splits, dropout in both conventions, early stopping."""

from descentlab.generalize.dropout import Dropout
from descentlab.generalize.early_stopping import EarlyStopping
from descentlab.generalize.splits import mnist_splits, split

__all__ = ["Dropout", "EarlyStopping", "mnist_splits", "split"]
