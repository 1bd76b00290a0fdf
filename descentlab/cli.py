"""The ``descentlab`` command. It only parses and dispatches; the work lives in the library.

Errors a user can fix (a bad flag, value, config file, data set or checkpoint) print one line and exit
with code 2; Ctrl-C during training writes a checkpoint, says where, and exits with code 130.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from descentlab import __version__
from descentlab.config import add_arguments, given_flags, read_config_file, resolve
from descentlab.errors import Interrupted, UserError

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage dump) and examples kept as written."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _examples(*lines: str) -> str:
    return "examples:\n" + "\n".join(f"  {line}" for line in lines)


def _add_experiment_options(p: argparse.ArgumentParser, config: type, default_name: str) -> None:
    _add_run_options(p)
    p.add_argument("--name", help=f"run name (default: {default_name})")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue this run from its checkpoint, with its config")
    add_arguments(p, config)


def _add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", metavar="FILE", help="TOML or YAML file of settings (flags override it)")
    p.add_argument("--out", metavar="DIR", default="runs", help="root folder of run folders (default: runs)")


def build_parser() -> Parser:
    from descentlab.experiments.generalization import GeneralizeConfig, OptimizersConfig
    from descentlab.experiments.lm_train import LMConfig
    from descentlab.experiments.many_starts import MinimaConfig
    from descentlab.experiments.neuro_runs import PatternsConfig, PlasticityConfig
    from descentlab.experiments.optim_race import RaceConfig
    from descentlab.experiments.optim_train import TrainConfig
    from descentlab.experiments.pathologies import PlateauConfig, SteepConfig
    from descentlab.experiments.rl_train import RewardsConfig, RLConfig
    from descentlab.experiments.rnn_tasks import AddingConfig, GradientFlowConfig, TopologyConfig
    from descentlab.experiments.saddle_escape import SaddleConfig
    from descentlab.experiments.snn_train import SNNConfig
    from descentlab.experiments.stn_train import StnConfig
    from descentlab.tour import TourConfig

    parser = Parser(
        prog="descentlab",
        description="descentlab: the unit 'Optimization and Generalization', run for real.",
        epilog=_examples(
            "descentlab tour --quick", "descentlab optim train --optimizer adam --epochs 3", "descentlab runs list"
        ),
    )
    parser.add_argument("--version", action="version", version=f"descentlab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    # optim ----------------------------------------------------------------------------------
    optim = sub.add_parser(
        "optim",
        help="optimizers: train a network with the unit's optimizers",
        description="The unit's optimizers (SGD, momentum, Adagrad, RMSProp, AdaDelta, Adam) at work.",
        epilog=_examples(
            "descentlab optim list",
            "descentlab optim train --optimizer momentum --lr 0.01 --epochs 2",
            "descentlab optim bench --only Adam",
        ),
    )
    optim_sub = optim.add_subparsers(dest="action", metavar="ACTION", required=True)
    train = optim_sub.add_parser(
        "train",
        help="train a 784-hidden-10 MLP on MNIST with one optimizer, as a run",
        description=(
            "Train a multilayer perceptron on MNIST or Fashion-MNIST with one optimizer and log it as a\n"
            "run: config.json, metrics.jsonl, TensorBoard events, checkpoint.pt, figures, summary.json.\n"
            "Ctrl-C writes a checkpoint and exits with code 130; --resume continues it exactly."
        ),
        epilog=_examples(
            "descentlab optim train --optimizer adam --epochs 3",
            "descentlab optim train --batch-size 55000 --lr 0.5 --epochs 20   # full-batch gradient descent",
            "descentlab optim train --config adam.toml --seed 1",
            "descentlab optim train --resume runs/optim-train/mnist-adam__0__20261125-120000",
        ),
    )
    optim_sub.add_parser(
        "list",
        help="the unit's eight optimizers with their data regimes and update rules",
        description="The unit's eight optimizers, each with its regime and its update rule.",
    )
    bench = optim_sub.add_parser(
        "bench",
        help="ms per step of ours against torch.optim's fastest, on a 9.8M-parameter model",
        description=(
            "Time one optimizer step on 48 tensors (24 of 640x640, 24 of 640): ours (compiled single\n"
            "pass) against torch.optim's for-loop, foreach and fused implementations, same process."
        ),
        epilog=_examples("descentlab optim bench", "descentlab optim bench --only Adam RMSProp --rounds 30"),
    )
    bench.add_argument("--device", default="cpu", choices=["cpu", "cuda"], help="where to run (default: cpu)")
    bench.add_argument("--rounds", type=int, default=15, help="timed steps per variant (median; default 15)")
    bench.add_argument("--only", nargs="+", metavar="NAME", help="only these algorithms (e.g. Adam RMSProp)")
    _add_experiment_options(train, TrainConfig, "DATASET-OPTIMIZER")
    race = optim_sub.add_parser(
        "race",
        help="race the optimizers on an analytic landscape: paths over contours, loss, table",
        description=(
            "Every optimizer from one start on an analytic surface (rosenbrock, beale, himmelblau,\n"
            "rastrigin, ackley, six-hump-camel, quadratic-bowl, saddle, monkey-saddle), with tuned\n"
            "learning rates; writes race.png (and race.gif with --gif) and a table of final loss,\n"
            "distance to the nearest minimum and steps to reach it."
        ),
        epilog=_examples(
            "descentlab optim race --landscape rosenbrock",
            "descentlab optim race --landscape rastrigin --optimizers sgd,momentum,adam --noise 2 --gif",
            "descentlab optim race --landscape saddle --start -1.5,0.001 --lr sgd=0.01,adam=0.05",
        ),
    )
    _add_experiment_options(race, RaceConfig, "LANDSCAPE")

    # generalize -----------------------------------------------------------------------------
    generalize = sub.add_parser(
        "generalize",
        help="generalization on MNIST: dropout against none, and the unit's optimizers racing to a target",
        description=(
            "Train, validation and test sets on real MNIST: 55,000 training and 5,000 validation images\n"
            "(stratified from the official 60,000) and the official 10,000 test images, used once."
        ),
        epilog=_examples(
            "descentlab generalize mnist",
            "descentlab generalize mnist --epochs 10 --patience 5",
            "descentlab generalize optimizers --max-seconds 60",
        ),
    )
    generalize_sub = generalize.add_subparsers(dest="action", metavar="ACTION", required=True)
    gen_mnist = generalize_sub.add_parser(
        "mnist",
        help="a 784-1024-1024-10 MLP without and with dropout: learning curves, generalization gap, test error",
        description=(
            "The same network, optimizer, initial weights and data order, trained plainly and with dropout\n"
            "(keep 0.8 on inputs, 0.5 on hidden units; --keep-* use the unit's convention, the probability\n"
            "of keeping a unit). Writes learning_curves.png and prints the generalization gap and test error."
        ),
        epilog=_examples("descentlab generalize mnist", "descentlab generalize mnist --variants dropout --epochs 50"),
    )
    _add_experiment_options(gen_mnist, GeneralizeConfig, "mlp-WIDTHS")
    gen_opt = generalize_sub.add_parser(
        "optimizers",
        help="the unit's eight optimizers on the same network: seconds to 97%% validation accuracy",
        description=(
            "Each of the unit's eight optimizers, in its data regime, trains the network for at most\n"
            "--max-seconds of training; the score is the training time to reach --target validation\n"
            "accuracy, as AlgoPerf scores optimizers. Writes time_to_target.png and a table."
        ),
        epilog=_examples(
            "descentlab generalize optimizers", "descentlab generalize optimizers --hidden 256 --max-seconds 30"
        ),
    )
    _add_experiment_options(gen_opt, OptimizersConfig, "mlp-WIDTHS")

    # stn ------------------------------------------------------------------------------------
    stn = sub.add_parser(
        "stn",
        help="spatial transformer networks: a CNN against an ST-CNN on distorted MNIST",
        description="Spatial transformer networks (Jaderberg et al. 2015) on rotated, scaled and cluttered MNIST.",
        epilog=_examples(
            "descentlab stn train --distortion rts",
            "descentlab stn train --distortion r --transform rst --epochs 5",
        ),
    )
    stn_sub = stn.add_subparsers(dest="action", metavar="ACTION", required=True)
    stn_train = stn_sub.add_parser(
        "train",
        help="train a CNN and an ST-CNN with the same budget; test errors and the transformed digits",
        description=(
            "Distorted MNIST (r: rotated +-90 deg; rts: rotated +-45 deg, scaled 0.7-1.2, moved in 42x42;\n"
            "clutter: moved in 60x60 with 6x6 clutter), generated from the seed. Trains a CNN and the same\n"
            "CNN behind a spatial transformer (affine, translation, rst or projective) with the same\n"
            "optimizer, epochs and time cap; prints their test errors beside the paper's and writes\n"
            "learning_curves.png and transformed.png."
        ),
        epilog=_examples(
            "descentlab stn train --distortion rts",
            "descentlab stn train --distortion clutter --transform translation --out-size 28",
        ),
    )
    _add_experiment_options(stn_train, StnConfig, "DISTORTION-TRANSFORM")

    # rnn ------------------------------------------------------------------------------------
    rnn = sub.add_parser(
        "rnn",
        help="recurrent networks: the four topologies, the adding problem, gradient flow and clipping",
        description=(
            "RNN, LSTM and GRU written out gate by gate (descentlab.rnn), on the unit's four topologies and\n"
            "on the long-range adding problem, and the vanishing and exploding gradients behind the LSTM."
        ),
        epilog=_examples(
            "descentlab rnn topology --task many-to-one",
            "descentlab rnn adding --length 100",
            "descentlab rnn gradient-flow",
        ),
    )
    rnn_sub = rnn.add_subparsers(dest="action", metavar="ACTION", required=True)
    topology = rnn_sub.add_parser(
        "topology",
        help="one task per topology: one-to-one, one-to-many, many-to-one, many-to-many",
        description=(
            "one-to-one: a feed-forward MNIST classifier (the baseline); one-to-many: an MNIST digit\n"
            "captioned with its English name, letter by letter; many-to-one: MNIST read row by row (28\n"
            "steps) and classified at the end; many-to-many: digit sequences translated into words\n"
            "('3 1 4' -> 'three one four') by an encoder-decoder. Prints the test accuracy (exact words for\n"
            "the text tasks) and writes topology.png (and examples.txt)."
        ),
        epilog=_examples(
            "descentlab rnn topology --task one-to-many", "descentlab rnn topology --task many-to-many --steps 3000"
        ),
    )
    _add_experiment_options(topology, TopologyConfig, "TASK")
    adding = rnn_sub.add_parser(
        "adding",
        help="the adding problem: a plain RNN against an LSTM on a long-range memory task",
        description=(
            "T steps of (value, marker); the target is the sum of the two marked values. Always answering 1\n"
            "scores a mean squared error of 0.167. Trains each --cells in turn; writes adding.png."
        ),
        epilog=_examples("descentlab rnn adding --length 100", "descentlab rnn adding --cells lstm,gru --length 200"),
    )
    _add_experiment_options(adding, AddingConfig, "T<LENGTH>")
    flow = rnn_sub.add_parser(
        "gradient-flow",
        help="||dL/dh_t|| against t for tanh RNNs and an LSTM; clipping an exploding RNN",
        description=(
            "The gradient of the last step's loss with respect to every hidden state, at initialization, for\n"
            "tanh RNNs with recurrent weights scale x orthogonal and for an LSTM; then the exploding tanh RNN\n"
            "trained with plain SGD with and without gradient clipping. Writes gradient_flow.png."
        ),
        epilog=_examples(
            "descentlab rnn gradient-flow", "descentlab rnn gradient-flow --length 200 --scales 0.9,1.0,1.1"
        ),
    )
    _add_experiment_options(flow, GradientFlowConfig, "T<LENGTH>")

    # lm -------------------------------------------------------------------------------------
    lm = sub.add_parser(
        "lm",
        help="word-level recurrent language models: train on Penn Treebank or your text, evaluate, generate",
        description=(
            "Word-level language models (embedding, LSTM/GRU/RNN, decoder; optionally tied) trained with\n"
            "truncated backpropagation through time, scored by perplexity."
        ),
        epilog=_examples(
            "descentlab lm train --tied",
            "descentlab lm train --corpus my.txt --epochs 10",
            "descentlab lm generate runs/lm-train/lstm-2x200-tied__0__20261126-120000 --prompt 'the market'",
        ),
    )
    lm_sub = lm.add_subparsers(dest="action", metavar="ACTION", required=True)
    lm_train = lm_sub.add_parser(
        "train",
        help="train a language model (PyTorch's word_language_model recipe by default)",
        description=(
            "Penn Treebank by default (929k training words, 10k vocabulary), or --corpus FILE (its lines\n"
            "split 90/5/5) or --corpus FOLDER (train.txt, valid.txt, test.txt). Keeps the weights with the\n"
            "best validation perplexity in model.pt, prints validation and test perplexity and writes\n"
            "perplexity.png. --impl chooses the recurrent layer: ours written out (loop, compiled, bptt),\n"
            "ours on PyTorch's fused kernel (fused), or torch.nn.LSTM itself (torch)."
        ),
        epilog=_examples(
            "descentlab lm train --tied",
            "descentlab lm train --emsize 650 --hidden 650 --dropout 0.5 --tied --epochs 40 --impl fused",
            "descentlab lm train --optimizer adam --lr 0.002 --clip 1",
        ),
    )
    _add_experiment_options(lm_train, LMConfig, "CELL-LAYERSxHIDDEN")
    lm_eval = lm_sub.add_parser(
        "eval",
        help="validation and test perplexity of a trained language model",
        description="Validation and test perplexity of the run's best weights (model.pt).",
        epilog=_examples("descentlab lm eval runs/lm-train/lstm-2x200-tied__0__20261126-120000 --json"),
    )
    lm_eval.add_argument("run_dir", metavar="RUN_DIR", help="a descentlab lm train run folder")
    lm_eval.add_argument("--json", action="store_true", help="print one JSON object")
    lm_eval.add_argument("--device", default="auto", help="auto, cpu or cuda (default: auto)")
    lm_gen = lm_sub.add_parser(
        "generate",
        help="sample text from a trained language model",
        description=(
            "Reads the prompt's words (unknown ones become <unk>), then samples each next word from the\n"
            "softmax of the logits divided by --temperature, among the --top-k most likely (0: all)."
        ),
        epilog=_examples(
            "descentlab lm generate RUN_DIR --prompt 'the company said' --words 40 --temperature 0.8 --top-k 40"
        ),
    )
    lm_gen.add_argument("run_dir", metavar="RUN_DIR", help="a descentlab lm train run folder")
    lm_gen.add_argument("--prompt", default="", help="words to start from (default: a sentence start)")
    lm_gen.add_argument("--words", type=int, default=50, help="words to generate (default: 50)")
    lm_gen.add_argument("--temperature", type=float, default=1.0, help="softmax temperature > 0 (default: 1)")
    lm_gen.add_argument("--top-k", type=int, default=0, help="sample among the k most likely words (0: all)")
    lm_gen.add_argument("--seed", type=int, default=0, help="sampling seed (default: 0)")
    lm_gen.add_argument("--device", default="auto", help="auto, cpu or cuda (default: auto)")

    # landscape ------------------------------------------------------------------------------
    landscape = sub.add_parser(
        "landscape",
        help="non-convex landscapes: saddles, many starts, plateaus, Hessian spectra and loss surfaces",
        description=(
            "The unit's non-convex optimization: saddles and other pathologies on analytic surfaces, and the\n"
            "curvature and loss surface of trained networks. Optimizer races are 'descentlab optim race';\n"
            "hyperparameter search is 'descentlab hpo'."
        ),
        epilog=_examples("descentlab landscape hessian runs/tour/optim-train/mnist-adam__0__20261125-120000"),
    )
    landscape_sub = landscape.add_subparsers(dest="action", metavar="ACTION", required=True)
    saddle = landscape_sub.add_parser(
        "saddle",
        help="steps to escape a saddle: gradient descent, a negative-curvature step, gradient noise",
        description="From a hair off a saddle's stable manifold, count each method's steps until f is well below the saddle.",
        epilog=_examples(
            "descentlab landscape saddle", "descentlab landscape saddle --landscape monkey-saddle --noise 0.05"
        ),
    )
    _add_experiment_options(saddle, SaddleConfig, "LANDSCAPE")
    minima = landscape_sub.add_parser(
        "minima",
        help="bad local minima: many random starts, plain and with gradient noise; what restarts buy",
        description=(
            "Gradient descent from many random starts (rastrigin by default), once plainly and once with\n"
            "annealed gradient noise: where the runs end, the distribution of final values, and the mean\n"
            "best of k runs (k restarts). Writes minima.json and minima.png."
        ),
        epilog=_examples("descentlab landscape minima", "descentlab landscape minima --starts 2000 --noise 200"),
    )
    _add_experiment_options(minima, MinimaConfig, "LANDSCAPE")
    plateau = landscape_sub.add_parser(
        "plateau",
        help="a flat region: steps to leave it for gradient descent, momentum, RMSProp and Adam",
        description=(
            "On f = 1 - exp(-r^2/2) the gradient all but vanishes far from the well. Counts each method's\n"
            "steps until f < 0.5 from several distances. Writes pathology.json, plateau.png, plateau_steps.png."
        ),
        epilog=_examples("descentlab landscape plateau", "descentlab landscape plateau --radii 2,3,4,5,5.5"),
    )
    _add_experiment_options(plateau, PlateauConfig, "plateau")
    steep = landscape_sub.add_parser(
        "steep",
        help="high curvature: gradient descent diverges; clipping or an adaptive method does not",
        description=(
            "From (-2, -1) on Rosenbrock, where the curvature is about 5,200, gradient descent with a step\n"
            "size that is stable near the minimum diverges; with its gradient clipped, or with RMSProp or\n"
            "Adam, it does not. Writes pathology.json and steep.png."
        ),
        epilog=_examples("descentlab landscape steep", "descentlab landscape steep --clip 1 --steps 20000"),
    )
    _add_experiment_options(steep, SteepConfig, "rosenbrock")
    hessian = landscape_sub.add_parser(
        "hessian",
        help="top eigenvalues, trace and eigenvalue density of an optim-train run's training loss",
        description="Writes hessian.json and hessian_density.png into the run folder and prints the numbers.",
    )
    hessian.add_argument("run_dir", metavar="RUN_DIR", help="a finished or interrupted optim-train run")
    hessian.add_argument("--examples", type=int, default=1000, help="training images in the loss (default 1000)")
    hessian.add_argument("--k", type=int, default=5, help="how many top eigenvalues (default 5)")
    hessian.add_argument("--samples", type=int, default=30, help="Hutchinson probes for the trace (default 30)")

    # hpo ------------------------------------------------------------------------------------
    hpo = sub.add_parser(
        "hpo",
        help="hyperparameter search with Optuna (TPE, median pruning; SQLite or PostgreSQL storage)",
        description=(
            "Search an experiment's hyperparameters with Optuna. Settings you give are held fixed; the\n"
            "rest of the search space is searched (optim-train: lr, momentum, batch size; optim-race: the\n"
            "optimizer's lr). Each trial is a run folder under OUT/hpo/STUDY. The same command again\n"
            "continues the study; several processes with one --storage and --study share it. The best\n"
            "trial's config is written to OUT/hpo/STUDY/best.toml for --config."
        ),
        epilog=_examples(
            "descentlab hpo optim-train --trials 20 --optimizer adam --epochs 1 --train-size 5000",
            "descentlab hpo optim-race --trials 30 --landscape rosenbrock --optimizers momentum",
            "descentlab hpo optim-train --trials 40 --storage postgresql://me@dbhost/optuna --study adam-lr",
            "descentlab optim train --config runs/hpo/optim-train-mnist-adam/best.toml",
        ),
    )
    hpo_sub = hpo.add_subparsers(dest="action", metavar="EXPERIMENT", required=True)
    for exp_name, config, what in (
        ("optim-train", TrainConfig, "the MNIST MLP of 'optim train'; minimizes the final validation loss"),
        ("optim-race", RaceConfig, "one optimizer of 'optim race'; minimizes its final f"),
    ):
        p = hpo_sub.add_parser(exp_name, help=what, description=f"Search {what}.")
        p.add_argument("--trials", type=int, required=True, metavar="N", help="finished trials the study should hold")
        p.add_argument("--storage", metavar="URL", help="SQLAlchemy URL (default: sqlite:///OUT/hpo/optuna.db)")
        p.add_argument("--study", metavar="NAME", help="study name (default: EXPERIMENT-RUNNAME)")
        p.add_argument("--sampler-seed", type=int, default=0, help="TPE seed; give each parallel worker its own")
        p.add_argument("--no-prune", action="store_true", help="never stop a trial early")
        _add_run_options(p)
        add_arguments(p, config)

    surface = landscape_sub.add_parser(
        "surface",
        help="loss surface of an optim-train run: 1D interpolations and a filter-normalized 2D plane",
        description=(
            "Li et al. (2018): the training loss along the line from the run's initial to its trained\n"
            "weights (and on to --other's trained weights), and on the plane through the trained weights\n"
            "spanned by two filter-normalized random directions. Writes surface.json, surface_1d.png and\n"
            "surface_2d.png into the run folder."
        ),
        epilog=_examples(
            "descentlab landscape surface runs/optim-train/mnist-adam__0__20261126-120000",
            "descentlab landscape surface RUN_A --other RUN_B --grid 31 --span 0.5",
        ),
    )
    surface.add_argument("run_dir", metavar="RUN_DIR", help="a finished or interrupted optim-train run")
    surface.add_argument("--other", metavar="RUN_DIR", help="a second optim-train run: interpolate between the two")
    surface.add_argument("--examples", type=int, default=2000, help="training images in the loss (default 2000)")
    surface.add_argument("--grid", type=int, default=21, help="points per side of the 2D plane (default 21)")
    surface.add_argument("--span", type=float, default=1.0, help="the plane covers [-SPAN, SPAN]^2 (default 1)")
    surface.add_argument("--seed", type=int, default=0, help="seed of the random directions (default 0)")

    # rl -------------------------------------------------------------------------------------
    rl = sub.add_parser(
        "rl",
        help="reinforcement learning: the route-finding grid, Q-learning, DQN, REINFORCE, PPO",
        description=(
            "Reinforcement learning on Gymnasium environments and on descentlab/GridRoute-v0, the unit's\n"
            "shortest route between two points on a map, scored by effectiveness (optimal / taken)."
        ),
        epilog=_examples(
            "descentlab rl train --env CartPole-v1 --algo ppo",
            "descentlab rl train --env descentlab/GridRoute-v0 --algo dqn",
            "descentlab rl eval runs/rl-train/cartpole-ppo__0__20261126-120000 --episodes 100 --json",
            "descentlab rl play runs/rl-train/gridroute-dqn-both__0__20261126-120000 --out route.gif",
            "descentlab rl rewards --algo qlearning",
        ),
    )
    rl_sub = rl.add_subparsers(dest="action", metavar="ACTION", required=True)
    rl_train = rl_sub.add_parser(
        "train",
        help="train one agent on one environment, as a run",
        description=(
            "Train qlearning (tabular), dqn, reinforce or ppo on a Gymnasium environment with a Discrete\n"
            "action space. Greedy evaluations every --eval-every steps, the policy in agent.pt, a final\n"
            "100-episode evaluation. Unset hyperparameters take the preset for the environment\n"
            "(rl-baselines3-zoo's where it has one). Ctrl-C checkpoints; --resume continues."
        ),
        epilog=_examples(
            "descentlab rl train --env CartPole-v1 --algo dqn",
            "descentlab rl train --env CartPole-v1 --algo ppo --total-steps 50000 --seed 1",
            "descentlab rl train --env descentlab/GridRoute-v0 --algo qlearning --route fixed",
            "descentlab rl train --env descentlab/GridRoute-v0 --algo dqn --map my_map.txt --reward negative",
            "descentlab rl train --env LunarLander-v3 --algo ppo --max-seconds 1800",
        ),
    )
    _add_experiment_options(rl_train, RLConfig, "ENV-ALGO[-REWARD]")
    rl_eval = rl_sub.add_parser(
        "eval",
        help="greedy evaluation of a trained agent",
        description="Run the trained agent's greedy policy for --episodes episodes (20 at a time).",
        epilog=_examples("descentlab rl eval runs/rl-train/cartpole-ppo__0__20261126-120000 --episodes 100 --json"),
    )
    rl_eval.add_argument("run_dir", metavar="RUN_DIR", help="a descentlab rl train run folder")
    rl_eval.add_argument("--episodes", type=int, default=100, help="episodes (default 100)")
    rl_eval.add_argument("--seed", type=int, default=20_000, help="seed of the first episode (default 20000)")
    rl_eval.add_argument("--json", action="store_true", help="print one JSON object")
    rl_play = rl_sub.add_parser(
        "play",
        help="one greedy episode as an animated GIF",
        description="Render one greedy episode of a trained agent frame by frame into a GIF.",
        epilog=_examples("descentlab rl play runs/rl-train/gridroute-dqn-both__0__20261126-120000 --out route.gif"),
    )
    rl_play.add_argument("run_dir", metavar="RUN_DIR", help="a descentlab rl train run folder")
    rl_play.add_argument("--out", required=True, metavar="FILE.gif", help="the GIF to write")
    rl_play.add_argument("--seed", type=int, default=0, help="episode seed (default 0)")
    rl_play.add_argument("--fps", type=int, default=8, help="frames per second (default 8)")
    rl_play.add_argument("--max-steps", type=int, default=500, help="at most this many steps (default 500)")
    rl_rewards = rl_sub.add_parser(
        "rewards",
        help="positive against negative reinforcement on GridRoute: steps to 90%% effectiveness",
        description=(
            "Train the same agent on the same GridRoute map once with positive reinforcement (a reward at\n"
            "the goal, scaled by effectiveness) and once with negative reinforcement (a cost each step\n"
            "until the goal); plot both effectiveness curves and report the steps each needs to 90%%."
        ),
        epilog=_examples("descentlab rl rewards", "descentlab rl rewards --algo dqn --total-steps 150000"),
    )
    _add_experiment_options(rl_rewards, RewardsConfig, "ALGO-ROUTE-SIZE")

    # neuro ----------------------------------------------------------------------------------
    neuro = sub.add_parser(
        "neuro",
        help="computational neuroscience: LIF, Izhikevich and Hodgkin-Huxley neurons",
        description="Neuron models of computational neuroscience, simulated under a constant current.",
        epilog=_examples(
            "descentlab neuro simulate --model lif --tau-m 10 --threshold 1 --current 1.5 --duration 1000 --json",
            "descentlab neuro simulate --model izhikevich --pattern chattering --current 10 --out ch.png",
            "descentlab neuro simulate --model hh --current 10 --duration 100",
        ),
    )
    neuro_sub = neuro.add_subparsers(dest="action", metavar="ACTION", required=True)
    sim = neuro_sub.add_parser(
        "simulate",
        help="simulate one neuron under a constant current: spikes, rate, voltage trace",
        description=(
            "Simulate one neuron for --duration ms under a constant --current (LIF: in units of the\n"
            "threshold over the resistance; Izhikevich: the paper's units; Hodgkin-Huxley: uA/cm^2).\n"
            "Prints the spike count and rate; --out writes the voltage trace and, with --fi, the f-I curve."
        ),
        epilog=_examples(
            "descentlab neuro simulate --model lif --tau-m 10 --threshold 1 --current 1.5 --duration 1000 --json",
            "descentlab neuro simulate --model lif --current 1.5 --refractory 2 --reset subtract",
            "descentlab neuro simulate --model izhikevich --pattern intrinsically-bursting --current 10 --out ib.png",
            "descentlab neuro simulate --model hh --current 10 --duration 100 --fi 0,30 --out hh.png",
        ),
    )
    train_snn = neuro_sub.add_parser(
        "train-snn",
        help="a spiking network and the same-size ANN on MNIST: accuracy, operations, time steps",
        description=(
            "Train a 784-H-10 spiking network of LIF neurons on MNIST by backpropagation through time with\n"
            "surrogate gradients, then the same-size ReLU network with the same optimizer and data order;\n"
            "a table compares test accuracy, operations per image and time steps."
        ),
        epilog=_examples(
            "descentlab neuro train-snn",
            "descentlab neuro train-snn --encoding rate --steps 25 --epochs 3",
            "descentlab neuro train-snn --surrogate fast-sigmoid --optimizer rmsprop --lr 0.001",
        ),
    )
    _add_experiment_options(train_snn, SNNConfig, "snn-HIDDEN-STEPSsteps-ENCODING")
    plast = neuro_sub.add_parser(
        "plasticity",
        help="Oja's rule finds a principal component; STDP learns a spike pattern hidden in noise",
        description=(
            "Oja's Hebbian rule on correlated Gaussian data (cosine with the leading eigenvector of the\n"
            "covariance), then pair-based STDP on one LIF neuron whose inputs carry a repeated 50 ms spike\n"
            "pattern hidden in Poisson noise: which synapses grow, and whether the neuron comes to fire for\n"
            "the pattern. Writes stdp.png, the weights over time."
        ),
        epilog=_examples("descentlab neuro plasticity", "descentlab neuro plasticity --seconds 120 --seed 1"),
    )
    _add_experiment_options(plast, PlasticityConfig, "stdp-SECONDSs")
    pats = neuro_sub.add_parser(
        "patterns",
        help="Izhikevich's five cortical firing patterns and a Hodgkin-Huxley spike, as a run",
        description=(
            "The Izhikevich (2003) parameter sets (regular spiking, intrinsically bursting, chattering,\n"
            "fast spiking, low-threshold spiking) under a step of current, and the Hodgkin-Huxley action\n"
            "potential; writes neurons.png and a table of spike counts and intervals."
        ),
        epilog=_examples("descentlab neuro patterns", "descentlab neuro patterns --current 15 --hh-current 20"),
    )
    _add_experiment_options(pats, PatternsConfig, "patterns-ICURRENT")
    sim.add_argument("--model", required=True, choices=["lif", "izhikevich", "hh"], help="the neuron model")
    sim.add_argument(
        "--pattern", default="regular-spiking", help="Izhikevich's parameter set (default regular-spiking)"
    )
    sim.add_argument("--current", type=float, default=None, help="input current (default: 1.5 LIF, 10 otherwise)")
    sim.add_argument("--duration", type=float, default=1000.0, help="milliseconds (default 1000)")
    sim.add_argument("--dt", type=float, default=None, help="time step in ms (default 0.1; 0.01 for hh)")
    sim.add_argument("--tau-m", type=float, default=10.0, help="LIF membrane time constant, ms (default 10)")
    sim.add_argument("--threshold", type=float, default=1.0, help="LIF threshold (default 1)")
    sim.add_argument("--resistance", type=float, default=1.0, help="LIF membrane resistance (default 1)")
    sim.add_argument("--reset", choices=["to-value", "subtract"], default="to-value",
                     help="LIF reset: to 0 (to-value, default) or subtract the threshold")  # fmt: skip
    sim.add_argument("--refractory", type=float, default=0.0, help="LIF refractory period, ms (default 0)")
    sim.add_argument("--neurons", type=int, default=1,
                     help="simulate N neurons with currents spread from 0 to --current; --out adds their raster")  # fmt: skip
    sim.add_argument("--fi", metavar="LOW,HIGH", help="also an f-I curve over currents LOW..HIGH (with --out)")
    sim.add_argument("--out", metavar="FILE.png", help="write the voltage trace (and f-I curve) here")
    sim.add_argument("--json", action="store_true", help="print one JSON object")

    # data -----------------------------------------------------------------------------------
    data = sub.add_parser(
        "data",
        help="data sets: check that MNIST, Fashion-MNIST and Penn Treebank are present and intact",
        description="The offline data sets and their published sizes.",
        epilog=_examples("descentlab data check", "descentlab data check --json"),
    )
    data_sub = data.add_subparsers(dest="action", metavar="ACTION", required=True)
    check = data_sub.add_parser("check", help="list each data set, its sizes, and whether it is present and intact")
    check.add_argument("--json", action="store_true", help="print one JSON object instead of a table")

    # runs -----------------------------------------------------------------------------------
    runs = sub.add_parser(
        "runs",
        help="runs: list runs with their metrics, compare runs side by side",
        description="Read run folders (config.json, metrics.jsonl, summary.json); nothing is recomputed.",
        epilog=_examples(
            "descentlab runs list --experiment optim-train",
            "descentlab runs compare runs/optim-train/A runs/optim-train/B",
        ),
    )
    runs_sub = runs.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = runs_sub.add_parser("list", help="show runs with their status and final metrics")
    listing.add_argument("--experiment", help="only this experiment's runs (e.g. optim-train)")
    listing.add_argument("--out", metavar="DIR", default="runs", help="root folder of run folders (default: runs)")
    compare = runs_sub.add_parser("compare", help="config differences and metrics of runs, side by side")
    compare.add_argument("run_dirs", nargs="+", metavar="RUN_DIR")

    # report ---------------------------------------------------------------------------------
    report = sub.add_parser(
        "report",
        help="report: build the self-contained HTML report of some runs",
        description="One HTML file, a section per concept of the unit, built only from what the runs logged.",
        epilog=_examples("descentlab report runs/tour -o tour.html", "descentlab report runs/optim-train/*"),
    )
    report.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="run folders, or folders holding run folders")
    report.add_argument(
        "-o", "--output", default="runs/report.html", help="the HTML file to write (default: runs/report.html)"
    )

    # tour -----------------------------------------------------------------------------------
    tour = sub.add_parser(
        "tour",
        help="tour: a short run of every experiment and the report of them (runs/tour/report.html)",
        description="Run a short version of every experiment on the bundled data and write runs/tour/report.html.",
        epilog=_examples("descentlab tour", "descentlab tour --quick --device cpu"),
    )
    _add_run_options(tour)
    add_arguments(tour, TourConfig)
    return parser


def _run_folders(paths: Sequence[str]) -> list[Path]:
    """Run folders named directly, or found one or two levels below a folder named."""
    found: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if (p / "config.json").is_file():
            found.append(p)
            continue
        if not p.is_dir():
            raise UserError(f"{p}: no such run folder")
        below = sorted({c.parent for pattern in ("*/config.json", "*/*/config.json") for c in p.glob(pattern)})
        if not below:
            raise UserError(f"{p}: holds no run folders (no config.json below it)")
        found += below
    return found


def _run_experiment(args: argparse.Namespace) -> int:
    """``descentlab optim train|race``: start a run from flags and --config, or --resume one."""
    from descentlab.experiments import EXPERIMENTS, resume, start

    exp = EXPERIMENTS[f"{args.command}-{args.action}"]
    if args.resume:
        extra = given_flags(exp.config, args) + (["--config"] if args.config else [])
        if extra:
            raise UserError(f"--resume continues a run with its stored config; drop {', '.join(extra)}")
        path = resume(EXPERIMENTS, args.resume)
    else:
        cfg: Any = resolve(exp.config, args, read_config_file(args.config) if args.config else None)
        path = start(exp, cfg, args.out, name=args.name)
    print(f"run complete: {path}")
    from descentlab.experiments.generalization import gap_table, target_table
    from descentlab.experiments.lm_train import result_table
    from descentlab.experiments.many_starts import minima_table
    from descentlab.experiments.neuro_runs import patterns_table, plasticity_table
    from descentlab.experiments.pathologies import plateau_table, steep_table
    from descentlab.experiments.rl_train import result_table as rl_table
    from descentlab.experiments.rl_train import rewards_table
    from descentlab.experiments.rnn_tasks import adding_table, flow_table, topology_table
    from descentlab.experiments.saddle_escape import escape_table
    from descentlab.experiments.snn_train import comparison_table
    from descentlab.experiments.stn_train import error_table
    from descentlab.report.sections import race_table
    from descentlab.runs import load_run
    from descentlab.runs.listing import format_table

    tables = {
        "optim-race": race_table,
        "landscape-saddle": escape_table,
        "landscape-minima": minima_table,
        "landscape-plateau": plateau_table,
        "landscape-steep": steep_table,
        "generalize-mnist": gap_table,
        "generalize-optimizers": target_table,
        "stn-train": error_table,
        "lm-train": result_table,
        "rnn-topology": topology_table,
        "rnn-adding": adding_table,
        "rnn-gradient-flow": flow_table,
        "rl-train": rl_table,
        "rl-rewards": rewards_table,
        "neuro-train-snn": comparison_table,
        "neuro-patterns": patterns_table,
        "neuro-plasticity": plasticity_table,
    }
    if exp.name in tables:
        print(format_table(*tables[exp.name](load_run(path))))
    return 0


def _optim_list(args: argparse.Namespace) -> int:
    from descentlab.optim import UNIT_OPTIMIZERS

    for i, unit in enumerate(UNIT_OPTIMIZERS, 1):
        print(f"{i}. {unit.name} [{unit.regime.name}]\n   {unit.rule}")
    return 0


def _optim_bench(args: argparse.Namespace) -> int:
    from descentlab.optim.bench import CASES, main

    valid = [c.name for c in CASES]
    for name in args.only or []:
        if name not in valid:
            raise UserError(f"--only {name!r} is not a benchmarked algorithm; valid: {', '.join(valid)}")
    if args.rounds < 1:
        raise UserError(f"--rounds {args.rounds}: valid: an integer >= 1")
    if args.device == "cuda":
        from descentlab.runs import select_device

        select_device("cuda")  # a one-line error when there is no GPU
    print(main(args.device, args.only, args.rounds))
    return 0


def _landscape_hessian(args: argparse.Namespace) -> int:
    from descentlab.experiments.curvature import analyze

    for flag, value, low in (("--examples", args.examples, 1), ("--k", args.k, 1), ("--samples", args.samples, 2)):
        if value < low:
            raise UserError(f"{flag} {value}: valid: an integer >= {low}")
    result = analyze(args.run_dir, examples=args.examples, k=args.k, samples=args.samples)
    print(f"{result['parameters']:,} parameters, loss on {result['examples']:,} training images")
    print("top eigenvalues: " + ", ".join(f"{e:.4g}" for e in result["top_eigenvalues"]))
    print(f"trace (Hutchinson, {args.samples} probes): {result['trace']:.4g} +- {result['trace_stderr']:.2g}")
    print(f"written: {Path(args.run_dir) / 'hessian.json'}, {Path(args.run_dir) / 'hessian_density.png'}")
    return 0


def _hpo(args: argparse.Namespace) -> int:
    from descentlab.experiments import EXPERIMENTS
    from descentlab.hpo import search, trial_table
    from descentlab.runs.listing import format_table

    exp = EXPERIMENTS[args.action]
    file_values = read_config_file(args.config) if args.config else {}
    cfg: Any = resolve(exp.config, args, file_values)
    fixed = frozenset(f.lstrip("-").replace("-", "_") for f in given_flags(exp.config, args)) | frozenset(file_values)
    command = "descentlab " + shlex.join(args.argv)
    result = search(
        args.action,
        cfg,
        args.trials,
        out=args.out,
        storage=args.storage,
        study_name=args.study,
        fixed=fixed,
        sampler_seed=args.sampler_seed,
        prune=not args.no_prune,
        resume_command=command + "   # the same command continues the study",
    )
    print(format_table(*trial_table(result)))
    print(f"best: {result.best_value:.6g}; config: {result.config_file}; figure: {result.folder / 'history.png'}")
    return 0


def _landscape_surface(args: argparse.Namespace) -> int:
    import math

    from descentlab.experiments.loss_surface import analyze_surface, barrier

    for flag_name, value, low in (("--examples", args.examples, 1), ("--grid", args.grid, 3)):
        if value < low:
            raise UserError(f"{flag_name} {value}: valid: an integer >= {low}")
    if not (math.isfinite(args.span) and args.span > 0):
        raise UserError(f"--span {args.span}: valid: a number > 0")
    result = analyze_surface(args.run_dir, args.other, args.examples, args.grid, args.span, args.seed)
    print(f"training loss at the trained weights ({result['examples']:,} images): {result['center_loss']:.4g}")
    for line in result["lines"]:
        start, end = line["train"][line["alphas"].index(0.0)], line["train"][line["alphas"].index(1.0)]
        print(f"{line['name']}: loss {start:.4g} -> {end:.4g}, barrier {barrier(line):.4g} above the straight line")
    plane = [v for row in result["plane"] for v in row]
    print(
        f"plane of {args.grid}x{args.grid} points in [-{args.span:g}, {args.span:g}]^2: loss {min(plane):.4g} .. {max(plane):.4g}"
    )
    names = ", ".join(str(Path(args.run_dir) / n) for n in ("surface.json", "surface_1d.png", "surface_2d.png"))
    print(f"written: {names}")
    return 0


def _lm_eval(args: argparse.Namespace) -> int:
    from descentlab.experiments.lm_train import evaluate, load, load_model, perplexity
    from descentlab.lm.corpus import batchify
    from descentlab.runs import select_device

    device = select_device(args.device)
    model, vocab, cfg = load_model(args.run_dir, device)
    corpus = load(cfg)
    if corpus.vocab.itos != vocab.itos:
        raise UserError(f"{args.run_dir}: the corpus now gives a different vocabulary than the run was trained on")
    result: dict[str, Any] = {"run": str(args.run_dir), "corpus": corpus.source}
    for split in ("valid", "test"):
        loss = evaluate(model, batchify(corpus.split(split), cfg.eval_batch_size).to(device), cfg.bptt)
        result |= {f"{split}_loss": loss, f"{split}_perplexity": perplexity(loss)}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{corpus.source}: valid perplexity {result['valid_perplexity']:.2f}, "
              f"test perplexity {result['test_perplexity']:.2f}")  # fmt: skip
    return 0


def _lm_generate(args: argparse.Namespace) -> int:
    import math

    import torch

    from descentlab.experiments.lm_train import load_model
    from descentlab.lm.corpus import EOS
    from descentlab.lm.model import generate
    from descentlab.runs import select_device

    if args.words < 1:
        raise UserError(f"--words {args.words}: valid: an integer >= 1")
    if not (math.isfinite(args.temperature) and args.temperature > 0):
        raise UserError(f"--temperature {args.temperature}: valid: a number > 0")
    if args.top_k < 0:
        raise UserError(f"--top-k {args.top_k}: valid: an integer >= 0 (0: all words)")
    device = select_device(args.device)
    model, vocab, _ = load_model(args.run_dir, device)
    prompt = args.prompt.split() or [EOS]
    ids = vocab.encode(prompt)
    sample = generate(model, ids, args.words, args.temperature, args.top_k, torch.Generator().manual_seed(args.seed))
    words = " ".join(w if w != EOS else "\n" for w in vocab.decode(sample))
    print((args.prompt + " " if args.prompt else "") + words.replace(" \n ", "\n").strip())
    return 0


def _rl_eval(args: argparse.Namespace) -> int:
    from descentlab.experiments.rl_train import load_agent
    from descentlab.rl import evaluate

    if args.episodes < 1:
        raise UserError(f"--episodes {args.episodes}: valid: an integer >= 1")
    agent, cfg = load_agent(args.run_dir)
    result = evaluate(agent.act, cfg.env, args.episodes, seed=args.seed, **cfg.env_kwargs())
    out = {"run": str(args.run_dir), "env": cfg.env, "algo": cfg.algo, "episodes": result["episodes"],
           "mean_return": result["mean_return"], "std_return": result["std_return"]}  # fmt: skip
    if "mean_effectiveness" in result:
        out["mean_effectiveness"] = result["mean_effectiveness"]
    if args.json:
        print(json.dumps(out))
    else:
        text = f"{cfg.algo} on {cfg.env}, {out['episodes']} greedy episodes: return {out['mean_return']:.2f} +- {out['std_return']:.2f}"
        if "mean_effectiveness" in out:
            text += f", effectiveness {100 * out['mean_effectiveness']:.1f}%"
        print(text)
    return 0


def _rl_play(args: argparse.Namespace) -> int:
    from PIL import Image

    from descentlab.experiments.rl_train import episode_frames, load_agent
    from descentlab.runs.checkpoint import atomic_write_bytes

    out = Path(args.out)
    if out.suffix.lower() != ".gif":
        raise UserError(f"--out {out}: the animation is a GIF; give a name ending in .gif")
    if not out.parent.is_dir():
        raise UserError(f"--out {out}: folder {out.parent} does not exist")
    if not 1 <= args.fps <= 60:
        raise UserError(f"--fps {args.fps}: valid: 1 to 60")
    if args.max_steps < 1:
        raise UserError(f"--max-steps {args.max_steps}: valid: an integer >= 1")
    agent, cfg = load_agent(args.run_dir)
    frames, total, info = episode_frames(agent, cfg, args.seed, args.max_steps)
    images = [Image.fromarray(f) for f in frames]
    import io

    buf = io.BytesIO()
    images[0].save(buf, format="GIF", save_all=True, append_images=images[1:], duration=int(1000 / args.fps), loop=0)
    atomic_write_bytes(out, buf.getvalue())
    text = f"{out}: {len(frames) - 1} steps, return {total:.2f}"
    if "effectiveness" in info:
        text += f", effectiveness {100 * info['effectiveness']:.0f}% (optimal {info['optimal_length']} steps)"
    print(text)
    return 0


def _neuro_simulate(args: argparse.Namespace) -> int:
    import math

    import torch

    from descentlab.neuro import LIF, HodgkinHuxley, Izhikevich, Reset, simulate

    for flag_name, value in (("--duration", args.duration), ("--dt", args.dt)):
        if value is not None and not (math.isfinite(value) and value > 0):
            raise UserError(f"{flag_name} {value}: valid: a number > 0 (ms)")
    if args.current is not None and not math.isfinite(args.current):
        raise UserError(f"--current {args.current}: valid: a finite number")
    model: Any
    if args.model == "lif":
        model = LIF(tau_m=args.tau_m, threshold=args.threshold, resistance=args.resistance,
                    reset=Reset(args.reset), refractory=args.refractory, dt=args.dt or 0.1)  # fmt: skip
        current = 1.5 if args.current is None else args.current
    elif args.model == "izhikevich":
        model = Izhikevich.pattern(args.pattern, dt=args.dt or 0.1)
        current = 10.0 if args.current is None else args.current
    else:
        model = HodgkinHuxley(dt=args.dt or 0.01)
        current = 10.0 if args.current is None else args.current
    if round(args.duration / model.dt) > 10_000_000:
        raise UserError(f"--duration {args.duration} at --dt {model.dt}: over 10 million steps; raise --dt")
    if not 1 <= args.neurons <= 10_000:
        raise UserError(f"--neurons {args.neurons}: valid: 1 to 10000")
    n = args.neurons
    currents = torch.linspace(0.0, current, n, dtype=torch.float64) if n > 1 else torch.tensor([current])
    recording, count = simulate(model, currents, args.duration, n=n)
    spikes = int(count[-1])  # the neuron given --current itself
    result: dict[str, Any] = {"model": args.model, "current": current, "duration_ms": args.duration, "dt_ms": model.dt,
                              "spikes": spikes, "rate_hz": 1000.0 * spikes / args.duration}  # fmt: skip
    if args.model == "lif":
        result["closed_form_rate_hz"] = model.rate(current)
    if args.model == "izhikevich":
        result["pattern"] = args.pattern
    if n > 1:
        result["rates_hz"] = (1000.0 * count.double() / args.duration).tolist()
    if args.out:
        from descentlab.report.figures import neuron_figure

        out = Path(args.out)
        if out.suffix.lower() != ".png":
            raise UserError(f"--out {out}: the figure is a PNG; give a name ending in .png")
        fi = None
        if args.fi:
            try:
                low, high = (float(x) for x in args.fi.split(","))
            except ValueError:
                raise UserError(f"--fi {args.fi!r}: valid: LOW,HIGH currents such as 0,30") from None
            currents = torch.linspace(low, high, 31, dtype=torch.float64)
            _, counts = simulate(model, currents, min(args.duration, 1000.0), n=31, record=False)
            fi = (currents.tolist(), (1000.0 * counts.double() / min(args.duration, 1000.0)).tolist())
        assert recording is not None
        fig = neuron_figure(recording, f"{args.model} ({args.pattern})" if args.model == "izhikevich" else args.model,
                            current, fi)  # fmt: skip
        fig.savefig(out, dpi=110, bbox_inches="tight")
        result["figure"] = str(out)
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{result['spikes']} spikes in {args.duration:g} ms: {result['rate_hz']:.2f} Hz"
              + (f" (closed form {result['closed_form_rate_hz']:.2f} Hz)" if "closed_form_rate_hz" in result else "")
              + (f"; figure: {args.out}" if args.out else ""))  # fmt: skip
    return 0


def _data_check(args: argparse.Namespace) -> int:
    from descentlab.data import check_all

    statuses = check_all()
    if args.json:
        print(
            json.dumps(
                {s.name: {"present": s.present, "intact": s.intact, "sizes": s.sizes, "note": s.note} for s in statuses}
            )
        )
    else:
        from descentlab.runs.listing import format_table

        rows = [
            [
                s.name,
                "yes" if s.present else "no",
                "yes" if s.intact else "no",
                " ".join(f"{k}={v:,}" for k, v in s.sizes.items()),
                s.note,
            ]
            for s in statuses
        ]
        print(format_table(["data set", "present", "intact", "sizes", "note"], rows))
    return 0 if all(s.intact for s in statuses) else 1


def _runs(args: argparse.Namespace) -> int:
    from descentlab.runs import compare_table, find_runs, list_table, load_run

    if args.action == "list":
        found = find_runs(args.out, args.experiment)
        if not found:
            print(f"no runs under {args.out}" + (f" for experiment {args.experiment}" if args.experiment else ""))
            return 0
        print(list_table(found))
        return 0
    print(compare_table([load_run(p) for p in args.run_dirs]))
    return 0


def _report(args: argparse.Namespace) -> int:
    from descentlab.report import build_report

    out = Path(args.output)
    if out.suffix.lower() not in (".html", ".htm"):
        raise UserError(f"--output {out}: the report is an HTML file; give a name ending in .html")
    path = build_report(_run_folders(args.run_dirs), out)
    print(f"report: {path}")
    return 0


def _tour(args: argparse.Namespace) -> int:
    from descentlab.tour import TourConfig, run_tour

    cfg = resolve(TourConfig, args, read_config_file(args.config) if args.config else None)
    run_tour(cfg, args.out)
    return 0


def dispatch(args: argparse.Namespace) -> int:
    handlers = {
        ("optim", "train"): _run_experiment,
        ("optim", "race"): _run_experiment,
        ("landscape", "saddle"): _run_experiment,
        ("landscape", "minima"): _run_experiment,
        ("landscape", "plateau"): _run_experiment,
        ("landscape", "steep"): _run_experiment,
        ("generalize", "mnist"): _run_experiment,
        ("generalize", "optimizers"): _run_experiment,
        ("stn", "train"): _run_experiment,
        ("lm", "train"): _run_experiment,
        ("rnn", "topology"): _run_experiment,
        ("rnn", "adding"): _run_experiment,
        ("rnn", "gradient-flow"): _run_experiment,
        ("neuro", "simulate"): _neuro_simulate,
        ("neuro", "train-snn"): _run_experiment,
        ("neuro", "plasticity"): _run_experiment,
        ("neuro", "patterns"): _run_experiment,
        ("rl", "train"): _run_experiment,
        ("rl", "rewards"): _run_experiment,
        ("rl", "eval"): _rl_eval,
        ("rl", "play"): _rl_play,
        ("lm", "eval"): _lm_eval,
        ("lm", "generate"): _lm_generate,
        ("optim", "list"): _optim_list,
        ("optim", "bench"): _optim_bench,
        ("data", "check"): _data_check,
        ("hpo", "optim-train"): _hpo,
        ("hpo", "optim-race"): _hpo,
        ("landscape", "hessian"): _landscape_hessian,
        ("landscape", "surface"): _landscape_surface,
        ("runs", "list"): _runs,
        ("runs", "compare"): _runs,
        ("report", None): _report,
        ("tour", None): _tour,
    }
    return handlers[(args.command, getattr(args, "action", None))](args)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # to say how to continue an interrupted search
    try:
        return dispatch(args)
    except UserError as e:
        print(f"descentlab: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except Interrupted as e:
        print(f"\ninterrupted: checkpoint written to {e.checkpoint}", file=sys.stderr)
        print(f"resume with: {e.resume_command}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
