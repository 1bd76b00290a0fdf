"""The experiments of the unit, one readable module each, and :data:`DECLARATIONS`, the one list of them.

Each module declares its experiments (:class:`Experiment`: config, run, figures, table, report sections,
tour entries, search space) and the commands that go with them (:class:`Command`: ``rl eval``,
``lm generate``, ...). The command line, the tour's plan, the report and the CLI tests are derived from
this list; the lab book's chapters (``descentlab/labbook/chapters``) place each entry's runs, and the tour
runs them in the chapters' order. Within a command group, ``--help`` lists commands in this list's order.

Adding an experiment: write its module (see ``optim_race.py`` for a short one) and add one line here.
"""

from descentlab.experiments import (
    adagrad_rates,
    batch_sweep,
    curvature,
    generalization,
    lm_train,
    loss_surface,
    many_starts,
    momentum_sweep,
    neuro_runs,
    optim_race,
    optim_train,
    pathologies,
    rl_train,
    rnn_tasks,
    saddle_escape,
    small_gradients,
    snapshot_ensembles,
    snn_train,
    stn_train,
    svrg_run,
    tuning,
)
from descentlab.experiments.declaration import (
    Call,
    Command,
    Declaration,
    Experiment,
    SearchSpace,
    TourSettings,
)
from descentlab.experiments.runner import as_command, resume, start

DECLARATIONS: tuple[Declaration, ...] = (
    optim_race.OPTIM_RACE,
    saddle_escape.LANDSCAPE_SADDLE,
    many_starts.LANDSCAPE_MINIMA,
    pathologies.LANDSCAPE_PLATEAU,
    pathologies.LANDSCAPE_STEEP,
    small_gradients.LANDSCAPE_GRADIENTS,
    tuning.LANDSCAPE_TUNING,
    optim_train.OPTIM_TRAIN,
    momentum_sweep.OPTIM_MOMENTUM,
    batch_sweep.OPTIM_BATCH_SIZE,
    adagrad_rates.OPTIM_RATES,
    svrg_run.OPTIM_SVRG,
    snapshot_ensembles.OPTIM_SNAPSHOTS,
    optim_train.OPTIM_LIST,
    optim_train.OPTIM_BENCH,
    curvature.LANDSCAPE_HESSIAN,
    loss_surface.LANDSCAPE_SURFACE,
    generalization.GENERALIZE_MNIST,
    generalization.GENERALIZE_OPTIMIZERS,
    stn_train.STN_TRAIN,
    rnn_tasks.RNN_TOPOLOGY,
    rnn_tasks.RNN_ADDING,
    rnn_tasks.RNN_GRADIENT_FLOW,
    lm_train.LM_TRAIN,
    lm_train.LM_EVAL,
    lm_train.LM_GENERATE,
    rl_train.RL_TRAIN,
    rl_train.RL_EVAL,
    rl_train.RL_PLAY,
    rl_train.RL_REWARDS,
    neuro_runs.NEURO_PATTERNS,
    snn_train.NEURO_TRAIN_SNN,
    neuro_runs.NEURO_PLASTICITY,
    neuro_runs.NEURO_SIMULATE,
)

EXPERIMENTS: tuple[Experiment, ...] = tuple(d for d in DECLARATIONS if isinstance(d, Experiment))


def experiment(name: str) -> Experiment:
    """The experiment whose runs go to ``runs/NAME`` (``optim-train``)."""
    for exp in EXPERIMENTS:
        if exp.name == name:
            return exp
    raise KeyError(name)


__all__ = [
    "DECLARATIONS",
    "EXPERIMENTS",
    "Call",
    "Command",
    "Declaration",
    "Experiment",
    "SearchSpace",
    "TourSettings",
    "as_command",
    "experiment",
    "resume",
    "start",
]
