r"""The unit's optimizers as drop-in ``torch.optim`` optimizers, each a short chain of transformations.

Each chain is the readable definition; each class's ``kernel`` (:mod:`descentlab.optim.kernels`) is the same
step written in place, the path a user gets without flags, tested equal to the chain and to torch.optim.

Every class takes the arguments of its torch.optim counterpart, in the same order and with the same
defaults (``maximize``, ``foreach``, ``fused``, ``capturable``, ``differentiable``, Adam's
``decoupled_weight_decay`` included: see :mod:`descentlab.optim.adapter` for what each does here), and
produces the same parameters for every combination torch's own optimizer tests try, in float32, float64
and complex (tested to rtol 1e-5 in float32 and 1e-10 in float64); Adagrad takes sparse gradients as
torch's do, and so does SGD. Four keyword-only options of descentlab's own: ``impl``, the implementation of the step
(``"kernel"``, the default: written in place; ``"chain"``: the readable transformations; ``"compiled"``: the
chain compiled into a single pass over all tensors), ``flat`` (parameters, gradients and state in one
buffer each), ``check_finite`` (refuse NaN/inf gradients, changing nothing) and ``gradient_transform`` (a
stateless transformation applied to the gradients first, such as clipping or noise; see
:class:`TransformOptimizer`).
Symbols: :math:`w` parameters, :math:`g_t` gradient at step :math:`t`, :math:`\eta` learning rate,
:math:`\lambda` weight decay.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import Tensor

from descentlab.optim import kernels
from descentlab.optim.adapter import TransformOptimizer, torch_keywords
from descentlab.optim.compiled import scale_by_adam_compiled
from descentlab.optim.transforms import (
    Transform,
    add_decayed_weights,
    chain,
    identity,
    scale_by_adadelta,
    scale_by_adam,
    scale_by_learning_rate,
    scale_by_rms,
    scale_by_rss,
    trace,
)


def _at_least(name: str, value: float, low: float = 0.0) -> None:
    if isinstance(value, Tensor) and value.numel() != 1:  # torch's words, which code written for it may match
        raise ValueError(f"Invalid {name}: Tensor lr must be 1-element (valid: a number or a 1-element tensor)")
    if not value >= low:
        raise ValueError(f"Invalid {name}: {value} (valid: {name} >= {low})")


def _pair(name: str, value: Any) -> tuple[float, float]:
    """``betas``: two numbers, as torch.optim.Adam takes them."""
    if not isinstance(value, tuple | list) or len(value) != 2:
        raise ValueError(f"Invalid {name}: {value!r} (valid: a pair (beta1, beta2), each 0 <= beta < 1)")
    return value[0], value[1]


def _in_unit_interval(name: str, value: float) -> None:
    if not 0.0 <= value < 1.0:
        raise ValueError(f"Invalid {name}: {value} (valid: 0 <= {name} < 1)")


class SGD(TransformOptimizer):
    r"""Gradient descent, stochastic or mini-batch by the data it is given, with optional momentum.

    .. math::
        d_t = g_t + \lambda w_{t-1}, \qquad w_t = w_{t-1} - \eta\, d_t \quad \text{(no momentum)}

    with momentum :math:`\beta` the step uses the buffer of :func:`~descentlab.optim.transforms.trace`
    (dampening :math:`\tau`, optionally Nesterov). The unit's gradient descent
    (:math:`x_{new} = x - \alpha f'(x)`) and stochastic gradient descent
    (:math:`w := w - \eta \nabla Q_i(w)`) are this same update; they differ in the data each gradient
    is computed on (see :mod:`descentlab.optim.regimes`). Same arguments as ``torch.optim.SGD``.
    """

    elementwise = True  # every transformation of its chain works element by element
    kernel = staticmethod(kernels.sgd)  # the default path: the same step written in place

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        differentiable: bool = False,
        fused: bool | None = None,
        check_finite: bool = False,
        impl: str = "kernel",
        gradient_transform: Transform | None = None,
        flat: bool = False,
    ) -> None:
        torch_options = torch_keywords(type(self).__name__, maximize, foreach, fused, False, differentiable)
        _at_least("learning rate", lr)
        _at_least("momentum value", momentum)
        _at_least("weight_decay value", weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Invalid nesterov: Nesterov momentum requires momentum > 0 and dampening = 0")
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "dampening": dampening,
            "weight_decay": weight_decay,
            "nesterov": nesterov,
            **torch_options,
        }
        super().__init__(params, defaults, check_finite, impl, gradient_transform, flat)

    def sparse_update(self, group: dict[str, Any], param: Tensor, grad: Tensor, state: dict[str, Any]) -> None:
        """SGD from a sparse gradient (``nn.Embedding(sparse=True)``), as ``torch.optim.SGD`` does it: without
        momentum only the rows the gradient touches change; the momentum buffer starts as the first gradient."""
        if group["weight_decay"] != 0:  # torch fails here too, adding a dense tensor to a sparse one
            raise RuntimeError("weight_decay option is not compatible with sparse gradients")
        state["step"] += 1
        grad = -grad if group["maximize"] else grad
        beta = group["momentum"]
        if beta != 0:
            if int(state["step"]) == 1:
                buf = state["momentum_buffer"] = torch.clone(grad).detach()
            else:
                buf = state["momentum_buffer"].mul_(beta).add_(grad, alpha=1 - group["dampening"])
            grad = grad.add(buf, alpha=beta) if group["nesterov"] else buf
        param.add_(grad, alpha=-group["lr"])

    def transform(self, group: dict[str, Any]) -> Transform:
        momentum = trace(group["momentum"], group["dampening"], group["nesterov"]) if group["momentum"] else identity()
        return chain(add_decayed_weights(group["weight_decay"]), momentum, scale_by_learning_rate(group["lr"]))


class Momentum(SGD):
    r"""Stochastic gradient descent with momentum, :math:`\beta = 0.9` by default.

    .. math::
        b_t = \beta\, b_{t-1} + g_t, \qquad w_t = w_{t-1} - \eta\, b_t

    For a constant gradient the step tends to :math:`\eta g / (1 - \beta)`, ten times the plain step
    at :math:`\beta = 0.9`: the reason the unit says to decrease the learning rate with a high
    momentum term. Same arguments as ``torch.optim.SGD``, with ``momentum=0.9``.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        momentum: float = 0.9,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        differentiable: bool = False,
        fused: bool | None = None,
        check_finite: bool = False,
        impl: str = "kernel",
        gradient_transform: Transform | None = None,
        flat: bool = False,
    ) -> None:
        super().__init__(
            params,
            lr,
            momentum,
            dampening,
            weight_decay,
            nesterov,
            maximize=maximize,
            foreach=foreach,
            differentiable=differentiable,
            fused=fused,
            check_finite=check_finite,
            impl=impl,
            gradient_transform=gradient_transform,
            flat=flat,
        )


