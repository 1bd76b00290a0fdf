"""The spatial transformer module, its localisation networks, and the classifiers of the experiment.

``SpatialTransformer(localisation, generator, out_size)`` runs the three parts of Jaderberg et al.
(2015): a localisation network regresses the transform's parameters from the input, the grid
generator turns them into source coordinates, and the sampler reads the input there. ``fast``
picks the sampler once, at construction: ``torch.nn.functional.grid_sample`` (fast) or the
written-out :func:`descentlab.stn.bilinear_sample` (the reference); they are tested equal.
The localisation networks' last layer starts at zero weights and the identity transform as bias,
so training starts from "leave the image as it is".
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from descentlab.stn.grids import GENERATORS, GridGenerator
from descentlab.stn.sampler import bilinear_sample


def _regressor(fan_in: int, generator: GridGenerator) -> nn.Linear:
    layer = nn.Linear(fan_in, generator.n_params)
    nn.init.zeros_(layer.weight)
    with torch.no_grad():
        layer.bias.copy_(generator.identity())
    return layer


def fc_localisation(in_size: Sequence[int], generator: GridGenerator, hidden: int = 32) -> nn.Sequential:
    """Fully connected: flatten -> hidden -> hidden -> parameters (ReLU between)."""
    c, h, w = in_size
    return nn.Sequential(
        nn.Flatten(), nn.Linear(c * h * w, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
        _regressor(hidden, generator),
    )  # fmt: skip


def conv_localisation(in_size: Sequence[int], generator: GridGenerator, channels: int = 20) -> nn.Sequential:
    """Convolutional: pool 2 -> conv 5x5 -> pool 2 -> conv 5x5 -> fc 50 -> parameters (ReLU between)."""
    c, h, w = in_size
    features = nn.Sequential(
        nn.MaxPool2d(2), nn.Conv2d(c, channels, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(channels, channels, 5),
        nn.ReLU(), nn.Flatten(),
    )  # fmt: skip
    with torch.no_grad():
        fan_in = features(torch.zeros(1, c, h, w)).shape[1]
    return nn.Sequential(features, nn.Linear(fan_in, 50), nn.ReLU(), _regressor(50, generator))


class SpatialTransformer(nn.Module):
    """Localisation network -> grid generator -> sampler; output (N, C, *out_size)."""

    def __init__(
        self,
        localisation: nn.Module,
        generator: GridGenerator | str,
        out_size: Sequence[int],
        align_corners: bool = False,
        fast: bool = True,
    ) -> None:
        super().__init__()
        self.localisation = localisation
        self.generator = GENERATORS[generator] if isinstance(generator, str) else generator
        self.out_size = tuple(out_size)
        self.align_corners = align_corners
        self.fast = fast
        if fast:
            self.sample = lambda x, g: F.grid_sample(x, g, "bilinear", "zeros", align_corners)
        else:
            self.sample = lambda x, g: bilinear_sample(x, g, align_corners)

    def params(self, x: Tensor) -> Tensor:
        return self.localisation(x)

    def forward(self, x: Tensor) -> Tensor:
        grid = self.generator(self.params(x), (x.shape[0], x.shape[1], *self.out_size), self.align_corners)
        return self.sample(x, grid)


def cnn(in_size: Sequence[int], channels: Sequence[int] = (32, 64), hidden: int = 128) -> nn.Sequential:
    """The classifier: conv 5x5 -> ReLU -> pool 2, twice, then fc hidden -> 10."""
    c = in_size[0]
    layers: list[nn.Module] = []
    for out in channels:
        layers += [nn.Conv2d(c, out, 5), nn.ReLU(), nn.MaxPool2d(2)]
        c = out
    features = nn.Sequential(*layers, nn.Flatten())
    with torch.no_grad():
        fan_in = features(torch.zeros(1, *in_size)).shape[1]
    return nn.Sequential(features, nn.Linear(fan_in, hidden), nn.ReLU(), nn.Linear(hidden, 10))


def st_cnn(
    in_size: Sequence[int], generator: str, out_size: Sequence[int], localisation: str = "conv", fast: bool = True
) -> nn.Sequential:
    """A spatial transformer in front of :func:`cnn` (which sees the transformer's ``out_size`` output)."""
    gen = GENERATORS[generator]
    loc = conv_localisation(in_size, gen) if localisation == "conv" else fc_localisation(in_size, gen)
    st = SpatialTransformer(loc, gen, out_size, fast=fast)
    return nn.Sequential(st, cnn((in_size[0], *out_size)))
