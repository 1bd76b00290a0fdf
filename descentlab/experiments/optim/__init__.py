"""``descentlab optim ...``: the optimizers, on a landscape and on MNIST.

One module per command, named after it; what the group's commands share is in ``common.py`` when they
share anything. :data:`DECLARATIONS` lists them in the order ``--help`` shows them.
"""

from descentlab.experiments.declaration import Declaration
from descentlab.experiments.optim.batch_size import OPTIM_BATCH_SIZE
from descentlab.experiments.optim.bench import OPTIM_BENCH
from descentlab.experiments.optim.list import OPTIM_LIST
from descentlab.experiments.optim.momentum import OPTIM_MOMENTUM
from descentlab.experiments.optim.race import OPTIM_RACE
from descentlab.experiments.optim.rates import OPTIM_RATES
from descentlab.experiments.optim.snapshots import OPTIM_SNAPSHOTS
from descentlab.experiments.optim.svrg import OPTIM_SVRG
from descentlab.experiments.optim.train import OPTIM_TRAIN

DECLARATIONS: tuple[Declaration, ...] = (
    OPTIM_RACE,
    OPTIM_TRAIN,
    OPTIM_MOMENTUM,
    OPTIM_BATCH_SIZE,
    OPTIM_RATES,
    OPTIM_SVRG,
    OPTIM_SNAPSHOTS,
    OPTIM_LIST,
    OPTIM_BENCH,
)
