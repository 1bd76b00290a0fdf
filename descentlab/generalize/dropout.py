r"""Dropout, with the unit's convention and PyTorch's both accepted and named.

The unit (after Srivastava et al. 2014) speaks of :math:`p`, the probability of **keeping** a unit:
1.0 means no dropout, 0.5 to 0.8 is usual for hidden layers and 0.8 for inputs. PyTorch's
``nn.Dropout(p)`` takes the probability of **dropping** one. The same number means opposite things,
so :class:`Dropout` takes exactly one of ``keep=`` or ``drop=`` (``drop = 1 - keep``).

In training each unit is kept with probability ``keep`` and the kept ones are divided by ``keep``
("inverted dropout"), so the expected activation is unchanged and evaluation uses the network as
it is. (The unit does not say how to evaluate a network trained with dropout. Srivastava et al. 2014
multiply the outgoing weights by :math:`p` at test time instead; the two agree in expectation, and
inverted scaling leaves the evaluated network untouched.)

Data-parallel training splits each batch across processes. Were each process to draw the masks of its own
rows, the processes, seeded alike, would draw the same masks for different examples, and the run would not be
the one-process run. :func:`draw_for_global_batch` makes every :class:`Dropout` of a model draw the masks of the
whole batch, as one process does, and keep its own rows of them.
"""

from __future__ import annotations

from typing import Any, cast

import torch
from torch import Tensor, nn

CONVENTIONS = (
    "give exactly one of keep= (the unit's p: the probability of keeping a unit; 1.0 = no dropout) "
    "or drop= (PyTorch's p: the probability of dropping one); drop = 1 - keep"
)


MIN_KEEP = 1e-6  # 1 / keep scales the kept units; below this it overflows float16 and swamps float32


def _probability(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"Dropout: {name} must be a number, not {type(value).__name__} ({CONVENTIONS})")
    return float(value)


class Dropout(nn.Module):
    """``Dropout(keep=0.5)`` or ``Dropout(drop=0.5)``; identity in ``eval()`` mode."""

    def __init__(self, *, keep: float | None = None, drop: float | None = None) -> None:
        super().__init__()
        if (keep is None) == (drop is None):
            raise ValueError(f"Dropout: {CONVENTIONS}")
        if keep is not None and not MIN_KEEP <= _probability("keep", keep) <= 1.0:
            raise ValueError(f"Dropout(keep={keep}): valid: {MIN_KEEP:g} <= keep <= 1 ({CONVENTIONS})")
        if drop is not None and not 0.0 <= _probability("drop", drop) <= 1.0 - MIN_KEEP:
            raise ValueError(f"Dropout(drop={drop}): valid: 0 <= drop <= {1 - MIN_KEEP} ({CONVENTIONS})")
        self.keep = float(keep) if keep is not None else 1.0 - float(drop)  # type: ignore[arg-type]
        # data-parallel: (rows of the whole batch, this process's rows of it); None: x is the whole batch
        self.global_batch: tuple[int, range] | None = None

    def forward(self, x: Tensor) -> Tensor:
        if self.global_batch is None or not self.training or self.keep == 1.0:
            return dropout(x, self.keep, training=self.training)
        total, rows = self.global_batch
        if len(rows) != len(x):
            raise ValueError(f"Dropout: x has {len(x)} rows, but its share of the global batch is {len(rows)}")
        # the whole batch's mask, drawn as one process draws it (the same generator calls), then this share
        mask = x.new_empty((total, *x.shape[1:])).bernoulli_(self.keep)[rows.start : rows.stop]
        return x * mask / self.keep

    def extra_repr(self) -> str:
        return f"keep={self.keep:g} (drop={1 - self.keep:g})"


def dropout(x: Tensor, keep: float, uniform: Tensor | None = None, training: bool = True) -> Tensor:
    """Inverted dropout in the unit's convention: keep each element with probability ``keep`` and divide
    the kept ones by ``keep``; ``x`` itself when not ``training`` (or ``keep`` is 1).

    ``uniform``, draws from U(0, 1) shaped like ``x``, makes the mask reproducible: an element is kept
    where its draw is below ``keep``. Without it the mask is drawn from torch's generator.
    """
    if not training or keep == 1.0:
        return x
    if uniform is None:
        mask = torch.empty_like(x).bernoulli_(keep)  # 1 with probability keep
    else:
        if uniform.shape != x.shape:
            raise ValueError(f"dropout: uniform must have x's shape {tuple(x.shape)}, got {tuple(uniform.shape)}")
        mask = (uniform < keep).to(x.dtype)
    return x * mask / keep


def draw_for_global_batch(model: nn.Module, batch: tuple[int, range] | None) -> None:
    """Make every :class:`Dropout` in ``model`` draw its masks for a batch of ``total`` rows and apply rows
    ``rows`` of them to its input, ``batch = (total, rows)`` (this process's share of the batch), until called
    again; ``None`` goes back to masks for the input's own rows. Any other module with a ``global_batch``
    attribute (one that draws noise per example, as Dropout does) is told the same."""
    if batch is not None:
        total, rows = batch
        if not (0 <= rows.start <= rows.stop <= total and rows.step == 1):
            raise ValueError(f"draw_for_global_batch: rows {rows} must be consecutive rows of range({total})")
    for module in model.modules():
        if hasattr(module, "global_batch"):  # Dropout, and any module that draws noise per example
            cast(Any, module).global_batch = batch