class Adagrad(TransformOptimizer):
    r"""Adagrad (Duchi, Hazan and Singer 2011): a per-parameter rate that shrinks with the gradients seen.

    .. math::
        \alpha_t = \alpha_{t-1} + g_t^2, \qquad
        w_t = w_{t-1} - \frac{\eta_t}{\sqrt{\alpha_t} + \epsilon}\, g_t, \qquad
        \eta_t = \frac{\eta}{1 + (t - 1)\,\delta}

    with :math:`\delta` the ``lr_decay``. See :func:`~descentlab.optim.transforms.scale_by_rss` for how
    this differs from the unit's formula. Same arguments as ``torch.optim.Adagrad``.
    """

    elementwise = True  # every transformation of its chain works element by element
    kernel = staticmethod(kernels.adagrad)  # the default path: the same step written in place

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
        check_finite: bool = False,
        impl: str = "kernel",
        gradient_transform: Transform | None = None,
        flat: bool = False,
    ) -> None:
        torch_options = torch_keywords(type(self).__name__, maximize, foreach, fused, False, differentiable)
        _at_least("learning rate", lr)
        _at_least("lr_decay value", lr_decay)
        _at_least("weight_decay value", weight_decay)
        _at_least("initial_accumulator_value", initial_accumulator_value)
        _at_least("epsilon value", eps)
        defaults = {
            "lr": lr,
            "lr_decay": lr_decay,
            "weight_decay": weight_decay,
            "initial_accumulator_value": initial_accumulator_value,
            "eps": eps,
            **torch_options,
        }
        super().__init__(params, defaults, check_finite, impl, gradient_transform, flat)

    def sparse_update(self, group: dict[str, Any], param: Tensor, grad: Tensor, state: dict[str, Any]) -> None:
        """Adagrad from a sparse gradient (``nn.Embedding(sparse=True)``), as ``torch.optim.Adagrad`` does it:
        only the rows the gradient touches change, in the accumulator and in the parameter."""
        if group["weight_decay"] != 0:
            raise RuntimeError("weight_decay option is not compatible with sparse gradients")
        state["step"] += 1
        lr = group["lr"] / (1 + (float(state["step"]) - 1) * group["lr_decay"])
        grad = (-grad if group["maximize"] else grad).coalesce()
        indices, values = grad._indices(), grad._values()
        state["sum"].add_(torch.sparse_coo_tensor(indices, values.pow(2), grad.size(), check_invariants=False))
        std = state["sum"].sparse_mask(grad)._values().sqrt_().add_(group["eps"])
        param.add_(torch.sparse_coo_tensor(indices, values / std, grad.size(), check_invariants=False), alpha=-lr)

    def transform(self, group: dict[str, Any]) -> Transform:
        lr, decay = group["lr"], group["lr_decay"]
        return chain(
            add_decayed_weights(group["weight_decay"]),
            scale_by_rss(group["initial_accumulator_value"], group["eps"]),
            scale_by_learning_rate(lambda t: lr / (1 + (t - 1) * decay)),
        )


