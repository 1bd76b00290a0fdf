"""descentlab: a PyTorch laboratory for the unit "Optimization and Generalization"."""

__version__ = "0.1.0"
