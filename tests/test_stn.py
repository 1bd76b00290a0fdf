"""Spatial transformers: grids and the written-out sampler against torch, gradcheck, distortions, the run."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from conftest import assert_one_line_error, cli

from descentlab.stn import GENERATORS, SpatialTransformer, affine_grid, bilinear_sample, conv_localisation, st_cnn
from descentlab.stn.distort import _place, distort
from descentlab.stn.grids import projective_grid


@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_affine_grid_matches_torch(align_corners: bool, dtype: torch.dtype) -> None:
    theta = torch.randn(4, 2, 3, generator=torch.Generator().manual_seed(0), dtype=dtype)
    ours = affine_grid(theta, (4, 3, 7, 11), align_corners)
    theirs = F.affine_grid(theta, [4, 3, 7, 11], align_corners=align_corners)
    torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-6)


def test_grid_generators_map_points_as_their_formulas_say() -> None:
    size = (1, 1, 5, 5)
    rst = GENERATORS["rst"].matrix(torch.tensor([[2.0, math.pi / 2, 0.1, -0.2]]))
    # s R(alpha) (x, y) + t with s = 2, alpha = 90 degrees: (1, 0) -> (0.1, 1.8)
    point = rst[0] @ torch.tensor([1.0, 0.0, 1.0])
    torch.testing.assert_close(point, torch.tensor([0.1, 1.8]), rtol=0, atol=1e-6)
    shift = GENERATORS["translation"](torch.tensor([[0.3, -0.4]]), size)
    identity = F.affine_grid(torch.eye(2, 3).unsqueeze(0), [1, 1, 5, 5], align_corners=False)
    torch.testing.assert_close(shift, identity + torch.tensor([0.3, -0.4]))
    for name, gen in GENERATORS.items():  # each family's identity parameters give the identity grid
        torch.testing.assert_close(gen(gen.identity().unsqueeze(0), size), identity, rtol=0, atol=1e-6, msg=name)
    # a homography without perspective terms is an affine map; with them, each point is divided by w
    theta = torch.tensor([[[1.1, 0.2, 0.1], [-0.3, 0.9, 0.05]]])
    h = torch.cat([theta, torch.tensor([[[0.0, 0.0, 1.0]]])], dim=1)
    torch.testing.assert_close(projective_grid(h, size), F.affine_grid(theta, [1, 1, 5, 5], align_corners=False))
    h[0, 2, :2] = torch.tensor([0.2, -0.1])
    grid = projective_grid(h, size)
    x, y = 3 * 2 / 5 - 1 + 1 / 5, 1 * 2 / 5 - 1 + 1 / 5  # the centre of pixel (row 1, column 3)
    u, v, w = (h[0] @ torch.tensor([x, y, 1.0])).tolist()
    torch.testing.assert_close(grid[0, 1, 3], torch.tensor([u / w, v / w]))


@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_bilinear_sampler_matches_grid_sample_in_values_and_gradients(align_corners: bool, dtype: torch.dtype) -> None:
    gen = torch.Generator().manual_seed(1)
    image = torch.randn(3, 2, 9, 7, generator=gen, dtype=dtype, requires_grad=True)
    grid = (torch.rand(3, 6, 5, 2, generator=gen, dtype=dtype) * 2.8 - 1.4).requires_grad_(True)  # some outside
    weights = torch.randn(3, 2, 6, 5, generator=gen, dtype=dtype)
    ours = bilinear_sample(image, grid, align_corners)
    theirs = F.grid_sample(image, grid, mode="bilinear", padding_mode="zeros", align_corners=align_corners)
    torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-5)
    g_ours = torch.autograd.grad((ours * weights).sum(), (image, grid))
    g_theirs = torch.autograd.grad((theirs * weights).sum(), (image, grid))
    # float64: within 1e-5 absolute. float32: grid gradients near 11 differ by 1.05e-5 (9e-7 relative,
    # rounding), so there the bound is 1e-5 absolute or relative.
    rtol = 0.0 if dtype == torch.float64 else 1e-5
    for a, b in zip(g_ours, g_theirs, strict=True):
        torch.testing.assert_close(a, b, rtol=rtol, atol=1e-5)


@pytest.mark.parametrize("align_corners", [False, True])
def test_bilinear_sampler_passes_gradcheck(align_corners: bool) -> None:
    gen = torch.Generator().manual_seed(2)
    image = torch.randn(2, 2, 5, 4, generator=gen, dtype=torch.float64, requires_grad=True)
    grid = (torch.rand(2, 3, 4, 2, generator=gen, dtype=torch.float64) * 2.4 - 1.2).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda i, g: bilinear_sample(i, g, align_corners), (image, grid))


@pytest.mark.parametrize("generator", list(GENERATORS))
def test_fast_path_equals_the_written_out_sampler(generator: str) -> None:
    torch.manual_seed(3)
    slow = st_cnn((1, 28, 28), generator, (20, 20), fast=False)
    fast = st_cnn((1, 28, 28), generator, (20, 20), fast=True)
    fast.load_state_dict(slow.state_dict())
    with torch.no_grad():  # move the regressor off the identity so that the transform does something
        for model in (slow, fast):
            st = model[0]
            assert isinstance(st, SpatialTransformer)
            torch.manual_seed(4)
            st.localisation[-1].weight.normal_(0, 0.01)
    x = torch.rand(5, 1, 28, 28)
    out_slow, out_fast = slow(x), fast(x)
    torch.testing.assert_close(out_fast, out_slow, rtol=0, atol=1e-5)
    out_slow.sum().backward()
    out_fast.sum().backward()
    for (name, a), b in zip(slow.named_parameters(), fast.parameters(), strict=True):
        torch.testing.assert_close(b.grad, a.grad, rtol=1e-4, atol=1e-5, msg=name)


def test_localisation_starts_at_the_identity() -> None:
    gen = GENERATORS["affine"]
    st = SpatialTransformer(conv_localisation((1, 28, 28), gen), gen, (28, 28))
    x = torch.rand(4, 1, 28, 28)
    torch.testing.assert_close(st.params(x), gen.identity().expand(4, 6))
    torch.testing.assert_close(st(x), x, rtol=0, atol=1e-5)  # the untrained transformer leaves images alone


def test_distortions_are_reproducible_and_do_what_they_say() -> None:
    from descentlab.data import mnist

    images = mnist("test")[0][:200]
    digits = images.float().div(255).unsqueeze(1)
    for kind, side in (("r", 28), ("rts", 42), ("clutter", 60)):
        a, b, c = distort(images, kind, seed=0), distort(images, kind, seed=0), distort(images, kind, seed=1)
        assert a.shape == (200, 1, side, side) and torch.equal(a, b) and not torch.equal(a, c)
        assert float(a.min()) >= 0 and float(a.max()) <= 1
    # a quarter turn moves pixel centres onto pixel centres: exactly torch.rot90; a shift of 4/28 is 2 pixels
    quarter = _place(digits, 28, torch.full((200,), math.pi / 2), torch.ones(200), torch.zeros(200, 2))
    torch.testing.assert_close(quarter, torch.rot90(digits, -1, dims=(2, 3)), rtol=0, atol=1e-5)
    moved = _place(digits, 28, torch.zeros(200), torch.ones(200), torch.tensor([[4 / 28, 0.0]]).expand(200, 2))
    torch.testing.assert_close(moved[..., 2:], digits[..., :-2], rtol=0, atol=1e-5)
    cluttered = distort(images, "clutter", seed=0)  # the whole digit is pasted (with a maximum) into the canvas
    assert (cluttered.flatten(1).sum(1) >= digits.flatten(1).sum(1) - 1e-3).all()


def test_stn_train_runs_both_models_and_draws_the_transformed_digits(tmp_path: Path) -> None:
    args = ["stn", "train", "--distortion", "r", "--train-size", "1000", "--val-size", "500", "--test-size", "500",
            "--epochs", "1"]  # fmt: skip
    result = cli(*args, "--eval-every", "500", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    (run,) = (tmp_path / "stn-train").iterdir()
    for name in ("cnn.pt", "st-cnn.pt", "transformed.png", "learning_curves.png"):
        assert (run / name).stat().st_size > 1000, name
    assert "paper (Table 1) %" in result.stdout and "st-cnn" in result.stdout
    assert_one_line_error(
        cli("stn", "train", "--transform", "shear", "--out", str(tmp_path)), "transform: 'shear'", "affine"
    )
    assert_one_line_error(cli("stn", "train", "--out-size", "4", "--out", str(tmp_path)), "out_size")


@pytest.mark.compile
def test_compiled_sampler_equals_the_eager_one() -> None:
    from descentlab.stn.sampler import compiled_bilinear_sample

    gen = torch.Generator().manual_seed(5)
    image = torch.randn(4, 2, 12, 10, generator=gen, requires_grad=True)
    grid = (torch.rand(4, 7, 6, 2, generator=gen) * 2.6 - 1.3).requires_grad_(True)
    eager, compiled = bilinear_sample(image, grid), compiled_bilinear_sample()(image, grid)
    torch.testing.assert_close(compiled, eager, rtol=1e-6, atol=1e-6)
    g_eager = torch.autograd.grad(eager.square().sum(), (image, grid))
    g_compiled = torch.autograd.grad(compiled.square().sum(), (image, grid))
    for a, b in zip(g_compiled, g_eager, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
