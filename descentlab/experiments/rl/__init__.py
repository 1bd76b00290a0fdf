"""``descentlab rl ...``: deep reinforcement learning: train an agent, evaluate it, watch it, compare rewards.

One module per command, named after it; what the group's commands share is in ``common.py`` when they
share anything. :data:`DECLARATIONS` lists them in the order ``--help`` shows them.
"""

from descentlab.experiments.declaration import Declaration
from descentlab.experiments.rl.eval import RL_EVAL
from descentlab.experiments.rl.play import RL_PLAY
from descentlab.experiments.rl.rewards import RL_REWARDS
from descentlab.experiments.rl.train import RL_TRAIN

DECLARATIONS: tuple[Declaration, ...] = (
    RL_TRAIN,
    RL_EVAL,
    RL_PLAY,
    RL_REWARDS,
)
