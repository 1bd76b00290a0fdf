"""Loss surfaces (Li et al. 2018): filter normalization, losses against plain forward passes, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from conftest import TINY, assert_one_line_error, cli
from torch import nn

from descentlab.landscape.surface import LossSurface, filter_normalized_direction


def _net(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(12, 7), nn.Tanh(), nn.Linear(7, 3))


def _data() -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(5)
    return torch.randn(50, 12, generator=gen), torch.randint(0, 3, (50,), generator=gen)


def _loss_of(weights: list[torch.Tensor], x: torch.Tensor, y: torch.Tensor) -> float:
    """The reference: copy the weights into a fresh network and run it."""
    net = _net(99)
    with torch.no_grad():
        for p, w in zip(net.parameters(), weights, strict=True):
            p.copy_(w)
        return float(F.cross_entropy(net(x), y))


def test_filter_normalized_direction_matches_each_filter_norm_and_spares_biases() -> None:
    weights = [p.detach() for p in _net(0).parameters()]
    d = filter_normalized_direction(weights, torch.Generator().manual_seed(1))
    for w, u in zip(weights, d, strict=True):
        assert u.shape == w.shape
        if w.dim() == 1:
            assert torch.count_nonzero(u) == 0
        else:  # each row (the weights into one unit) has the norm of the same row of w, to 1e-6
            torch.testing.assert_close(u.norm(dim=1), w.norm(dim=1), rtol=1e-6, atol=0)
            assert not torch.allclose(u, w)  # a random direction, not the weights themselves


def test_losses_along_lines_and_planes_equal_plain_forward_passes() -> None:
    x, y = _data()
    a, b = _net(0), _net(1)
    surface = LossSurface(a, F.cross_entropy, x, y, batch=16)  # batches of 16: the mean over 50 must still be exact
    theta, theta1 = surface.weights(), [p.detach() for p in b.parameters()]
    alphas = [-0.5, 0.0, 0.3, 1.0, 1.5]
    line = surface.interpolate(theta, theta1, alphas)
    for alpha, value in zip(alphas, line, strict=True):
        mixed = [(1 - alpha) * s + alpha * e for s, e in zip(theta, theta1, strict=True)]
        assert value == pytest.approx(_loss_of(mixed, x, y), rel=1e-6)
    assert line[1] == pytest.approx(float(F.cross_entropy(a(x), y).detach()), rel=1e-6)
    assert line[3] == pytest.approx(float(F.cross_entropy(b(x), y).detach()), rel=1e-6)

    gen = torch.Generator().manual_seed(2)
    d1, d2 = filter_normalized_direction(theta, gen), filter_normalized_direction(theta, gen)
    coords = [-1.0, 0.0, 0.5]
    plane = surface.plane(theta, d1, d2, coords)
    for i, bb in enumerate(coords):
        for j, aa in enumerate(coords):
            moved = [t + aa * u + bb * v for t, u, v in zip(theta, d1, d2, strict=True)]
            assert float(plane[i, j]) == pytest.approx(_loss_of(moved, x, y), rel=1e-6)
    assert float(plane[1, 1]) == pytest.approx(line[1], rel=1e-9)
    torch.testing.assert_close(next(iter(a.parameters())).detach(), theta[0])  # the model was not changed


def test_rebuilt_initial_weights_are_where_training_started(tmp_path: Path) -> None:
    from descentlab.experiments.landscape.surface import _config, initial_model, trained_model

    # With lr = 1e-9, 63 SGD steps move no weight by more than ~1e-7: the trained weights are the initial ones.
    args = ["optim", "train", *TINY, "--epochs", "1", "--optimizer", "sgd", "--lr", "1e-9"]
    assert cli(*args, "--out", str(tmp_path)).returncode == 0
    (run,) = (tmp_path / "optim-train").iterdir()
    cfg = _config(run)
    for start, end in zip(initial_model(cfg).parameters(), trained_model(run, cfg).parameters(), strict=True):
        torch.testing.assert_close(start, end, atol=1e-6, rtol=0)
    other_seed = initial_model(type(cfg)(**{**cfg.__dict__, "seed": 1}))
    assert (next(other_seed.parameters()) - next(trained_model(run, cfg).parameters())).abs().max() > 1e-2


def test_landscape_surface_command(tmp_path: Path) -> None:
    for opt, hidden in (("adam", "32"), ("momentum", "32"), ("sgd", "16")):
        args = ["optim", "train", *TINY, "--epochs", "1", "--optimizer", opt, "--hidden", hidden, "--name", opt]
        assert cli(*args, "--out", str(tmp_path)).returncode == 0
    adam, momentum, small = (next((tmp_path / "optim-train").glob(f"{n}__*")) for n in ("adam", "momentum", "sgd"))
    result = cli("landscape", "surface", str(adam), "--other", str(momentum), "--grid", "5", "--examples", "300")
    assert result.returncode == 0, result.stderr
    data = json.loads((adam / "surface.json").read_text())
    assert [line["name"] for line in data["lines"]] == ["initial -> trained", f"trained -> {momentum.name}"]
    first = data["lines"][0]
    trained = first["train"][first["alphas"].index(1.0)]
    assert trained == pytest.approx(data["center_loss"], rel=1e-9) == pytest.approx(data["plane"][2][2], rel=1e-9)
    assert first["train"][first["alphas"].index(0.0)] > 2.0  # an untrained 10-class network: about ln 10
    assert len(data["plane"]) == 5 and len(data["plane"][0]) == 5
    assert (adam / "surface_1d.png").stat().st_size > 5000 and (adam / "surface_2d.png").stat().st_size > 5000
    assert "barrier" in result.stdout

    assert_one_line_error(cli("landscape", "surface", str(adam), "--other", str(small)), "--other", "16 hidden units")
    assert_one_line_error(
        cli("landscape", "surface", str(adam), "--grid", "2"), "--grid: 2 is out of range", "3 <= grid"
    )
    assert_one_line_error(
        cli("landscape", "surface", str(adam), "--span", "nan"), "--span: nan is not a finite number", "0.0 < span"
    )
    assert_one_line_error(cli("landscape", "surface", str(tmp_path / "nope")), "nope")
