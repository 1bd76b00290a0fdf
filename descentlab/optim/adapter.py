"""Turning a chain of transformations into a ``torch.optim.Optimizer``.

The optimizer keeps torch.optim's layout: ``param_groups`` with their hyperparameters, and
``self.state[p]`` a dict per parameter with torch's key names (``step``, ``exp_avg``, ...). At each
step, for each group, the chain is built from the group's current hyperparameters (so LR schedulers
and edits of ``param_groups`` take effect), its typed state is assembled from those dicts, the chain
runs, and the new updates are added to the parameters. ``state_dict()`` and ``load_state_dict()`` are
torch's own, so states move between these optimizers and their torch.optim counterparts.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any, NamedTuple

import torch
from torch import Tensor

from descentlab.optim.transforms import Transform, chain

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


def _structure(value: Any) -> Any:
    """What a hyperparameter decides about the chain's shape: zero or not for numbers, else itself."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return value == 0
    if isinstance(value, tuple | list):
        return tuple(_structure(v) for v in value)
    return type(value).__name__


def _as_tensors(value: Any, dtype: torch.dtype) -> Any:
    """Numbers as 0-d tensors of the parameters' dtype (a compiled step reads them at run time).

    The parameters' dtype, not float64: a float64 scalar inside a float32 loop keeps the compiled
    kernel from vectorizing (Adam ran 5x slower).
    """
    if isinstance(value, bool) or not isinstance(value, int | float | tuple | list):
        return value
    if isinstance(value, tuple | list):
        return tuple(_as_tensors(v, dtype) for v in value)
    return torch.tensor(float(value), dtype=dtype)


def _refresh(tensors: Any, value: Any) -> None:
    """Copy a group's current numbers into the 0-d tensors a compiled step closes over."""
    if isinstance(tensors, Tensor):
        tensors.fill_(float(value))
    elif isinstance(tensors, tuple):
        for t, v in zip(tensors, value, strict=True):
            _refresh(t, v)


class _Compiled(NamedTuple):
    structure: Any  # _structure of the group it was built for
    hyper: dict[str, Any]  # the group's numbers as 0-d tensors, refreshed each step
    state_type: Any  # the chain's state type
    step: Callable[..., None]  # the compiled single-pass update


def _apply(tx: Transform, grads: list[Tensor], state: Any, params: list[Tensor], counts: list[Tensor]) -> None:
    updates, _ = tx.update(grads, state, params, counts)
    for p, u in zip(params, updates, strict=True):
        p.add_(u)


class NonFiniteGradientError(FloatingPointError):
    """A gradient holds NaN or infinity (raised only with ``check_finite=True``)."""


class TransformOptimizer(torch.optim.Optimizer):
    """A ``torch.optim.Optimizer`` whose step is a chain of transformations.

    Subclasses (the named optimizers) define :meth:`transform`; :func:`from_transforms` wraps a
    fixed chain. ``check_finite=True`` checks every gradient before anything changes and raises
    :class:`NonFiniteGradientError` naming the parameter, leaving parameters and state untouched.
    ``fast=True`` runs every step after the first through a compiled single pass of the same chain
    (one-off compile time in ``compile_seconds``); the plain path stays the reference.
    ``gradient_transform`` (for example ``chain(clip_by_global_norm(1.0), add_noise())``) is applied
    to the gradients before the optimizer's own chain; it must be stateless, and runs on the plain path.
    """

    def __init__(
        self,
        params: Iterable[Any],
        defaults: dict[str, Any],
        check_finite: bool = False,
        fast: bool = False,
        gradient_transform: Transform | None = None,
    ) -> None:
        super().__init__(params, defaults)
        self.check_finite = check_finite
        self.gradient_transform = gradient_transform
        self.fast = fast and gradient_transform is None  # a gradient transform runs on the plain path
        self.compile_seconds = 0.0  # time spent compiling fast steps (once per group and shape)
        self._compiled: dict[int, _Compiled] = {}

    def _fast_update(
        self, index: int, group: dict[str, Any], grads: list[Tensor], params: list[Tensor], dicts: list[dict[str, Any]]
    ) -> None:
        """The same chain, compiled by ``torch.compile`` into one pass over every tensor of the group.

        Hyperparameters enter as 0-d tensors refreshed in place, so an LR scheduler does not
        recompile; a change that alters the chain's shape (momentum switched on, say) builds anew.
        """
        settings = {k: v for k, v in group.items() if k != "params"}
        structure = _structure(settings)
        compiled = self._compiled.get(index)
        first = compiled is None or compiled.structure != structure
        if compiled is None or first:
            hyper = {k: _as_tensors(v, params[0].dtype) for k, v in settings.items()}
            tx = self.transform(hyper)
            compiled = _Compiled(structure, hyper, tx.state_type, torch.compile(partial(_apply, tx), dynamic=False))
            self._compiled[index] = compiled
        else:
            for key, value in settings.items():
                _refresh(compiled.hyper[key], value)
        steps = [d["step"] for d in dicts]
        torch._foreach_add_(steps, 1.0)
        started = time.perf_counter()
        compiled.step(grads, _build(compiled.state_type, dicts), params, steps)
        if first:
            self.compile_seconds += time.perf_counter() - started

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
        for index, group in enumerate(self.param_groups):
            params: list[Tensor] = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            grads: list[Tensor] = [p.grad for p in params if p.grad is not None]
            if any(g.is_sparse for g in grads):
                raise RuntimeError("descentlab optimizers do not support sparse gradients")
            dicts = [self.state[p] for p in params]
            fresh = [i for i, d in enumerate(dicts) if "step" not in d]
            if self.fast and not fresh:  # every buffer exists after one plain step
                self._fast_update(index, group, grads, params, dicts)
                continue
            tx = self.transform(group)
            if self.gradient_transform is not None:
                tx = chain(self.gradient_transform, tx)
            if fresh:
                init_state = tx.init([params[i] for i in fresh])
                _scatter(init_state, [dicts[i] for i in fresh])
                for i in fresh:
                    dicts[i]["step"] = torch.tensor(0.0)
            steps = [d["step"] for d in dicts]
            torch._foreach_add_(steps, 1.0)
            counts = [float(t) for t in steps]
            updates, state = tx.update(grads, _build(tx.state_type, dicts), params, counts)
            _scatter(state, dicts)
            if len({(p.device, p.dtype) for p in params}) == 1:
                torch._foreach_add_(params, list(updates))
            else:
                for p, u in zip(params, updates, strict=True):
                    p.add_(u)
        return loss


class _FixedChain(TransformOptimizer):
    def __init__(self, params: Iterable[Any], tx: Transform, check_finite: bool = False) -> None:
        self._tx = tx
        super().__init__(params, {}, check_finite)  # a fixed chain has numbers baked in: plain path only

    def transform(self, group: dict[str, Any]) -> Transform:
        return self._tx


def from_transforms(params: Iterable[Any], tx: Transform, check_finite: bool = False) -> TransformOptimizer:
    """A torch optimizer that applies the chain ``tx`` (whose last part scales by the learning rate).

    >>> opt = from_transforms(model.parameters(), chain(clip_by_global_norm(1.0), scale_by_adam(), scale_by_learning_rate(1e-3)))
    """
    if not isinstance(tx, Transform):
        raise TypeError(
            f"tx must be a Transform (chain(...) of descentlab.optim.transforms), not {type(tx).__name__}; "
            "for Adam by name, use descentlab.optim.Adam(params)"
        )
    return _FixedChain(params, tx, check_finite)
