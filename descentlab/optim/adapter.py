"""Turning a chain of transformations into a ``torch.optim.Optimizer``.

The optimizer keeps torch.optim's layout: ``param_groups`` with their hyperparameters, and
``self.state[p]`` a dict per parameter with torch's key names (``step``, ``exp_avg``, ...). At each
step, for each group, the chain is built from the group's current hyperparameters (so LR schedulers
and edits of ``param_groups`` take effect), its typed state is assembled from those dicts, the chain
runs, and the new updates are added to the parameters. ``state_dict()`` and ``load_state_dict()`` are
torch's own, so states move between these optimizers and their torch.optim counterparts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import Tensor

from descentlab.optim.transforms import Transform

TransformFactory = Callable[[dict[str, Any]], Transform]  # a param group -> its chain


def _leaf_types(state_type: Any) -> list[type]:
    """The NamedTuple state classes of a transformation, in chain order."""
    if isinstance(state_type, tuple):
        return [leaf for part in state_type for leaf in _leaf_types(part)]
    return [state_type]


def _build(state_type: Any, dicts: list[dict[str, Any]]) -> Any:
    """Typed state of a chain, gathered from per-parameter dicts."""
    if isinstance(state_type, tuple):
        return tuple(_build(part, dicts) for part in state_type)
    return state_type(*[[d.get(field) for d in dicts] for field in state_type._fields])


def _scatter(state: Any, dicts: list[dict[str, Any]]) -> None:
    """Write typed state back into per-parameter dicts (``None`` entries are left out, as in torch)."""
    if isinstance(state, tuple) and not hasattr(state, "_fields"):
        for part in state:
            _scatter(part, dicts)
        return
    for field, values in zip(state._fields, state, strict=True):
        for d, value in zip(dicts, values, strict=True):
            if value is not None:
                d[field] = value


class NonFiniteGradientError(FloatingPointError):
    """A gradient holds NaN or infinity (raised only with ``check_finite=True``)."""


class TransformOptimizer(torch.optim.Optimizer):
    """A ``torch.optim.Optimizer`` whose step is a chain of transformations.

    Subclasses (the named optimizers) define :meth:`transform`; :func:`from_transforms` wraps a
    fixed chain. ``check_finite=True`` checks every gradient before anything changes and raises
    :class:`NonFiniteGradientError` naming the parameter, leaving parameters and state untouched.
    """

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any], check_finite: bool = False) -> None:
        super().__init__(params, defaults)
        self.check_finite = check_finite

    def transform(self, group: dict[str, Any]) -> Transform:
        raise NotImplementedError

    def _check_finite(self) -> None:
        for g, group in enumerate(self.param_groups):
            for i, p in enumerate(group["params"]):
                if p.grad is not None and not bool(torch.isfinite(p.grad).all()):
                    raise NonFiniteGradientError(
                        f"non-finite gradient in param group {g}, parameter {i} (shape {tuple(p.shape)}); "
                        "no parameter or state was changed"
                    )

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One optimization step; ``closure`` re-evaluates the model and returns the loss."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        if self.check_finite:
            self._check_finite()
        for group in self.param_groups:
            params: list[Tensor] = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            grads: list[Tensor] = [p.grad for p in params if p.grad is not None]
            if any(g.is_sparse for g in grads):
                raise RuntimeError("descentlab optimizers do not support sparse gradients")
            tx = self.transform(group)
            dicts = [self.state[p] for p in params]
            fresh = [i for i, d in enumerate(dicts) if "step" not in d]
            if fresh:
                init_state = tx.init([params[i] for i in fresh])
                _scatter(init_state, [dicts[i] for i in fresh])
                for i in fresh:
                    dicts[i]["step"] = torch.tensor(0.0)
            counts = []
            for d in dicts:
                d["step"] += 1
                counts.append(float(d["step"]))
            updates, state = tx.update(grads, _build(tx.state_type, dicts), params, counts)
            _scatter(state, dicts)
            for p, u in zip(params, updates, strict=True):
                p.add_(u)
        return loss


class _FixedChain(TransformOptimizer):
    def __init__(self, params: Iterable[Any], tx: Transform, check_finite: bool = False) -> None:
        self._tx = tx
        super().__init__(params, {}, check_finite)

    def transform(self, group: dict[str, Any]) -> Transform:
        return self._tx


def from_transforms(params: Iterable[Any], tx: Transform, check_finite: bool = False) -> TransformOptimizer:
    """A torch optimizer that applies the chain ``tx`` (whose last part scales by the learning rate).

    >>> opt = from_transforms(model.parameters(), chain(clip_by_global_norm(1.0), scale_by_adam(), scale_by_learning_rate(1e-3)))
    """
    return _FixedChain(params, tx, check_finite)
