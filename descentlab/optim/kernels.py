r"""The named optimizers' steps written in place: the default path's sibling of their chains.

A chain of transformations (:mod:`descentlab.optim.transforms`) is the readable form of an algorithm: each
part returns new updates, and the adapter adds the last to the parameters. Those intermediate updates are
tensors the size of the parameters, allocated and written every step. Here each algorithm is the same
arithmetic written as torch.optim writes its own for-loop and foreach steps: state and parameters changed in
place, one temporary at most, ``torch._foreach_*`` kernels over every tensor of a chunk at once. The
adapter runs them chunk by chunk on a CPU (:func:`descentlab.optim.adapter.chunks`), so that each chunk's
tensors stay in cache between operations; on a GPU over the whole group, as torch's foreach path does.

Every kernel takes ``(group, params, grads, dicts, counts, complex_params)``: the param group's
hyperparameters, the parameters and gradients (complex ones as their real views), the per-parameter state
dicts with torch's key names, each parameter's step number (already incremented), and which parameters are
complex (a state buffer created here is stored complex for them, as torch keeps it). They are tested equal
to the chains and to torch.optim for every combination torch's own tests try (``tests/test_optim_kernels.py``,
``tests/test_optim_torch_parity.py``). Selected in one line, :attr:`TransformOptimizer.kernel
<descentlab.optim.adapter.TransformOptimizer.kernel>`; ``impl="chain"`` runs the chain instead.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from descentlab.optim.adapter import _real, _stored


def _buffers(dicts: list[dict[str, Any]], key: str) -> list[Tensor]:
    """One state buffer of every parameter, complex ones as their real views (which share their memory)."""
    return [_real(d[key]) for d in dicts]


def _number(value: Any) -> float:
    """A hyperparameter as a Python number (torch accepts a 0-d tensor learning rate)."""
    return float(value)


def _gradients(group: dict[str, Any], params: list[Tensor], grads: list[Tensor], decay: bool = True) -> list[Tensor]:
    r"""The gradients the algorithm sees: :math:`-g` with ``maximize``, plus :math:`\lambda w` (L2 weight
    decay) unless ``decay`` is False, scaled by ``group["grad_scale"]`` where the optimizer clips them
    (:meth:`~descentlab.optim.adapter.TransformOptimizer._clipped`); new tensors where any applies (``.grad``
    stays as backward made it), the gradients themselves otherwise."""
    scale = group.get("grad_scale")
    if scale is not None:
        grads = list(torch._foreach_mul(grads, scale))
    if group.get("maximize"):
        grads = list(torch._foreach_neg(grads))
    weight_decay = _number(group["weight_decay"])
    if decay and weight_decay != 0:
        grads = list(torch._foreach_add(grads, params, alpha=weight_decay))
    return grads


def _momentum(dicts: list[dict[str, Any]], updates: list[Tensor], momentum: float, dampening: float,
              complex_params: list[bool]) -> list[Tensor]:  # fmt: skip
    r"""The momentum buffers after this step: :math:`b_t = \beta b_{t-1} + (1 - \tau) u_t`, and
    :math:`b_1 = u_1` for a parameter that has none yet (a copy, stored in its state)."""
    buffers: list[Tensor | None] = [None if b is None else _real(b) for b in (d.get("momentum_buffer") for d in dicts)]
    old = [(b, updates[i]) for i, b in enumerate(buffers) if b is not None]
    if old and dampening == 0:  # b = u + beta b in one pass over b, where mul_ then add_ takes two
        for kept_b, u in old:
            torch.add(u, kept_b, alpha=momentum, out=kept_b)
    elif old:
        kept = [b for b, _ in old]
        torch._foreach_mul_(kept, momentum)
        torch._foreach_add_(kept, [u for _, u in old], alpha=1 - dampening)
    out = []
    for i, (d, b) in enumerate(zip(dicts, buffers, strict=True)):
        if b is None:
            new = torch.clone(updates[i]).detach()
            d["momentum_buffer"] = _stored(new, complex_params[i])  # complex for a complex parameter
            out.append(new)
        else:
            out.append(b)
    return out


def sgd(group: dict[str, Any], params: list[Tensor], grads: list[Tensor], dicts: list[dict[str, Any]],
        counts: list[float], complex_params: list[bool]) -> None:  # fmt: skip
    r""":class:`~descentlab.optim.SGD`: :math:`w \leftarrow w - \eta\, d_t`, :math:`d_t` the (decayed) gradient,
    its momentum buffer, or Nesterov's :math:`d_t + \beta b_t`."""
    updates = _gradients(group, params, grads)
    momentum = _number(group["momentum"])
    if momentum != 0:
        buffers = _momentum(dicts, updates, momentum, _number(group["dampening"]), complex_params)
        updates = list(torch._foreach_add(updates, buffers, alpha=momentum)) if group["nesterov"] else buffers
    torch._foreach_add_(params, updates, alpha=-_number(group["lr"]))


def adagrad(group: dict[str, Any], params: list[Tensor], grads: list[Tensor], dicts: list[dict[str, Any]],
            counts: list[float], complex_params: list[bool]) -> None:  # fmt: skip
    r""":class:`~descentlab.optim.Adagrad`: :math:`\alpha_t = \alpha_{t-1} + g_t^2`,
    :math:`w \leftarrow w - \eta_t\, g_t / (\sqrt{\alpha_t} + \epsilon)`."""
    g = _gradients(group, params, grads)
    sums = _buffers(dicts, "sum")
    torch._foreach_addcmul_(sums, g, g)
    std = torch._foreach_sqrt(sums)
    torch._foreach_add_(std, _number(group["eps"]))
    lr, decay = _number(group["lr"]), _number(group["lr_decay"])
    torch._foreach_addcdiv_(params, g, std, [-lr / (1 + (t - 1) * decay) for t in counts])


