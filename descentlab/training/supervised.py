"""The supervised loop several experiments share: variants of a network trained one after another on
the same data order and initial weights, each logging ``NAME/...`` metrics, checkpointed between and
within them, data-parallel under torchrun (``generalize mnist`` and ``generalize optimizers``, ``stn
train``, ``neuro train-snn``).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from descentlab.data import MNIST_MEAN, MNIST_STD
from descentlab.errors import Interrupted
from descentlab.generalize import Dropout, EarlyStopping, draw_for_global_batch, mnist_splits
from descentlab.optim.regimes import Regime
from descentlab.optim.snapshots import cyclic_cosine_scheduler
from descentlab.runs import Run, StopFlag, distributed, rng_state, seed_everything, set_rng_state
from descentlab.training.control import StepControl
from descentlab.training.mnist import evaluate

MEAN, STD = MNIST_MEAN, MNIST_STD  # descentlab.data's, as every experiment normalizes


# Learning curves measure the training loss and error in evaluation mode (no dropout) on this many
# training images, as the validation ones are measured; the running loss of the training batches
# (with dropout's noise in it) is logged as train/batch_loss.
TRAIN_PROBE = 5000


TIMED = ("/train_seconds", "/seconds_to_target")  # wall-clock results: in summary.json, not in metrics.jsonl


def load_data(val_size: int, train_size: int, device: torch.device) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Normalized (N, 784) float images and labels of the stratified 55k / 5k / official 10k split."""
    splits = mnist_splits(val_size=val_size, seed=0)  # the same validation images for every seed
    out = {}
    for name, (x, y) in splits.items():
        if name == "train" and train_size:
            x, y = x[:train_size], y[:train_size]
        out[name] = (((x.float() / 255.0 - MEAN) / STD).reshape(len(x), -1).to(device), y.to(device))
    return out


def make_mlp(widths: list[int], keep_input: float = 1.0, keep_hidden: float = 1.0) -> nn.Sequential:
    """784-widths-10 with ReLU; Dropout(keep=...) on the input and after each hidden layer when keep < 1."""
    layers: list[nn.Module] = [Dropout(keep=keep_input)] if keep_input < 1 else []
    fan_in = 784
    for width in widths:
        layers += [nn.Linear(fan_in, width), nn.ReLU()]
        if keep_hidden < 1:
            layers.append(Dropout(keep=keep_hidden))
        fan_in = width
    layers.append(nn.Linear(fan_in, 10))
    return nn.Sequential(*layers)


@dataclass
class Variant:
    name: str
    model: nn.Module
    optimizer: torch.optim.Optimizer
    regime: Regime
    epochs: int
    max_seconds: float = 0.0  # 0: no budget
    target: float | None = None  # validation accuracy whose first crossing is timed
    patience: int = 0
    schedule: str = "constant"  # or "cosine": the learning rate decays to 0 over epochs x steps per epoch
    probe: int = TRAIN_PROBE  # training images on which the learning curves measure the training loss
    checkpoint_every: int = 0  # steps between checkpoints (0: only every --checkpoint-seconds, and on a stop)


