"""``descentlab generalize ...``: train, validation and test; dropout; optimizers racing to a target.

One module per command, named after it; what the group's commands share is in ``common.py`` when they
share anything. :data:`DECLARATIONS` lists them in the order ``--help`` shows them.
"""

from descentlab.experiments.declaration import Declaration
from descentlab.experiments.generalize.mnist import GENERALIZE_MNIST
from descentlab.experiments.generalize.optimizers import GENERALIZE_OPTIMIZERS

DECLARATIONS: tuple[Declaration, ...] = (
    GENERALIZE_MNIST,
    GENERALIZE_OPTIMIZERS,
)
