"""What the rnn group's experiments share: the training loop of one model (Adam, clipping, logging,
checkpoint on Ctrl-C), the loop over several models trained in turn (resuming where a checkpoint says),
and the gradient of the loss with respect to each hidden state.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from descentlab import optim as dl_optim
from descentlab.errors import Interrupted
from descentlab.rnn import LSTMCell
from descentlab.runs import Run, StopFlag, rng_state, set_rng_state

# ---- the shared training loop -----------------------------------------------------------------


def fit(
    name: str,
    model: nn.Module,
    loss_fn: Callable[[int], Tensor],
    evaluate: Callable[[], dict[str, float]],
    steps: int,
    eval_every: int,
    run: Run,
    stop: StopFlag,
    state: dict[str, Any] | None,
    step0: int = 0,
    lr: float = 1e-3,
    clip: float = 0.0,
    finished: dict[str, float] | None = None,
) -> dict[str, float]:
    """Adam on ``loss_fn(step)`` for ``steps`` steps, logging ``NAME/train/loss``, the gradient norm and
    ``evaluate()``'s metrics (prefixed ``NAME/``) every ``eval_every`` steps at global step ``step0 + t``.
    On Ctrl-C it checkpoints its state with ``finished`` (the results of models trained before it)."""
    optimizer = dl_optim.Adam(model.parameters(), lr=lr)
    t, loss_sum, count = 0, 0.0, 0
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        set_rng_state(state["rng"])
        t, loss_sum, count = state["t"], state["loss_sum"], state["count"]
    metrics: dict[str, float] = {}
    while t < steps:
        model.train()
        loss = loss_fn(t)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), clip if clip else math.inf)
        optimizer.step()
        t, loss_sum, count = t + 1, loss_sum + loss.item(), count + 1
        if t % eval_every == 0 or t == steps:
            model.eval()
            metrics = {f"{name}/{k}": v for k, v in evaluate().items()}
            run.log(step0 + t, {f"{name}/train/loss": loss_sum / count, f"{name}/grad_norm": float(norm), **metrics})
            loss_sum, count = 0.0, 0
        if stop.requested or stop.checkpoint_due():
            path = str(run.save_checkpoint({
                "name": name, "model": model.state_dict(), "optimizer": optimizer.state_dict(), "rng": rng_state(),
                "t": t, "loss_sum": loss_sum, "count": count, "finished": finished or {}, "step": step0 + t,
            }))  # fmt: skip
            if stop.requested:
                raise Interrupted(path)
    return metrics


def in_turn(
    names: list[str],
    train_one: Callable[[str, dict[str, Any] | None, int, dict[str, float]], dict[str, float]],
    steps: int,
    state: dict[str, Any] | None,
) -> dict[str, float]:  # fmt: skip
    """Train each name in turn (global steps continue from one to the next), resuming where ``state`` says."""
    finished: dict[str, float] = dict(state["finished"]) if state else {}
    for k, name in enumerate(names):
        if any(key.startswith(f"{name}/") for key in finished):
            continue
        own = state if state is not None and state.get("name") == name else None
        finished |= train_one(name, own, k * steps, finished)
    return finished


def hidden_gradients(cell: nn.Module, x: Tensor, y: Tensor, head: nn.Linear) -> list[float]:
    """||dL/dh_t|| for t = 1..T (mean over the batch), L the squared error of the last state's read-out."""
    n, size = x.shape[1], head.in_features
    h = torch.zeros(n, size)
    c = torch.zeros(n, size)
    hs = []
    for t in range(len(x)):
        if isinstance(cell, LSTMCell):
            h, c = cell(x[t], (h, c))
        else:
            h = cell(x[t], h)
        h.retain_grad()
        hs.append(h)
    F.mse_loss(head(h).squeeze(-1), y).backward()
    return [float(g.grad.norm(dim=1).mean()) for g in hs]