def rmsprop(group: dict[str, Any], params: list[Tensor], grads: list[Tensor], dicts: list[dict[str, Any]],
            counts: list[float], complex_params: list[bool]) -> None:  # fmt: skip
    r""":class:`~descentlab.optim.RMSProp`: :math:`v_t = \alpha v_{t-1} + (1 - \alpha) g_t^2`,
    :math:`w \leftarrow w - \eta\, g_t / (\sqrt{v_t} + \epsilon)` (centered: :math:`\sqrt{v_t - m_t^2}`;
    with momentum, the step is a momentum buffer of :math:`g_t / (\cdot)`)."""
    g = _gradients(group, params, grads)
    alpha, eps, lr = _number(group["alpha"]), _number(group["eps"]), _number(group["lr"])
    squares = _buffers(dicts, "square_avg")
    torch._foreach_mul_(squares, alpha)
    torch._foreach_addcmul_(squares, g, g, 1 - alpha)
    if group["centered"]:
        means = _buffers(dicts, "grad_avg")
        torch._foreach_lerp_(means, g, 1 - alpha)
        avg = torch._foreach_addcmul(squares, means, means, -1)
        torch._foreach_sqrt_(avg)
    else:
        avg = torch._foreach_sqrt(squares)
    torch._foreach_add_(avg, eps)
    momentum = _number(group["momentum"])
    if momentum > 0:
        buffers = _momentum(dicts, list(torch._foreach_div(g, avg)), momentum, 0.0, complex_params)
        torch._foreach_add_(params, buffers, alpha=-lr)
    else:
        torch._foreach_addcdiv_(params, g, avg, -lr)


def adadelta(group: dict[str, Any], params: list[Tensor], grads: list[Tensor], dicts: list[dict[str, Any]],
             counts: list[float], complex_params: list[bool]) -> None:  # fmt: skip
    r""":class:`~descentlab.optim.AdaDelta`: :math:`\Delta x_t = \sqrt{E[\Delta x^2]_{t-1} + \epsilon}\,
    g_t / \sqrt{E[g^2]_t + \epsilon}`, :math:`w \leftarrow w - \eta\, \Delta x_t`."""
    g = _gradients(group, params, grads)
    rho, eps = _number(group["rho"]), _number(group["eps"])
    squares, deltas = _buffers(dicts, "square_avg"), _buffers(dicts, "acc_delta")
    torch._foreach_mul_(squares, rho)
    torch._foreach_addcmul_(squares, g, g, 1 - rho)
    std = torch._foreach_add(squares, eps)
    delta = torch._foreach_add(deltas, eps)
    torch._foreach_div_(delta, std)
    torch._foreach_sqrt_(delta)  # sqrt(a) / sqrt(b) as sqrt(a / b): one root where torch takes two
    torch._foreach_mul_(delta, g)
    torch._foreach_mul_(deltas, rho)
    torch._foreach_addcmul_(deltas, delta, delta, 1 - rho)
    torch._foreach_add_(params, delta, alpha=-_number(group["lr"]))


def adam(group: dict[str, Any], params: list[Tensor], grads: list[Tensor], dicts: list[dict[str, Any]],
         counts: list[float], complex_params: list[bool]) -> None:  # fmt: skip
    r""":class:`~descentlab.optim.Adam` and :class:`~descentlab.optim.AdamW`:
    :math:`w \leftarrow w - \eta\, \hat m_t / (\sqrt{\hat v_t} + \epsilon)`, with L2 weight decay in the
    gradient, or decoupled (:math:`w \leftarrow (1 - \eta\lambda) w` first)."""
    lr, weight_decay = _number(group["lr"]), _number(group["weight_decay"])
    decoupled = bool(group.get("decoupled_weight_decay"))
    if decoupled and weight_decay != 0:
        torch._foreach_mul_(params, 1 - lr * weight_decay)
    g = _gradients(group, params, grads, decay=not decoupled)
    b1, b2 = (_number(b) for b in group["betas"])
    means, squares = _buffers(dicts, "exp_avg"), _buffers(dicts, "exp_avg_sq")
    torch._foreach_lerp_(means, g, 1 - b1)
    torch._foreach_mul_(squares, b2)
    torch._foreach_addcmul_(squares, g, g, 1 - b2)
    if group["amsgrad"]:
        peaks = _buffers(dicts, "max_exp_avg_sq")
        torch._foreach_maximum_(peaks, squares)
        squares = peaks
    # m_hat / (sqrt(v_hat) + eps) = (c / (1 - b1^t)) m / (sqrt(v) + c eps), with c = sqrt(1 - b2^t): one pass
    # over the denominator fewer than dividing it by c first
    c = [math.sqrt(1 - b2**t) for t in counts]
    eps = _number(group["eps"])
    denom = torch._foreach_sqrt(squares)
    torch._foreach_add_(denom, [c_i * eps for c_i in c])
    torch._foreach_addcdiv_(params, means, denom, [-lr * c_i / (1 - b1**t) for c_i, t in zip(c, counts, strict=True)])
