"""The unit's optimizers: composable transformations, drop-in torch.optim optimizers."""

from descentlab.optim import transforms
from descentlab.optim.adapter import NonFiniteGradientError, TransformOptimizer, from_transforms
from descentlab.optim.optimizers import SGD, AdaDelta, Adagrad, Adam, AdamW, Momentum, RMSProp
from descentlab.optim.transforms import Transform, chain

__all__ = [
    "SGD",
    "AdaDelta",
    "Adagrad",
    "Adam",
    "AdamW",
    "Momentum",
    "NonFiniteGradientError",
    "RMSProp",
    "Transform",
    "TransformOptimizer",
    "chain",
    "from_transforms",
    "transforms",
]
