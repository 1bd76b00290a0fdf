"""descentlab hpo: Optuna searches over real runs, SQLite and a real PostgreSQL server, pruning, resume."""

from __future__ import annotations

import json
import math
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest
from conftest import REPO, TINY, assert_one_line_error, cli, cli_process

from descentlab.runs import load_run

BOWL = ["--landscape", "quadratic-bowl", "--optimizers", "sgd", "--steps", "40"]


def _bowl_final_f(lr: float, steps: int = 40) -> float:
    """Gradient descent on f = (x^2 + 25 y^2) / 2 from (-1.8, 0.8), in closed form: each coordinate
    shrinks by (1 - lr * curvature) per step."""
    x, y = -1.8 * (1 - lr) ** steps, 0.8 * (1 - 25 * lr) ** steps
    return 0.5 * (x * x + 25 * y * y)


def test_race_search_scores_runs_exactly_and_writes_a_config_that_reproduces_the_best(tmp_path: Path) -> None:
    result = cli("hpo", "optim-race", "--trials", "8", *BOWL, "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    folder = tmp_path / "hpo" / "optim-race-quadratic-bowl"
    trials = json.loads((folder / "trials.json").read_text())
    assert len(trials) == 8 and all(t["state"] == "complete" for t in trials)
    for t in trials:  # every trial's objective is the closed-form f at its rate (1e-9 relative), or inf
        expected = _bowl_final_f(t["params"]["lr"])
        if t["params"]["lr"] < 2 / 25:  # stable along y
            assert abs(float(t["value"]) - expected) <= 1e-9 * max(expected, 1e-300), t
        assert load_run(t["run"]).status == "complete"
    best = min(trials, key=lambda t: float(t["value"]))
    config = tomllib.loads((folder / "best.toml").read_text())
    assert config["lr"] == f"sgd={best['params']['lr']!r}" and config["landscape"] == "quadratic-bowl"
    assert (folder / "history.png").stat().st_size > 5000

    again = cli("optim", "race", "--config", str(folder / "best.toml"), "--out", str(tmp_path / "again"))
    assert again.returncode == 0, again.stderr
    (run,) = (tmp_path / "again" / "optim-race").iterdir()
    assert load_run(run).final()["sgd/final_loss"] == pytest.approx(float(best["value"]), rel=1e-12)


def test_a_diverged_race_ranks_last(tmp_path: Path) -> None:
    # lr > 2/25 diverges along y; its last finite f must not count as a good result.
    from descentlab.experiments.optim.race import OPTIM_RACE, RaceConfig

    cfg = RaceConfig(landscape="quadratic-bowl", optimizers="sgd")
    space = OPTIM_RACE.search
    assert space is not None
    assert space.value(cfg, {"sgd/final_loss": 0.5, "sgd/diverged": 1.0}) == float("inf")
    assert space.value(cfg, {"sgd/final_loss": 0.5, "sgd/diverged": 0.0}) == 0.5


def test_search_continues_a_study_and_holds_given_settings_fixed(tmp_path: Path) -> None:
    args = ["hpo", "optim-race", *BOWL, "--out", str(tmp_path)]
    assert cli(*args, "--trials", "3").returncode == 0
    second = cli(*args, "--trials", "5")
    assert second.returncode == 0, second.stderr
    assert "3 of 5 trials finished" in second.stdout
    runs = list((tmp_path / "hpo" / "optim-race-quadratic-bowl" / "optim-race").iterdir())
    assert len(runs) == 5  # only the two missing trials ran
    done = cli(*args, "--trials", "4")
    assert "already holds 5 finished trials" in done.stdout

    changed = cli(*args[:-2], "--steps", "41", "--trials", "6", "--out", str(tmp_path))
    assert_one_line_error(changed, "--study optim-race-quadratic-bowl", "--steps 40")
    nothing = cli(*args, "--trials", "2", "--lr", "sgd=0.01", "--study", "fixed-lr")
    assert nothing.returncode == 0  # a fixed lr leaves nothing to search: every trial is the same run
    trials = json.loads((tmp_path / "hpo" / "fixed-lr" / "trials.json").read_text())
    assert [t["params"] for t in trials] == [{}, {}]
    assert trials[0]["value"] == pytest.approx(_bowl_final_f(0.01), rel=1e-9)


def test_pruning_stops_poor_training_runs(tmp_path: Path) -> None:
    args = ["hpo", "optim-train", "--trials", "8", *TINY, "--epochs", "3", "--optimizer", "sgd"]
    result = cli(*args, "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    trials = json.loads((tmp_path / "hpo" / "optim-train-mnist-sgd" / "trials.json").read_text())
    pruned = [t for t in trials if t["state"] == "pruned"]
    complete = [t for t in trials if t["state"] == "complete"]
    assert pruned and complete, [t["state"] for t in trials]
    for t in pruned:  # stopped early: its run folder says so and holds fewer steps than the 3 epochs
        record = load_run(t["run"])
        assert record.status == "pruned"
        assert max(r["step"] for r in record.metrics) < 3 * math.ceil(2000 / t["params"]["batch_size"])
    for t in complete:
        assert float(t["value"]) == pytest.approx(load_run(t["run"]).final()["val/loss"], rel=1e-12)
    best = min(complete, key=lambda t: float(t["value"]))
    config = tomllib.loads((tmp_path / "hpo" / "optim-train-mnist-sgd" / "best.toml").read_text())
    assert config["lr"] == best["params"]["lr"] and config["batch_size"] == best["params"]["batch_size"]
    assert config["train_size"] == 2000 and config["hidden"] == 32


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["optim-race", "--trials", "0"], ["--trials: 0 is out of range", "1 <= trials"]),
        (["optim-race", "--trials", "2", "--optimizers", "sgd,adam"], ["one optimizer's learning rate"]),
        (["optim-race", "--trials", "2", "--optimizers", "sgd", "--storage", "nosuch://x"], ["--storage", "valid:"]),
        (["optim-race", "--trials", "2", "--optimizers", "sgd", "--study", "a/b"], ["--study: 'a/b' is not valid"]),
        (
            ["optim-race", "--trials", "2", "--optimizers", "sgd", "--storage", "postgresql://u:secret@127.0.0.1:1/db"],
            ["cannot open", "postgresql://u:***@127.0.0.1:1/db"],
        ),
    ],
)
def test_bad_search_settings_give_one_line_errors(tmp_path: Path, args: list[str], fragments: list[str]) -> None:
    result = cli("hpo", *args, "--out", str(tmp_path))
    assert_one_line_error(result, *fragments)
    assert "secret" not in result.stderr