class RMSProp(TransformOptimizer):
    r"""RMSProp (Hinton 2012): divide by a moving root mean square of recent gradients.

    .. math::
        v_t = \alpha v_{t-1} + (1 - \alpha) g_t^2, \qquad w_t = w_{t-1} - \eta \frac{g_t}{\sqrt{v_t} + \epsilon}

    optionally centered (subtract the squared moving mean) and with momentum on the scaled step. See
    :func:`~descentlab.optim.transforms.scale_by_rms` for the unit's missing epsilon. Same arguments
    as ``torch.optim.RMSprop``.
    """

    elementwise = True  # every transformation of its chain works element by element
    kernel = staticmethod(kernels.rmsprop)  # the default path: the same step written in place

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        capturable: bool = False,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
        *,
        check_finite: bool = False,
        impl: str = "kernel",
        gradient_transform: Transform | None = None,
        flat: bool = False,
    ) -> None:
        torch_options = torch_keywords(type(self).__name__, maximize, foreach, None, capturable, differentiable)
        _at_least("learning rate", lr)
        _at_least("epsilon value", eps)
        _at_least("momentum value", momentum)
        _at_least("weight_decay value", weight_decay)
        _at_least("alpha value", alpha)
        defaults = {
            "lr": lr,
            "alpha": alpha,
            "eps": eps,
            "weight_decay": weight_decay,
            "momentum": momentum,
            "centered": centered,
            **torch_options,
        }
        super().__init__(params, defaults, check_finite, impl, gradient_transform, flat)

    def transform(self, group: dict[str, Any]) -> Transform:
        return chain(
            add_decayed_weights(group["weight_decay"]),
            scale_by_rms(group["alpha"], group["eps"], group["centered"]),
            trace(group["momentum"]) if group["momentum"] > 0 else identity(),
            scale_by_learning_rate(group["lr"]),
        )


class AdaDelta(TransformOptimizer):
    r"""AdaDelta (Zeiler 2012): steps in the units of the parameters, no learning rate needed.

    .. math::
        w_t = w_{t-1} - \eta\, \Delta x_t, \qquad
        \Delta x_t = \frac{\sqrt{E[\Delta x^2]_{t-1} + \epsilon}}{\sqrt{E[g^2]_t + \epsilon}}\, g_t

    :math:`\eta` (default 1.0) is PyTorch's addition; the pure algorithm has none. Same arguments as
    ``torch.optim.Adadelta``.
    """

    elementwise = True  # every transformation of its chain works element by element
    kernel = staticmethod(kernels.adadelta)  # the default path: the same step written in place

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0.0,
        foreach: bool | None = None,
        *,
        capturable: bool = False,
        maximize: bool = False,
        differentiable: bool = False,
        check_finite: bool = False,
        impl: str = "kernel",
        gradient_transform: Transform | None = None,
        flat: bool = False,
    ) -> None:
        torch_options = torch_keywords(type(self).__name__, maximize, foreach, None, capturable, differentiable)
        _at_least("learning rate", lr)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho} (valid: 0 <= rho <= 1)")
        _at_least("epsilon value", eps)
        _at_least("weight_decay value", weight_decay)
        super().__init__(
            params,
            {"lr": lr, "rho": rho, "eps": eps, "weight_decay": weight_decay, **torch_options},
            check_finite,
            impl,
            gradient_transform,
            flat,
        )

    def transform(self, group: dict[str, Any]) -> Transform:
        return chain(
            add_decayed_weights(group["weight_decay"]),
            scale_by_adadelta(group["rho"], group["eps"]),
            scale_by_learning_rate(group["lr"]),
        )


