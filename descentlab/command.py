"""What a command of ``descentlab`` declares about itself: :class:`Command` and the :class:`Call` it is run with.

Kept apart from :mod:`descentlab.experiments` (whose :class:`~descentlab.experiments.Experiment` is the other
kind of declaration) so that a command that trains nothing, such as ``descentlab exercise check``, starts
without importing every experiment.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from descentlab.report import Section
    from descentlab.runs import RunRecord


@dataclass(frozen=True)
class TourSettings:
    """What every tour entry is told: the seed and device, and whether this is the quick tour."""

    seed: int = 0
    device: str = "auto"
    quick: bool = False


class Named:
    """What a declaration's ``command`` (``"optim train"``) gives it."""

    command: str

    @property
    def name(self) -> str:
        """``optim-train``: the folder of an experiment's runs under ``runs/``, and the command's id."""
        return self.command.replace(" ", "-")

    @property
    def invocation(self) -> str:
        """``descentlab optim train``."""
        return f"descentlab {self.command}"


@dataclass(frozen=True)
class Call:
    """One invocation of a command: its options and settings as parsed, and how they were given."""

    options: Any = None  # the command's options dataclass
    settings: Any = None  # its settings (experiments, searches, the tour): defaults < config file < flags
    flags: tuple[str, ...] = ()  # the settings fields given as flags
    config_file: str | None = None  # --config FILE, when given
    file_keys: frozenset[str] = frozenset()  # the settings fields the config file gave
    argv: tuple[str, ...] = ()  # the whole command line, to say how to continue


@dataclass(frozen=True)
class Command(Named):
    """A command that is not an experiment (it reads runs, data or models, or starts several runs)."""

    command: str  # "rl eval"
    help: str
    description: str
    run: Callable[[Call], int]  # returns the exit code
    examples: tuple[str, ...] = ()
    options: type | None = None  # its options dataclass: flags and positional arguments
    settings: type | None = None  # a config dataclass settable by flags and --config FILE
    sections: Callable[[Sequence[RunRecord]], list[Section]] | None = None  # report sections from any runs
    tour: Callable[[TourSettings, Sequence[Path]], None] | None = None  # a tour step on the runs made so far
    reads: tuple[str, ...] = ()  # the experiments whose tour runs its tour step works on (a chapter's notebook
    # that shows this command alone makes them first)


@dataclass(frozen=True)
class Group:
    """The first word of a command (``optim``): its one-line help, description and examples."""

    name: str
    help: str
    description: str
    examples: tuple[str, ...] = ()
    metavar: str = "ACTION"  # how --help names the second word
