"""What an experiment or a command declares about itself, once, in its own module.

An :class:`Experiment` is something that makes a run folder (``descentlab optim train``): its command
and help, its config dataclass, its training function, the figures and table it draws from its own
logged metrics, its chapter of the report, the runs the tour makes of it, and what ``descentlab hpo``
may search. A :class:`Command` is anything else the command line does (``descentlab rl eval``): its
options dataclass and the function that runs it, and optionally report sections and a tour step.

Everything else is derived from the one list of declarations (:data:`descentlab.experiments.DECLARATIONS`):
the command-line parser and dispatch, the tour's plan, the report's sections, and the CLI tests.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from matplotlib.figure import Figure

from descentlab.command import Call, Command, Named, TourSettings  # noqa: F401 - declared there, used from here
from descentlab.config import param
from descentlab.data import mnist
from descentlab.report import Section
from descentlab.runs import RunRecord, StopFlag

Table = tuple[list[str], list[list[str]]]  # header, rows
TrainFn = Callable[[Any, Any, StopFlag, "dict[str, Any] | None"], "dict[str, float]"]  # run: a Run, or a SilentRun


@dataclass(frozen=True)
class SearchSpace:
    """What ``descentlab hpo EXPERIMENT`` searches and minimizes.

    ``about`` says it in words; ``suggest(trial, config, fixed)`` proposes settings (Optuna's ``trial.suggest_*``), leaving alone the
    fields in ``fixed`` (given by the user); ``objective(config)`` names the final metric to minimize;
    ``prune_on`` the metric reported during a run for pruning (None: never pruned); ``check(config)``
    refuses configs the search cannot tune; ``score(config, final metrics)`` overrides the objective.
    """

    about: str  # what is searched, in words, for --help
    suggest: Callable[[Any, Any, frozenset[str]], dict[str, Any]]
    objective: Callable[[Any], str]
    prune_on: str | None = None
    check: Callable[[Any], None] | None = None
    score: Callable[[Any, dict[str, float]], float] | None = None

    def value(self, cfg: Any, final: dict[str, float]) -> float:
        value = self.score(cfg, final) if self.score else final.get(self.objective(cfg), math.nan)
        return math.inf if math.isnan(value) else value  # NaN (a diverged run) ranks last


def no_figures(record: RunRecord) -> dict[str, Figure]:
    return {}


@dataclass(frozen=True)
class Experiment(Named):
    """One experiment: a command that trains and logs a run, and everything derived from it."""

    command: str  # "optim train": run as `descentlab optim train`; its runs go to runs/optim-train/
    help: str  # one line, listed by `descentlab optim --help`
    description: str  # at the top of `descentlab optim train --help`
    examples: tuple[str, ...]  # command lines shown under --help
    config: type  # its frozen config dataclass (a descentlab.config.RunConfig)
    train: TrainFn  # (config, run, stop flag, checkpoint state or None) -> final metrics
    figures: Callable[[RunRecord], dict[str, Figure]] = no_figures  # logged run -> {file name: figure}
    table: Callable[[RunRecord], Table] | None = None  # printed when a run ends
    sections: Callable[[Sequence[RunRecord]], list[Section]] | None = None  # its part of the report, claims included
    tour: Callable[[TourSettings], list[Any]] | None = None  # the configs `descentlab tour` runs
    headline: Callable[[RunRecord], str] | None = None  # a run's one to three headline numbers, in words
    search: SearchSpace | None = None  # what `descentlab hpo` may search
    # Raises a UserError for what can be known wrong before the run starts (data, maps, memory), before its
    # folder is made: a run folder holds only runs that started.
    check: Callable[[Any], None] | None = None
    # Whether its train() runs data-parallel under torchrun (descentlab.runs.distributed): each rank its shard
    # of each batch, DDP's averaged gradients, rank 0 alone writing. The others refuse to start under torchrun.
    data_parallel: bool = False
    # Whether its records fall at steps the run itself chooses (an agent logs each episode's end): then the steps
    # it logs at move with rounding on another CPU, and only the keys it logs are fixed by its config.
    logs_at_events: bool = False


def checkpoint_every_param(default: int = 0) -> Any:
    """The ``--checkpoint-every K`` field of a training experiment's config: steps between checkpoints, so that
    an elastic restart (``torchrun --max-restarts``) loses at most K steps."""
    return param(default, "steps between checkpoints (0: only every --checkpoint-seconds; Ctrl-C and SIGTERM also "
                 "write one)", low=0, high=10**9)  # fmt: skip


def check_mnist(cfg: Any) -> None:
    """The ``check`` of an experiment that trains on MNIST: the data set loads and is intact."""
    mnist("train")
    mnist("test")


Declaration = Experiment | Command
