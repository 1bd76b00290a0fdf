"""Non-convex landscapes: analytic surfaces, optimizer races on them."""

from descentlab.landscape.functions import LANDSCAPES, Landscape
from descentlab.landscape.race import Trajectory, race

__all__ = ["LANDSCAPES", "Landscape", "Trajectory", "race"]
