"""``descentlab stn ...``: the Spatial Transformer Network.

One module per command, named after it; what the group's commands share is in ``common.py`` when they
share anything. :data:`DECLARATIONS` lists them in the order ``--help`` shows them.
"""

from descentlab.experiments.declaration import Declaration
from descentlab.experiments.stn.train import STN_TRAIN

DECLARATIONS: tuple[Declaration, ...] = (STN_TRAIN,)
