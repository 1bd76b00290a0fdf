"""Non-convex landscapes: analytic surfaces, optimizer races on them, Hessian tools for real networks."""

from descentlab.landscape.functions import LANDSCAPES, Landscape
from descentlab.landscape.hessian import Hessian, Spectrum
from descentlab.landscape.minima import ManyStarts, descend_from_many, random_starts
from descentlab.landscape.race import Trajectory, race

__all__ = [
    "LANDSCAPES",
    "Hessian",
    "Landscape",
    "ManyStarts",
    "Spectrum",
    "Trajectory",
    "descend_from_many",
    "race",
    "random_starts",
]
