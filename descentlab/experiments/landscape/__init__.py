"""``descentlab landscape ...``: non-convex optimization and its remedies, on two-dimensional landscapes
and on a network's loss surface.

One module per command, named after it; what the group's commands share is in ``common.py`` when they
share anything. :data:`DECLARATIONS` lists them in the order ``--help`` shows them.
"""

from descentlab.experiments.declaration import Declaration
from descentlab.experiments.landscape.gradients import LANDSCAPE_GRADIENTS
from descentlab.experiments.landscape.hessian import LANDSCAPE_HESSIAN
from descentlab.experiments.landscape.minima import LANDSCAPE_MINIMA
from descentlab.experiments.landscape.plateau import LANDSCAPE_PLATEAU
from descentlab.experiments.landscape.saddle import LANDSCAPE_SADDLE
from descentlab.experiments.landscape.steep import LANDSCAPE_STEEP
from descentlab.experiments.landscape.surface import LANDSCAPE_SURFACE
from descentlab.experiments.landscape.tuning import LANDSCAPE_TUNING

DECLARATIONS: tuple[Declaration, ...] = (
    LANDSCAPE_SADDLE,
    LANDSCAPE_MINIMA,
    LANDSCAPE_PLATEAU,
    LANDSCAPE_STEEP,
    LANDSCAPE_GRADIENTS,
    LANDSCAPE_TUNING,
    LANDSCAPE_HESSIAN,
    LANDSCAPE_SURFACE,
)
