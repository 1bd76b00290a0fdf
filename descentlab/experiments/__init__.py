"""One readable module per experiment (config dataclass + loop); :data:`EXPERIMENTS` lists them."""

from descentlab.experiments import (
    generalization,
    lm_train,
    many_starts,
    neuro_runs,
    optim_race,
    optim_train,
    pathologies,
    rl_train,
    rnn_tasks,
    saddle_escape,
    snn_train,
    stn_train,
)
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

MINIMA = Experiment(
    name=many_starts.EXPERIMENT,
    command="descentlab landscape minima",
    config=many_starts.MinimaConfig,
    train=many_starts.train,
    figures=many_starts.figures,
)

PLATEAU = Experiment(
    name=pathologies.PLATEAU,
    command="descentlab landscape plateau",
    config=pathologies.PlateauConfig,
    train=pathologies.plateau_train,
    figures=pathologies.figures,
)

STEEP = Experiment(
    name=pathologies.STEEP,
    command="descentlab landscape steep",
    config=pathologies.SteepConfig,
    train=pathologies.steep_train,
    figures=pathologies.figures,
)

GENERALIZE_MNIST = Experiment(
    name=generalization.MNIST_EXPERIMENT,
    command="descentlab generalize mnist",
    config=generalization.GeneralizeConfig,
    train=generalization.mnist_train,
    figures=generalization.figures,
)

GENERALIZE_OPTIMIZERS = Experiment(
    name=generalization.OPTIMIZERS_EXPERIMENT,
    command="descentlab generalize optimizers",
    config=generalization.OptimizersConfig,
    train=generalization.optimizers_train,
    figures=generalization.figures,
)

STN_TRAIN = Experiment(
    name=stn_train.EXPERIMENT,
    command="descentlab stn train",
    config=stn_train.StnConfig,
    train=stn_train.train,
    figures=stn_train.figures,
)

LM_TRAIN = Experiment(
    name=lm_train.EXPERIMENT,
    command="descentlab lm train",
    config=lm_train.LMConfig,
    train=lm_train.train,
    figures=lm_train.figures,
)

RNN_TOPOLOGY = Experiment(
    name=rnn_tasks.TOPOLOGY,
    command="descentlab rnn topology",
    config=rnn_tasks.TopologyConfig,
    train=rnn_tasks.topology_train,
    figures=rnn_tasks.figures,
)

RNN_ADDING = Experiment(
    name=rnn_tasks.ADDING,
    command="descentlab rnn adding",
    config=rnn_tasks.AddingConfig,
    train=rnn_tasks.adding_train,
    figures=rnn_tasks.figures,
)

RNN_GRADIENT_FLOW = Experiment(
    name=rnn_tasks.GRADIENT_FLOW,
    command="descentlab rnn gradient-flow",
    config=rnn_tasks.GradientFlowConfig,
    train=rnn_tasks.gradient_flow_train,
    figures=rnn_tasks.figures,
)

RL_TRAIN = Experiment(
    name=rl_train.EXPERIMENT,
    command="descentlab rl train",
    config=rl_train.RLConfig,
    train=rl_train.train,
    figures=rl_train.figures,
)

RL_REWARDS = Experiment(
    name=rl_train.REWARDS_EXPERIMENT,
    command="descentlab rl rewards",
    config=rl_train.RewardsConfig,
    train=rl_train.rewards_train,
    figures=rl_train.figures,
)

NEURO_TRAIN_SNN = Experiment(
    name=snn_train.EXPERIMENT,
    command="descentlab neuro train-snn",
    config=snn_train.SNNConfig,
    train=snn_train.train,
    figures=snn_train.figures,
)

NEURO_PATTERNS = Experiment(
    name=neuro_runs.PATTERNS_EXPERIMENT,
    command="descentlab neuro patterns",
    config=neuro_runs.PatternsConfig,
    train=neuro_runs.patterns_train,
    figures=neuro_runs.figures,
)

NEURO_PLASTICITY = Experiment(
    name=neuro_runs.PLASTICITY_EXPERIMENT,
    command="descentlab neuro plasticity",
    config=neuro_runs.PlasticityConfig,
    train=neuro_runs.plasticity_train,
    figures=neuro_runs.figures,
)

EXPERIMENTS: dict[str, Experiment] = {
    e.name: e
    for e in (
        OPTIM_TRAIN,
        OPTIM_RACE,
        SADDLE,
        MINIMA,
        PLATEAU,
        STEEP,
        GENERALIZE_MNIST,
        GENERALIZE_OPTIMIZERS,
        STN_TRAIN,
        LM_TRAIN,
        RNN_TOPOLOGY,
        RNN_ADDING,
        RNN_GRADIENT_FLOW,
        RL_TRAIN,
        RL_REWARDS,
        NEURO_TRAIN_SNN,
        NEURO_PATTERNS,
        NEURO_PLASTICITY,
    )
}

__all__ = [
    "EXPERIMENTS",
    "GENERALIZE_MNIST",
    "GENERALIZE_OPTIMIZERS",
    "LM_TRAIN",
    "MINIMA",
    "NEURO_PATTERNS",
    "NEURO_PLASTICITY",
    "NEURO_TRAIN_SNN",
    "OPTIM_RACE",
    "OPTIM_TRAIN",
    "PLATEAU",
    "RL_REWARDS",
    "RL_TRAIN",
    "RNN_ADDING",
    "RNN_GRADIENT_FLOW",
    "RNN_TOPOLOGY",
    "SADDLE",
    "STEEP",
    "STN_TRAIN",
    "Experiment",
    "resume",
    "start",
]
