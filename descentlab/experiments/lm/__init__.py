"""``descentlab lm ...``: the word-level recurrent language model: train it, evaluate it, sample from it.

One module per command, named after it; what the group's commands share is in ``common.py`` when they
share anything. :data:`DECLARATIONS` lists them in the order ``--help`` shows them.
"""

from descentlab.experiments.declaration import Declaration
from descentlab.experiments.lm.eval import LM_EVAL
from descentlab.experiments.lm.generate import LM_GENERATE
from descentlab.experiments.lm.train import LM_TRAIN

DECLARATIONS: tuple[Declaration, ...] = (
    LM_TRAIN,
    LM_EVAL,
    LM_GENERATE,
)
