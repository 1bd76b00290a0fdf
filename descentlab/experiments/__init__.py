"""The experiments of the unit, laid out like the command line, and :data:`DECLARATIONS`, the one list of them.

``descentlab GROUP COMMAND`` is declared in ``experiments/GROUP/COMMAND.py`` (``rl eval`` in ``rl/eval.py``,
``rnn gradient-flow`` in ``rnn/gradient_flow.py``); what a group's commands share is in its ``common.py``.
Each module declares its experiment (:class:`Experiment`: config, run, figures, table, report sections,
tour entries, search space) or its command (:class:`Command`: ``rl eval``, ``lm generate``, ...), and each
group's ``__init__`` lists its declarations in the order ``--help`` shows them. The command line, the
tour's plan, the report and the CLI tests are derived from this list; the lab book's chapters
(``descentlab/labbook/chapters``) place each entry's runs, and the tour runs them in the chapters' order.
What experiments of different groups share (the supervised loop, the MNIST helpers, the step control) is
in :mod:`descentlab.training`: no experiment module imports one of another group (an import-linter
contract), nor another command's module of its own group.

Adding an experiment: write ``experiments/GROUP/COMMAND.py`` (``optim/race.py`` is a short one) and add
its declaration to ``GROUP/__init__.py``.
"""

from descentlab.experiments import generalize, landscape, lm, neuro, optim, rl, rnn, stn
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
    *optim.DECLARATIONS,
    *landscape.DECLARATIONS,
    *generalize.DECLARATIONS,
    *stn.DECLARATIONS,
    *rnn.DECLARATIONS,
    *lm.DECLARATIONS,
    *rl.DECLARATIONS,
    *neuro.DECLARATIONS,
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
