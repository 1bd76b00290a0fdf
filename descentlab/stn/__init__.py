"""Spatial transformer networks: grid generators, the bilinear sampler, localisation networks, distorted MNIST."""

from descentlab.stn.grids import GENERATORS, GridGenerator, affine_grid, projective_grid
from descentlab.stn.sampler import bilinear_sample
from descentlab.stn.transformer import SpatialTransformer, cnn, conv_localisation, fc_localisation, st_cnn

__all__ = [
    "GENERATORS",
    "GridGenerator",
    "SpatialTransformer",
    "affine_grid",
    "bilinear_sample",
    "cnn",
    "conv_localisation",
    "fc_localisation",
    "projective_grid",
    "st_cnn",
]
