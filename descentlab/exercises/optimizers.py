"""Exercises of chapter 1: one step of gradient descent and of each adaptive optimizer, on one tensor.

Each reference is the optimizer's chain of :mod:`descentlab.optim.transforms` (the same code as
``descentlab.optim.Adam`` and the others, tested there against ``torch.optim``), applied to one parameter
with the state the exercise passes in.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from descentlab.exercises.cases import DTYPES, pick, randn
from descentlab.exercises.core import Case, Exercise, Mistake
from descentlab.optim.transforms import (
    ScaleByAdadeltaState,
    ScaleByAdamState,
    ScaleByRmsState,
    ScaleByRssState,
    TraceState,
    Transform,
    scale_by_adadelta,
    scale_by_adam,
    scale_by_learning_rate,
    scale_by_rms,
    scale_by_rss,
    trace,
)


def _direction(tx: Transform, state: Any, w: Tensor, g: Tensor, t: int = 1) -> Tensor:
    """The update ``tx`` makes of the gradient ``g`` of ``w`` at step ``t``, from ``state`` (changed in place)."""
    (update,), _ = tx.update([g], state, [w], [float(t)])
    return update


def _lr(lr: float, w: Tensor, u: Tensor) -> Tensor:
    (update,), _ = scale_by_learning_rate(lr).update([u], (), [w], [1.0])
    return w + update


def _shape(gen: torch.Generator) -> tuple[int, ...]:
    dims = int(torch.randint(0, 4, (), generator=gen))
    return tuple(int(d) for d in torch.randint(1, 6, (dims,), generator=gen))


def _positive(shape: tuple[int, ...], dtype: torch.dtype, gen: torch.Generator, scale: float = 1.0) -> Tensor:
    return (torch.rand(shape, generator=gen, dtype=torch.float64) * scale + 0.01 * scale).to(dtype)


def _situations(gen: torch.Generator, count: int = 8) -> list[tuple[str, tuple[int, ...], torch.dtype, str]]:
    """Shapes, dtypes and gradient kinds to try: fixed edge cases first, then random ones."""
    fixed = [
        ("a scalar parameter", (), torch.float64, "random"),
        ("a single element", (1,), torch.float32, "random"),
        ("a zero gradient", (3, 4), torch.float64, "zero"),
        ("a matrix", (4, 5), torch.float32, "random"),
    ]
    rest = [
        (f"random case {i}", _shape(gen), pick(gen, DTYPES), pick(gen, ("random", "large", "small")))
        for i in range(count - len(fixed))
    ]
    return fixed + rest


def _gradient(kind: str, shape: tuple[int, ...], dtype: torch.dtype, gen: torch.Generator) -> Tensor:
    if kind == "zero":
        return torch.zeros(shape, dtype=dtype)
    return randn(shape, dtype, gen, {"random": 1.0, "large": 100.0, "small": 1e-3}[kind])


def _label(what: str, shape: tuple[int, ...], dtype: torch.dtype, extra: str = "") -> str:
    return f"{what}: {str(dtype).removeprefix('torch.')} {tuple(shape)}" + (f", {extra}" if extra else "")


# ---- gradient descent -------------------------------------------------------------------------------------


def gd_step(w: Tensor, grad: Tensor, lr: float) -> Tensor:
    return _lr(lr, w, grad)


def _gd_cases(gen: torch.Generator) -> list[Case]:
    out = []
    for what, shape, dtype, kind in _situations(gen):
        lr = pick(gen, (0.1, 0.01, 1.0, 0.5))
        w = randn(shape, dtype, gen)
        out.append(Case(_label(what, shape, dtype, f"lr {lr}"), (w, _gradient(kind, shape, dtype, gen), lr)))
    return out


GD = Exercise(
    name="gd_step",
    chapter="optimization",
    section="optimization-gradient-descent-stochastic-and-mini-batch",
    difficulty=1,
    title="one step of gradient descent",
    parameters=("w", "grad", "lr"),
    returns="the new w",
    docstring=r"""
