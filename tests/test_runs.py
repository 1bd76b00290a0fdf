"""Runs: folder layout, metrics, summaries, listing, and stop/resume equivalence."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from descentlab.errors import CheckpointError, Interrupted, UserError
from descentlab.experiments import EXPERIMENTS, resume, start
from descentlab.experiments.optim.train import OPTIM_TRAIN, TrainConfig
from descentlab.runs import compare_table, find_runs, list_table, load_run, read_metrics
from descentlab.runs.run import StopFlag

CFG = TrainConfig(
    train_size=1000, val_size=500, hidden=32, batch_size=50, epochs=2, log_every=3, eval_every=7, checkpoint_every=11
)


class StopAfter(StopFlag):
    """A stop request that arrives after ``n`` checks, as a Ctrl-C would between steps."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.left = n

    @property  # type: ignore[override]
    def requested(self) -> bool:
        self.left -= 1
        return self.left < 0

    @requested.setter
    def requested(self, value: bool) -> None:
        pass


def test_run_folder_layout(tmp_runs: Path) -> None:
    path = start(OPTIM_TRAIN, CFG, tmp_runs)
    assert path.parent == tmp_runs / "optim-train"
    name, seed, stamp = path.name.split("__")
    assert (name, seed) == ("mnist-sgd", "0") and len(stamp) == 15
    files = {p.name for p in path.iterdir()}
    assert {"config.json", "metrics.jsonl", "summary.json", "checkpoint.pt", "learning_curves.png"} <= files
    assert any(f.startswith("events.out.tfevents") for f in files)
    meta = json.loads((path / "config.json").read_text())
    assert meta["config"] == {**json.loads(json.dumps(CFG.__dict__))}
    assert meta["command"].startswith("descentlab optim train --seed 0 ")
    summary = json.loads((path / "summary.json").read_text())
    assert summary["status"] == "complete" and summary["metrics"]["steps"] == 40
    records = read_metrics(path / "metrics.jsonl")
    train_steps = [r["step"] for r in records if "train/loss" in r]
    assert train_steps == sorted({*range(3, 40, 3), 20, 40})  # every 3 steps and at each epoch end (20 steps)
    assert all(0 <= r["val/accuracy"] <= 1 for r in records if "val/accuracy" in r)
    assert summary["metrics"]["val/accuracy"] > 0.5  # it learned something in 40 steps


def test_same_seed_same_metrics_other_seed_differs(tmp_runs: Path) -> None:
    a = read_metrics(start(OPTIM_TRAIN, CFG, tmp_runs) / "metrics.jsonl")
    b = read_metrics(start(OPTIM_TRAIN, CFG, tmp_runs) / "metrics.jsonl")
    c = read_metrics(start(OPTIM_TRAIN, replace(CFG, seed=1), tmp_runs) / "metrics.jsonl")
    assert a == b
    assert a != c


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
@pytest.mark.parametrize("stop_after", [1, 12, 25])
def test_stopped_and_resumed_equals_unbroken(tmp_runs: Path, optimizer: str, stop_after: int) -> None:
    cfg = replace(CFG, optimizer=optimizer)
    unbroken = start(OPTIM_TRAIN, cfg, tmp_runs / "a")
    broken = _start_and_stop(cfg, tmp_runs / "b", stop_after)
    assert json.loads((broken / "summary.json").read_text())["status"] == "interrupted"
    assert resume(EXPERIMENTS, broken) == broken
    assert read_metrics(broken / "metrics.jsonl") == read_metrics(unbroken / "metrics.jsonl")
    assert load_run(broken).final() == load_run(unbroken).final()


def _start_and_stop(cfg: TrainConfig, root: Path, n: int) -> Path:
    import descentlab.experiments.runner as runner

    original = runner.stop_on_signals

    class _Ctx:
        def __enter__(self) -> StopFlag:
            return StopAfter(n)

        def __exit__(self, *exc: object) -> None:
            return None

    runner.stop_on_signals = lambda *_: _Ctx()  # type: ignore[assignment]
    try:
        with pytest.raises(Interrupted) as info:
            start(OPTIM_TRAIN, cfg, root)
    finally:
        runner.stop_on_signals = original
    checkpoint = Path(info.value.checkpoint)
    assert checkpoint.name == "checkpoint.pt" and checkpoint.exists()
    assert info.value.resume_command == f"descentlab optim train --resume {checkpoint.parent}"
    return checkpoint.parent


