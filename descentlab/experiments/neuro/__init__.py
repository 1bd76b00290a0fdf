"""``descentlab neuro ...``: computational neuroscience: firing patterns, a spiking network, plasticity,
and one neuron simulated.

One module per command, named after it; what the group's commands share is in ``common.py`` when they
share anything. :data:`DECLARATIONS` lists them in the order ``--help`` shows them.
"""

from descentlab.experiments.declaration import Declaration
from descentlab.experiments.neuro.patterns import NEURO_PATTERNS
from descentlab.experiments.neuro.plasticity import NEURO_PLASTICITY
from descentlab.experiments.neuro.simulate import NEURO_SIMULATE
from descentlab.experiments.neuro.train_snn import NEURO_TRAIN_SNN

DECLARATIONS: tuple[Declaration, ...] = (
    NEURO_PATTERNS,
    NEURO_TRAIN_SNN,
    NEURO_PLASTICITY,
    NEURO_SIMULATE,
)
