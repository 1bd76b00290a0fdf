"""Bad local minima, flat regions and high curvature as runs: numbers checked against closed forms."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import pytest
import torch
from conftest import assert_one_line_error, cli

from descentlab.landscape import LANDSCAPES
from descentlab.runs import load_run


def _only_run(root: Path, experiment: str) -> Path:
    (run,) = (root / experiment).iterdir()
    return run


def _gd_steps_off_the_plateau(r: float, lr: float) -> int:
    """Gradient descent on the radial f = 1 - exp(-r^2 / 2) is the 1D map r <- r (1 - lr exp(-r^2 / 2));
    f < 0.5 once r^2 < 2 ln 2. Plain floats, no torch."""
    steps = 0
    while r * r >= 2 * math.log(2):
        r *= 1 - lr * math.exp(-r * r / 2)
        steps += 1
    return steps


def test_plateau_steps_match_the_radial_recurrence_and_adaptive_methods_cross_faster(tmp_path: Path) -> None:
    result = cli("landscape", "plateau", "--radii", "2.5,3.5,4.5", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    m = load_run(_only_run(tmp_path, "landscape-plateau")).final()
    for r in (2.5, 3.5, 4.5):
        assert m[f"gd/steps_to_leave@r={r:g}"] == pytest.approx(_gd_steps_off_the_plateau(r, 1.0), abs=1)
    gd, far = m["gd/steps_to_leave@r=4.5"], "@r=4.5"
    assert gd > 1000  # exp(4.5^2 / 2) / 4.5 is about 5,600 times the step at r = 1
    assert m[f"momentum/steps_to_leave{far}"] < gd / 5  # velocity builds up to 1 / (1 - 0.9) = 10 steps' worth
    assert m[f"rmsprop/steps_to_leave{far}"] < 100 and m[f"adam/steps_to_leave{far}"] < 200  # about r / lr steps
    assert "steps to f < 0.5 from r = 4.5" in result.stdout


def test_steep_wall_diverges_plain_descent_and_clipping_or_adaptive_steps_survive(tmp_path: Path) -> None:
    rosenbrock = LANDSCAPES["rosenbrock"]

    def top_curvature(x: float, y: float) -> float:
        h = torch.autograd.functional.hessian(lambda p: rosenbrock(p[0], p[1]), torch.tensor([x, y]).double())
        return float(torch.linalg.eigvalsh(h).max())

    lr, clip = 1.5e-3, 10.0
    assert top_curvature(-2.0, -1.0) > 2 / lr > top_curvature(1.0, 1.0)  # unstable at the start, stable at the end
    result = cli("landscape", "steep", "--steps", "2000", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    m = load_run(_only_run(tmp_path, "landscape-steep")).final()
    assert m["gd/diverged_at"] > 0
    for name in ("gd + clip", "rmsprop", "adam"):
        assert m[f"{name}/diverged_at"] == -1 and m[f"{name}/final_loss"] < 10, name
    assert m["gd + clip/longest_step"] <= lr * clip * (1 + 1e-9)  # a clipped step is at most lr * clip long
    assert m["gd + clip/final_loss"] < 0.1


def test_many_starts_metrics_agree_with_the_logged_runs(tmp_path: Path) -> None:
    args = ["landscape", "minima", "--starts", "60", "--steps", "400", "--settle", "200", "--out", str(tmp_path)]
    result = cli(*args)
    assert result.returncode == 0, result.stderr
    run = _only_run(tmp_path, "landscape-minima")
    data, m = json.loads((run / "minima.json").read_text()), load_run(run).final()
    rastrigin = LANDSCAPES["rastrigin"]
    for key in ("plain", "noise"):
        values = torch.tensor(data[key]["values"], dtype=torch.float64)
        finals = torch.tensor(data[key]["finals"], dtype=torch.float64)
        torch.testing.assert_close(rastrigin(finals[:, 0], finals[:, 1]), values)  # values are f at the ends
        assert m[f"{key}/best_of_1"] == pytest.approx(float(values.mean()))
        assert m[f"{key}/best"] == float(values.min())
        assert m[f"{key}/global_fraction"] == pytest.approx(float((values <= 1e-3).double().mean()))
        best = data[key]["best_of"]["mean"]
        assert all(b <= a + 1e-12 for a, b in itertools.pairwise(best))  # more restarts never hurt
        groups = values[:60].view(6, 10).min(dim=1).values.mean()
        assert m[f"{key}/best_of_10"] == pytest.approx(float(groups))
    assert (run / "minima.png").stat().st_size > 10_000
    assert "found the global minimum" in result.stdout


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["plateau", "--radii", "3,7"], ["radii: '3,7'", "(0, 6]"]),
        (["plateau", "--radii", "x"], ["radii: 'x'"]),
        (["steep", "--clip", "0"], ["clip", "0 <"]),
        (["minima", "--landscape", "rosenbrock"], ["landscape: 'rosenbrock'", "rastrigin"]),
    ],
)
def test_bad_settings_give_one_line_errors(tmp_path: Path, args: list[str], fragments: list[str]) -> None:
    assert_one_line_error(cli("landscape", *args, "--out", str(tmp_path)), *fragments)
    assert not (tmp_path / "landscape-plateau").exists()
