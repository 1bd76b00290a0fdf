"""One readable module per experiment (config dataclass + loop); :data:`EXPERIMENTS` lists them."""

from descentlab.experiments import optim_train
from descentlab.experiments.runner import Experiment, resume, start

OPTIM_TRAIN = Experiment(
    name=optim_train.EXPERIMENT,
    command="descentlab optim train",
    config=optim_train.TrainConfig,
    train=optim_train.train,
    figures=optim_train.figures,
)

EXPERIMENTS: dict[str, Experiment] = {e.name: e for e in (OPTIM_TRAIN,)}

__all__ = ["EXPERIMENTS", "OPTIM_TRAIN", "Experiment", "resume", "start"]
