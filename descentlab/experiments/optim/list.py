"""``descentlab optim list``: the unit's eight optimizers, each with its data regime and update rule."""

from __future__ import annotations

from descentlab.experiments.declaration import Call, Command
from descentlab.optim.regimes import UNIT_OPTIMIZERS


def list_optimizers(call: Call) -> int:
    for i, unit in enumerate(UNIT_OPTIMIZERS, 1):
        print(f"{i}. {unit.name} [{unit.regime.name}]\n   {unit.rule}")
    return 0


OPTIM_LIST = Command(
    command="optim list",
    help="the unit's eight optimizers with their data regimes and update rules",
    description="The unit's eight optimizers, each with its regime and its update rule.",
    examples=("descentlab optim list",),
    run=list_optimizers,
)