class Adam(TransformOptimizer):
    r"""Adam (Kingma and Ba 2015): momentum on the gradient, RMSProp on its scale, bias-corrected.

    .. math::
        w_t = w_{t-1} - \eta \frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon}

    with :math:`\hat m_t, \hat v_t` of :func:`~descentlab.optim.transforms.scale_by_adam` and the
    gradient :math:`g_t + \lambda w_{t-1}` (L2 weight decay; :class:`AdamW` decouples it). Same
    arguments as ``torch.optim.Adam``.
    """

    elementwise = True  # every transformation of its chain works element by element
    kernel = staticmethod(kernels.adam)  # the default path: the same step written in place

    decoupled = False

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
        decoupled_weight_decay: bool = False,
        check_finite: bool = False,
        impl: str = "kernel",
        gradient_transform: Transform | None = None,
        flat: bool = False,
    ) -> None:
        torch_options = torch_keywords(type(self).__name__, maximize, foreach, fused, capturable, differentiable)
        _at_least("learning rate", lr)
        _at_least("epsilon value", eps)
        beta1, beta2 = _pair("betas", betas)
        _in_unit_interval("beta parameter at index 0", beta1)
        _in_unit_interval("beta parameter at index 1", beta2)
        _at_least("weight_decay value", weight_decay)
        defaults = {
            "lr": lr,
            "betas": tuple(betas),
            "eps": eps,
            "weight_decay": weight_decay,
            "amsgrad": amsgrad,
            "decoupled_weight_decay": bool(decoupled_weight_decay or self.decoupled),
            **torch_options,
        }
        super().__init__(params, defaults, check_finite, impl, gradient_transform, flat)

    def transform(self, group: dict[str, Any]) -> Transform:
        return self._chain_with(scale_by_adam, group)

    def compiled_transform(self, group: dict[str, Any]) -> Transform:
        return self._chain_with(scale_by_adam_compiled, group)  # the same numbers, in the compiler's faster form

    def _chain_with(self, scaling: Callable[..., Transform], group: dict[str, Any]) -> Transform:
        b1, b2 = group["betas"]
        adam = scaling(b1, b2, group["eps"], group["amsgrad"])
        decay = add_decayed_weights(group["weight_decay"])
        decoupled = group.get("decoupled_weight_decay", self.decoupled)
        steps = (adam, decay) if decoupled else (decay, adam)
        return chain(*steps, scale_by_learning_rate(group["lr"]))


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov and Hutter 2019).

    .. math::
        w_t = w_{t-1} - \eta \left(\frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon} + \lambda w_{t-1}\right)

    Same arguments as ``torch.optim.AdamW`` (``weight_decay=0.01``).
    """

    decoupled = True

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
        check_finite: bool = False,
        impl: str = "kernel",
        gradient_transform: Transform | None = None,
        flat: bool = False,
    ) -> None:
        super().__init__(
            params,
            lr,
            betas,
            eps,
            weight_decay,
            amsgrad,
            foreach=foreach,
            maximize=maximize,
            capturable=capturable,
            differentiable=differentiable,
            fused=fused,
            check_finite=check_finite,
            impl=impl,
            gradient_transform=gradient_transform,
            flat=flat,
        )


#: torch.optim's spellings, so that code written for it finds the class by the name it types. They are the
#: same classes: a check such as Stable-Baselines3's ``optimizer_class == torch.optim.Adam`` (which sets
#: Adam's eps to 1e-5) does not fire for descentlab's Adam, so pass such a keyword yourself.
RMSprop = RMSProp
Adadelta = AdaDelta