def run_variant(
    v: Variant,
    data: dict[str, tuple[torch.Tensor, torch.Tensor]],
    run: Run,
    stop: StopFlag,
    step0: int,
    eval_every: int,
    seed: int,
    state: dict[str, Any] | None,
    save: Any,
) -> tuple[dict[str, float], int]:
    """Train one variant, logging ``NAME/...`` metrics at global steps from ``step0``; returns its final
    metrics and the next global step. ``save(state)`` writes a checkpoint of this variant's state."""
    x_train, y_train = data["train"]
    n = len(y_train)
    steps_per_epoch = v.regime.steps_per_epoch(n)
    total = steps_per_epoch * v.epochs
    every = max(1, eval_every // (v.regime.batch_size or n))
    early = EarlyStopping(v.patience) if v.patience else None
    scheduler = cyclic_cosine_scheduler(v.optimizer, total, 1) if v.schedule == "cosine" else None
    t, seconds, reached, loss_sum, loss_count = 0, 0.0, math.nan, 0.0, 0
    if state is not None:
        v.model.load_state_dict(state["model"])
        v.optimizer.load_state_dict(state["optimizer"])
        set_rng_state(state["rng"])
        t, seconds, reached = state["t"], state["seconds"], state["reached"]
        loss_sum, loss_count = state["loss_sum"], state["loss_count"]
        if early is not None and state.get("early") is not None:
            early.load_state_dict(state["early"])
        if scheduler is not None:
            scheduler.load_state_dict(state["scheduler"])

    def checkpoint() -> str:
        return save({
            "model": v.model.state_dict(), "optimizer": v.optimizer.state_dict(), "rng": rng_state(), "t": t,
            "seconds": seconds, "reached": reached, "loss_sum": loss_sum, "loss_count": loss_count,
            "early": early.state_dict() if early is not None else None,
            "scheduler": scheduler.state_dict() if scheduler is not None else None,
        })  # fmt: skip

    v.model.train()
    world = distributed.current()  # under torchrun: this rank's place in the group (descentlab.runs.distributed)
    net = distributed.wrap(v.model, world)  # in a group: DDP averages the ranks' gradients in backward
    device = x_train.device
    control = StepControl(stop, world, device, v.checkpoint_every, v.max_seconds)
    batches: list[torch.Tensor] = []
    stopped_early, out_of_time = False, bool(v.max_seconds and seconds >= v.max_seconds)
    while t < total and not out_of_time:
        epoch, i = divmod(t, steps_per_epoch)
        if i == 0 or not batches:
            batches = [b.to(device) for b in v.regime.batches(n, epoch, seed)]
        idx = batches[i]  # the global batch; in a group, this rank takes its shard of it
        rows = distributed.shard_rows(len(idx), world)
        mine = idx[rows.start : rows.stop]
        if world.distributed:  # dropout's masks are drawn for the global batch, as in one process, and sliced
            draw_for_global_batch(v.model, (len(idx), rows))
        started = time.perf_counter()
        logits = net(x_train[mine])
        loss = F.cross_entropy(logits, y_train[mine]) if len(mine) else logits.sum()
        v.optimizer.zero_grad(set_to_none=True)
        # weighted so that DDP's average of the ranks' gradients is the global batch's mean
        (loss * distributed.loss_scale(len(mine), len(idx), world)).backward()
        v.optimizer.step()
        if scheduler is not None:
            scheduler.step()
        seconds += time.perf_counter() - started
        t += 1
        agreed = control.after_step(t, loss.item() * len(mine) / len(idx), seconds)
        out_of_time = agreed.out_of_time
        loss_sum, loss_count = loss_sum + agreed.loss, loss_count + 1
        if t % every == 0 or t % steps_per_epoch == 0 or t == total or out_of_time:
            if world.main:  # rank 0 evaluates and logs; its early-stopping decision is sent to the others
                val_loss, val_acc = evaluate(v.model, *data["val"])
                tr_loss, tr_acc = evaluate(v.model, x_train[: v.probe], y_train[: v.probe])
                if math.isnan(reached) and v.target is not None and val_acc >= v.target:
                    reached = seconds
                run.log(step0 + t, {
                    f"{v.name}/train/loss": tr_loss, f"{v.name}/train/error": 1 - tr_acc,
                    f"{v.name}/train/batch_loss": loss_sum / loss_count, f"{v.name}/val/loss": val_loss,
                    f"{v.name}/val/error": 1 - val_acc, f"{v.name}/val/accuracy": val_acc,
                    f"{v.name}/epoch": t / steps_per_epoch,
                })  # fmt: skip
                run.log_timing(step0 + t, seconds)
                stopped_early = early is not None and early.step(val_loss, v.model, t)
            loss_sum, loss_count = 0.0, 0
            if world.distributed:  # rank 0's decision, and its generator: an evaluation may draw (spike trains)
                stopped_early, generator = distributed.broadcast((stopped_early, rng_state()), world)
                set_rng_state(generator)
            if stopped_early:
                break
        if agreed.stop:
            raise Interrupted(checkpoint())
        if agreed.checkpoint:
            checkpoint()
    draw_for_global_batch(v.model, None)
    if not world.main:
        return {}, step0 + t  # rank 0 measures and logs the trained variant
    if early is not None:
        early.restore(v.model)  # the weights with the best validation loss
    train_loss, train_acc = evaluate(v.model, *data["train"])
    val_loss, val_acc = evaluate(v.model, *data["val"])
    test_loss, test_acc = evaluate(v.model, *data["test"])  # the test set, once
    metrics = {
        "train/loss": train_loss, "train/error": 1 - train_acc, "val/loss": val_loss, "val/error": 1 - val_acc,
        "test/loss": test_loss, "test/error": 1 - test_acc, "test/accuracy": test_acc,
        "gap/error": (1 - val_acc) - (1 - train_acc), "gap/loss": val_loss - train_loss,
        "epochs": t / steps_per_epoch, "train_seconds": seconds, "stopped_early": float(stopped_early),
        "seconds_to_target": reached if not math.isnan(reached) else -1.0,
        "best_epoch": (early.best_step / steps_per_epoch) if early is not None else t / steps_per_epoch,
    }  # fmt: skip
    return {f"{v.name}/{k}": value for k, value in metrics.items()}, step0 + t


def run_variants(
    variants: list[Any], build: Any, data: Any, eval_every: int, seed: int, run: Run, stop: StopFlag,
    state: dict[str, Any] | None, on_finish: Any = None,
) -> dict[str, float]:  # fmt: skip
    """Train ``build(name)`` for each name in ``variants`` in turn, checkpointing between and within them;
    ``on_finish(variant)`` is called with each trained variant, and what it returns (a dict of final metrics,
    or None) joins the results, kept in the checkpoints so that a resume after that variant still has them."""
    finished: dict[str, float] = dict(state["finished"]) if state else {}
    step = state["step"] if state else 0
    current = state.get("current") if state else None
    if current is not None:
        step -= current["t"]  # the checkpoint's step is inside the current variant: go back to its start
    for name in variants:
        if any(k.startswith(f"{name}/") for k in finished):
            continue
        seed_everything(seed)  # each variant starts from the same initial weights and data order
        v = build(name)
        inner = current if current is not None and current["name"] == name else None

        def save(inner_state: dict[str, Any], name: str = name, step0: int = step) -> str:
            # "step" is the global step reached, so that a resume keeps exactly the records logged so far
            payload = {"step": step0 + inner_state["t"], "finished": finished, "current": {"name": name, **inner_state}}
            return str(run.save_checkpoint(payload))

        metrics, step = run_variant(v, data, run, stop, step, eval_every, seed, inner, save)
        # rank 0 alone measures the trained variant and writes its files
        extra = on_finish(v) if on_finish is not None and distributed.current().main else None
        finished.update(metrics)
        run.log(step, {k: v for k, v in metrics.items() if not k.endswith(TIMED)})  # metrics.jsonl stays reproducible
        finished.update(extra or {})
        run.save_checkpoint({"step": step, "finished": finished, "current": None})
    return finished
