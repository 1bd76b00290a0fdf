"""Nothing lost, nothing crashes: resumes that do not fit, stop signals from schedulers, runs killed before
their first checkpoint, run names that would escape --out, and a full disk."""

from __future__ import annotations

import dataclasses
import json
import os
import resource
import shlex
import shutil
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import REPO, TINY, assert_one_line_error, cli, cli_process, popen, signal_when_logging

from descentlab.errors import CheckpointError
from descentlab.experiments import experiment, runner
from descentlab.runs import load_checkpoint, read_metrics, save_checkpoint

LONG = ["optim", "train", *TINY, "--batch-size", "10", "--epochs", "5"]  # 1,000 steps: long enough to interrupt


def _interrupted(out: Path, *extra: str) -> Path:
    run, err = signal_when_logging(popen(*LONG, *extra, "--out", str(out)), out, signal.SIGTERM, records=10)
    assert "checkpoint written" in err, err
    return run


def _snapshot(run: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(run.iterdir()) if p.is_file()}


@pytest.mark.slow  # 31 s; test_sigterm_exit_code_is_143 and the Ctrl-C resume test cover the default suite
@pytest.mark.e2e
def test_sigterm_checkpoints_exits_143_and_resumes_to_the_unbroken_metrics(tmp_path: Path) -> None:
    run = _interrupted(tmp_path / "broken")
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "interrupted" and 0 < summary["step"] < 1000
    resumed = cli_process("optim", "train", "--resume", str(run))
    assert resumed.returncode == 0, resumed.stderr
    unbroken = cli_process(*LONG, "--out", str(tmp_path / "unbroken"))
    assert unbroken.returncode == 0, unbroken.stderr
    (other,) = (tmp_path / "unbroken").glob("optim-train/*/metrics.jsonl")
    assert read_metrics(run / "metrics.jsonl") == read_metrics(other)


@pytest.mark.e2e
def test_sigterm_exit_code_is_143(tmp_path: Path) -> None:
    proc = popen(*LONG, "--out", str(tmp_path))
    signal_when_logging(proc, tmp_path, signal.SIGTERM, records=5)
    assert proc.returncode == 143


@pytest.mark.parametrize("damage", [pytest.param("another network", marks=pytest.mark.slow), "a missing key"])
@pytest.mark.e2e
def test_a_checkpoint_that_does_not_fit_is_refused_and_nothing_is_lost(tmp_path: Path, damage: str) -> None:
    run = _interrupted(tmp_path / "a")  # hidden 32
    state = load_checkpoint(run / "checkpoint.pt")
    if damage == "another network":
        other = _interrupted(tmp_path / "b", "--hidden", "16")
        state = load_checkpoint(other / "checkpoint.pt") | {"step": state["step"]}
    else:
        del state["model"]
    save_checkpoint(run / "checkpoint.pt", state)  # a valid digest: the file is intact, its content does not fit
    before = _snapshot(run)
    result = cli("optim", "train", "--resume", str(run))
    assert_one_line_error(result, f"--resume {run}: the checkpoint does not fit this run", "nothing in the run folder")
    assert _snapshot(run) == before  # metrics, timing, summary ("interrupted") and checkpoint as they were


@pytest.mark.slow  # 20 s; test_a_checkpoint_that_does_not_fit_... covers the resume's refusal in the default suite
@pytest.mark.e2e
def test_a_fault_of_the_training_code_on_resume_keeps_its_cause(tmp_path: Path) -> None:
    """Only what a checkpoint of another run causes (a missing key, an error inside ``load_state_dict``) is
    worded as "the checkpoint does not fit"; a bug in the training code before the first record keeps its
    type and traceback. Either way nothing in the run folder changes."""
    run = _interrupted(tmp_path)
    before = _snapshot(run)
    exp = experiment("optim-train")

    def a_bug(*_: object) -> dict[str, float]:
        return {"loss": 1 / 0}

    def another_shape(*_: object) -> dict[str, float]:
        torch.nn.Linear(2, 2).load_state_dict({"weight": torch.zeros(3, 2), "bias": torch.zeros(2)})
        return {}

    def a_missing_key(cfg: object, r: object, stop: object, state: dict[str, object]) -> dict[str, float]:
        state["no such part"]
        return {}

    with pytest.raises(ZeroDivisionError):
        runner.resume([dataclasses.replace(exp, train=a_bug)], run)
    assert _snapshot(run) == before
    for train in (another_shape, a_missing_key):
        with pytest.raises(CheckpointError, match="the checkpoint does not fit this run"):
            runner.resume([dataclasses.replace(exp, train=train)], run)
        assert _snapshot(run) == before


