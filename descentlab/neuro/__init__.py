"""Computational neuroscience: neuron models, and the bridge from them to artificial networks.

* :mod:`descentlab.neuro.models` - leaky integrate-and-fire, Izhikevich (2003), Hodgkin-Huxley (1952),
  vectorized over many neurons; :func:`simulate`.
"""

from descentlab.neuro.models import (
    LIF,
    PATTERNS,
    HodgkinHuxley,
    Izhikevich,
    Recording,
    Reset,
    simulate,
)

__all__ = ["LIF", "PATTERNS", "HodgkinHuxley", "Izhikevich", "Recording", "Reset", "simulate"]
