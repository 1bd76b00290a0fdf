"""Flat buffers: a param group's parameters, gradients and optimizer state, each in one contiguous buffer.

With ``flat=True`` an optimizer moves, after its first step, every parameter of a group (one device, one
real dtype) into one buffer, every gradient into another, and every state tensor of a kind (``exp_avg``,
``exp_avg_sq``, ...) into one buffer per kind; the parameters' ``.data``, their ``.grad`` and the entries of
``optimizer.state`` become views of these buffers. A step is then the optimizer's chain applied to a single
tensor per kind: a handful of elementwise kernels over all elements (or, with ``impl="compiled"``, one compiled
kernel), whatever the number of tensors, as apex's multi-tensor kernels and FSDP's flat parameters do.

Nothing else changes: ``optimizer.state`` and ``state_dict()`` hold per-parameter tensors of torch's shapes
and names (views), so states load into torch.optim and back, and the steps are torch's, step for step.
``optimizer.zero_grad(set_to_none=False)`` zeroes the flat gradient in place and points every ``.grad`` at
it, so the next backward pass accumulates there and the step copies nothing (the fastest loop);
with torch's default ``set_to_none=True`` the gradients are None, backward makes new ones, and the step
copies them in (one read and one write of the gradients). Anything else that moved (a loaded state dict,
a parameter given new ``.data``) is copied in too. A step in which some parameter of the group has no
gradient (torch skips it), or in which step counts differ, is the plain step, on the same views.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn


class FlatGroup:
    """One param group's tensors in flat buffers, and the views every parameter, gradient and state entry is."""

    def __init__(self, params: Sequence[Tensor], dicts: Sequence[dict[str, Any]]) -> None:
        first = params[0]
        self.params = list(params)
        self.sizes = [p.numel() for p in params]
        self.offsets = [sum(self.sizes[:i]) for i in range(len(params))]
        total = sum(self.sizes)
        self.fields = [
            k for k, v in dicts[0].items() if k != "step" and isinstance(v, Tensor) and v.shape == first.shape
        ]
        self.param = torch.empty(total, dtype=first.dtype, device=first.device)
        self.grad = torch.zeros(total, dtype=first.dtype, device=first.device)
        self.state = {f: torch.empty(total, dtype=first.dtype, device=first.device) for f in self.fields}
        self.param_views = [self._view(self.param, i) for i in range(len(params))]
        self.grad_views = [self._view(self.grad, i) for i in range(len(params))]
        self.state_views = {f: [self._view(self.state[f], i) for i in range(len(params))] for f in self.fields}
        with torch.no_grad():
            for i, (p, d) in enumerate(zip(params, dicts, strict=True)):
                self.param_views[i].copy_(p)
                p.data = self.param_views[i]
                for f in self.fields:
                    self.state_views[f][i].copy_(d[f])
                    d[f] = self.state_views[f][i]
        self.sync(dicts)

    def _view(self, buffer: Tensor, i: int) -> Tensor:
        return buffer[self.offsets[i] : self.offsets[i] + self.sizes[i]].view(self.params[i].shape)

    def fits(self, params: Sequence[Tensor], dicts: Sequence[dict[str, Any]]) -> bool:
        """Whether this group's step can be the flat one: the same parameters, each with a gradient, every
        state entry still there, and one step count for all."""
        if len(params) != len(self.params) or any(p is not q for p, q in zip(params, self.params, strict=True)):
            return False
        if any(f not in d for d in dicts for f in self.fields):
            return False
        steps = {float(d["step"]) for d in dicts}
        return len(steps) == 1

    def sync(self, dicts: Sequence[dict[str, Any]]) -> None:
        """Copy in, and re-point, whatever is not a view of the flat buffers any more."""
        with torch.no_grad():
            for i, (p, d) in enumerate(zip(self.params, dicts, strict=True)):
                view = self.param_views[i]
                if p.data_ptr() != view.data_ptr():
                    view.copy_(p)
                    p.data = view
                grad = self.grad_views[i]
                if p.grad is not grad:
                    if p.grad is None:
                        grad.zero_()
                    else:
                        grad.copy_(p.grad)
                    p.grad = grad
                for f in self.fields:
                    kept = self.state_views[f][i]
                    if d[f] is not kept:
                        kept.copy_(d[f])
                        d[f] = kept

    def zero_grad(self) -> None:
        """Zero the flat gradient in place (one kernel)."""
        self.grad.zero_()

    def typed_state(self, state_type: Any) -> Any:
        """The chain's typed state over the flat buffers (fields the chain has but the group lacks are None)."""
        if isinstance(state_type, tuple):
            return tuple(self.typed_state(part) for part in state_type)
        return state_type(*[[self.state.get(f)] for f in state_type._fields])


def flat_parameters(*modules: nn.Module) -> nn.Parameter:
    """Lay every parameter of ``modules`` out in one tensor, and every gradient in one gradient tensor.

    Each parameter becomes a view into the returned ``flat`` parameter and its ``.grad`` a view into
    ``flat.grad``; backward accumulates into those views in place. An optimizer given ``[flat]`` then
    updates all weights with one kernel per operation instead of one per tensor, and ``flat.grad`` is
    zeroed and clipped as one tensor: the small networks of RL spend much of their update in such
    per-tensor overhead, and the numbers are the same (``tests/test_rl.py``). Call it after moving the modules to their device;
    zero gradients with ``flat.grad.zero_()``, never ``zero_grad(set_to_none=True)``. (:class:`FlatGroup`
    does the same inside an optimizer, for parameters it is given one by one.)
    """
    params = [p for m in modules for p in m.parameters()]
    flat = nn.Parameter(torch.cat([p.detach().reshape(-1) for p in params]))
    flat.grad = torch.zeros_like(flat)
    offset = 0
    for p in params:
        n = p.numel()
        p.data = flat.data[offset : offset + n].view_as(p)
        p.grad = flat.grad[offset : offset + n].view_as(p)
        offset += n
    return flat