One step of gradient descent: move the weights against the gradient.

    w := w - eta * grad          (the unit: x_new = x - alpha f'(x))

Arguments: w, the weights, a tensor of any shape (a 0-d tensor too); grad, the gradient of the loss at w,
the same shape and dtype; lr, the learning rate eta > 0, a float.
Returns the new weights, a tensor of w's shape and dtype. Do not change w in place.

The checker tries float32 and float64, 0-d and matrix weights, a zero gradient, and learning rates from
0.01 to 1.
""",
    reference=gd_step,
    cases=_gd_cases,
    mistakes=(
        Mistake(
            "gradient ascent",
            "You added the gradient (w + eta * grad): that climbs the loss; descent moves "
            "against the gradient, w - eta * grad.",
            "optimization-gradient-descent-stochastic-and-mini-batch",
            lambda w, g, lr: w + lr * g,
        ),
        Mistake(
            "learning rate ignored",
            "You subtracted the whole gradient (w - grad): the step must be scaled by the learning rate eta.",
            "optimization-gradient-descent-stochastic-and-mini-batch",
            lambda w, g, lr: w - g,
        ),
    ),
)


# ---- momentum ---------------------------------------------------------------------------------------------


def momentum_step(w: Tensor, grad: Tensor, b: Tensor, lr: float, beta: float) -> tuple[Tensor, Tensor]:
    (direction,), state = trace(beta).update([grad], TraceState([b.clone()]), [w], [1.0])
    return _lr(lr, w, direction), state.momentum_buffer[0]


def _momentum_cases(gen: torch.Generator) -> list[Case]:
    out = []
    for i, (what, shape, dtype, kind) in enumerate(_situations(gen)):
        lr, beta = pick(gen, (0.1, 0.01, 0.5)), pick(gen, (0.9, 0.5, 0.99))
        w, g = randn(shape, dtype, gen), _gradient(kind, shape, dtype, gen)
        b = torch.zeros(shape, dtype=dtype) if i == 1 else randn(shape, dtype, gen)
        extra = f"lr {lr}, beta {beta}" + (", the first step (b = 0)" if i == 1 else "")
        out.append(Case(_label(what, shape, dtype, extra), (w, g, b, lr, beta)))
    return out


MOMENTUM = Exercise(
    name="momentum_step",
    chapter="optimization",
    section="optimization-momentum",
    difficulty=1,
    title="one step of SGD with momentum",
    parameters=("w", "grad", "b", "lr", "beta"),
    returns="(w, b)",
    docstring=r"""
One step of SGD with momentum, in the form PyTorch uses (the lab book, chapter 1, Momentum):

    b_t = beta * b_{t-1} + g_t          (the velocity: no (1 - beta), no learning rate inside)
    w_t = w_{t-1} - eta * b_t           (the step uses the *new* velocity)

Arguments: w, the weights, a tensor of any shape; grad, g_t, the same shape and dtype; b, the velocity
b_{t-1} (zeros before the first step), the same shape; lr, eta > 0; beta, the momentum, 0 <= beta < 1.
Returns (w_t, b_t), two tensors of w's shape and dtype.

The checker tries float32 and float64, 0-d and matrix weights, a zero gradient, the first step (b = 0),
and beta from 0.5 to 0.99.
""",
    reference=momentum_step,
    cases=_momentum_cases,
    mistakes=(
        Mistake(
            "exponential average (1 - beta) * g",
            "You averaged the gradient, b = beta b + (1 - beta) g: that "
            "divides the steady step by 1 / (1 - beta); this form adds the whole gradient, b = beta b + g.",
            "optimization-momentum",
            lambda w, g, b, lr, beta: (w - lr * (beta * b + (1 - beta) * g), beta * b + (1 - beta) * g),
        ),
        Mistake(
            "step with the old velocity",
            "You moved w with the previous velocity b_{t-1} before updating it; "
            "the step uses the new velocity, w - eta * (beta b + g).",
            "optimization-momentum",
            lambda w, g, b, lr, beta: (w - lr * b, beta * b + g),
        ),
        Mistake(
            "learning rate inside the velocity",
            "You kept the velocity with the learning rate inside, v = beta "
            "v + eta g: the steps are the same, but the b asked for here is without eta (b = beta b + g).",
            "optimization-momentum",
            lambda w, g, b, lr, beta: (w - (beta * b + lr * g), beta * b + lr * g),
        ),
        Mistake(
            "momentum added to the weights",
            "You subtracted beta b and eta g separately (w - beta b - eta g): "
            "the velocity, not the weights' history, is multiplied by beta, and the whole velocity by eta.",
            "optimization-momentum",
            lambda w, g, b, lr, beta: (w - beta * b - lr * g, beta * b + g),
        ),
    ),
)


# ---- Adagrad ----------------------------------------------------------------------------------------------


def adagrad_step(w: Tensor, grad: Tensor, alpha: Tensor, lr: float, eps: float) -> tuple[Tensor, Tensor]:
    state = ScaleByRssState([alpha.clone()])
    return _lr(lr, w, _direction(scale_by_rss(0.0, eps), state, w, grad)), state.sum[0]


def _accumulated_cases(gen: torch.Generator, second: str) -> list[Case]:
    """Cases of an optimizer with one accumulator of squared gradients (Adagrad, RMSProp)."""
    out = []
    for i, (what, shape, dtype, kind) in enumerate(_situations(gen)):
        lr, eps = pick(gen, (0.1, 0.01, 1.0)), pick(gen, (1e-8, 1e-3, 0.1, 0.5))
        if i == 0:
            eps = 0.25  # large enough that where it goes shows
        w, g = randn(shape, dtype, gen), _gradient(kind, shape, dtype, gen)
        acc = torch.zeros(shape, dtype=dtype) if i == 1 else _positive(shape, dtype, gen, pick(gen, (0.01, 1.0, 10.0)))
        extra = f"lr {lr}, eps {eps:g}" + (", the first step (accumulator 0)" if i == 1 else "")
        args: tuple[Any, ...] = (
            (w, g, acc, lr, eps) if second == "" else (w, g, acc, lr, pick(gen, (0.9, 0.99, 0.5)), eps)
        )
        if second:
            extra += f", {second} {args[4]}"
        out.append(Case(_label(what, shape, dtype, extra), args))
    return out


ADAGRAD = Exercise(
    name="adagrad_step",
    chapter="optimization",
    section="optimization-adagrad",
    difficulty=2,
    title="one step of Adagrad",
    parameters=("w", "grad", "alpha", "lr", "eps"),
    returns="(w, alpha)",
    docstring=r"""
One step of Adagrad (the lab book, chapter 1, Adagrad), element by element:

    alpha_t = alpha_{t-1} + g_t^2                       (the running sum of squared gradients)
    w_t = w_{t-1} - eta / (sqrt(alpha_t) + eps) * g_t   (eps OUTSIDE the root, as PyTorch)

Erratum: the unit writes eta / sqrt(alpha_t + eps) and calls alpha_t "the learning rates"; alpha_t is the
sum of squared gradients, and this exercise (like torch.optim.Adagrad) puts eps outside the root.

Arguments: w, the weights, a tensor of any shape; grad, g_t, the same shape and dtype; alpha, alpha_{t-1}
(zeros before the first step); lr, eta > 0; eps > 0.
Returns (w_t, alpha_t), two tensors of w's shape and dtype.

The checker tries float32 and float64, 0-d and matrix weights, a zero gradient with a zero accumulator,
gradients from 1e-3 to 100, and eps from 1e-8 to 0.5.
""",
    reference=adagrad_step,
    cases=lambda gen: _accumulated_cases(gen, ""),
    mistakes=(
        Mistake(
            "eps inside the root",
            "You divided by sqrt(alpha + eps), the unit's formula; this exercise, like "
            "PyTorch, divides by sqrt(alpha) + eps.",
            "optimization-adagrad",
            lambda w, g, a, lr, eps: (w - lr * g / (a + g * g + eps).sqrt(), a + g * g),
        ),
        Mistake(
            "only the last gradient",
            "You divided by the last squared gradient instead of the running sum: "
            "alpha_t = alpha_{t-1} + g_t^2 accumulates every step.",
            "optimization-adagrad",
            lambda w, g, a, lr, eps: (w - lr * g / ((g * g).sqrt() + eps), g * g),
        ),
        Mistake(
            "old accumulator in the step",
            "You divided by the previous sum alpha_{t-1}: add g_t^2 first, then divide by sqrt(alpha_t) + eps.",
            "optimization-adagrad",
            lambda w, g, a, lr, eps: (w - lr * g / (a.sqrt() + eps), a + g * g),
        ),
        Mistake(
            "no square root",
            "You divided by alpha_t + eps instead of sqrt(alpha_t) + eps.",
            "optimization-adagrad",
            lambda w, g, a, lr, eps: (w - lr * g / (a + g * g + eps), a + g * g),
        ),
    ),
)


# ---- RMSProp ----------------------------------------------------------------------------------------------


def rmsprop_step(w: Tensor, grad: Tensor, v: Tensor, lr: float, gamma: float, eps: float) -> tuple[Tensor, Tensor]:
    state = ScaleByRmsState([v.clone()], [None])
    return _lr(lr, w, _direction(scale_by_rms(gamma, eps), state, w, grad)), state.square_avg[0]


RMSPROP = Exercise(
    name="rmsprop_step",
    chapter="optimization",
    section="optimization-rmsprop",
    difficulty=2,
    title="one step of RMSProp",
    parameters=("w", "grad", "v", "lr", "gamma", "eps"),
    returns="(w, v)",
    docstring=r"""
One step of RMSProp (the lab book, chapter 1, RMSProp), element by element:

    v_t = gamma * v_{t-1} + (1 - gamma) * g_t^2          (a moving average of squared gradients)
    w_t = w_{t-1} - eta / (sqrt(v_t) + eps) * g_t        (eps OUTSIDE the root, as PyTorch)

Erratum: the unit's update, w - eta / sqrt(v) g, has no eps and divides by zero where every gradient has been
zero; add eps outside the root. gamma is PyTorch's alpha.

Arguments: w, the weights, a tensor of any shape; grad, g_t, the same shape and dtype; v, v_{t-1} (zeros
before the first step); lr, eta > 0; gamma, the forgetting factor, 0 <= gamma < 1; eps > 0.
Returns (w_t, v_t), two tensors of w's shape and dtype.

The checker tries float32 and float64, 0-d and matrix weights, a zero gradient with v = 0, gradients from
1e-3 to 100, gamma from 0.5 to 0.99 and eps from 1e-8 to 0.5.
""",
    reference=rmsprop_step,
    cases=lambda gen: _accumulated_cases(gen, "gamma"),
    mistakes=(
        Mistake(
            "eps inside the root",
            "You divided by sqrt(v + eps); PyTorch's RMSProp, which this exercise follows, divides by sqrt(v) + eps.",
            "optimization-rmsprop",
            lambda w, g, v, lr, gm, eps: (
                w - lr * g / (gm * v + (1 - gm) * g * g + eps).sqrt(),
                gm * v + (1 - gm) * g * g,
            ),
        ),
        Mistake(
            "gamma and 1 - gamma swapped",
            "You weighted the new squared gradient by gamma and the old average by "
            "1 - gamma: the average keeps gamma of its past, v = gamma v + (1 - gamma) g^2.",
            "optimization-rmsprop",
            lambda w, g, v, lr, gm, eps: (
                w - lr * g / ((1 - gm) * v + gm * g * g).sqrt().add(eps),
                (1 - gm) * v + gm * g * g,
            ),
        ),
        Mistake(
            "no square root",
            "You divided by v + eps instead of sqrt(v) + eps: v averages squared gradients, "
            "its root has the gradients' scale.",
            "optimization-rmsprop",
            lambda w, g, v, lr, gm, eps: (w - lr * g / (gm * v + (1 - gm) * g * g + eps), gm * v + (1 - gm) * g * g),
        ),
        Mistake(
            "old average in the step",
            "You divided by the previous average v_{t-1}: update v with g_t^2 first, then divide.",
            "optimization-rmsprop",
            lambda w, g, v, lr, gm, eps: (w - lr * g / (v.sqrt() + eps), gm * v + (1 - gm) * g * g),
        ),
    ),
)


# ---- AdaDelta ---------------------------------------------------------------------------------------------


def adadelta_step(
    w: Tensor, grad: Tensor, s: Tensor, dx: Tensor, rho: float, eps: float
) -> tuple[Tensor, Tensor, Tensor]:
    state = ScaleByAdadeltaState([s.clone()], [dx.clone()])
    step = _direction(scale_by_adadelta(rho, eps), state, w, grad)  # g'_t
    return w - step, state.square_avg[0], state.acc_delta[0]


def _adadelta_cases(gen: torch.Generator) -> list[Case]:
    out = []
    for i, (what, shape, dtype, kind) in enumerate(_situations(gen)):
        rho, eps = pick(gen, (0.9, 0.95, 0.5)), pick(gen, (1e-6, 1e-3, 0.1))
        w, g = randn(shape, dtype, gen), _gradient(kind, shape, dtype, gen)
        first = i in (1, 2)
        s = torch.zeros(shape, dtype=dtype) if first else _positive(shape, dtype, gen, pick(gen, (0.01, 1.0)))
        dx = torch.zeros(shape, dtype=dtype) if first else _positive(shape, dtype, gen, pick(gen, (1e-4, 0.01)))
        extra = f"rho {rho}, eps {eps:g}" + (", the first step (both averages 0)" if first else "")
        out.append(Case(_label(what, shape, dtype, extra), (w, g, s, dx, rho, eps)))
    return out


def _adadelta(
    w: Tensor,
    g: Tensor,
    s: Tensor,
    dx: Tensor,
    rho: float,
    eps: float,
    *,
    eps_top: bool = True,
    new_dx: bool = False,
    swap: bool = False,
) -> tuple[Tensor, Tensor, Tensor]:
    """AdaDelta with one of its known slips (the variants below)."""
    a, b = (1 - rho, rho) if swap else (rho, 1 - rho)
    s_new = a * s + b * g * g
    top = (dx + eps).sqrt() if eps_top else dx.sqrt()
    step = top / (s_new + eps).sqrt() * g
    dx_new = a * dx + b * step * step
    if new_dx:  # the step computed with the already updated average of squared steps
        step = ((dx_new + eps).sqrt() / (s_new + eps).sqrt()) * g
    return w - step, s_new, dx_new


ADADELTA = Exercise(
    name="adadelta_step",
    chapter="optimization",
    section="optimization-adadelta",
    difficulty=2,
    title="one step of AdaDelta",
    parameters=("w", "grad", "s", "dx", "rho", "eps"),
    returns="(w, s, dx)",
    docstring=r"""
One step of AdaDelta (Zeiler 2012; the lab book, chapter 1, AdaDelta), element by element:

    s_t  = rho * s_{t-1} + (1 - rho) * g_t^2                       (leaky average of squared gradients)
    g'_t = sqrt(dx_{t-1} + eps) / sqrt(s_t + eps) * g_t            (the step: uses the OLD dx)
    w_t  = w_{t-1} - g'_t
    dx_t = rho * dx_{t-1} + (1 - rho) * g'_t^2                     (leaky average of squared steps)

Erratum: the unit calls eps "a small positive integer"; it is a small positive real number (1e-6). There is
no learning rate (PyTorch's lr = 1.0).

Arguments: w, the weights, a tensor of any shape; grad, g_t, the same shape and dtype; s, s_{t-1}, and dx,
dx_{t-1}, the two averages (zeros before the first step); rho, 0 <= rho < 1; eps > 0.
Returns (w_t, s_t, dx_t), three tensors of w's shape and dtype.

The checker tries float32 and float64, 0-d and matrix weights, the first step (s = dx = 0), a zero gradient,
rho from 0.5 to 0.95 and eps from 1e-6 to 0.1.
""",
    reference=adadelta_step,
    cases=_adadelta_cases,
    mistakes=(
        Mistake(
            "no eps in the numerator",
            "You wrote sqrt(dx_{t-1}) without eps on top: the averages start at 0, "
            "so every step is 0 and the weights never move; the numerator is sqrt(dx_{t-1} + eps).",
            "optimization-adadelta",
            lambda *a: _adadelta(*a, eps_top=False),
        ),
        Mistake(
            "new dx in the step",
            "You computed the step with the updated dx_t: the step uses dx_{t-1}, and dx_t "
            "is updated with the step afterwards.",
            "optimization-adadelta",
            lambda *a: _adadelta(*a, new_dx=True),
        ),
        Mistake(
            "rho and 1 - rho swapped",
            "You weighted the new values by rho and the old average by 1 - rho: each average keeps rho of its past.",
            "optimization-adadelta",
            lambda *a: _adadelta(*a, swap=True),
        ),
    ),
)


# ---- Adam -------------------------------------------------------------------------------------------------


def adam_step(
    w: Tensor, grad: Tensor, m: Tensor, v: Tensor, t: int, lr: float, beta1: float, beta2: float, eps: float
) -> tuple[Tensor, Tensor, Tensor]:
    state = ScaleByAdamState([m.clone()], [v.clone()], [None])
    direction = _direction(scale_by_adam(beta1, beta2, eps), state, w, grad, t)
    return _lr(lr, w, direction), state.exp_avg[0], state.exp_avg_sq[0]


def _adam(
    w: Tensor,
    g: Tensor,
    m: Tensor,
    v: Tensor,
    t: int,
    lr: float,
    b1: float,
    b2: float,
    eps: float,
    *,
    correct: bool = True,
    inside: bool = False,
    shift: int = 0,
    square: bool = True,
) -> tuple[Tensor, Tensor, Tensor]:
    """Adam with one of its known slips (the variants below)."""
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * (g * g if square else g.abs())
    k = t + shift
    m_hat, v_hat = (m / (1 - b1**k), v / (1 - b2**k)) if correct else (m, v)
    denom = (v_hat + eps).sqrt() if inside else v_hat.sqrt() + eps
    return w - lr * m_hat / denom, m, v


def _adam_cases(gen: torch.Generator) -> list[Case]:
    out = []
    for i, (what, shape, dtype, kind) in enumerate(_situations(gen, 9)):
        lr = pick(gen, (1e-3, 0.01, 0.1))
        b1, b2 = pick(gen, (0.9, 0.8, 0.5)), pick(gen, (0.999, 0.99, 0.9))
        eps = 0.3 if i == 0 else pick(gen, (1e-8, 1e-3, 0.1))
        t = 1 if i in (1, 2) else int(pick(gen, (2, 3, 10, 100)))
        w, g = randn(shape, dtype, gen), _gradient(kind, shape, dtype, gen)
        m = torch.zeros(shape, dtype=dtype) if t == 1 else randn(shape, dtype, gen, 0.5)
        v = torch.zeros(shape, dtype=dtype) if t == 1 else _positive(shape, dtype, gen, pick(gen, (0.01, 1.0)))
        extra = f"t {t}, lr {lr}, beta1 {b1}, beta2 {b2}, eps {eps:g}" + (
            ", the first step (m = v = 0)" if t == 1 else ""
        )
        out.append(Case(_label(what, shape, dtype, extra), (w, g, m, v, t, lr, b1, b2, eps)))
    return out


ADAM = Exercise(
    name="adam_step",
    chapter="optimization",
    section="optimization-adam",
    difficulty=2,
    title="one step of Adam, with bias correction",
    parameters=("w", "grad", "m", "v", "t", "lr", "beta1", "beta2", "eps"),
    returns="(w, m, v)",
    docstring=r"""
One step of Adam (Kingma and Ba 2015; the lab book, chapter 1, Adam), element by element:

    m_t = beta1 * m_{t-1} + (1 - beta1) * g_t            (first moment)
    v_t = beta2 * v_{t-1} + (1 - beta2) * g_t^2          (second moment: of the SQUARED gradients)
    m_hat = m_t / (1 - beta1^t),   v_hat = v_t / (1 - beta2^t)      (bias corrections)
    w_t = w_{t-1} - eta * m_hat / (sqrt(v_hat) + eps)    (eps OUTSIDE the root)

Erratum: the unit gives only m_t and v_t; the bias corrections and the update complete Adam. beta2 is the
decay of the average of the squared gradients, not of the gradients.

Arguments: w, the weights, a tensor of any shape; grad, g_t, the same shape and dtype; m, v, the moments
m_{t-1}, v_{t-1} (zeros before the first step); t, the step number, an int >= 1 (1 on the first step);
lr, eta > 0; beta1, beta2 in [0, 1); eps > 0.
Returns (w_t, m_t, v_t), three tensors of w's shape and dtype. (m_t and v_t are not bias-corrected.)

The checker tries float32 and float64, 0-d and matrix weights, the first step (t = 1, m = v = 0), a zero
gradient, t up to 100, beta2 from 0.9 to 0.999 and eps from 1e-8 to 0.3.
""",
    reference=adam_step,
    cases=_adam_cases,
    mistakes=(
        Mistake(
            "no bias correction",
            "You used m_t and v_t without the bias corrections m_t / (1 - beta1^t) and "
            "v_t / (1 - beta2^t): both start at zero, so the first steps are far too small.",
            "optimization-adam",
            lambda *a: _adam(*a, correct=False),
        ),
        Mistake(
            "eps inside the root",
            "You divided by sqrt(v_hat + eps); Adam divides by sqrt(v_hat) + eps.",
            "optimization-adam",
            lambda *a: _adam(*a, inside=True),
        ),
        Mistake(
            "bias correction with t + 1",
            "Your bias corrections used beta^(t + 1): t is already the number of "
            "this step (1 on the first), so they are 1 - beta1^t and 1 - beta2^t.",
            "optimization-adam",
            lambda *a: _adam(*a, shift=1),
        ),
        Mistake(
            "second moment of |g|",
            "Your second moment averaged the gradients, not their squares: v_t = beta2 v_{t-1} + (1 - beta2) g_t^2.",
            "optimization-adam",
            lambda *a: _adam(*a, square=False),
        ),
    ),
)

EXERCISES = (GD, MOMENTUM, ADAGRAD, RMSPROP, ADADELTA, ADAM)
