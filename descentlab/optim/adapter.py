"""Turning a chain of transformations into a ``torch.optim.Optimizer``.

The optimizer keeps torch.optim's layout: ``param_groups`` with their hyperparameters, and
``self.state[p]`` a dict per parameter with torch's key names (``step``, ``exp_avg``, ...). At each
step, for each group, the chain is built from the group's current hyperparameters (so LR schedulers
and edits of ``param_groups`` take effect), its typed state is assembled from those dicts, the chain
runs, and the new updates are added to the parameters. ``state_dict()`` and ``load_state_dict()`` are
torch's own, so states move between these optimizers and their torch.optim counterparts.

torch.optim's own keywords are accepted with torch's meaning: ``maximize`` (the gradient is negated
first), ``fused=True`` (the compiled single pass, ``impl="compiled"``), ``foreach`` (no effect: the default path
is each algorithm written in place with the ``torch._foreach_*`` kernels, :mod:`descentlab.optim.kernels`,
which is what torch's default ``foreach=None`` does on a GPU); ``capturable=True`` and ``differentiable=True`` are refused with a
``ValueError`` saying what to use instead. Complex parameters are optimized as their real and imaginary
parts (``torch.view_as_real``), as torch does; their state stays complex, as torch keeps it.
"""

from __future__ import annotations

import time
import types
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any, ClassVar, NamedTuple, cast

import torch
from torch import Tensor

from descentlab.optim.flat import FlatGroup
from descentlab.optim.transforms import EmptyState, Transform, chain, clip_factor, clip_norm_of, negate

TransformFactory = Callable[[dict[str, Any]], Transform]  # a param group -> its chain
# (group, params, grads, state dicts, step numbers, complex flags) -> None: a step in place (optim.kernels)
Kernel = Callable[[dict[str, Any], list[Tensor], list[Tensor], list[dict[str, Any]], list[float], list[bool]], None]


def _leaf_types(state_type: Any) -> list[type]:
    """The NamedTuple state classes of a transformation, in chain order."""
    if isinstance(state_type, tuple):
        return [leaf for part in state_type for leaf in _leaf_types(part)]
    return [state_type]


def _real(t: Any) -> Any:
    """A complex tensor as its real and imaginary parts, a view with a last axis of 2 (anything else as is)."""
    return torch.view_as_real(t) if isinstance(t, Tensor) and t.is_complex() else t


def _stored(value: Any, complex_param: bool) -> Any:
    """A state tensor as it is kept for its parameter: complex for a complex parameter, as torch keeps it."""
    if complex_param and isinstance(value, Tensor) and not value.is_complex() and value.dim() > 0:
        return torch.view_as_complex(value if value.is_contiguous() else value.contiguous())
    return value


def _build(state_type: Any, dicts: list[dict[str, Any]]) -> Any:
    """Typed state of a chain, gathered from per-parameter dicts (complex buffers as real views)."""
    if isinstance(state_type, tuple):
        return tuple(_build(part, dicts) for part in state_type)
    return state_type(*[[_real(d.get(field)) for d in dicts] for field in state_type._fields])


def _scatter(state: Any, dicts: list[dict[str, Any]], complex_params: list[bool] | None = None) -> None:
    """Write typed state back into per-parameter dicts (``None`` entries are left out, as in torch)."""
    flags = complex_params or [False] * len(dicts)
    if isinstance(state, tuple) and not hasattr(state, "_fields"):
        for part in state:
            _scatter(part, dicts, flags)
        return
    for field, values in zip(state._fields, state, strict=True):
        for d, value, is_complex in zip(dicts, values, flags, strict=True):
            if value is not None:
                d[field] = _stored(value, is_complex)


