"""Train a multilayer perceptron on MNIST (or Fashion-MNIST) with one of the unit's optimizers.

The unit's first question is what an optimizer does to training. This experiment answers it on a real
task: the same network, the same data order for a given seed, and one optimizer per run, so several
runs compare optimizers. ``regime`` picks the data each gradient sees (``descentlab.optim.regimes``):
the whole training set (gradient descent), one example (stochastic gradient descent) or a mini-batch.

The optimizers are ``descentlab.optim``'s, whose parameters are tested equal to ``torch.optim``'s.

Read top to bottom: config, data, network, loop.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import torch
import torch.nn.functional as F
from matplotlib.figure import Figure

from descentlab.data import fashion_mnist, mnist
from descentlab.errors import Interrupted
from descentlab.experiments.declaration import Experiment, SearchSpace, TourSettings
from descentlab.optim.regimes import UNIT_OPTIMIZERS, mini_batch
from descentlab.report import Bound, Claim, Section, fmt, pct
from descentlab.report.plots import learning_curves, loss_against_cost
from descentlab.runs import (
    Run,
    RunRecord,
    StopFlag,
    distributed,
    progress,
    rng_state,
    seed_everything,
    select_device,
    set_rng_state,
)
from descentlab.runs.resources import mlp_bytes, require_memory
from descentlab.training.control import StepControl
from descentlab.training.mnist import DEFAULT_LR, TrainConfig, evaluate, load_splits, make_model, make_optimizer


def check(cfg: TrainConfig) -> None:
    """The data set loads and is intact, and the run fits in memory (a full batch holds every image)."""
    load = mnist if cfg.dataset == "mnist" else fashion_mnist
    for split in ("train", "test"):
        load(split)
    n = cfg.train_size or 60_000 - cfg.val_size
    batch = {"full-batch": n, "stochastic": 1}.get(cfg.regime, cfg.batch_size)
    require_memory(mlp_bytes([784, cfg.hidden, 10], batch, 70_000), f"optim train with hidden {cfg.hidden} and batches "
                   f"of {batch}")  # fmt: skip


def train(cfg: TrainConfig, run: Run, stop: StopFlag, state: dict[str, Any] | None = None) -> dict[str, float]:
    """Train, logging to ``run``; resume from ``state`` (a checkpoint) when given.

    Each epoch's batches are drawn from a generator seeded by (seed, epoch), and the global RNG
    state is checkpointed, so a resumed run continues exactly as an unbroken one. The seconds spent
    in optimization steps (not evaluation) go to ``timing.jsonl``, apart from the metrics, which
    stay reproducible.
    """
    world = distributed.current()  # under torchrun: this rank's place in the group (descentlab.runs.distributed)
    device = distributed.device_for(select_device(cfg.device), world)
    seed_everything(cfg.seed)
    data = {k: (x.to(device), y.to(device)) for k, (x, y) in load_splits(cfg).items()}
    x_train, y_train = data["train"]
    n = len(y_train)
    regime = cfg.data_regime()
    steps_per_epoch = regime.steps_per_epoch(n)
    total_steps = steps_per_epoch * cfg.epochs

    model = make_model(cfg.hidden).to(device)
    net = distributed.wrap(model, world)  # in a group: DDP averages the ranks' gradients in backward
    optimizer = make_optimizer(cfg, model.parameters())
    step, loss_sum, loss_count, final, seconds = 0, 0.0, 0, False, 0.0
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        set_rng_state(state["rng"])
        step, loss_sum, loss_count = state["step"], state["loss_sum"], state["loss_count"]
        final, seconds = state.get("final", False), state.get("train_seconds", 0.0)

    def checkpoint(final: bool = False) -> str:
        return str(
            run.save_checkpoint(
                {
                    "step": step,
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "rng": rng_state(),
                    "loss_sum": loss_sum,
                    "loss_count": loss_count,
                    "final": final,  # the test metrics are logged; nothing is left to do
                    "train_seconds": seconds,
                }
            )
        )

    control = StepControl(stop, world, device, cfg.checkpoint_every)
    batches: list[torch.Tensor] = []
    for t in progress(range(step, total_steps), total=total_steps, desc=run.path.name, initial=step):
        epoch, i = divmod(t, steps_per_epoch)  # t: index of this step, counted from 0
        if i == 0 or not batches:
            batches = [b.to(device) for b in regime.batches(n, epoch, cfg.seed)]
        idx = batches[i]  # the global batch; in a group, this rank takes its shard of it
        mine = distributed.shard(idx, world)

        started = time.perf_counter()
        logits = net(x_train[mine])
        loss = F.cross_entropy(logits, y_train[mine]) if len(mine) else logits.sum()
        optimizer.zero_grad(set_to_none=True)
        # weighted so that DDP's average of the ranks' gradients is the global batch's mean
        (loss * distributed.loss_scale(len(mine), len(idx), world)).backward()
        optimizer.step()
        seconds += time.perf_counter() - started

        step = t + 1  # steps completed
        share = len(mine) / len(idx)  # this rank's part of the global batch's mean loss
        agreed = control.after_step(step, loss.item() * share, seconds)
        loss_sum, loss_count = loss_sum + agreed.loss, loss_count + 1
        log_train = step % cfg.log_every == 0 or step % steps_per_epoch == 0 or step == total_steps
        epoch_end = step % steps_per_epoch == 0 and steps_per_epoch >= cfg.eval_every
        log_val = step % cfg.eval_every == 0 or epoch_end or step == total_steps
        if log_train:
            lr = optimizer.param_groups[0]["lr"]
            run.log(
                step,
                {
                    "train/loss": loss_sum / loss_count,
                    "train/epoch": step / steps_per_epoch,
                    "charts/learning_rate": lr,
                },
            )
            loss_sum, loss_count = 0.0, 0
        if log_val and world.main:  # rank 0 logs; the others go on to the next step
            val_loss, val_acc = evaluate(model, *data["val"])
            run.log(step, {"val/loss": val_loss, "val/accuracy": val_acc, "val/epoch": step / steps_per_epoch})
        if log_train or log_val:
            run.log_timing(step, seconds)  # once per logged step
        if agreed.stop:
            raise Interrupted(checkpoint())
        if agreed.checkpoint:
            checkpoint()

    if not world.main:
        return {"steps": float(step)}
    test_loss, test_acc = evaluate(model, *data["test"])  # the test set is used once, at the end
    if not final:
        run.log(step, {"test/loss": test_loss, "test/accuracy": test_acc})
        checkpoint(final=True)
    val_loss, val_acc = evaluate(model, *data["val"])
    train_loss, train_acc = evaluate(model, *data["train"])
    return {
        "train/loss": train_loss,
        "train/accuracy": train_acc,
        "val/loss": val_loss,
        "val/accuracy": val_acc,
        "test/loss": test_loss,
        "test/accuracy": test_acc,
        "steps": float(step),
    }


# ---- figures, table, report, tour, search ------------------------------------------------------


def figures(record: RunRecord) -> dict[str, Figure]:
    """The run's own figure, drawn from what it logged."""
    return {"learning_curves.png": learning_curves(record)}


