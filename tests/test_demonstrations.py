"""The lab book's newer demonstrations, each against an independent reference: Adagrad's and RMSProp's
effective rates replayed by hand, SVRG against the optimum found by L-BFGS, the snapshot ensemble's cyclic
rate against its formula, the hyperparameter searches' trials, and small gradients through deep sigmoids."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import assert_one_line_error, cli

from descentlab.data import mnist
from descentlab.experiments.optim import batch_size as batch_sweep
from descentlab.experiments.optim import momentum as momentum_sweep
from descentlab.experiments.optim import race as optim_race
from descentlab.experiments.optim import rates as adagrad_rates
from descentlab.experiments.optim import svrg as svrg_run
from descentlab.runs import RunRecord, find_runs
from descentlab.training.mnist import MEAN, STD


def _run(tmp_path: Path, *args: str) -> RunRecord:
    result = cli(*args, "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    (record,) = find_runs(tmp_path).runs
    assert record.status == "complete"
    return record


def test_effective_rates_are_the_optimizers_own(tmp_path: Path) -> None:
    """Replayed in float64 by hand: Adagrad eta / (sqrt(sum of g^2) + 1e-10), RMSProp eta / (sqrt(v) + 1e-8)
    with v = 0.99 v + 0.01 g^2 (PyTorch's defaults); agreement to 1e-9 relative."""
    record = _run(tmp_path, "optim", "rates", "--steps", "40", "--adagrad-lr", "0.5", "--rmsprop-lr", "0.05")
    c = np.array(adagrad_rates.CURVATURES)
    for name, lr in (("adagrad", 0.5), ("rmsprop", 0.05)):
        w, acc = np.array(adagrad_rates.START), np.zeros(3)
        expected = []
        for _ in range(40):
            g = c * w
            acc = acc + g * g if name == "adagrad" else 0.99 * acc + 0.01 * g * g
            rate = lr / (np.sqrt(acc) + (1e-10 if name == "adagrad" else 1e-8))
            w = w - rate * g
            expected.append(rate)
        logged = np.array([record.series(f"rate/{name}/w{i}")[1] for i in range(3)]).T
        np.testing.assert_allclose(logged, np.array(expected), rtol=1e-9)
    adagrad = np.array([record.series(f"rate/adagrad/w{i}")[1] for i in range(3)])
    assert np.all(np.diff(adagrad, axis=1) <= 0)  # Adagrad's rates never rise


def _mnist_rows(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    images, labels = mnist("train")
    return ((images[:n].double() / 255 - MEAN) / STD).reshape(n, -1), labels[:n]


def test_svrg_on_the_whole_set_is_gradient_descent(tmp_path: Path) -> None:
    """With one batch of all examples SVRG's correction cancels (the batch gradient at the snapshot is the full
    gradient): its epochs must be plain gradient descent's steps, written here by hand (1e-12)."""
    record = _run(tmp_path, "optim", "svrg", "--train-size", "50", "--batch-size", "50", "--epochs", "6",
                  "--lr", "0.1", "--l2", "0.05")  # fmt: skip
    x, y = _mnist_rows(50)
    w = torch.zeros(785, 10, dtype=torch.float64)
    expected = []
    for _ in range(6):
        w.requires_grad_(True)
        loss = F.cross_entropy(x @ w[:-1] + w[-1], y) + 0.5 * 0.05 * (w[:-1] ** 2).sum()
        (g,) = torch.autograd.grad(loss, w)
        w = (w - 0.1 * g).detach()
        expected.append(float(F.cross_entropy(x @ w[:-1] + w[-1], y) + 0.5 * 0.05 * (w[:-1] ** 2).sum()))
    steps, values = record.series("svrg/objective")
    assert steps == [3, 6, 9, 12, 15, 18]  # logged at example gradients / n: three per example per epoch
    np.testing.assert_allclose(values, expected, rtol=1e-12)


@pytest.mark.slow  # 30 s; test_optim_svrg's convergence test covers SVRG in the default suite
def test_svrg_ends_nearer_the_optimum_than_sgd(tmp_path: Path) -> None:
    """The tour's setting. The objective is convex: L-BFGS in float64 finds its minimum, the reference. Both
    end above it, SVRG less than half as far as SGD with the same rate and example gradients."""
    record = _run(tmp_path, "optim", "svrg")  # 1,000 images, 15 epochs, lr 0.05, l2 0.01
    x, y = _mnist_rows(1000)
    w = torch.zeros(785, 10, dtype=torch.float64, requires_grad=True)
    lbfgs = torch.optim.LBFGS([w], lr=1, max_iter=1000, tolerance_grad=1e-12, tolerance_change=1e-15,
                              history_size=50, line_search_fn="strong_wolfe")  # fmt: skip

    def closure() -> torch.Tensor:
        lbfgs.zero_grad()
        loss = svrg_run.objective(w, x, y, 0.01)
        loss.backward()
        return loss

    for _ in range(5):
        lbfgs.step(closure)
    optimum = float(closure().detach())
    m = record.final()
    svrg_gap, sgd_gap = m["svrg/objective"] - optimum, m["sgd/objective"] - optimum
    assert 0 < svrg_gap < sgd_gap / 2, (svrg_gap, sgd_gap)


def test_snapshots_follow_the_cyclic_cosine_rate(tmp_path: Path) -> None:
    """Huang et al. (2017), eq. 2: lr(t) = lr0 / 2 * (cos(pi * mod(t - 1, ceil(T / M)) / ceil(T / M)) + 1)."""
    record = _run(tmp_path, "optim", "snapshots", "--train-size", "320", "--cycles", "3", "--epochs-per-cycle",
                  "2", "--lr", "0.1", "--hidden", "16")  # fmt: skip
    total = 320 // 32 * 3 * 2
    period = math.ceil(total / 3)
    steps, rates = record.series("charts/learning_rate")
    expected = [0.05 * (math.cos(math.pi * ((t - 1) % period) / period) + 1) for t in steps]
    np.testing.assert_allclose(rates, expected, rtol=1e-12)
    snapshot_steps, accuracies = record.series("snapshot/test_accuracy")
    assert snapshot_steps == [period, 2 * period, total] and len(accuracies) == 3
    assert max(accuracies) == record.final()["best_snapshot/test_accuracy"]


def test_the_three_searches_spend_the_same_budget(tmp_path: Path) -> None:
    record = _run(tmp_path, "landscape", "tuning", "--trials", "6", "--startup", "2", "--steps", "50",
                  "--low", "1e-4", "--high", "1e-2")  # fmt: skip
    _, grid = record.series("grid/lr")
    np.testing.assert_allclose(grid, np.logspace(-4, -2, 6), rtol=1e-12)  # a log-spaced grid, both ends in
    for name in ("random", "tpe"):
        _, lrs = record.series(f"{name}/lr")
        assert len(lrs) == 6 and all(1e-4 <= lr <= 1e-2 for lr in lrs), name
    again = _run(tmp_path / "again", "landscape", "tuning", "--trials", "6", "--startup", "2", "--steps", "50",
                 "--low", "1e-4", "--high", "1e-2")  # fmt: skip
    assert again.series("tpe/lr") == record.series("tpe/lr")  # the seed fixes every search
    best = min(min(record.series(f"{n}/f")[1]) for n in ("grid", "random", "tpe"))
    assert best == min(record.final()[f"{n}/best"] for n in ("grid", "random", "tpe"))


def test_tuning_refuses_an_empty_range(tmp_path: Path) -> None:
    assert_one_line_error(cli("landscape", "tuning", "--low", "0.1", "--high", "0.01", "--out", str(tmp_path)),
                          "--high", "not above low")  # fmt: skip


def test_gradients_vanish_through_deep_sigmoids_and_not_with_relu_or_batch_norm(tmp_path: Path) -> None:
    """Each sigmoid layer multiplies the backward signal by sigma' <= 1/4 (times a weight matrix of norm about
    1 under PyTorch's default initialization): through 8 layers the input layer's gradient is orders of
    magnitude below the last hidden layer's. With He-initialized ReLU or batch normalization it is not."""
    record = _run(tmp_path, "landscape", "gradients", "--depth", "8", "--width", "32", "--train-size", "256",
                  "--steps", "10")  # fmt: skip
    m = record.final()
    assert m["sigmoid/first_over_last"] < 0.25**4
    assert 0.1 < m["relu/first_over_last"] < 10 and 0.1 < m["batchnorm/first_over_last"] < 10
    for kind in ("sigmoid", "relu", "batchnorm"):
        layers, norms = record.series(f"{kind}/grad_norm")
        assert layers == list(range(1, 10)) and all(n > 0 for n in norms)  # 8 hidden layers and the output


def test_turn_cosine_is_minus_one_for_a_zig_zag_and_one_for_a_straight_path() -> None:
    zig = {"points": [(0.0, 0.0), (1.0, 1.0), (2.0, 0.0), (3.0, 1.0), (4.0, 0.0)]}  # 90-degree turns
    back = {"points": [(0.0, 0.0), (1.0, 0.0), (0.0, 0.0), (1.0, 0.0)]}
    line = {"points": [(0.0, 0.0), (1.0, 2.0), (2.0, 4.0), (3.5, 7.0)]}
    assert optim_race._turn_cosine(zig) == pytest.approx(0.0, abs=1e-12)
    assert optim_race._turn_cosine(back) == pytest.approx(-1.0)
    assert optim_race._turn_cosine(line) == pytest.approx(1.0)


def test_noisy_race_claims_read_the_paths_and_can_fail() -> None:
    """The noisy race's claims: gradient descent turning back each step against momentum running on, and
    the mean f of the second half; swapping the paths makes both fail."""
    back = {"name": "sgd", "lr": 0.07, "points": [(0.0, 0.0), (1.0, 0.0)] * 3, "losses": [4.0, 3.0, 2.0, 2.0]}
    line = {
        "name": "momentum",
        "lr": 0.007,
        "points": [(float(i), 0.0) for i in range(6)],
        "losses": [4.0, 2.0, 1.0, 0.5],
    }
    held = optim_race.claims({"landscape": "quadratic-bowl", "paths": [back, line]}, noise=1.0)
    assert [c.holds for c in held] == [True, True]
    assert "gradient descent 2" in held[1].evidence and "momentum 0.75" in held[1].evidence  # means of steps 2-3
    swapped = [dict(line, name="sgd"), dict(back, name="momentum")]
    assert [c.holds for c in optim_race.claims({"landscape": "quadratic-bowl", "paths": swapped}, noise=1.0)] == [
        False,
        False,
    ]


@pytest.mark.parametrize("beta", [0.0, 0.3, 0.5, 0.8, 0.9, 0.95, 0.99])
@pytest.mark.parametrize("lr_h", [0.02, 0.1, 0.5, 1.5])
def test_momentum_swings_exactly_when_the_characteristic_roots_are_complex(beta: float, lr_h: float) -> None:
    """momentum_sweep.swings against numpy's roots of the same polynomial (independent reference)."""
    roots = np.roots([1.0, -(1 + beta - lr_h), beta])
    assert momentum_sweep.swings(beta, lr_h, 1.0) == bool(np.any(np.abs(roots.imag) > 1e-12))


def test_crossings_count_sign_changes() -> None:
    assert momentum_sweep.crossings([-2.0, -1.0, 0.0, 1.0, -0.5, -0.1, 0.2]) == 3
    assert momentum_sweep.crossings([-1.0, -0.5, -0.1]) == 0


def test_momentum_sweep_crosses_the_minimum_as_the_theory_says(tmp_path: Path) -> None:
    r = cli("optim", "momentum", "--steps", "300", "--out", str(tmp_path))
    assert r.returncode == 0, r.stderr
    (record,) = find_runs(tmp_path).runs
    m = json.loads((record.path / "momentum.json").read_text())["metrics"]
    assert m["beta=0/crossings"] == m["beta=0.5/crossings"] == 0  # real roots at lr 0.02, h = 1
    assert m["beta=0.9/crossings"] > 0 and m["beta=0.99/crossings"] > 0
    assert m["beta=0.99/final_loss"] > 1e3 * m["beta=0.9/final_loss"]  # still swinging at 0.995 a step
    assert [c.holds for c in momentum_sweep.claims(record)] == [True, True]
    assert (record.path / "momentum_x.png").is_file()


def test_momentum_sweep_refuses_a_beta_of_one() -> None:
    assert_one_line_error(cli("optim", "momentum", "--betas", "0,1"), "--betas", "[0, 1)")


@pytest.mark.parametrize("size", [1, 2, 3, 5])
def test_batch_noise_theory_is_the_exact_mean_over_every_batch(size: int) -> None:
    """noise_in_theory against brute force: every batch of ``size`` of 6 vectors, exactly enumerated."""
    g = torch.tensor([[1.0, -2.0], [0.5, 3.0], [-1.5, 0.0], [2.0, 1.0], [0.0, -1.0], [4.0, 2.5]], dtype=torch.float64)
    mean = g.mean(0)
    exact = [float((g[list(b)].mean(0) - mean).pow(2).sum()) for b in itertools.combinations(range(6), size)]
    trace = float((g - mean).pow(2).sum() / 6)  # the per-example gradients' covariance's trace (over n)
    assert batch_sweep.noise_in_theory(trace, 6, size) == pytest.approx(sum(exact) / len(exact), rel=1e-12)


def test_gradient_noise_of_a_network_matches_its_per_example_gradients() -> None:
    """The run's measured noise against the theory fed with per-example gradients computed one by one
    (an independent route); 4,000 draws, so 10% covers the Monte Carlo error."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.ReLU(), torch.nn.Linear(4, 3))
    x, y = torch.randn(40, 5), torch.randint(0, 3, (40,))
    each = torch.stack([batch_sweep.flat_gradient(model, x[i : i + 1], y[i : i + 1]) for i in range(40)])
    trace = float((each - each.mean(0)).pow(2).sum() / 40)
    for size in (2, 10):
        measured = batch_sweep.gradient_noise(model, x, y, size, draws=4000, seed=1)
        assert measured == pytest.approx(batch_sweep.noise_in_theory(trace, 40, size), rel=0.1)


def test_batch_size_sweep_runs_and_its_claims_hold(tmp_path: Path) -> None:
    r = cli("optim", "batch-size", "--train-size", "600", "--batch-sizes", "4,64", "--epochs", "1", "--hidden", "16",
            "--noise-draws", "64", "--out", str(tmp_path))  # fmt: skip
    assert r.returncode == 0, r.stderr
    (record,) = find_runs(tmp_path).runs
    assert [c.holds for c in batch_sweep.claims(record)] == [True, True], [
        c.evidence for c in batch_sweep.claims(record)
    ]
    assert (record.path / "batch_size.png").is_file()


def test_batch_size_sweep_refuses_sizes_out_of_order() -> None:
    assert_one_line_error(cli("optim", "batch-size", "--batch-sizes", "32,8"), "--batch-sizes", "smallest first")
