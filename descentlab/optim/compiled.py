r"""What the compiled path (``impl="compiled"``) compiles in place of a readable transformation.

:mod:`descentlab.optim.transforms` writes each transformation as its equations read. ``torch.compile``
makes one loop over every element of a step from them; for Adam that loop is faster written another way,
with the same numbers in exact arithmetic, and that way lives here, beside the compiled path only
(:meth:`~descentlab.optim.Adam.compiled_transform`). Tested equal to the readable chain and to
torch.optim (``tests/test_optim.py``, ``tests/test_optim_kernels.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from descentlab.optim.transforms import Counts, ScaleByAdamState, Transform, Updates, scale_by_adam


def step_vector(counts: Sequence[Any], like: Tensor) -> Tensor:
    """The step numbers as one vector, so per-step scalars are computed once for all tensors.

    Step numbers come as 0-d tensors on the compiled path (in the parameters' dtype, which keeps the kernel
    vectorized), as Python floats elsewhere (the vector is then float64, as Python's arithmetic is).
    """
    if isinstance(counts[0], Tensor):
        return torch.stack(list(counts)).to(like.dtype)
    return torch.tensor(counts, dtype=torch.float64)


def bias_corrections(b1: Any, b2: Any, t: Tensor) -> tuple[Tensor, Tensor]:
    r""":math:`1 - \beta_1^t` and :math:`\sqrt{1 - \beta_2^t}` for every parameter's step :math:`t`, (n,) each.

    Computed through a max over a dimension of two equal copies (a no-op): the compiler always
    materializes a reduction, where it would otherwise inline the powers into the loop over every
    element of every tensor and recompute them there (2.5x slower compiled Adam, measured).
    """
    factors = torch.stack([1 - b1**t, (1 - b2**t).sqrt()])  # (2, n)
    factors = factors.unsqueeze(-1).expand(2, len(t), 2).amax(-1)  # (2, n), the same values
    return factors[0], factors[1]


def scale_by_adam_compiled(b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8, amsgrad: bool = False) -> Transform:
    r""":func:`~descentlab.optim.transforms.scale_by_adam` (the same state and numbers) in the form the compiler
    makes fast: the order Kingma and Ba give for efficiency (section 2),
    :math:`\frac{\sqrt{1 - \beta_2^t}}{1 - \beta_1^t}\, m_t / (\sqrt{v_t} + \hat\epsilon)` with
    :math:`\hat\epsilon = \epsilon \sqrt{1 - \beta_2^t}`: one division per element where the textbook order
    takes three (the compiled step went from 3 divisions and a root to 1 and a root), and the bias
    corrections of every tensor computed once (:func:`bias_corrections`)."""
    readable = scale_by_adam(b1, b2, eps, amsgrad)  # the checks of the hyperparameters, and the state

    def update(
        u: Updates, state: ScaleByAdamState, params: Sequence[Tensor], counts: Counts
    ) -> tuple[Updates, ScaleByAdamState]:
        bias_correction1, bias_correction2_sqrt = bias_corrections(b1, b2, step_vector(counts, u[0]))  # (n,), (n,)
        out = []
        moments = zip(u, state.exp_avg, state.exp_avg_sq, state.max_exp_avg_sq, strict=True)
        for i, (g, m, v, v_max) in enumerate(moments):
            m.lerp_(g, 1 - b1)  # m_t
            v.mul_(b2).add_(g * g * (1 - b2))  # v_t
            if v_max is not None:  # AMSGrad: the running maximum of v_t
                torch.maximum(v_max, v, out=v_max)
                v = v_max
            denom = v.sqrt().add_(eps * bias_correction2_sqrt[i])  # (sqrt(v_hat_t) + eps) sqrt(1 - beta2^t)
            out.append(m * (bias_correction2_sqrt[i] / bias_correction1[i]) / denom)  # m_hat_t / (sqrt(v_hat_t) + eps)
        return out, state

    return Transform(readable.init, update, ScaleByAdamState)
