"""``descentlab rnn ...``: recurrent networks: their topologies, long-range memory, gradient flow.

One module per command, named after it; what the group's commands share is in ``common.py`` when they
share anything. :data:`DECLARATIONS` lists them in the order ``--help`` shows them.
"""

from descentlab.experiments.declaration import Declaration
from descentlab.experiments.rnn.adding import RNN_ADDING
from descentlab.experiments.rnn.gradient_flow import RNN_GRADIENT_FLOW
from descentlab.experiments.rnn.topology import RNN_TOPOLOGY

DECLARATIONS: tuple[Declaration, ...] = (
    RNN_TOPOLOGY,
    RNN_ADDING,
    RNN_GRADIENT_FLOW,
)
