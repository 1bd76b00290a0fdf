"""Runs killed at random points (SIGKILL: no warning; SIGTERM: a scheduler's stop) and resumed end with the
metrics of a run never stopped, step for step, for every experiment. The experiments run their quick-tour
settings as a user would, in a process of their own, with a checkpoint every second."""

from __future__ import annotations

import random
import shlex
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from conftest import popen

from descentlab.config import command_line
from descentlab.experiments import EXPERIMENTS, TourSettings
from descentlab.runs import load_checkpoint, load_run, read_metrics

pytestmark = pytest.mark.e2e  # killed CLI processes

QUICK = {e.name: e.tour(TourSettings(quick=True))[0] for e in EXPERIMENTS if e.tour is not None}
FAST = ["optim-train"]  # the default suite's share (-m slow: every experiment, optim-race included)
INEXACT = {"rl-train"}  # a resumed agent meets new episodes: its records up to the checkpoint are compared


def argv(name: str) -> list[str]:
    """The command line of ``QUICK[name]``: the invocation and every setting that is not the default."""
    exp = next(e for e in EXPERIMENTS if e.name == name)
    return shlex.split(command_line(QUICK[name], exp.command))


def _run(name: str, out: Path, **kwargs: Any) -> subprocess.Popen[str]:
    return popen(*argv(name), "--out", str(out), "--checkpoint-seconds", "1", **kwargs)


def _first_record(proc: subprocess.Popen[str], out: Path, timeout: float = 300) -> float:
    """Wait until the run under ``out`` has logged its first record (or the process ended); returns when."""
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        if any(p.stat().st_size > 0 for p in out.glob("*/*/metrics.jsonl")):
            break
        time.sleep(0.02)
    return time.time()


def _unbroken(name: str, out: Path) -> tuple[Path, float]:
    """The run never stopped, and the seconds from its first record to the end of its training."""
    proc = _run(name, out)
    logging = _first_record(proc, out)
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    (run,) = out.glob("*/*/config.json")
    trained = max((p.stat().st_mtime for p in run.parent.glob("*.jsonl")), default=logging)  # the last record
    return run.parent, max(trained - logging, 0.1)


TALLY: Counter[str] = Counter()  # what became of this session's kills, printed at the end (see conftest)


def kill_and_resume(name: str, signum: int, tmp_path: Path, seed: int) -> None:
    try:
        TALLY[_kill_and_resume(name, signum, tmp_path, seed)] += 1
    except AssertionError:
        TALLY["failed"] += 1
        raise


def _kill_and_resume(name: str, signum: int, tmp_path: Path, seed: int) -> str:
    reference, seconds = _unbroken(name, tmp_path / "unbroken")
    # Seed 0 and odd seeds: at a random point of training; even seeds > 0: at any point from the start of the
    # process (before its folder exists, or after the run ended, a kill has nothing to lose).
    rng = random.Random(f"{name}-{signum}-{seed}")
    proc = _run(name, tmp_path / "killed")
    if seed == 0 or seed % 2:
        _first_record(proc, tmp_path / "killed")
        time.sleep(rng.uniform(0.0, 0.9 * seconds))
    else:
        time.sleep(rng.uniform(0.5, seconds + 3.0))  # the process starts in about 3 s
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=600)
    assert "Traceback" not in err, err
    found = list((tmp_path / "killed").glob("*/*/config.json"))
    if not found:  # killed before it made its folder: nothing to lose
        assert proc.returncode == -signum or proc.returncode == 128 + signum, err
        return "killed before its run folder was made"
    run = found[0].parent
    if signum == signal.SIGTERM and proc.returncode != 0:
        assert proc.returncode == 143 and "resume with:" in err, err
    checkpoint_step = load_checkpoint(run / "checkpoint.pt")["step"] if (run / "checkpoint.pt").exists() else -1
    finished = load_run(run).status == "complete"
    if not finished:  # resumed as a user would: a process of its own, like the runs it is compared with
        exp = next(e for e in EXPERIMENTS if e.name == name)
        again = popen(*exp.command.split(), "--resume", str(run))
        _, err = again.communicate(timeout=600)
        assert again.returncode == 0, err
    resumed, unbroken = read_metrics(run / "metrics.jsonl"), read_metrics(reference / "metrics.jsonl")
    if name in INEXACT:
        assert [r for r in resumed if r["step"] <= checkpoint_step] == [
            r for r in unbroken if r["step"] <= checkpoint_step
        ]
        assert load_run(run).status == "complete" and resumed[-1]["step"] == unbroken[-1]["step"]
    else:
        assert resumed == unbroken, f"{name} killed with {signum} (seed {seed})"
    if finished:
        return "finished before the signal"
    return "resumed: identical" if name not in INEXACT else "resumed: identical up to the checkpoint"


@pytest.mark.parametrize("name", FAST)
def test_a_killed_run_resumes_to_the_unbroken_metrics(name: str, tmp_path: Path) -> None:
    kill_and_resume(name, signal.SIGKILL, tmp_path, seed=0)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
@pytest.mark.parametrize("name", sorted(QUICK))
def test_every_experiment_killed_at_random_points_resumes_exactly(
    name: str, signum: int, seed: int, tmp_path: Path
) -> None:
    kill_and_resume(name, signum, tmp_path, seed)