@pytest.mark.e2e
def test_resume_names_the_experiment_a_run_belongs_to(tmp_path: Path) -> None:
    run = _interrupted(tmp_path)
    before = _snapshot(run)
    assert_one_line_error(cli("lm", "train", "--resume", str(run)), "a run of descentlab optim train, not of "
                          "descentlab lm train", f"descentlab optim train --resume {run}")  # fmt: skip
    assert _snapshot(run) == before


def test_a_run_killed_before_its_first_checkpoint_starts_over_in_its_folder(tmp_path: Path) -> None:
    args = ["optim", "train", *TINY, "--epochs", "1"]
    assert cli(*args, "--out", str(tmp_path / "unbroken")).returncode == 0
    (done,) = (tmp_path / "unbroken").glob("optim-train/*")
    killed = tmp_path / "killed" / done.name
    shutil.copytree(done, killed)
    (killed / "checkpoint.pt").unlink()  # SIGKILL before the first checkpoint: no checkpoint ...
    lines = (killed / "metrics.jsonl").read_text().splitlines()
    (killed / "metrics.jsonl").write_text("\n".join(lines[:5]) + '\n{"step": 9')  # ... half the records, one torn
    (killed / "summary.json").write_text('{"status": "running"}')
    (killed / ".checkpoint.pt.x1y2.tmp").write_bytes(b"half a checkpoint")  # a write the kill cut short
    result = cli("optim", "train", "--resume", str(killed))
    assert result.returncode == 0, result.stderr
    assert read_metrics(killed / "metrics.jsonl") == read_metrics(done / "metrics.jsonl")
    assert not list(killed.glob(".*.tmp"))


@pytest.mark.parametrize("name", ["../../escaped", "/tmp/absolute", "a/b", "x" * 300, "", ".hidden", "a\x00b"])
def test_a_run_name_stays_one_folder_under_out(tmp_path: Path, name: str) -> None:
    out = tmp_path / "deep" / "out"
    result = cli("optim", "race", "--steps", "5", "--name", name, "--out", str(out))
    assert_one_line_error(result, "--name:", "is not a run name; valid: 1 to 100 letters")
    assert not (tmp_path / "deep").exists() and not (tmp_path / "escaped").exists()


@pytest.mark.e2e
@pytest.mark.parametrize(
    "slack",
    [2_000, pytest.param(20_000, marks=pytest.mark.slow)],  # 2,000: both threads' writes fail, TensorBoard's first
)
def test_a_full_disk_is_one_line_and_the_previous_checkpoint_survives(tmp_path: Path, slack: int) -> None:
    """The disk fills while TensorBoard's writer thread writes (2,000 bytes of slack: its events come first),
    or while the main thread does (20,000): one line, exit 1, the checkpoint intact."""
    run = _interrupted(tmp_path)
    checkpoint = (run / "checkpoint.pt").read_bytes()
    limit = sum(p.stat().st_size for p in run.iterdir() if p.suffix == ".jsonl") + slack

    def small_disk() -> None:  # writes past `limit` bytes fail with EFBIG, as with a full disk
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    proc = popen("optim", "train", "--resume", str(run), preexec_fn=small_disk)
    _, err = proc.communicate(timeout=300)
    lines = [line for line in err.splitlines() if line.strip()]
    assert proc.returncode == 1 and len(lines) == 1 and "File too large" in lines[0], err
    assert "Traceback" not in err
    assert (run / "checkpoint.pt").read_bytes() == checkpoint or load_checkpoint(run / "checkpoint.pt")


def test_rl_eval_scores_the_kept_best_and_final_agents_as_training_did(tmp_path: Path) -> None:
    # GridRoute with a fixed route is deterministic: a greedy agent scores the same in every episode, so
    # evaluating the kept agents again must give exactly the returns logged when they were kept.
    args = ["rl", "train", "--env", "descentlab/GridRoute-v0", "--algo", "qlearning", "--route", "fixed",
            "--grid-size", "6", "--total-steps", "3000", "--eval-every", "250", "--out", str(tmp_path)]  # fmt: skip
    assert cli(*args).returncode == 0
    (run,) = tmp_path.glob("rl-train/*")
    m = json.loads((run / "summary.json").read_text())["metrics"]
    evals = [r["eval/mean_return"] for r in read_metrics(run / "metrics.jsonl") if "eval/mean_return" in r]
    assert m["best/mean_return"] == pytest.approx(max(evals[:-1]), abs=1e-9)  # the best periodic evaluation
    for agent, expected in (("best", m["best/mean_return"]), ("final", m["final/mean_return"])):
        result = cli("rl", "eval", str(run), "--episodes", "3", "--json", "--agent", agent)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["mean_return"] == pytest.approx(expected, abs=1e-9), agent
    assert (run / "best_agent.pt").is_file() and (run / "agent.pt").is_file()