def _structure(value: Any) -> Any:
    """What a hyperparameter decides about the chain's shape: zero or not for numbers, else itself."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return value == 0
    if isinstance(value, tuple | list):
        return tuple(_structure(v) for v in value)
    return type(value).__name__


def hyper_dtype(dtype: torch.dtype) -> torch.dtype:
    """The dtype of a compiled step's hyperparameters for parameters of ``dtype``: the parameters' own for
    float32 and float64 (a float64 scalar inside a float32 loop keeps the compiled kernel from vectorizing:
    Adam ran 5x slower); float32 below that, as torch's fused kernels keep them, since in bfloat16 a beta2 of
    0.999 is 1.0 and 1 - beta2 is 0 (Adam's second moment never grew)."""
    return dtype if dtype in (torch.float32, torch.float64) or dtype.is_complex else torch.float32


def _as_tensors(value: Any, dtype: torch.dtype) -> Any:
    """Numbers as 0-d tensors of :func:`hyper_dtype` (a compiled step reads them at run time)."""
    if isinstance(value, bool) or not isinstance(value, int | float | tuple | list):
        return value
    if isinstance(value, tuple | list):
        return tuple(_as_tensors(v, dtype) for v in value)
    return torch.tensor(float(value), dtype=hyper_dtype(dtype))


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


_GRAD_SCALE = "grad_scale"  # the compiled pass's clipping factor, among its hyperparameters


def _scale_by(factor: Tensor) -> Transform:
    """Updates times ``factor``, a 0-d tensor read at run time (the compiled step's clipping factor)."""

    def init(params: Any) -> EmptyState:
        return EmptyState()

    def update(u: Any, state: Any, params: Any, counts: Any) -> tuple[list[Tensor], Any]:
        return [u_i * factor for u_i in u], state

    return Transform(init, update, EmptyState)


def _compiled_step(tx: Transform) -> Callable[..., None]:
    """``tx``'s update added to the parameters, compiled by ``torch.compile`` into one pass.

    The function compiled has a code object of its own: dynamo keeps its compiled graphs on the code object
    and stops compiling one after ``recompile_limit`` (8) graphs, so a shared one (a ``partial`` of one
    function) made the ninth compiled group of a process fall back, silently, to the plain path."""

    def step(grads: list[Tensor], state: Any, params: list[Tensor], counts: list[Tensor]) -> None:
        updates, _ = tx.update(grads, state, params, counts)
        for p, u in zip(params, updates, strict=True):
            p.add_(u)

    own = types.FunctionType(step.__code__.replace(), step.__globals__, step.__name__, None, step.__closure__)
    return cast(Callable[..., None], torch.compile(own, dynamic=False))


def _1d(tree: Any) -> Any:
    """Every 0-d tensor of ``tree`` (lists and NamedTuples of tensors) as a 1-element view of itself: with torch
    2.13 on a CPU, a compiled function's in-place update of a 0-d tensor it is given is lost (``p.add_(u)`` left
    a 0-d parameter as it was), and of its view is kept."""
    if isinstance(tree, Tensor):
        return tree.view(1) if tree.dim() == 0 else tree
    if isinstance(tree, tuple) and hasattr(tree, "_fields"):
        return type(tree)(*(_1d(part) for part in tree))
    if isinstance(tree, tuple | list):
        return type(tree)(_1d(part) for part in tree)
    return tree


def _zero(grads: list[Tensor | None]) -> None:
    """Zero these gradients in place (``zero_grad(set_to_none=False)`` for them), one kernel per device and dtype."""
    by_kind: dict[tuple[torch.device, torch.dtype], list[Tensor]] = {}
    for g in grads:
        if g is not None:
            by_kind.setdefault((g.device, g.dtype), []).append(g)
    for same in by_kind.values():
        torch._foreach_zero_(same)


class _Steps(NamedTuple):
    """A group's step numbers in one tensor: each parameter's ``state["step"]`` is a 0-d view of ``counter``,
    so a step adds one to all of them with one operation (one per parameter cost 1.3 ms for 500 tensors)."""

    params: list[Tensor]  # the parameters it was made for (those that had gradients)
    counter: Tensor  # (n,) float32, as torch keeps ``step``
    views: list[Tensor]  # counter's elements, the tensors in the state dicts
    parts: list[list[int]]  # the chunks of the CPU path (see chunks)


def _same(a: list[Tensor], b: list[Tensor]) -> bool:
    return len(a) == len(b) and all(x is y for x, y in zip(a, b, strict=True))


class NonFiniteGradientError(FloatingPointError):
    """A gradient holds NaN or infinity (raised only with ``check_finite=True``)."""


def torch_keywords(
    name: str,
    maximize: bool = False,
    foreach: bool | None = None,
    fused: bool | None = None,
    capturable: bool = False,
    differentiable: bool = False,
) -> dict[str, Any]:
    """torch.optim's keywords as param-group entries, after refusing the ones descentlab does not implement."""
    if capturable:
        raise ValueError(
            f"{name}(capturable=True) is not supported: it keeps the step on the GPU for CUDA graph capture; "
            f"use torch.optim.{TORCH_NAMES.get(name, name)}(..., capturable=True), or impl='compiled' for a compiled step"
        )
    if differentiable:
        raise ValueError(
            f"{name}(differentiable=True) is not supported: autograd through the step (meta-learning) needs "
            f"torch.optim.{TORCH_NAMES.get(name, name)}(..., differentiable=True)"
        )
    return {
        "maximize": bool(maximize),
        "foreach": foreach,
        "fused": fused,
        "capturable": False,
        "differentiable": False,
    }


TORCH_NAMES = {"RMSProp": "RMSprop", "AdaDelta": "Adadelta", "Momentum": "SGD"}

#: how an optimizer's step is computed (``impl=``): written in place, the readable chain, or compiled
IMPLS = ("kernel", "chain", "compiled")


CHUNK_ELEMENTS = 256 * 1024  # a chunk's elements: with its state and temporaries it stays in the CPU's cache


def chunks(tensors: list[Tensor], size: int = CHUNK_ELEMENTS) -> list[list[int]]:
    """The indices of ``tensors`` in consecutive runs of about ``size`` elements (a larger tensor alone).

    On a CPU the plain step runs the whole chain on one chunk, then the next: each chunk's parameters,
    gradients, state and temporaries are read from the cache by every operation after the first, where a
    chain over all tensors at once would stream them from memory once per operation (Adam on 9.8M
    parameters went from 46.9 to 23.9 ms a step in ``benchmarks/optim_step.py``). Only for chains that work element by element (the named optimizers)."""
    out: list[list[int]] = [[]]
    filled = 0
    for i, t in enumerate(tensors):
        if out[-1] and filled + t.numel() > size:
            out.append([])
            filled = 0
        out[-1].append(i)
        filled += t.numel()
    return out


class TransformOptimizer(torch.optim.Optimizer):
    """A ``torch.optim.Optimizer`` whose step is a chain of transformations.

    Subclasses (the named optimizers) define :meth:`transform`; :func:`from_transforms` wraps a
    fixed chain. ``impl`` chooses how a step is computed, in one place (:meth:`_in_place_kernel`), all
    three tested equal:

    ``"kernel"`` (the default)
        the class's :attr:`kernel`, the same step written in place (:mod:`descentlab.optim.kernels`:
        torch.optim's operations, one temporary at most, no compile, no memory beyond torch's), chunk by
        chunk on a CPU. A chain without a kernel (:func:`from_transforms`) runs as ``"chain"``.
    ``"chain"``
        the transformations themselves, the readable reference, which allocates each one's updates.
    ``"compiled"``
        every step after the first through the chain compiled by ``torch.compile`` into one pass (once per
        group and shape: seconds to a minute, in ``compile_seconds``). torch's ``fused=True`` means this.

    ``flat=True`` is a layout, beside ``impl``: each group's parameters, gradients and state live in flat
    buffers after the first step (:mod:`descentlab.optim.flat`), so a step costs a few kernels over all
    elements (one compiled), not a few per tensor; the parameters' ``.data`` and ``.grad`` become views of
    those buffers. ``gradient_transform`` (for example ``chain(clip_by_global_norm(1.0), add_noise())``) is
    applied to the gradients before the step on every ``impl``; it must be stateless. Clipping alone
    (:func:`~descentlab.optim.transforms.clip_by_global_norm`) is folded into the kernel, the flat step and
    the compiled pass, which scale the gradients they read; with any other transform the layout stays
    per tensor (``flat`` is ignored). ``check_finite=True`` checks every gradient before anything changes
    and raises :class:`NonFiniteGradientError` naming the parameter, leaving parameters and state
    untouched. A group's step numbers live in one tensor (each ``state["step"]`` a view of it), so
    counting a step is one operation, not one per parameter.
    """

    elementwise = False  # whether the chain works element by element (then the CPU path runs it by chunks)
    kernel: Kernel | None = None  # the step written in place (descentlab.optim.kernels): the default path

    def __init__(
        self,
        params: Iterable[Any],
        defaults: dict[str, Any],
        check_finite: bool = False,
        impl: str = "kernel",
        gradient_transform: Transform | None = None,
        flat: bool = False,
    ) -> None:
        if impl not in IMPLS:
            raise ValueError(f"impl must be one of {', '.join(map(repr, IMPLS))}, got {impl!r}")
        if defaults.get("fused") and impl == "chain":
            raise ValueError("fused=True is the compiled step (impl='compiled'); it cannot be impl='chain'")
        super().__init__(params, defaults)
        self.check_finite = check_finite
        self.gradient_transform = gradient_transform
        self.impl = "compiled" if defaults.get("fused") else impl  # torch's fused=True: our single fused pass
        clip_only = clip_norm_of(gradient_transform) is not None  # clipping is folded into every path
        self.flat = flat and (gradient_transform is None or clip_only)  # another transform: one tensor at a time
        self.compile_seconds = 0.0  # time spent compiling fast steps (once per group and shape)
        self._compiled: dict[tuple[int, bool], _Compiled] = {}
        self._flat: dict[int, FlatGroup] = {}
        self._steps: dict[int, _Steps] = {}

    #: what a copy or a pickle keeps beyond torch's defaults, state and param_groups, with the value an old
    #: pickle that lacks it takes; the caches (compiled steps, flat buffers, step counters) are rebuilt
    _SETTINGS: ClassVar[dict[str, Any]] = {"check_finite": False, "gradient_transform": None, "impl": "kernel",
                                           "flat": False, "compile_seconds": 0.0, "_tx": None}  # fmt: skip

    def __getstate__(self) -> dict[str, Any]:
        """torch's state (defaults, state, param_groups) and this class's settings, so that ``copy.deepcopy``
        and ``pickle`` give an optimizer that steps (torch's ``Optimizer.__getstate__`` keeps only its own)."""
        state = dict(super().__getstate__())
        state |= {name: getattr(self, name) for name in self._SETTINGS if hasattr(self, name)}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        """From a copy or a pickle (every setting given), an old pickle (defaults for what it lacks), or
        torch's ``load_state_dict``, which passes only state and param_groups: then the settings stay."""
        state = dict(state)
        fast, in_place = state.pop("fast", None), state.pop("in_place", None)  # a pickle from before ``impl``
        if fast is not None or in_place is not None:
            state.setdefault("impl", "compiled" if fast else "kernel" if in_place in (None, True) else "chain")
        settings = {name: state.pop(name) for name in self._SETTINGS if name in state}
        super().__setstate__(state)
        for name, default in self._SETTINGS.items():
            if name in settings and (name != "_tx" or settings[name] is not None):
                setattr(self, name, settings[name])
            elif not hasattr(self, name) and name != "_tx":
                setattr(self, name, default)
        if settings or not hasattr(self, "_compiled"):  # a new object: the caches start empty
            self._compiled, self._flat, self._steps = {}, {}, {}

    @torch.no_grad()
    def zero_grad(self, set_to_none: bool = True) -> None:
        """torch's ``zero_grad``. With ``set_to_none=False`` the gradients of flat groups become (zeroed) views of
        their flat buffer again, so the next backward pass accumulates into it and the step copies nothing;
        with ``set_to_none=True`` (torch's default) they are None, as torch makes them, and the next step
        copies the new gradients in."""
        super().zero_grad(set_to_none)
        if set_to_none:
            return
        for fg in self._flat.values():
            fg.zero_grad()
            for p, view in zip(fg.params, fg.grad_views, strict=True):
                p.grad = view

    def _in_place_kernel(self) -> Kernel | None:
        """The step the plain path runs (``"kernel"``, and ``"compiled"``'s first step): the class's kernel,
        or None for the chain (``impl="chain"``, or a chain without a kernel). The one choice between them."""
        return self.kernel if self.impl != "chain" else None

    def _transformed(self, grads: list[Tensor], params: list[Tensor], counts: list[Any]) -> list[Tensor]:
        """The gradients a kernel or the compiled pass reads: after the gradient transform, unless there is
        none or it is clipping alone, which they apply themselves (scaling what they read)."""
        tx = self.gradient_transform
        if tx is None or clip_norm_of(tx) is not None:
            return grads
        return list(tx.update(grads, tx.init(params), params, counts)[0])

    def _clipped(self, group: dict[str, Any], grads: list[Tensor]) -> dict[str, Any]:
        """The group a kernel runs with: with ``gradient_transform=clip_by_global_norm(c)``, its ``grad_scale``,
        the clipping factor of these gradients (the kernels scale the gradients they read by it)."""
        max_norm = clip_norm_of(self.gradient_transform)
        return group if max_norm is None else group | {"grad_scale": clip_factor(grads, max_norm)}

    def _advance(self, index: int, params: list[Tensor], dicts: list[dict[str, Any]]) -> _Steps:
        """Add one to the step number of each of these parameters of group ``index``; their numbers are then
        ``counter.tolist()``. The counter is made anew when the parameters with gradients change or a state
        is loaded (its ``step`` tensors are no longer the counter's views)."""
        steps = self._steps.get(index)
        if steps is None or not _same(steps.params, params) or not _same(steps.views, [d["step"] for d in dicts]):
            counter = torch.tensor([float(d["step"]) for d in dicts], dtype=torch.float32)
            views = list(counter.unbind())
            for d, view in zip(dicts, views, strict=True):
                d["step"] = view
            steps = self._steps[index] = _Steps(params, counter, views, chunks([_real(p) for p in params]))
        steps.counter.add_(1)
        return steps

    def _flat_group(self, index: int, params: list[Tensor], dicts: list[dict[str, Any]]) -> FlatGroup | None:
        """The group's flat buffers when its step can be the flat one (made on first use), else None."""
        if len({(p.device, p.dtype) for p in params}) != 1 or params[0].is_complex():
            return None
        fg = self._flat.get(index)
        if fg is None and len(params) == len(self.param_groups[index]["params"]):  # all have gradients
            fg = self._flat[index] = FlatGroup(params, dicts)
        if fg is None or not fg.fits(params, dicts):
            return None
        fg.sync(dicts)
        return fg

    def _fast_update(
        self,
        index: int,
        group: dict[str, Any],
        grads: list[Tensor],
        params: list[Tensor],
        dicts: list[dict[str, Any]],
        flat: FlatGroup | None = None,
    ) -> None:
        """The same chain, compiled by ``torch.compile`` into one pass over every tensor of the group.

        Hyperparameters enter as 0-d tensors refreshed in place, so an LR scheduler does not
        recompile; a change that alters the chain's shape (momentum switched on, say) builds anew.
        """
        settings = {k: v for k, v in group.items() if k != "params"}
        structure = _structure(settings)
        key = (index, flat is not None)
        compiled = self._compiled.get(key)
        first = compiled is None or compiled.structure != structure
        max_norm = clip_norm_of(self.gradient_transform)
        if compiled is None or first:
            hyper = {k: _as_tensors(v, params[0].dtype) for k, v in settings.items()}
            tx = self._chain(hyper, compiled=True)
            if max_norm is not None:  # the clipping factor, a 0-d input of the compiled pass refreshed each step
                scale = hyper[_GRAD_SCALE] = torch.ones((), dtype=hyper_dtype(params[0].dtype), device=params[0].device)
                tx = chain(_scale_by(scale), tx)
            compiled = _Compiled(structure, hyper, tx.state_type, _compiled_step(tx))
            self._compiled[key] = compiled
        else:
            for name, value in settings.items():
                _refresh(compiled.hyper[name], value)
        if max_norm is not None:
            compiled.hyper[_GRAD_SCALE].copy_(clip_factor(grads if flat is None else [flat.grad], max_norm))
        advanced = self._advance(index, params, dicts)
        steps = advanced.views
        if flat is None:
            grads = self._transformed(grads, params, advanced.counter.tolist())
        started = time.perf_counter()
        if flat is None:
            state = _build(compiled.state_type, dicts)
            compiled.step(_1d(grads), _1d(state), _1d(params), steps)
        else:  # one tensor of each kind: one kernel over every element of the group
            compiled.step([flat.grad], flat.typed_state(compiled.state_type), [flat.param], steps[:1])
        if first:
            self.compile_seconds += time.perf_counter() - started

    def transform(self, group: dict[str, Any]) -> Transform:
        raise NotImplementedError

    def compiled_transform(self, group: dict[str, Any]) -> Transform:
        """What ``impl="compiled"`` compiles: :meth:`transform`, unless the optimizer has a form of it that the
        compiler makes faster (Adam's, in :mod:`descentlab.optim.compiled`), so that the chain stays readable."""
        return self.transform(group)

    def _chain(self, group: dict[str, Any], compiled: bool = False) -> Transform:
        """The group's chain: the optimizer's transformation (or its compiled form), after a negation when
        ``maximize``."""
        tx = self.compiled_transform(group) if compiled else self.transform(group)
        return chain(negate(), tx) if group.get("maximize") else tx

    def sparse_update(self, group: dict[str, Any], param: Tensor, grad: Tensor, state: dict[str, Any]) -> None:
        """One step of ``param`` from a sparse gradient (an ``nn.Embedding(sparse=True)``); Adagrad and SGD have one."""
        name = type(self).__name__
        raise RuntimeError(
            f"{name} does not support sparse gradients (from nn.Embedding(sparse=True) or EmbeddingBag); "
            "use descentlab.optim.Adagrad or SGD, torch.optim.SparseAdam, or a dense embedding (sparse=False)"
        )

    def _check_finite(self) -> None:
        for g, group in enumerate(self.param_groups):
            for i, p in enumerate(group["params"]):
                values = None if p.grad is None else (p.grad.coalesce()._values() if p.grad.is_sparse else p.grad)
                if values is not None and not bool(torch.isfinite(values).all()):
                    raise NonFiniteGradientError(
                        f"non-finite gradient in param group {g}, parameter {i} (shape {tuple(p.shape)}); "
                        "no parameter or state was changed"
                    )

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None, *, zero_grad: bool = False) -> Any:
        """One optimization step; ``closure`` re-evaluates the model and returns the loss.

        ``zero_grad=True`` leaves every gradient the step read at zero, as ``zero_grad(set_to_none=False)``
        after it would (torch has no such keyword: opt in where nothing reads the gradients after the step).
        The kernel zeroes each chunk of gradients right after stepping it, while it is in cache, on the flat
        layout one slice of the flat gradient at a time: one pass over the gradients fewer than a step and a
        ``zero_grad``. The other paths zero them after the step."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        if self.check_finite:
            self._check_finite()
        for index, group in enumerate(self.param_groups):
            sparse = [p for p in group["params"] if p.grad is not None and p.grad.is_sparse]
            params: list[Tensor] = [p for p in group["params"] if p.grad is not None and not p.grad.is_sparse]
            for p in sparse:
                self._init_state(group, [p], [self.state[p]])
                self.sparse_update(group, p, p.grad, self.state[p])
                if zero_grad:
                    p.grad.zero_()
            if not params:
                continue
            grads = [_real(p.grad) for p in params]
            dicts = [self.state[p] for p in params]
            fresh = [i for i, d in enumerate(dicts) if "step" not in d]
            real = [_real(p) for p in params]  # complex parameters as their real and imaginary parts
            compiled = self.impl == "compiled"
            fg = self._flat_group(index, params, dicts) if self.flat and not fresh else None
            if fg is not None and compiled:
                self._fast_update(index, group, grads, real, dicts, fg)
                if zero_grad:
                    fg.zero_grad()
                continue
            if fg is not None:
                self._flat_step(group, fg, self._advance(index, params, dicts), zero_grad)
                continue
            if compiled and not fresh and not any(p.is_complex() for p in params):  # buffers exist after a plain step
                self._fast_update(index, group, grads, real, dicts)
                if zero_grad:
                    _zero([p.grad for p in params])
                continue
            kernel = self._in_place_kernel()
            tx = self._chain(group) if kernel is None or fresh else None  # the chain: to run, or for new state
            if tx is not None and self.gradient_transform is not None:
                tx = chain(self.gradient_transform, tx)
            complex_params = [p.is_complex() for p in params]
            if fresh:
                self._init_state(group, [params[i] for i in fresh], [dicts[i] for i in fresh], tx)
            steps = self._advance(index, params, dicts)
            counts = steps.counter.tolist()
            if kernel is not None:
                grads = self._transformed(grads, real, counts)
            whole = (
                not self.elementwise
                or (kernel is None and self.gradient_transform is not None)
                or real[0].device.type != "cpu"
            )
            parts = [] if whole else steps.parts
            apply = (partial(kernel, self._clipped(group, grads)) if kernel is not None
                     else partial(self._apply_chain, cast(Transform, tx)))  # fmt: skip
            if len(parts) <= 1:  # one pass over the group (small groups: no chunking overhead)
                apply(real, grads, dicts, counts, complex_params)
                if zero_grad:
                    _zero([p.grad for p in params])
                continue
            for part in parts:
                apply([real[i] for i in part], [grads[i] for i in part], [dicts[i] for i in part],
                      [counts[i] for i in part], [complex_params[i] for i in part])  # fmt: skip
                if zero_grad:  # this chunk's gradients, while they are in cache
                    _zero([params[i].grad for i in part])
        return loss

    @staticmethod
    def _apply_chain(tx: Transform, params: list[Tensor], grads: list[Tensor], dicts: list[dict[str, Any]],
                     counts: list[float], complex_params: list[bool]) -> None:  # fmt: skip
        """One plain pass of the chain over these tensors: their updates added, their state written back."""
        updates, state = tx.update(grads, _build(tx.state_type, dicts), params, counts)
        _scatter(state, dicts, complex_params)
        if len({(p.device, p.dtype) for p in params}) == 1:
            torch._foreach_add_(params, list(updates))
        else:
            for p, u in zip(params, updates, strict=True):
                p.add_(u)

    def _flat_step(self, group: dict[str, Any], fg: FlatGroup, steps: _Steps, zero_grad: bool = False) -> None:
        """The kernel (or, with ``impl="chain"``, the chain) on the group's flat buffers: each operation once
        over every element; with ``zero_grad``, each slice of the gradient zeroed after its step."""
        kernel = self._in_place_kernel()
        if kernel is not None:
            group = self._clipped(group, [fg.grad])
            count = float(steps.counter[0])
            size = CHUNK_ELEMENTS if fg.param.device.type == "cpu" else fg.param.numel()
            parts = {"param": fg.param.split(size), "grad": fg.grad.split(size)}
            parts |= {f: fg.state[f].split(size) for f in fg.fields}
            for k in range(len(parts["param"])):  # on a CPU, a slice at a time: it stays in cache between operations
                state = {f: parts[f][k] for f in fg.fields}
                kernel(group, [parts["param"][k]], [parts["grad"][k]], [state], [count], [False])
                if zero_grad:
                    parts["grad"][k].zero_()
            return
        tx = self._chain(group)
        if self.gradient_transform is not None:
            tx = chain(self.gradient_transform, tx)
        (update,), _ = tx.update([fg.grad], fg.typed_state(tx.state_type), [fg.param], [float(steps.counter[0])])
        fg.param.add_(update)
        if zero_grad:
            fg.zero_grad()

    def _init_state(self, group: dict[str, Any], params: list[Tensor], dicts: list[dict[str, Any]],
                    tx: Transform | None = None) -> None:  # fmt: skip
        """Create the state of parameters that have none: the chain's buffers (complex for a complex
        parameter) and ``step`` 0."""
        todo = [(p, d) for p, d in zip(params, dicts, strict=True) if "step" not in d]
        if not todo:
            return
        tx = tx or self._chain(group)
        init_state = tx.init([_real(p) for p, _ in todo])
        for _, d in todo:
            d["step"] = torch.tensor(0.0)  # first, as torch.optim orders a state's keys
        _scatter(init_state, [d for _, d in todo], [p.is_complex() for p, _ in todo])


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
