r"""Gradient transformations: small ``init`` / ``update`` pairs over lists of tensors.

An optimizer is a chain of transformations (as in optax). Each one maps the incoming updates
:math:`u` (at first the gradients :math:`g`) to new updates, keeping a typed state::

    state = tx.init(params)
    updates, state = tx.update(grads, state, params, counts)
    params = [p + u for p, u in zip(params, updates)]

``counts`` holds each parameter's step number :math:`t` (1 on the first step), shared by every
transformation of a chain, as torch.optim keeps one ``step`` per parameter.

Conventions:

* The final updates are *added* to the parameters; :func:`scale_by_learning_rate` multiplies by
  :math:`-\eta`, which turns a descent direction into a step.
* Hyperparameters may be Python numbers or 0-d tensors (the compiled fast path passes tensors, so
  a changed learning rate does not recompile); hence ``a + c * b`` rather than ``add(b, alpha=c)``.
* Incoming updates are never modified in place (the first ones are the user's ``.grad`` tensors);
  state buffers are, as in torch.optim, so no memory is allocated for them after the first step.
* Where the unit's formula and the implementation differ (epsilon, bias corrections, names), the
  docstring says so; ``docs/errata.md`` lists every such place of the unit.
* State fields carry torch.optim's state names (``exp_avg``, ``square_avg``, ``momentum_buffer``,
  ...) so a state saved by a torch optimizer loads into the matching chain and back again.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import torch
from torch import Tensor

Updates = list[Tensor]
Schedule = Callable[[Any], Any]  # step number t (1, 2, ...) -> learning rate
Counts = Sequence[Any]  # each parameter's step number: floats (plain path) or 0-d tensors (compiled)


def _check(name: str, value: Any, ok: Callable[[float], bool], valid: str) -> None:
    """Refuse a hyperparameter as torch.optim does: ``ValueError`` naming it, its value and the valid range.
    A 0-d tensor (the compiled path's hyperparameters) was checked as a number before it was made."""
    if isinstance(value, Tensor):
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number, not {type(value).__name__}")
    if not ok(float(value)):
        raise ValueError(f"Invalid {name}: {value} (valid: {valid})")


def _zeros(params: Sequence[Tensor]) -> list[Tensor]:
    """A zero buffer shaped (and laid out) like each parameter."""
    return [torch.zeros_like(p, memory_format=torch.preserve_format) for p in params]


class Transform(NamedTuple):
    """A gradient transformation: ``init(params) -> state`` and ``update(...) -> (updates, state)``.

    ``state_type`` is the NamedTuple class of the state, or a tuple of them for a chain; the torch
    optimizer adapter uses it to map typed state to and from torch.optim's per-parameter dicts.
    """

    init: Callable[[Sequence[Tensor]], Any]
    update: Callable[[Updates, Any, Sequence[Tensor], Counts], tuple[Updates, Any]]
    state_type: Any


class EmptyState(NamedTuple):
    """The state of a stateless transformation."""


def _stateless(fn: Callable[[Updates, Sequence[Tensor], Counts], Updates]) -> Transform:
    def init(params: Sequence[Tensor]) -> EmptyState:
        return EmptyState()

    def update(u: Updates, state: Any, params: Sequence[Tensor], counts: Counts) -> tuple[Updates, Any]:
        return fn(u, params, counts), state

    return Transform(init, update, EmptyState)


def identity() -> Transform:
    """Leaves the updates as they are."""
    return _stateless(lambda u, params, counts: list(u))


def negate() -> Transform:
    """Flip the sign of the updates: maximize the objective instead of minimizing it (torch.optim's
    ``maximize=True``, which negates the gradient before anything else, weight decay included)."""
    return _stateless(lambda u, params, counts: [-u_i for u_i in u])


def chain(*transforms: Transform) -> Transform:
    """Apply ``transforms`` one after another; the state is the tuple of their states."""

    def init(params: Sequence[Tensor]) -> tuple[Any, ...]:
        return tuple(tx.init(params) for tx in transforms)

    def update(u: Updates, state: Any, params: Sequence[Tensor], counts: Counts) -> tuple[Updates, Any]:
        new_state = []
        for tx, s in zip(transforms, state, strict=True):
            u, s = tx.update(u, s, params, counts)
            new_state.append(s)
        return u, tuple(new_state)

    return Transform(init, update, tuple(tx.state_type for tx in transforms))


# ---- momentum -----------------------------------------------------------------------------------
class TraceState(NamedTuple):
    momentum_buffer: Sequence[Tensor | None]  # b, the velocity; None until the first step


def trace(decay: float, dampening: float = 0.0, nesterov: bool = False) -> Transform:
    r"""Momentum (Polyak's heavy ball), optionally Nesterov's.

    .. math::
        b_1 = u_1, \qquad b_t = \beta\, b_{t-1} + (1 - \tau)\, u_t, \qquad
        \text{out}_t = \begin{cases} u_t + \beta\, b_t & \text{Nesterov} \\ b_t & \text{otherwise} \end{cases}

    with :math:`\beta` the momentum ``decay`` and :math:`\tau` the ``dampening``; the first buffer is
    the update itself, as in torch.optim.SGD. For a constant gradient the buffer tends to
    :math:`u / (1 - \beta)` (with :math:`\tau = 0`): ten times the plain step at :math:`\beta = 0.9`,
    which is why the unit advises a smaller learning rate with a high momentum term.
    Sutskever et al. (2013), "On the importance of initialization and momentum in deep learning".
    """
    _check("decay", decay, lambda v: v >= 0, "decay >= 0")

    def init(params: Sequence[Tensor]) -> TraceState:
        return TraceState([None] * len(params))

    def update(u: Updates, state: TraceState, params: Sequence[Tensor], counts: Counts) -> tuple[Updates, TraceState]:
        out, buffers = [], []
        for u_i, b in zip(u, state.momentum_buffer, strict=True):
            if b is None:
                b = torch.clone(u_i).detach()
            elif isinstance(dampening, int | float) and dampening == 0:  # the usual case: no temporary
                b.mul_(decay).add_(u_i)
            else:
                b.mul_(decay).add_(u_i * (1 - dampening))
            buffers.append(b)
            out.append(u_i + decay * b if nesterov else b)
        return out, TraceState(buffers)

    return Transform(init, update, TraceState)


# ---- adaptive scalings ----------------------------------------------------------------------------
class ScaleByRssState(NamedTuple):
    sum: list[Tensor]  # alpha_t, the running sum of squared updates


def scale_by_rss(initial_accumulator_value: float = 0.0, eps: float = 1e-10) -> Transform:
    r"""Adagrad's scaling by the root of the sum of squares (Duchi, Hazan and Singer 2011).

    .. math::
        \alpha_t = \alpha_{t-1} + g_t^2, \qquad \text{out}_t = \frac{g_t}{\sqrt{\alpha_t} + \epsilon}

    :math:`\alpha_0` is ``initial_accumulator_value``. The unit calls :math:`\alpha_t` "the learning
    rates at each iteration"; it is the running sum of squared gradients, and
    :math:`\eta / (\sqrt{\alpha_t} + \epsilon)` is each parameter's effective learning rate. The unit
    writes :math:`\sqrt{\alpha_t + \epsilon}`; this follows PyTorch, with :math:`\epsilon` outside
    the root, so that parameters agree with ``torch.optim.Adagrad``.
    """
    _check("initial_accumulator_value", initial_accumulator_value, lambda v: v >= 0, "initial_accumulator_value >= 0")
    _check("eps", eps, lambda v: v >= 0, "eps >= 0")

    def init(params: Sequence[Tensor]) -> ScaleByRssState:
        return ScaleByRssState(
            [torch.full_like(p, initial_accumulator_value, memory_format=torch.preserve_format) for p in params]
        )

    def update(
        u: Updates, state: ScaleByRssState, params: Sequence[Tensor], counts: Counts
    ) -> tuple[Updates, ScaleByRssState]:
        out = []
        for g, acc in zip(u, state.sum, strict=True):
            acc.addcmul_(g, g)
            out.append(g / acc.sqrt().add_(eps))
        return out, state

    return Transform(init, update, ScaleByRssState)


class ScaleByRmsState(NamedTuple):
    square_avg: list[Tensor]  # v_t, the moving average of squared updates
    grad_avg: Sequence[Tensor | None]  # m_t, the moving average of updates (centered only)


def scale_by_rms(alpha: float = 0.99, eps: float = 1e-8, centered: bool = False) -> Transform:
    r"""RMSProp's scaling by a moving root mean square (Hinton, Neural Networks for ML, lecture 6e, 2012).

    .. math::
        v_t = \alpha\, v_{t-1} + (1 - \alpha)\, g_t^2, \qquad
        \text{out}_t = \frac{g_t}{\sqrt{v_t - m_t^2} + \epsilon} \text{ (centered)} \quad\text{or}\quad
        \frac{g_t}{\sqrt{v_t} + \epsilon}

    with :math:`m_t = \alpha\, m_{t-1} + (1 - \alpha)\, g_t` when centered (Graves 2013).
    :math:`\alpha` is the unit's forgetting factor :math:`\gamma`. The unit's update
    :math:`w := w - \eta\, g / \sqrt{v}` has no :math:`\epsilon` and divides by zero where a gradient
    component has always been zero; :math:`\epsilon` is added outside the root, as in PyTorch. The
    method was never published in a paper, which is why the unit calls it unpublished.
    """
    _check("alpha", alpha, lambda v: v >= 0, "alpha >= 0")
    _check("eps", eps, lambda v: v >= 0, "eps >= 0")

    def init(params: Sequence[Tensor]) -> ScaleByRmsState:
        return ScaleByRmsState(_zeros(params), _zeros(params) if centered else [None] * len(params))

    def update(
        u: Updates, state: ScaleByRmsState, params: Sequence[Tensor], counts: Counts
    ) -> tuple[Updates, ScaleByRmsState]:
        out = []
        for g, v, m in zip(u, state.square_avg, state.grad_avg, strict=True):
            v.mul_(alpha).add_(g * g * (1 - alpha))
            if m is not None:
                m.lerp_(g, 1 - alpha)
                avg = (v - m * m).sqrt_()
            else:
                avg = v.sqrt()
            out.append(g / avg.add_(eps))
        return out, state

    return Transform(init, update, ScaleByRmsState)


class ScaleByAdadeltaState(NamedTuple):
    square_avg: list[Tensor]  # E[g^2]_t
    acc_delta: list[Tensor]  # E[dx^2]_t


def scale_by_adadelta(rho: float = 0.9, eps: float = 1e-6) -> Transform:
    r"""AdaDelta's unit-free scaling (Zeiler 2012, "ADADELTA: an adaptive learning rate method").

    .. math::
        E[g^2]_t = \rho\, E[g^2]_{t-1} + (1 - \rho)\, g_t^2, \qquad
        \Delta x_t = \frac{\sqrt{E[\Delta x^2]_{t-1} + \epsilon}}{\sqrt{E[g^2]_t + \epsilon}}\, g_t, \qquad
        E[\Delta x^2]_t = \rho\, E[\Delta x^2]_{t-1} + (1 - \rho)\, \Delta x_t^2

    The output is :math:`\Delta x_t`; the pure algorithm applies :math:`x_{t+1} = x_t - \Delta x_t`.
    PyTorch multiplies the step by a learning rate (default 1.0), which the :class:`AdaDelta`
    optimizer keeps for compatibility. The unit calls :math:`\epsilon` "a small positive integer": it
    is a small positive real number (1e-6 here, as in PyTorch).
    """
    _check("rho", rho, lambda v: 0 <= v <= 1, "0 <= rho <= 1")
    _check("eps", eps, lambda v: v >= 0, "eps >= 0")

    def init(params: Sequence[Tensor]) -> ScaleByAdadeltaState:
        return ScaleByAdadeltaState(
            _zeros(params),
            _zeros(params),
        )

    def update(
        u: Updates, state: ScaleByAdadeltaState, params: Sequence[Tensor], counts: Counts
    ) -> tuple[Updates, ScaleByAdadeltaState]:
        out = []
        for g, sq, acc in zip(u, state.square_avg, state.acc_delta, strict=True):
            sq.mul_(rho).add_(g * g * (1 - rho))
            std = sq.add(eps).sqrt_()
            delta = acc.add(eps).sqrt_().div_(std).mul_(g)
            acc.mul_(rho).add_(delta * delta * (1 - rho))
            out.append(delta)
        return out, state

    return Transform(init, update, ScaleByAdadeltaState)


class ScaleByAdamState(NamedTuple):
    exp_avg: list[Tensor]  # m_t, first moment
    exp_avg_sq: list[Tensor]  # v_t, second moment
    max_exp_avg_sq: Sequence[Tensor | None]  # max over time of v_t (AMSGrad only)


def scale_by_adam(b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8, amsgrad: bool = False) -> Transform:
    r"""Adam's bias-corrected moment scaling (Kingma and Ba 2015).

    .. math::
        m_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t, \quad v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2, \quad
        \hat m_t = \frac{m_t}{1 - \beta_1^t}, \quad \hat v_t = \frac{v_t}{1 - \beta_2^t}, \quad
        \text{out}_t = \frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon}

    :math:`\beta_1` is the decay of the average of the gradients and :math:`\beta_2` of the average
    of the *squared* gradients (the unit calls both "the decay rate of the average of the
    gradients"). The unit gives only the two moments; the bias corrections and the update step above
    complete the algorithm. With AMSGrad (Reddi, Kale and Kumar 2018) :math:`\hat v_t` uses the
    running maximum of :math:`v_t`.
    """
    _check("b1", b1, lambda v: 0 <= v < 1, "0 <= b1 < 1")
    _check("b2", b2, lambda v: 0 <= v < 1, "0 <= b2 < 1")
    _check("eps", eps, lambda v: v >= 0, "eps >= 0")

    def init(params: Sequence[Tensor]) -> ScaleByAdamState:
        return ScaleByAdamState(_zeros(params), _zeros(params), _zeros(params) if amsgrad else [None] * len(params))

    def update(
        u: Updates, state: ScaleByAdamState, params: Sequence[Tensor], counts: Counts
    ) -> tuple[Updates, ScaleByAdamState]:
        out = []
        for g, m, v, v_max, t in zip(u, state.exp_avg, state.exp_avg_sq, state.max_exp_avg_sq, counts, strict=True):
            m.lerp_(g, 1 - b1)  # m_t = beta1 m_{t-1} + (1 - beta1) g_t
            v.mul_(b2).add_(g * g * (1 - b2))  # v_t = beta2 v_{t-1} + (1 - beta2) g_t^2
            if v_max is not None:  # AMSGrad: the running maximum of v_t
                torch.maximum(v_max, v, out=v_max)
                v = v_max
            m_hat = m / (1 - b1**t)
            v_hat = v / (1 - b2**t)
            out.append(m_hat / (v_hat.sqrt() + eps))
        return out, state

    return Transform(init, update, ScaleByAdamState)


# ---- stateless transformations --------------------------------------------------------------------
def add_decayed_weights(weight_decay: float) -> Transform:
    r"""Add :math:`\lambda w` to the updates: L2 regularization before an adaptive scaling (Adam,
    Adagrad, ...), decoupled weight decay after it (AdamW, Loshchilov and Hutter 2019)."""
    _check("weight_decay", weight_decay, lambda v: v >= 0, "weight_decay >= 0")
    if weight_decay == 0:
        return identity()
    return _stateless(lambda u, params, counts: [u_i + weight_decay * p for u_i, p in zip(u, params, strict=True)])


def scale_by_learning_rate(learning_rate: float | Schedule) -> Transform:
    r"""Multiply by :math:`-\eta_t`: a constant, or a schedule of the step number :math:`t`."""
    if not callable(learning_rate):
        _check("learning_rate", learning_rate, lambda v: v >= 0, "learning_rate >= 0, or a schedule")

    def scale(u: Updates, params: Sequence[Tensor], counts: Counts) -> Updates:
        if callable(learning_rate):
            return [u_i * -learning_rate(t) for u_i, t in zip(u, counts, strict=True)]
        return [u_i * -learning_rate for u_i in u]

    return _stateless(scale)


def clip_by_value(max_delta: float) -> Transform:
    """Clip every update component to :math:`[-\\delta, \\delta]`."""
    _check("max_delta", max_delta, lambda v: v >= 0, "max_delta >= 0")
    return _stateless(lambda u, params, counts: [u_i.clamp(-max_delta, max_delta) for u_i in u])


def clip_by_global_norm(max_norm: float) -> Transform:
    r"""Scale all updates by :math:`\min(1, c / \lVert u \rVert_2)`, the norm taken over every tensor
    together (Pascanu, Mikolov and Bengio 2013), as ``torch.nn.utils.clip_grad_norm_`` does."""
    _check("max_norm", max_norm, lambda v: v > 0, "max_norm > 0 (inf: no clipping)")

    def clip(u: Updates, params: Sequence[Tensor], counts: Counts) -> Updates:
        factor = clip_factor(u, max_norm)
        return [u_i * factor for u_i in u]

    tx = _stateless(clip)
    CLIP_NORMS[tx.update] = max_norm  # the optimizers' in-place paths clip by it too (clip_norm_of)
    return tx


#: the ``max_norm`` of each :func:`clip_by_global_norm`, by its update function
CLIP_NORMS: weakref.WeakKeyDictionary[Callable[..., Any], float] = weakref.WeakKeyDictionary()


def clip_norm_of(tx: Transform | None) -> float | None:
    """The ``max_norm`` when ``tx`` is a :func:`clip_by_global_norm` alone, else None."""
    return None if tx is None else CLIP_NORMS.get(tx.update)


def clip_factor(u: Sequence[Tensor], max_norm: float) -> Tensor:
    r""":math:`\min(1, c / (\lVert u \rVert_2 + 10^{-6}))`, the norm over every tensor together, as a 0-d tensor
    (no synchronization on a GPU): ``torch.nn.utils.clip_grad_norm_``'s factor."""
    norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(u_i) for u_i in u]))
    return torch.clamp(max_norm / (norm + 1e-6), max=1.0)


def add_noise(eta: float = 0.01, gamma: float = 0.55, seed: int = 0) -> Transform:
    r"""Annealed Gaussian gradient noise (Neelakantan et al. 2015, "Adding gradient noise improves
    learning for very deep networks"): :math:`u_t + \mathcal N(0, \sigma_t^2)` with
    :math:`\sigma_t^2 = \eta / (1 + t)^\gamma`. The noise comes from its own generator, seeded by
    ``seed`` and the step number, so runs are reproducible and resumable."""
    _check("eta", eta, lambda v: 0 <= v < math.inf, "0 <= eta < inf")
    _check("gamma", gamma, lambda v: v >= 0, "gamma >= 0")

    def noisy(u: Updates, params: Sequence[Tensor], counts: Counts) -> Updates:
        out = []
        for i, (u_i, t) in enumerate(zip(u, counts, strict=True)):
            gen = torch.Generator(device=u_i.device).manual_seed(seed * 1_000_003 + int(t) * 7919 + i)
            sigma = math.sqrt(eta / (1 + t) ** gamma)
            out.append(u_i + sigma * torch.randn(u_i.shape, generator=gen, device=u_i.device, dtype=u_i.dtype))
        return out

    return _stateless(noisy)
