"""The unit's optimizers: composable transformations, drop-in torch.optim optimizers."""

from descentlab.optim import transforms
from descentlab.optim.adapter import NonFiniteGradientError, TransformOptimizer, from_transforms
from descentlab.optim.optimizers import SGD, AdaDelta, Adadelta, Adagrad, Adam, AdamW, Momentum, RMSProp, RMSprop
from descentlab.optim.regimes import (
    FULL_BATCH,
    MINI_BATCH,
    STOCHASTIC,
    UNIT_OPTIMIZERS,
    Regime,
    UnitOptimizer,
    mini_batch,
)
from descentlab.optim.restarts import Restarts, restarts
from descentlab.optim.snapshots import SnapshotEnsemble, cycle_ends, cyclic_cosine, cyclic_cosine_scheduler
from descentlab.optim.svrg import SVRG
from descentlab.optim.transforms import Transform, chain

__all__ = [
    "FULL_BATCH",
    "MINI_BATCH",
    "SGD",
    "STOCHASTIC",
    "SVRG",
    "UNIT_OPTIMIZERS",
    "AdaDelta",
    "Adadelta",
    "Adagrad",
    "Adam",
    "AdamW",
    "Momentum",
    "NonFiniteGradientError",
    "RMSProp",
    "RMSprop",
    "Regime",
    "Restarts",
    "SnapshotEnsemble",
    "Transform",
    "TransformOptimizer",
    "UnitOptimizer",
    "chain",
    "cycle_ends",
    "cyclic_cosine",
    "cyclic_cosine_scheduler",
    "from_transforms",
    "mini_batch",
    "restarts",
    "transforms",
]