def test_resume_drops_metrics_logged_after_the_checkpoint(tmp_runs: Path) -> None:
    unbroken = read_metrics(start(OPTIM_TRAIN, CFG, tmp_runs / "a") / "metrics.jsonl")
    path = _start_and_stop(CFG, tmp_runs / "b", 12)  # checkpoint at step 13
    # a crash after that checkpoint left a line for step 14 and a torn line
    with open(path / "metrics.jsonl", "a") as f:
        f.write(json.dumps({"step": 14, "train/loss": 9.9}) + "\n" + '{"step": 1')
    resume(EXPERIMENTS, path)
    assert read_metrics(path / "metrics.jsonl") == unbroken


def test_a_complete_run_is_not_resumed(tmp_runs: Path) -> None:
    path = start(OPTIM_TRAIN, CFG, tmp_runs)
    with pytest.raises(UserError, match="already complete"):
        resume(EXPERIMENTS, path)


def test_resume_of_a_tampered_checkpoint_changes_nothing(tmp_runs: Path) -> None:
    path = _start_and_stop(CFG, tmp_runs, 12)
    before = {p.name: p.read_bytes() for p in path.iterdir() if p.is_file()}
    data = bytearray((path / "checkpoint.pt").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (path / "checkpoint.pt").write_bytes(bytes(data))
    with pytest.raises(CheckpointError):
        resume(EXPERIMENTS, path)
    after = {p.name: p.read_bytes() for p in path.iterdir() if p.is_file()}
    assert after.pop("checkpoint.pt") != before.pop("checkpoint.pt")
    assert after == before


def test_resume_errors(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no such run folder"):
        resume(EXPERIMENTS, tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="not a run folder"):
        resume(EXPERIMENTS, tmp_path / "empty")


def test_list_and_compare(tmp_runs: Path) -> None:
    a = start(OPTIM_TRAIN, CFG, tmp_runs)
    b = start(OPTIM_TRAIN, replace(CFG, optimizer="adam", seed=2), tmp_runs)
    runs = find_runs(tmp_runs).runs
    assert [r.path for r in runs] == [a, b]
    assert find_runs(tmp_runs, "other").runs == [] and find_runs(tmp_runs).damaged == []
    table = list_table(runs)
    assert str(a) in table and "complete" in table and "val/accuracy=" in table
    text = compare_table([load_run(a), load_run(b)])
    lines = {line.split()[0]: line.split()[1:] for line in text.splitlines()[2:]}
    assert lines["config.optimizer"] == ["sgd", "adam"]
    assert lines["config.seed"] == ["0", "2"]
    assert "config.hidden" not in lines  # equal keys are not repeated
    assert lines["test/accuracy"][0] == f"{load_run(a).final()['test/accuracy']:.4g}"


def test_tensorboard_events_hold_the_logged_scalars(tmp_runs: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    path = start(OPTIM_TRAIN, CFG, tmp_runs)
    events = EventAccumulator(str(path))
    events.Reload()
    records = read_metrics(path / "metrics.jsonl")
    for key in ("train/loss", "val/accuracy", "test/accuracy"):
        logged = [(r["step"], r[key]) for r in records if key in r]
        stored = [(e.step, e.value) for e in events.Scalars(key)]
        assert [s for s, _ in stored] == [s for s, _ in logged]
        assert [v for _, v in stored] == pytest.approx([v for _, v in logged], rel=1e-6)  # stored as float32


def test_progress_bar_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    import io
    import sys

    from tqdm import tqdm

    from descentlab.runs import progress

    items = range(5)
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert progress(items) is items  # a pipe or a log file: no bar at all

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stderr", Terminal())
    bar = progress(items, total=5)
    assert isinstance(bar, tqdm) and list(bar) == list(items)


def test_resume_is_exact_with_gradient_noise_and_clipping(tmp_runs: Path) -> None:
    cfg = replace(CFG, optimizer="rmsprop", grad_noise=0.05, clip_norm=0.5, regime="stochastic", train_size=200)
    unbroken = start(OPTIM_TRAIN, cfg, tmp_runs / "a")
    broken = _start_and_stop(cfg, tmp_runs / "b", 123)
    resume(EXPERIMENTS, broken)
    assert read_metrics(broken / "metrics.jsonl") == read_metrics(unbroken / "metrics.jsonl")
    clean = start(OPTIM_TRAIN, replace(cfg, grad_noise=0.0), tmp_runs / "c")
    assert read_metrics(clean / "metrics.jsonl") != read_metrics(unbroken / "metrics.jsonl")  # the noise acts