def _signal_mid_trial(args: list[str], out: Path, trial: int, logged: int, signum: int
                      ) -> tuple[subprocess.Popen[str], str]:  # fmt: skip
    """``descentlab ARGS --out OUT`` in a process, sent ``signum`` once trial ``trial`` has logged ``logged``
    bytes of metrics; the process, ended, and its stderr."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "descentlab.cli.main", *args, "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if any(p.stat().st_size > logged for p in out.glob(f"hpo/*/optim-train/trial-{trial}__*/metrics.jsonl")):
            break
        time.sleep(0.05)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=120)
    return proc, err


@pytest.mark.slow  # 29 s
@pytest.mark.e2e
def test_ctrl_c_fails_the_trial_and_the_next_run_retries_its_settings_first(tmp_path: Path) -> None:
    args = ["hpo", "optim-train", "--trials", "3", *TINY, "--epochs", "2", "--batch-size", "10", "--no-prune"]
    proc, err = _signal_mid_trial(args, tmp_path, trial=1, logged=2000, signum=signal.SIGINT)
    assert proc.returncode == 130, err
    assert "resume with: descentlab hpo optim-train --trials 3" in err and "Traceback" not in err

    storage = optuna.storages.RDBStorage(f"sqlite:///{tmp_path / 'hpo' / 'optuna.db'}")
    study = optuna.load_study(study_name="optim-train-mnist-sgd", storage=storage)
    failed = [t for t in study.trials if t.state == optuna.trial.TrialState.FAIL]
    assert len(failed) == 1 and failed[0].number == 1
    again = cli_process(*args, "--out", str(tmp_path))
    assert again.returncode == 0, again.stderr
    study = optuna.load_study(study_name="optim-train-mnist-sgd", storage=storage)
    by_number = {t.number: t for t in study.trials}
    assert by_number[2].params == failed[0].params  # the interrupted settings were tried first
    assert sum(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials) == 3


# ---- PostgreSQL: a real server, started for these tests -------------------------------------------------


def _pg_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    if not found:
        pytest.fail("PostgreSQL is not installed: run 'bash scripts/setup.sh --dev' (it installs postgresql)")
    return found[-1].parent


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL server on a Unix socket (as user postgres when the tests run as root)."""
    bindir = _pg_bin()
    root = Path(tempfile.mkdtemp(prefix="dlpg-"))
    root.chmod(0o755)
    as_user: list[str] = []
    if os.geteuid() == 0:  # the server refuses to run as root
        shutil.chown(root, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = root / "data", str(54000 + os.getpid() % 1000)

    def pg(*cmd: str) -> None:
        subprocess.run([*as_user, *cmd], check=True, capture_output=True, timeout=120)

    pg(str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres")
    opts = f"-k {root} -p {port} -c listen_addresses='' -c fsync=off"
    pg(str(bindir / "pg_ctl"), "-D", str(data), "-o", opts, "-l", str(root / "log"), "-w", "start")
    try:
        pg(str(bindir / "createdb"), "-h", str(root), "-p", port, "-U", "postgres", "optuna")
        yield f"postgresql+psycopg2://postgres@/optuna?host={root}&port={port}"
    finally:
        pg(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.slow  # 22 s; --workers on SQLite stays in the default suite
@pytest.mark.e2e
def test_workers_share_a_study_on_postgresql(tmp_path: Path, postgres_url: str) -> None:
    args = ["hpo", "optim-race", "--landscape", "rosenbrock", "--optimizers", "momentum", "--steps", "4000"]
    args += ["--trials", "10", "--storage", postgres_url, "--study", "shared", "--out", str(tmp_path)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}

    def worker(seed: int) -> subprocess.Popen[str]:
        return subprocess.Popen([sys.executable, "-m", "descentlab.cli.main", *args, "--sampler-seed", str(seed)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)  # fmt: skip

    def complete() -> list[optuna.trial.FrozenTrial]:
        try:
            study = optuna.load_study(study_name="shared", storage=postgres_url)
        except KeyError:  # not created yet
            return []
        return [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]

    first = worker(1)
    deadline = time.time() + 120
    while time.time() < deadline and first.poll() is None and not complete():
        time.sleep(0.2)
    second = worker(2)  # joins the study the first one made, while it is running
    for p in (first, second):
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    done = complete()
    assert len(done) >= 10, len(done)  # each worker stops once the study holds 10; one may finish a trial in flight
    workers = [t.user_attrs["worker"] for t in done]
    assert len(set(workers)) == 2, workers  # both workers ran trials of the one study
    config = tomllib.loads((tmp_path / "hpo" / "shared" / "best.toml").read_text())
    best = min(done, key=lambda t: t.value)
    assert config["lr"] == f"momentum={best.params['lr']!r}"


@pytest.mark.e2e
def test_workers_option_runs_that_many_processes_on_one_sqlite_study(tmp_path: Path) -> None:
    """``--workers 2``: this process and a helper share the default SQLite study; both run trials, the study ends
    with the trials asked for (one more may finish in flight), and best.toml is the best of all of them."""
    result = cli_process("hpo", "optim-race", *BOWL, "--trials", "6", "--workers", "2", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    rows = json.loads((tmp_path / "hpo" / "optim-race-quadratic-bowl" / "trials.json").read_text())
    complete = [r for r in rows if r["state"] == "complete"]
    assert 6 <= len(complete) <= 7, rows
    assert len({r["worker"] for r in complete}) == 2  # two processes ran trials
    config = tomllib.loads((tmp_path / "hpo" / "optim-race-quadratic-bowl" / "best.toml").read_text())
    best = min(complete, key=lambda r: r["value"])
    assert config["lr"] == f"sgd={best['params']['lr']!r}"


# ---- continuing a study after a kill, and storages that cannot hold one --------------------------------


@pytest.mark.e2e
def test_a_continued_study_proposes_new_settings_and_fails_a_killed_workers_trial(tmp_path: Path) -> None:
    args = ["hpo", "optim-race", *BOWL, "--out", str(tmp_path)]
    assert cli(*args, "--trials", "2").returncode == 0
    # A worker of this machine that was killed (SIGKILL: no handler ran) left its trial "running".
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    storage = optuna.storages.RDBStorage(f"sqlite:///{tmp_path / 'hpo' / 'optuna.db'}")
    study = optuna.load_study(study_name="optim-race-quadratic-bowl", storage=storage)
    killed = study.ask()
    lr = killed.suggest_float("lr", 1e-4, 1.0, log=True)
    killed.set_user_attr("worker", f"{socket.gethostname()}:{dead.pid}")

    again = cli(*args, "--trials", "5")
    assert again.returncode == 0, again.stderr
    assert (
        f"trial 2 was left running by a worker that is gone ({socket.gethostname()}:{dead.pid}): failed" in again.stdout
    )
    trials = json.loads((tmp_path / "hpo" / "optim-race-quadratic-bowl" / "trials.json").read_text())
    states = [t["state"] for t in trials]
    assert states == ["complete", "complete", "fail", "complete", "complete", "complete"], states
    lrs = [t["params"]["lr"] for t in trials]
    assert lrs[3] == lr  # the killed trial's settings are tried first
    assert lrs[4] not in lrs[:2] and lrs[5] not in lrs[:2], lrs  # not the first trials' settings again


@pytest.mark.parametrize(
    ("storage", "fragment"),
    [
        ("sqlite://", "an in-memory database forgets the study"),
        ("sqlite:///:memory:", "an in-memory database forgets the study"),
        ("sqlite:///{file}/x.db", "cannot make its folder"),
        ("not a url at all", "not a database URL"),
    ],
)
def test_storages_that_cannot_hold_a_study_are_one_line(tmp_path: Path, storage: str, fragment: str) -> None:
    (tmp_path / "file").write_text("x")
    url = storage.format(file=tmp_path / "file")
    result = cli("hpo", "optim-race", "--trials", "2", *BOWL, "--storage", url, "--out", str(tmp_path / "o"))
    assert_one_line_error(result, "--storage", fragment)


@pytest.mark.parametrize(("args", "fragment"), [
    (["--sampler-seed", "-1"], "--sampler-seed: -1 is out of range"),
    (["--sampler-seed", "2147483648"], "--sampler-seed: 2147483648 is out of range"),
    (["--out", "{file}/runs"], "--out {file}/runs/hpo/optim-race-quadratic-bowl/best.toml: cannot make its folder"),
])  # fmt: skip
def test_bad_search_seeds_and_outputs_are_one_line(tmp_path: Path, args: list[str], fragment: str) -> None:
    (tmp_path / "file").write_text("x")
    args = [a.format(file=tmp_path / "file") for a in args]
    result = cli("hpo", "optim-race", "--trials", "2", *BOWL, *args)
    assert_one_line_error(result, fragment.format(file=tmp_path / "file"))


@pytest.mark.e2e
@pytest.mark.parametrize(("signum", "code"), [
    (signal.SIGTERM, 143),
    pytest.param(signal.SIGHUP, 129, marks=pytest.mark.slow),  # the same path as SIGTERM's, another number
])  # fmt: skip
def test_a_stop_signal_ends_a_search_with_its_own_exit_code(tmp_path: Path, signum: int, code: int) -> None:
    """As every other command: 128 + the signal's number (the interrupted trial's checkpoint kept, its
    settings queued first)."""
    args = ["hpo", "optim-train", "--trials", "3", *TINY, "--epochs", "2", "--batch-size", "10", "--no-prune"]
    proc, err = _signal_mid_trial(args, tmp_path, trial=0, logged=500, signum=signum)
    assert proc.returncode == code, err
    assert "Traceback" not in err and "resume with: descentlab hpo optim-train" in err


@pytest.mark.e2e
def test_a_full_disk_under_the_study_is_a_system_error_on_one_line(tmp_path: Path) -> None:
    def small_disk() -> None:  # writes past 40 kB fail with EFBIG, as on a full disk
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (40_000, 40_000))

    args = ["hpo", "optim-train", "--trials", "2", *TINY, "--epochs", "1", "--out", str(tmp_path)]
    proc = subprocess.Popen([sys.executable, "-m", "descentlab.cli.main", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO)},
                            preexec_fn=small_disk)  # fmt: skip
    _, err = proc.communicate(timeout=300)
    lines = [line for line in err.splitlines() if line.strip()]
    assert proc.returncode == 1 and len(lines) == 1, err
    assert ("No space left on device" in lines[0] or "disk I/O error" in lines[0]) and "optuna.db" in lines[0]
    assert "Traceback" not in err
