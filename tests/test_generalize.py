"""Generalization: stratified splits, dropout in both conventions (statistically), early stopping, the runs."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from conftest import StopAfter, assert_one_line_error, cli
from torch import nn

from descentlab.errors import ParameterError
from descentlab.generalize import Dropout, EarlyStopping, mnist_splits, split
from descentlab.runs import load_run
from descentlab.training.supervised import make_mlp

# ---- splits -------------------------------------------------------------------------------------


def test_split_is_a_reproducible_stratified_partition() -> None:
    gen = torch.Generator().manual_seed(0)
    labels = torch.cat([torch.full((n,), c) for c, n in enumerate([500, 300, 120, 80])])[
        torch.randperm(1000, generator=gen)
    ]
    parts = split(labels, [0.7, 0.2, 0.1], seed=3)
    assert [len(p) for p in parts] == [700, 200, 100]
    joined = torch.cat(parts)
    assert len(joined.unique()) == 1000  # disjoint, and together every example
    for part, fraction in zip(parts, [0.7, 0.2, 0.1], strict=True):
        counts = torch.bincount(labels[part], minlength=4)
        expected = torch.tensor([500, 300, 120, 80]) * fraction
        assert (counts - expected).abs().max() <= 1  # each class divided in the same proportions
    again = split(labels, [0.7, 0.2, 0.1], seed=3)
    assert all(torch.equal(a, b) for a, b in zip(parts, again, strict=True))
    other = split(labels, [0.7, 0.2, 0.1], seed=4)
    assert not torch.equal(parts[0], other[0])
    plain = split((torch.zeros(1000, 2), labels), [0.5, 0.5], stratify=False, seed=0)
    assert sorted(torch.cat(plain).tolist()) == list(range(1000))


@pytest.mark.parametrize("fractions", [[0.5, 0.6], [1.0], [0.5, 0.5, 0.0], [-0.1, 1.1]])
def test_split_rejects_bad_fractions(fractions: list[float]) -> None:
    with pytest.raises(ParameterError, match=r"fractions: .* sum to 1"):
        split(torch.zeros(10), fractions)


def test_mnist_splits_are_55k_5k_and_the_official_10k() -> None:
    data = mnist_splits()
    assert {k: len(v[1]) for k, v in data.items()} == {"train": 55_000, "val": 5_000, "test": 10_000}
    from descentlab.data import mnist

    official_test = mnist("test")
    assert torch.equal(data["test"][0], official_test[0])  # the official test images, untouched
    train_counts = torch.bincount(data["train"][1], minlength=10).double()
    val_counts = torch.bincount(data["val"][1], minlength=10).double()
    assert ((val_counts / 5000 - train_counts / 55_000).abs() < 2e-4).all()  # the same class proportions


# ---- dropout --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("kwargs", "keep"), [({"keep": 0.8}, 0.8), ({"drop": 0.8}, 0.2), ({"keep": 0.5}, 0.5)])
def test_dropout_zeros_within_a_binomial_bound_and_preserves_the_mean(kwargs: dict[str, float], keep: float) -> None:
    torch.manual_seed(0)
    layer = Dropout(**kwargs)
    x = torch.ones(200_000)
    y = layer(x)
    n = x.numel()
    zeros = int((y == 0).sum())
    sd = math.sqrt(n * keep * (1 - keep))
    assert abs(zeros - n * (1 - keep)) < 5 * sd  # binomial(n, 1 - keep), 5 standard deviations
    assert set(y.unique().tolist()) <= {0.0, 1 / keep}  # kept units are scaled by 1/keep
    assert abs(float(y.mean()) - 1.0) < 5 * math.sqrt((1 - keep) / keep / n)  # the mean is kept
    layer.eval()
    assert torch.equal(layer(x), x)  # identity in evaluation


def test_dropout_agrees_with_torch_under_the_same_random_stream() -> None:
    x = torch.randn(64, 100)
    torch.manual_seed(7)
    ours = Dropout(drop=0.3)(x)
    torch.manual_seed(7)
    mask = torch.empty_like(x).bernoulli_(0.7)
    torch.testing.assert_close(ours, x * mask / 0.7)
    assert ((ours == 0) | torch.isclose(ours, x / 0.7)).all()
    assert torch.equal(Dropout(keep=1.0)(x), x)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "exactly one of keep="),
        ({"keep": 0.5, "drop": 0.5}, "exactly one of keep="),
        ({"keep": 0.0}, "1e-06 <= keep <= 1"),
        ({"drop": 1.0}, "0 <= drop <= 0.999999"),
    ],
)
def test_dropout_names_the_two_conventions_when_misused(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message) as info:
        Dropout(**kwargs)
    assert "probability of keeping" in str(info.value) and "probability of dropping" in str(info.value)


# ---- early stopping ---------------------------------------------------------------------------------


def test_early_stopping_stops_after_patience_and_restores_the_best_weights() -> None:
    model = nn.Linear(2, 1)
    stopper = EarlyStopping(patience=2)
    losses = [1.0, 0.5, 0.6, 0.4, 0.45, 0.41, 0.3]
    stopped_at = None
    for step, loss in enumerate(losses):
        with torch.no_grad():
            model.weight.fill_(float(step))  # weights that say when they were set
        if stopper.step(loss, model, step):
            stopped_at = step
            break
    assert stopped_at == 5 and stopper.best_step == 3 and stopper.best == 0.4
    stopper.restore(model)
    assert torch.equal(model.weight, torch.full((1, 2), 3.0))
    with pytest.raises(ValueError, match="patience"):
        EarlyStopping(0)


# ---- the runs ----------------------------------------------------------------------------------------

SMALL = ["--hidden", "64", "--train-size", "3000", "--val-size", "500", "--eval-every", "1000"]


def test_generalize_mnist_trains_both_variants_from_the_same_start(tmp_path: Path) -> None:
    result = cli("generalize", "mnist", *SMALL, "--epochs", "2", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    (run,) = (tmp_path / "generalize-mnist").iterdir()
    record = load_run(run)
    m = record.final()
    for name in ("plain", "dropout"):
        assert m[f"{name}/test/error"] < 0.2
        assert m[f"{name}/gap/error"] == pytest.approx(m[f"{name}/val/error"] - m[f"{name}/train/error"])
        assert m[f"{name}/epochs"] == 2
    steps = [r["step"] for r in record.metrics]
    assert steps == sorted(steps)  # one step counter across the variants
    assert (run / "learning_curves.png").stat().st_size > 10_000
    assert "gap (val-train) pts" in result.stdout


def test_generalize_mnist_early_stopping_and_resume(tmp_path: Path) -> None:
    # patience 1 with a high learning rate: it stops early and reports the best epoch
    args = [*SMALL, "--variants", "plain", "--epochs", "6", "--patience", "1", "--lr", "0.8", "--eval-every", "3000"]
    assert cli("generalize", "mnist", *args, "--out", str(tmp_path)).returncode == 0
    (run,) = (tmp_path / "generalize-mnist").iterdir()
    m = load_run(run).final()
    assert m["plain/stopped_early"] == 1 and m["plain/epochs"] < 6 and m["plain/best_epoch"] < m["plain/epochs"]
    # the reported validation loss is that of the restored best weights: the lowest logged
    _, val = load_run(run).series("plain/val/loss")
    assert m["plain/val/loss"] == pytest.approx(min(val[:-1]), rel=1e-9)


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["mnist", "--hidden", "10,x"], ["hidden: '10,x'"]),
        (["mnist", "--variants", "plain,plain"], ["variants: 'plain,plain'"]),
        (["mnist", "--keep-hidden", "0"], ["keep_hidden"]),
        (["optimizers", "--target", "1.5"], ["target"]),
    ],
)
def test_generalize_bad_settings(tmp_path: Path, args: list[str], fragments: list[str]) -> None:
    assert_one_line_error(cli("generalize", *args, "--out", str(tmp_path)), *fragments)


def test_generalize_optimizers_times_each_of_the_eight_to_the_target(tmp_path: Path) -> None:
    args = ["generalize", "optimizers", "--hidden", "32", "--train-size", "2000", "--val-size", "500"]
    result = cli(
        *args, "--max-seconds", "1", "--epochs", "1", "--target", "0.8", "--eval-every", "500", "--out", str(tmp_path)
    )
    assert result.returncode == 0, result.stderr
    (run,) = (tmp_path / "generalize-optimizers").iterdir()
    record = load_run(run)
    m = record.final()
    names = [n for n in json.loads((run / "summary.json").read_text())["metrics"] if n.endswith("/test/accuracy")]
    assert len(names) == 8
    for key in names:
        name = key.split("/")[0]
        reached = m[f"{name}/seconds_to_target"]
        steps, accs = record.series(f"{name}/val/accuracy")
        seconds = {int(r["step"]): r["elapsed_s"] for r in record.timing}
        first = next((seconds[s] for s, a in zip(steps, accs, strict=True) if a >= 0.8), -1.0)
        assert reached == pytest.approx(first, abs=1e-6)  # the first logged crossing of the target
        assert m[f"{name}/train_seconds"] < 1 + 2.0  # the budget stops training (one step may overrun)
    assert (run / "time_to_target.png").stat().st_size > 10_000


def test_an_interrupted_run_of_two_variants_resumes_exactly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from contextlib import contextmanager

    from descentlab.errors import Interrupted
    from descentlab.experiments import EXPERIMENTS, experiment, runner, start
    from descentlab.experiments.generalize.mnist import GeneralizeConfig

    cfg = GeneralizeConfig(hidden="32", train_size=1000, val_size=500, eval_every=300, epochs=2, batch_size=50)
    exp = experiment("generalize-mnist")
    unbroken = load_run(start(exp, cfg, tmp_path / "unbroken"))

    @contextmanager
    def stop_in_second_variant(*_):  # type: ignore[no-untyped-def]
        yield StopAfter(40 + 13)  # 40 steps of 'plain', then 13 of 'dropout'

    monkeypatch.setattr(runner, "stop_on_signals", stop_in_second_variant)
    with pytest.raises(Interrupted):
        start(exp, cfg, tmp_path / "broken")
    monkeypatch.undo()
    (run,) = (tmp_path / "broken" / "generalize-mnist").iterdir()
    assert load_run(run).status == "interrupted"
    runner.resume(EXPERIMENTS, run)
    resumed = load_run(run)
    assert resumed.metrics == unbroken.metrics  # step for step, both variants
    timed = ("/train_seconds", "/seconds_to_target")  # wall clock: the only values that may differ
    assert {k: v for k, v in resumed.final().items() if not k.endswith(timed)} == {
        k: v for k, v in unbroken.final().items() if not k.endswith(timed)
    }


def test_dropout_drawn_for_the_global_batch_gives_each_share_the_rows_of_the_whole_batch_mask() -> None:
    """Data-parallel dropout: shares of a batch, each drawing from the same generator state as the others, get
    the rows of the masks one process draws for the whole batch: the same units dropped (exactly), the same
    values to 1e-6 (the linear layer's product over fewer rows may round otherwise)."""
    from descentlab.generalize import draw_for_global_batch

    model = torch.nn.Sequential(Dropout(keep=0.8), torch.nn.Linear(6, 6), Dropout(keep=0.5))
    x = torch.randn(7, 6)
    torch.manual_seed(3)
    whole = model(x)
    for rows in (range(0, 4), range(4, 7), range(7, 7)):
        draw_for_global_batch(model, (7, rows))
        torch.manual_seed(3)
        share, expected = model(x[rows.start : rows.stop]), whole[rows.start : rows.stop]
        assert torch.equal(share == 0, expected == 0)
        torch.testing.assert_close(share, expected, rtol=1e-6, atol=1e-6)
    draw_for_global_batch(model, None)
    torch.manual_seed(3)
    assert torch.equal(model(x), whole)
    with pytest.raises(ValueError, match="rows"):
        draw_for_global_batch(model, (7, range(5, 9)))
    draw_for_global_batch(model, (7, range(0, 4)))
    with pytest.raises(ValueError, match="share of the global batch is 4"):
        model(x)


def test_a_variant_checkpoints_every_checkpoint_every_steps(tmp_path: Path) -> None:
    """``--checkpoint-every K`` (generalize mnist, stn train, neuro train-snn) bounds what an elastic restart
    loses to K steps: a checkpoint after every K-th step of each variant, and none between."""
    from descentlab.optim.regimes import mini_batch
    from descentlab.runs.run import SilentRun
    from descentlab.training.supervised import Variant, make_mlp, run_variant

    class Never:
        requested = False

        def checkpoint_due(self) -> bool:
            return False

    g = torch.Generator().manual_seed(0)
    data = {k: (torch.randn(n, 784, generator=g), torch.randint(0, 10, (n,), generator=g))
            for k, n in (("train", 120), ("val", 20), ("test", 20))}  # fmt: skip
    model = make_mlp([8])
    saved: list[int] = []
    variant = Variant("plain", model, torch.optim.SGD(model.parameters(), lr=0.1), mini_batch(10), 2,
                      checkpoint_every=5)  # fmt: skip
    run_variant(variant, data, SilentRun(tmp_path, "x"), Never(), 0, 60, 0, None, lambda s: saved.append(s["t"]))  # type: ignore[arg-type]
    assert saved == [5, 10, 15, 20]  # 2 epochs of 12 steps


def test_no_dropout_on_the_output_layer_and_no_update_for_a_dropped_unit() -> None:
    """The unit's two rules (lab book, chapter 3): the network ends in its output layer with no dropout
    after it, and for one example, the weights entering and leaving a dropped hidden unit get zero gradient
    while those of a kept, active unit do not."""
    torch.manual_seed(0)
    net = make_mlp([64], keep_input=0.8, keep_hidden=0.5).train()
    assert isinstance(net[-1], nn.Linear) and net[-1].out_features == 10
    assert [type(m).__name__ for m in net] == ["Dropout", "Linear", "ReLU", "Dropout", "Linear"]
    seen: dict[str, torch.Tensor] = {}
    net[2].register_forward_hook(lambda m, i, o: seen.__setitem__("active", o.detach()))
    net[3].register_forward_hook(lambda m, i, o: seen.__setitem__("kept", o.detach()))
    nn.functional.cross_entropy(net(torch.rand(1, 784)), torch.tensor([3])).backward()
    dropped = (seen["kept"][0] == 0) & (seen["active"][0] > 0)
    kept = (seen["kept"][0] != 0) & (seen["active"][0] > 0)
    assert dropped.sum() >= 5 and kept.sum() >= 5  # both kinds are there to check
    hidden, output = net[1], net[4]
    assert torch.all(hidden.weight.grad[dropped] == 0) and torch.all(hidden.bias.grad[dropped] == 0)  # entering
    assert torch.all(output.weight.grad[:, dropped] == 0)  # leaving
    assert torch.all(hidden.weight.grad[kept].abs().sum(1) > 0) and torch.all(
        output.weight.grad[:, kept].abs().sum(0) > 0
    )
