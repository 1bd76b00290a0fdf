"""Non-convex landscapes: analytic surfaces, optimizer races on them, Hessian tools for real networks."""

from descentlab.landscape.functions import LANDSCAPES, Landscape
from descentlab.landscape.hessian import Hessian, Spectrum
from descentlab.landscape.minima import ManyStarts, descend_from_many, random_starts
from descentlab.landscape.race import Trajectory, descend, descend_together, race

__all__ = [
    "LANDSCAPES",
    "Hessian",
    "Landscape",
    "ManyStarts",
    "Spectrum",
    "Trajectory",
    "descend",
    "descend_from_many",
    "descend_together",
    "race",
    "random_starts",
]
