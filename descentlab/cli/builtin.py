"""Every command of ``descentlab``: the experiments' declarations, the searches, the tour, and the commands
that read what runs wrote (``runs``, ``report``) or check the data (``data check``).

:data:`COMMANDS` is what the command line is made from (:mod:`descentlab.cli.main`); :data:`GROUPS` gives each
first word (``optim``, ``rl``, ...) its help. Nothing here is kept by hand per experiment: a new experiment
is a new module and one line in :data:`descentlab.experiments.DECLARATIONS`.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from descentlab.cli import classroom, hpo
from descentlab.cli.tour import TOUR
from descentlab.command import Group
from descentlab.config import Options, param
from descentlab.data import check_all
from descentlab.errors import ParameterError, UserError, printable, shown
from descentlab.experiments import DECLARATIONS, EXPERIMENTS, Call, Command, Experiment, as_command
from descentlab.labbook import build_report
from descentlab.labbook.notebooks import write_notebooks
from descentlab.runs import compare_table, find_runs, format_table, list_table, load_runs

# ---- runs, data, report -------------------------------------------------------------------------


@dataclass(frozen=True)
class ListOptions(Options):
    experiment: str | None = param(None, "only this experiment's runs (e.g. optim-train)")
    out: str = param("runs", "root folder of run folders", metavar="DIR")

    def __post_init__(self) -> None:
        super().__post_init__()
        names = [e.name for e in EXPERIMENTS]
        if self.experiment is not None and self.experiment not in names:
            raise ParameterError("experiment", f"{self.experiment!r} is not an experiment; valid: {', '.join(names)}")


def warn_damaged(damaged: Sequence[tuple[Path, str]]) -> None:
    """One line on stderr for each run folder that is skipped because its files are damaged."""
    for folder, why in damaged:
        print(printable(f"descentlab: warning: skipped damaged run {folder}: {why}"), file=sys.stderr)


def list_runs(call: Call) -> int:
    opts: ListOptions = call.options
    scan = find_runs(opts.out, opts.experiment)
    warn_damaged(scan.damaged)
    found = scan.runs
    if not found and scan.damaged:
        raise UserError(f"no readable run under {opts.out}: every run folder found is damaged")
    if not found:
        print(f"no runs under {opts.out}" + (f" for experiment {opts.experiment}" if opts.experiment else ""))
        return 0
    print(list_table(found))
    return 0


@dataclass(frozen=True)
class CompareOptions(Options):
    run_dirs: tuple[str, ...] = param((), "run folders", positional=True, metavar="RUN_DIR")


def compare_runs(call: Call) -> int:
    scan = load_runs(call.options.run_dirs)
    warn_damaged(scan.damaged)
    if not scan.runs:
        raise UserError("no run left to compare: every run folder named is damaged")
    print(compare_table(scan.runs))
    return 0


@dataclass(frozen=True)
class CheckOptions(Options):
    json: bool = param(False, "print one JSON object instead of a table")


def check_data(call: Call) -> int:
    statuses = check_all()
    if call.options.json:
        print(json.dumps({s.name: {"present": s.present, "intact": s.intact, "sizes": s.sizes, "note": s.note}
                          for s in statuses}))  # fmt: skip
    else:
        rows = [[s.name, "yes" if s.present else "no", "yes" if s.intact else "no",
                 " ".join(f"{k}={v:,}" for k, v in s.sizes.items()), s.note] for s in statuses]  # fmt: skip
        print(format_table(["data set", "present", "intact", "sizes", "note"], rows))
    return 0 if all(s.intact for s in statuses) else 1


@dataclass(frozen=True)
class ReportOptions(Options):
    run_dirs: tuple[str, ...] = param((), "run folders, or folders holding run folders", positional=True,
                                      metavar="RUN_DIR")  # fmt: skip
    output: str = param("runs/report.html", "a name ending in .html writes one page; a folder, the book's pages",
                        short="-o")  # fmt: skip

    def __post_init__(self) -> None:
        super().__post_init__()
        if Path(self.output).suffix.lower() not in ("", ".html", ".htm"):
            raise ParameterError("output", f"{self.output}: give a name ending in .html (one page) or a folder "
                                           "(the book's pages: index.html, a page per chapter)")  # fmt: skip


def check_output_file(path: str | Path) -> None:
    """Refuse, before any work, an output file that cannot be written: its folder is a file, or read-only."""
    path = Path(path)
    if path.is_dir():
        raise ParameterError("output", f"{path}: is a folder; give a file name ending in .html")
    check_writable(path)


def check_output_folder(path: str | Path) -> None:
    """Refuse, before any work, a folder for the book's pages that is a file, cannot be written, or holds
    files that are not a book's (nothing already written is overwritten but an earlier book)."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ParameterError(
            "output", f"{path}: is a file; give a folder for the book's pages, or a name ending in .html"
        )
    if path.is_dir() and any(path.iterdir()) and not (path / "style.css").is_file():
        raise ParameterError("output", f"{path}: holds other files; give a new or empty folder for the book's pages")
    check_writable(path / "index.html")