@pytest.mark.slow
def test_rl_keeps_the_best_agent_and_eval_uses_it(tmp_path: Path) -> None:
    """DQN on CartPole at seed 4242 scores 500 in every evaluation from 34k steps, then its final agent
    slips (463.75 over 100 episodes); the kept best agent is the solved one."""
    train = cli("rl", "train", "--env", "CartPole-v1", "--algo", "dqn", "--seed", "4242", "--out", str(tmp_path))
    assert train.returncode == 0, train.stderr
    (run,) = tmp_path.glob("rl-train/*")
    best = json.loads(cli("rl", "eval", str(run), "--episodes", "100", "--json").stdout)
    final = json.loads(cli("rl", "eval", str(run), "--episodes", "100", "--json", "--agent", "final").stdout)
    assert best["agent"] == "best" and best["mean_return"] >= 475, best
    assert final["mean_return"] < best["mean_return"], final  # the final agent is the worse one here
    summary = json.loads((run / "summary.json").read_text())["metrics"]
    assert summary["best/mean_return"] == best["mean_return"] and 0 < summary["best/step"] < summary["steps"]


def test_rl_stops_when_solved(tmp_path: Path) -> None:
    args = ["rl", "train", "--env", "descentlab/GridRoute-v0", "--algo", "qlearning", "--route", "fixed",
            "--grid-size", "6", "--total-steps", "20000", "--eval-every", "500", "--out", str(tmp_path)]  # fmt: skip
    assert cli(*args, "--stop-at-return", "-1").returncode == 0  # -1: the shortest route's return
    (run,) = tmp_path.glob("rl-train/*")
    m = json.loads((run / "summary.json").read_text())["metrics"]
    evals = [r for r in read_metrics(run / "metrics.jsonl") if "eval/mean_return" in r][:-1]  # the last: final
    assert m["solved"] == 1.0 and evals[-1]["eval/mean_return"] == pytest.approx(-1.0)  # stopped as it solved it
    assert all(r["eval/mean_return"] < -1.5 for r in evals[:-1]) and m["steps"] == evals[-1]["step"] < 20_000


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
@pytest.mark.e2e
def test_files_written_atomically_get_the_mode_the_umask_gives(umask: int, tmp_path: Path) -> None:
    # The reference: a file made by open(), in a process with the same umask.
    code = (
        "import os, sys; from descentlab.runs import atomic_write_bytes; "
        f"os.umask({umask}); atomic_write_bytes(sys.argv[1] + '/a.json', b'{{}}'); open(sys.argv[1] + '/b', 'w').close()"
    )
    subprocess.run([sys.executable, "-c", code, str(tmp_path)], check=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    mode = stat.S_IMODE((tmp_path / "a.json").stat().st_mode)
    assert mode == stat.S_IMODE((tmp_path / "b").stat().st_mode) == 0o666 & ~umask, oct(mode)


AFTER_LAST_CHECKPOINT = {
    "landscape-minima": "landscape minima --starts 20 --steps 50",
    "landscape-plateau": "landscape plateau --radii 3",
    "landscape-steep": "landscape steep --steps 200",
    "landscape-saddle": "landscape saddle --steps 300",
    "neuro-train-snn": "neuro train-snn --hidden 32 --steps 4 --epochs 1 --train-size 500 --val-size 200",
}


@pytest.mark.parametrize("name", list(AFTER_LAST_CHECKPOINT))
def test_a_run_killed_after_its_last_checkpoint_resumes_to_the_same_records_and_summary(
    name: str, tmp_path: Path
) -> None:
    # The slow kill tests found these: a kill between the last checkpoint and the summary left a run whose
    # resume logged its result twice (the landscape demonstrations) or lost the spiking network's counts.
    args = shlex.split(AFTER_LAST_CHECKPOINT[name])
    assert cli(*args, "--out", str(tmp_path)).returncode == 0
    (run,) = tmp_path.glob("*/*")
    records, summary = read_metrics(run / "metrics.jsonl"), json.loads((run / "summary.json").read_text())
    (run / "summary.json").write_text(json.dumps({"status": "running"}))  # as a SIGKILL there leaves it
    resumed = cli(*args[:2], "--resume", str(run))
    assert resumed.returncode == 0, resumed.stderr
    assert read_metrics(run / "metrics.jsonl") == records
    assert json.loads((run / "summary.json").read_text())["metrics"] == summary["metrics"]