def _regime(r: RunRecord) -> str:
    regime = str(r.config.get("regime", "mini-batch"))
    return f"mini-batch {r.config.get('batch_size')}" if regime == "mini-batch" else regime


def _label(r: RunRecord) -> str:
    _, lrs = r.series("charts/learning_rate")
    lr = f"{lrs[0]:g}" if lrs else "?"
    return f"{r.config.get('optimizer')}, {_regime(r)}, lr={lr}"


def _epochs(n: float) -> str:
    return f"{n:.3g} epoch" + ("" if n == 1 else "s")


def _val_loss_at(r: RunRecord, step: int) -> float:
    steps, values = r.series("val/loss")
    return values[steps.index(step)] if step in steps else math.nan


def _late_median(r: RunRecord) -> float:
    """The median validation loss over the evaluations of the second half of the run."""
    _, values = r.series("val/loss")
    return statistics.median(values[len(values) // 2 :]) if values else math.nan


def claims(runs: Sequence[RunRecord]) -> list[Claim]:
    """What the unit's optimizers on one network show, from runs of the tour's shape: one run per regime,
    and gradient descent given as many updates as mini-batch SGD makes in one epoch."""
    by = {(str(r.config.get("optimizer")), str(r.config.get("regime"))): r for r in runs if r.status == "complete"}
    mini, full = by.get(("sgd", "mini-batch")), by.get(("sgd", "full-batch"))
    out = []
    if mini is not None and full is not None:
        m_steps, m_epochs = int(mini.final()["steps"]), int(mini.config["epochs"])
        per_epoch = m_steps // m_epochs
        full_then = _val_loss_at(full, m_epochs)  # gradient descent after as many epochs (m_epochs updates)
        mini_loss = mini.final()["val/loss"]
        out.append(Claim(
            f"In the same {m_epochs} epochs, mini-batch SGD ({per_epoch} updates an epoch) reaches a lower validation "
            "loss than gradient descent (one update an epoch)",
            f"mini-batch {mini_loss:.3f} after {m_steps} updates; gradient descent {full_then:.3f} after {m_epochs}",
            [Bound("mini-batch SGD's validation loss", mini_loss, "<", full_then)],
        ))  # fmt: skip
        f_steps = int(full.final()["steps"])
        full_loss, mini_then = full.final()["val/loss"], _val_loss_at(mini, f_steps)
        out.append(Claim(
            f"Given as many updates ({f_steps}), gradient descent, whose every gradient is exact, reaches a "
            f"validation loss at most 25% above mini-batch SGD's after as many (lower counts too), at {per_epoch} "
            "times the computation",
            f"gradient descent {full_loss:.3f} after {f_steps} updates ({f_steps} epochs); mini-batch {mini_then:.3f} "
            f"after {f_steps} updates ({_epochs(f_steps / per_epoch)})",
            [Bound("gradient descent's validation loss", full_loss, "<", 1.25 * mini_then)],
        ))  # fmt: skip
    momentum = by.get(("momentum", "mini-batch"))
    if mini is not None and momentum is not None:
        lr_m, lr_s = float(momentum.config["lr"]), float(mini.config["lr"])
        # the median over the evaluations of the second half of training: a single last evaluation of SGD at 0.1
        # is as noisy as its last few steps
        loss_m, loss_s = (_late_median(r) for r in (momentum, mini))
        out.append(Claim(
            f"Momentum 0.9 at learning rate {lr_m:g} takes about the steps of plain SGD at {lr_s:g} "
            "(lr / (1 - momentum) is the same): over the second half of training their median validation losses "
            "are within 20% of each other",
            f"median validation loss over the second half: momentum {loss_m:.3f}, SGD {loss_s:.3f}",
            [Bound("the larger median validation loss over the smaller, less 1",
                   max(loss_m, loss_s) / min(loss_m, loss_s) - 1, "<", 0.2)],
        ))  # fmt: skip
    return out


def sections(runs: Sequence[RunRecord]) -> list[Section]:
    """The unit's optimizers training one network: curves by epochs, updates and seconds; the table; claims."""
    done = [r for r in runs if r.status == "complete"]
    rows = []
    for r in done:
        m, c = r.final(), r.config
        gap = m["val/loss"] - m["train/loss"] if "train/loss" in m and "val/loss" in m else None
        rows.append([str(c.get("optimizer")), _regime(r), str(c.get("epochs")), f"{m.get('steps', 0):,.0f}",
                     fmt(m.get("train/loss")), fmt(m.get("val/loss")), fmt(gap), pct(m.get("val/accuracy")),
                     pct(m.get("test/accuracy")), fmt(r.train_seconds, ".1f")])  # fmt: skip
    header = ["optimizer", "regime", "epochs", "updates", "train loss", "val loss", "gap (val - train)", "val acc %",
              "test acc %", "train s"]  # fmt: skip
    size = done[0].config.get("hidden", 256) if done else 256
    return [
        Section(
            id="optimization",
            title="The eight optimizers training one network on MNIST",
            caption=(
                f"The same 784-{size}-10 network trained by each optimizer in its data regime: gradient descent on "
                "the whole training set (given as many updates as mini-batch SGD makes in an epoch), stochastic gradient "
                "descent one example at a time, the others on mini-batches of 32. The validation loss against "
                "epochs, updates and seconds of optimization; the gap column is the generalization gap in loss."
            ),
            figures=[loss_against_cost(done, _label, "validation loss of the unit's optimizers on MNIST")]
            if done
            else [],
            table=(header, rows),
            commands=[str(r.meta.get("command")) for r in done],
            claims=claims(done),
        )
    ]


def headline(record: RunRecord) -> str:
    m = record.final()
    return f"val loss {m.get('val/loss', math.nan):.3f}, test accuracy {pct(m.get('test/accuracy'))}%, {m.get('steps', 0):,.0f} updates"


def tour(settings: TourSettings) -> list[TrainConfig]:
    """The unit's eight optimizers (``descentlab.optim.UNIT_OPTIMIZERS``), each in its data regime, with
    about eight validation points an epoch; gradient descent (one update an epoch) makes as many updates as
    mini-batch SGD makes in one epoch, and is evaluated after as many epochs as the others run."""
    q = settings.quick
    base = TrainConfig(seed=settings.seed, device=settings.device, epochs=2 if q else 4,
                       train_size=2000 if q else 10_000, log_every=25 if q else 50)  # fmt: skip
    mini_updates = mini_batch(32).steps_per_epoch(base.train_size)
    configs = []
    for unit in UNIT_OPTIMIZERS:
        batch = unit.regime.batch_size if unit.regime.kind == "mini-batch" and unit.regime.batch_size else None
        config = replace(base, optimizer=unit.optimizer_name, lr=unit.lr, regime=unit.regime.kind,
                         batch_size=batch or base.batch_size)  # fmt: skip
        if unit.regime.kind == "full-batch":
            configs.append(replace(config, epochs=mini_updates, eval_every=base.epochs, log_every=base.epochs))
            continue
        steps_per_epoch = config.data_regime().steps_per_epoch(config.train_size)
        configs.append(replace(config, eval_every=max(1, steps_per_epoch // 8)))
    return configs


def search_space(trial: Any, cfg: TrainConfig, fixed: frozenset[str]) -> dict[str, Any]:
    """Learning rate (log scale, 1/30 to 30 times the optimizer's usual one), momentum, batch size."""
    out: dict[str, Any] = {}
    if "lr" not in fixed:
        usual = DEFAULT_LR[cfg.optimizer]
        out["lr"] = trial.suggest_float("lr", usual / 30, min(usual * 30, 10.0), log=True)
    if cfg.optimizer == "momentum" and "momentum" not in fixed:
        out["momentum"] = trial.suggest_float("momentum", 0.5, 0.99)
    if cfg.regime == "mini-batch" and "batch_size" not in fixed:
        out["batch_size"] = trial.suggest_categorical("batch_size", [16, 32, 64, 128, 256])
    return out


OPTIM_TRAIN = Experiment(
    check=check,
    command="optim train",
    help="train a 784-hidden-10 MLP on MNIST with one optimizer, as a run",
    description=(
        "Train a multilayer perceptron on MNIST or Fashion-MNIST with one optimizer and log it as a\n"
        "run: config.json, metrics.jsonl, TensorBoard events, checkpoint.pt, figures, summary.json.\n"
        "Ctrl-C writes a checkpoint and exits with code 130; --resume continues it exactly."
    ),
    examples=(
        "descentlab optim train --optimizer adam --epochs 3",
        "descentlab optim train --batch-size 55000 --lr 0.5 --epochs 20   # full-batch gradient descent",
        "descentlab optim train --config adam.toml --seed 1",
        "descentlab optim train --resume runs/optim-train/mnist-adam__0__20261125-120000",
    ),
    config=TrainConfig,
    train=train,
    figures=figures,
    sections=sections,
    tour=tour,
    headline=headline,
    data_parallel=True,
    search=SearchSpace(
        "the learning rate, momentum and batch size of the MNIST MLP of 'optim train'; minimizes the final "
        "validation loss",
        search_space,
        lambda cfg: "val/loss",
        prune_on="val/loss",
    ),
)
