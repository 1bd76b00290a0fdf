r"""Loss surfaces of real networks (Li, Xu, Taylor, Studer and Goldstein, "Visualizing the Loss
Landscape of Neural Nets", NeurIPS 2018).

A network has far too many weights to plot its loss, so we plot it along a line or a plane through
weight space:

* 1D interpolation (Goodfellow et al. 2015): :math:`L((1 - \alpha)\,\theta_0 + \alpha\,\theta_1)`
  between two weight vectors, e.g. the initial and trained weights, or two trained minima;
* 2D plane: :math:`L(\theta^* + a\,d_1 + b\,d_2)` around trained weights :math:`\theta^*` along two
  random directions. A raw Gaussian direction means different things for layers of different scale,
  so each *filter* of a direction (for a linear layer: the weights into one output unit, a row of
  its weight matrix) is rescaled to the norm of the same filter of :math:`\theta^*`:
  :math:`d_{i,j} \leftarrow d_{i,j}\,\lVert\theta_{i,j}\rVert / \lVert d_{i,j}\rVert`. As in the
  paper's released code, directions are zero on biases (1-D tensors), which are left at
  :math:`\theta^*`.

The loss is evaluated with ``torch.func.functional_call``, so the model's own weights never change.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn
from torch.func import functional_call

Params = list[Tensor]
LossFn = Callable[[Tensor, Tensor], Tensor]  # (model output, targets) -> scalar mean loss


def filter_normalized_direction(weights: Sequence[Tensor], generator: torch.Generator) -> Params:
    """A Gaussian direction with each filter scaled to the norm of the matching filter of ``weights``."""
    direction = []
    for w in weights:
        d = torch.randn(w.shape, generator=generator, dtype=w.dtype).to(w.device)
        if w.dim() <= 1:
            d.zero_()  # biases (and normalization parameters) stay put
        else:
            w_norms = w.flatten(1).norm(dim=1)  # (filters,)
            d_norms = d.flatten(1).norm(dim=1)
            d = d * (w_norms / (d_norms + 1e-10)).view(-1, *([1] * (w.dim() - 1)))
        direction.append(d)
    return direction


class LossSurface:
    """The mean loss of ``model`` on ``(x, y)`` at any weight vector (a list shaped like its parameters)."""

    def __init__(self, model: nn.Module, loss_fn: LossFn, x: Tensor, y: Tensor, batch: int = 5000) -> None:
        self.model, self.loss_fn, self.x, self.y, self.batch = model, loss_fn, x, y, batch
        self.names = [name for name, _ in model.named_parameters()]

    def weights(self) -> Params:
        return [p.detach().clone() for p in self.model.parameters()]

    @torch.no_grad()
    def loss(self, params: Sequence[Tensor]) -> float:
        values = dict(zip(self.names, params, strict=True))
        total = 0.0
        for i in range(0, len(self.y), self.batch):
            out = functional_call(self.model, values, (self.x[i : i + self.batch],))
            total += float(self.loss_fn(out, self.y[i : i + self.batch])) * len(self.y[i : i + self.batch])
        return total / len(self.y)

    def interpolate(self, start: Sequence[Tensor], end: Sequence[Tensor], alphas: Sequence[float]) -> list[float]:
        """L((1 - alpha) start + alpha end) for each alpha (0: start, 1: end)."""
        return [self.loss([(1 - a) * s + a * e for s, e in zip(start, end, strict=True)]) for a in alphas]

    def plane(
        self, center: Sequence[Tensor], d1: Sequence[Tensor], d2: Sequence[Tensor], coords: Sequence[float]
    ) -> Tensor:
        """(len(coords), len(coords)) losses L(center + a d1 + b d2); row i is b = coords[i], column j a = coords[j]."""
        grid = torch.empty(len(coords), len(coords), dtype=torch.float64)
        for i, b in enumerate(coords):
            for j, a in enumerate(coords):
                grid[i, j] = self.loss([c + a * u + b * v for c, u, v in zip(center, d1, d2, strict=True)])
        return grid
