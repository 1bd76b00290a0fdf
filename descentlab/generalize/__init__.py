"""Generalization: reproducible stratified splits, dropout in both conventions, early stopping."""

from descentlab.generalize.dropout import Dropout, draw_for_global_batch
from descentlab.generalize.early_stopping import EarlyStopping
from descentlab.generalize.splits import mnist_splits, split

__all__ = ["Dropout", "EarlyStopping", "draw_for_global_batch", "mnist_splits", "split"]