def check_writable(path: Path) -> None:
    """Refuse a file that cannot be written: a file where a folder above it should be, or no permission."""
    folder = next((p for p in (path.parent, *path.parent.parents) if p.exists()), Path("."))
    if not folder.is_dir():
        raise ParameterError("output", f"{folder}: is a file, so nothing can be written under it")
    if not os.access(folder, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise ParameterError("output", f"{path if path.exists() else folder}: not writable (permission denied)")


def run_folders(paths: Sequence[str]) -> list[Path]:
    """Run folders named directly, or found one or two levels below a folder named."""
    found: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if (p / "config.json").is_file():
            found.append(p)
            continue
        if not p.is_dir():
            raise UserError(f"{shown(p)}: no such run folder")
        below = sorted({c.parent for pattern in ("*/config.json", "*/*/config.json") for c in p.glob(pattern)})
        if not below:
            raise UserError(f"{shown(p)}: holds no run folders (no config.json below it)")
        found += below
    return found


def report(call: Call) -> int:
    opts: ReportOptions = call.options
    (check_output_file if Path(opts.output).suffix else check_output_folder)(opts.output)
    scan = load_runs(run_folders(opts.run_dirs))
    warn_damaged(scan.damaged)
    if not scan.runs:
        raise UserError("no run to report: every run folder found is damaged")
    path = build_report(scan.runs, opts.output)
    print(f"report: {path}")
    return 0


@dataclass(frozen=True)
class NotebooksOptions(Options):
    dir: str = param("runs/notebooks", "folder to write the notebooks into", metavar="DIR")
    seed: int = param(0, "the seed of the runs the notebooks make", low=0, high=2**31 - 1)
    force: bool = param(False, "write over notebooks already in DIR (a student's work in them is lost)")


def write_notebook_files(call: Call) -> int:
    opts: NotebooksOptions = call.options
    if Path(opts.dir).exists() and not Path(opts.dir).is_dir():
        raise ParameterError("dir", f"{shown(Path(opts.dir))} is a file; give a folder for the notebooks")
    check_writable(Path(opts.dir) / "index.ipynb")
    try:
        paths = write_notebooks(opts.dir, seed=opts.seed, overwrite=opts.force)
    except FileExistsError as e:
        raise ParameterError("dir", f"{shown(Path(str(e)))} already exists and nothing was written: give another "
                             "--dir, or --force to write over the notebooks there") from None  # fmt: skip
    print(f"wrote {len(paths)} notebooks to {opts.dir}: open them with: jupyter lab {opts.dir}")
    return 0


RUNS_LIST = Command(
    command="runs list",
    help="show runs with their status and final metrics",
    description="Show the runs under --out with their status and final metrics.",
    examples=("descentlab runs list --experiment optim-train",),
    run=list_runs,
    options=ListOptions,
)
RUNS_COMPARE = Command(
    command="runs compare",
    help="config differences and metrics of runs, side by side",
    description="The config keys that differ between runs, and their metrics, side by side.",
    examples=("descentlab runs compare runs/optim-train/A runs/optim-train/B",),
    run=compare_runs,
    options=CompareOptions,
)
DATA_CHECK = Command(
    command="data check",
    help="list each data set, its sizes, and whether it is present and intact",
    description="MNIST, Fashion-MNIST and Penn Treebank: present, intact, and their sizes.",
    examples=("descentlab data check", "descentlab data check --json"),
    run=check_data,
    options=CheckOptions,
)
REPORT = Command(
    command="report",
    help="report: build the lab book of some runs (one HTML page, or a folder of pages)",
    description=(
        "The lab book of some runs, built only from what they logged: the unit's chapters with each run's\n"
        "figures, table and claims in place. -o NAME.html writes one self-contained page (for printing and\n"
        "mailing); -o FOLDER writes the book's pages there (index.html, a page per chapter, the terms, the\n"
        "exercises), sharing one stylesheet and the math font."
    ),
    examples=(
        "descentlab report runs/tour -o book",
        "descentlab report runs/tour -o tour.html",
        "descentlab report runs/optim-train/*",
    ),
    run=report,
    options=ReportOptions,
)
NOTEBOOKS = Command(
    command="notebooks",
    help="notebooks: write the lab book as Jupyter notebooks, one per chapter (runs/notebooks/)",
    description=(
        "The lab book as Jupyter notebooks, one per chapter and an index, from the same chapter text as\n"
        "the HTML book: prose and equations, each demonstration run at the quick tour's scale with its\n"
        "figures and claims, sliders that call descentlab again, predict-then-run questions, and the\n"
        "chapter's exercises with their checks. Open them with: jupyter lab runs/notebooks (the notebook\n"
        "extra: pip install -e '.[notebooks]'). Notebooks already in DIR are kept unless --force."
    ),
    examples=("descentlab notebooks", "descentlab notebooks --dir my-notebooks --seed 3"),
    run=write_notebook_files,
    options=NotebooksOptions,
)


# ---- every command, and the groups --------------------------------------------------------------

COMMANDS: tuple[Command, ...] = (
    *(as_command(d, EXPERIMENTS) if isinstance(d, Experiment) else d for d in DECLARATIONS),
    *hpo.COMMANDS,
    DATA_CHECK,
    RUNS_LIST,
    RUNS_COMPARE,
    REPORT,
    TOUR,
    NOTEBOOKS,
    *classroom.COMMANDS,
)

GROUPS: tuple[Group, ...] = (
    Group(
        "optim",
        "optimizers: train a network with the unit's optimizers",
        "The unit's optimizers (SGD, momentum, Adagrad, RMSProp, AdaDelta, Adam) at work.",
        (
            "descentlab optim list",
            "descentlab optim train --optimizer momentum --lr 0.01 --epochs 2",
            "descentlab optim bench --only Adam",
        ),
    ),
    Group(
        "generalize",
        "generalization on MNIST: dropout against none, and the unit's optimizers racing to a target",
        "Train, validation and test sets on real MNIST: 55,000 training and 5,000 validation images\n"
        "(stratified from the official 60,000) and the official 10,000 test images, used once.",
        (
            "descentlab generalize mnist",
            "descentlab generalize mnist --epochs 10 --patience 5",
            "descentlab generalize optimizers --max-seconds 60",
        ),
    ),
    Group(
        "stn",
        "spatial transformer networks: a CNN against an ST-CNN on distorted MNIST",
        "Spatial transformer networks (Jaderberg et al. 2015) on rotated, scaled and cluttered MNIST.",
        ("descentlab stn train --distortion rts", "descentlab stn train --distortion r --transform rst --epochs 5"),
    ),
    Group(
        "rnn",
        "recurrent networks: the four topologies, the adding problem, gradient flow and clipping",
        "RNN, LSTM and GRU written out gate by gate (descentlab.rnn), on the unit's four topologies and\n"
        "on the long-range adding problem, and the vanishing and exploding gradients behind the LSTM.",
        (
            "descentlab rnn topology --task many-to-one",
            "descentlab rnn adding --length 100",
            "descentlab rnn gradient-flow",
        ),
    ),
    Group(
        "lm",
        "word-level recurrent language models: train on Penn Treebank or your text, evaluate, generate",
        "Word-level language models (embedding, LSTM/GRU/RNN, decoder; optionally tied) trained with\n"
        "truncated backpropagation through time, scored by perplexity.",
        (
            "descentlab lm train --tied",
            "descentlab lm train --corpus my.txt --epochs 10",
            "descentlab lm generate runs/lm-train/lstm-2x200-tied__0__20261126-120000 --prompt 'the market'",
        ),
    ),
    Group(
        "landscape",
        "non-convex landscapes: saddles, many starts, plateaus, Hessian spectra and loss surfaces",
        "The unit's non-convex optimization: saddles and other pathologies on analytic surfaces, and the\n"
        "curvature and loss surface of trained networks. Optimizer races are 'descentlab optim race';\n"
        "hyperparameter search is 'descentlab hpo'.",
        ("descentlab landscape hessian runs/tour/optim-train/mnist-adam__0__20261125-120000",),
    ),
    Group(
        "hpo",
        "hyperparameter search with Optuna (TPE, median pruning; SQLite or PostgreSQL storage)",
        "Search an experiment's hyperparameters with Optuna. Settings you give are held fixed; the\n"
        "rest of the search space is searched (optim-train: lr, momentum, batch size; optim-race: the\n"
        "optimizer's lr). Each trial is a run folder under OUT/hpo/STUDY. The same command again\n"
        "continues the study; several processes with one --storage and --study share it. The best\n"
        "trial's config is written to OUT/hpo/STUDY/best.toml for --config.",
        (
            "descentlab hpo optim-train --trials 20 --optimizer adam --epochs 1 --train-size 5000",
            "descentlab hpo optim-race --trials 30 --landscape rosenbrock --optimizers momentum",
            "descentlab hpo optim-train --trials 40 --storage postgresql://me@dbhost/optuna --study adam-lr",
            "descentlab optim train --config runs/hpo/optim-train-mnist-adam/best.toml",
        ),
        metavar="EXPERIMENT",
    ),
    Group(
        "rl",
        "reinforcement learning: the route-finding grid, Q-learning, DQN, REINFORCE, PPO",
        "Reinforcement learning on Gymnasium environments and on descentlab/GridRoute-v0, the unit's\n"
        "shortest route between two points on a map, scored by effectiveness (optimal / taken).",
        (
            "descentlab rl train --env CartPole-v1 --algo ppo",
            "descentlab rl train --env descentlab/GridRoute-v0 --algo dqn",
            "descentlab rl eval runs/rl-train/cartpole-ppo__0__20261126-120000 --episodes 100 --json",
            "descentlab rl play runs/rl-train/gridroute-dqn-both__0__20261126-120000 --out route.gif",
            "descentlab rl rewards --algo qlearning",
        ),
    ),
    Group(
        "neuro",
        "computational neuroscience: neuron models, spiking networks, plasticity",
        "Neuron models of computational neuroscience (LIF, Izhikevich, Hodgkin-Huxley), a spiking network\n"
        "trained with surrogate gradients, and the brain's local learning rules (Oja, STDP).",
        (
            "descentlab neuro simulate --model lif --tau-m 10 --threshold 1 --current 1.5 --duration 1000 --json",
            "descentlab neuro simulate --model izhikevich --pattern chattering --current 10 --out ch.png",
            "descentlab neuro train-snn --epochs 1",
            "descentlab neuro plasticity",
        ),
    ),
    Group(
        "data",
        "data sets: check that MNIST, Fashion-MNIST and Penn Treebank are present and intact",
        "The offline data sets and their published sizes.",
        ("descentlab data check", "descentlab data check --json"),
    ),
    classroom.GROUP,
    Group(
        "runs",
        "runs: list runs with their metrics, compare runs side by side",
        "Read run folders (config.json, metrics.jsonl, summary.json); nothing is recomputed.",
        (
            "descentlab runs list --experiment optim-train",
            "descentlab runs compare runs/optim-train/A runs/optim-train/B",
        ),
    ),
)
