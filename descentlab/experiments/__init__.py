"""One readable module per experiment (config dataclass + loop); :data:`EXPERIMENTS` lists them."""

from descentlab.experiments import optim_race, optim_train, saddle_escape
from descentlab.experiments.runner import Experiment, resume, start

OPTIM_TRAIN = Experiment(
    name=optim_train.EXPERIMENT,
    command="descentlab optim train",
    config=optim_train.TrainConfig,
    train=optim_train.train,
    figures=optim_train.figures,
)

OPTIM_RACE = Experiment(
    name=optim_race.EXPERIMENT,
    command="descentlab optim race",
    config=optim_race.RaceConfig,
    train=optim_race.train,
    figures=optim_race.figures,
)

SADDLE = Experiment(
    name=saddle_escape.EXPERIMENT,
    command="descentlab landscape saddle",
    config=saddle_escape.SaddleConfig,
    train=saddle_escape.train,
    figures=saddle_escape.figures,
)

EXPERIMENTS: dict[str, Experiment] = {e.name: e for e in (OPTIM_TRAIN, OPTIM_RACE, SADDLE)}

__all__ = ["EXPERIMENTS", "OPTIM_RACE", "OPTIM_TRAIN", "SADDLE", "Experiment", "resume", "start"]
