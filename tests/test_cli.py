"""The ``descentlab`` command as a user meets it: help, one-line errors, Ctrl-C and --resume."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO, TINY, assert_one_line_error, cli, cli_process

from descentlab.cli.builtin import COMMANDS as COMMANDS_DECLARED
from descentlab.cli.builtin import GROUPS
from descentlab.cli.flags import flag
from descentlab.config import field_type
from descentlab.experiments import Command
from descentlab.runs import read_metrics

COMMANDS = {cmd.command: cmd for cmd in COMMANDS_DECLARED}
PATHS = [[], *[[g.name] for g in GROUPS], *[cmd.command.split() for cmd in COMMANDS_DECLARED]]


@pytest.mark.parametrize("command", PATHS, ids=lambda c: " ".join(c) or "descentlab")
def test_help_says_what_and_shows_an_example(command: list[str]) -> None:
    result = cli(*command, "--help")
    assert result.returncode == 0, result.stderr
    assert f"usage: descentlab {' '.join(command)}".rstrip() in result.stdout
    assert "examples:\n  descentlab " in result.stdout
    if command and " ".join(command) in COMMANDS:
        cmd = COMMANDS[" ".join(command)]
        for cls in (cmd.options, cmd.settings):
            for f in dataclasses.fields(cls) if cls else ():
                shown = f.metadata.get("metavar") or f.name.upper() if f.metadata.get("positional") else flag(f.name)
                assert shown in result.stdout, shown  # every declared setting is on the command line


def test_every_command_is_reached_and_nothing_else() -> None:
    """The parser holds exactly the declared commands (groups only as their first words)."""
    import argparse

    from descentlab.cli.main import build_parser

    found = []

    def walk(parser: argparse.ArgumentParser, path: list[str]) -> None:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs:
            found.append(" ".join(path))
        for action in subs:
            for name, child in action.choices.items():
                walk(child, [*path, name])

    walk(build_parser(), [])
    assert sorted(found) == sorted(COMMANDS)


def _valid(cls: type, f: dataclasses.Field) -> list[str]:
    """A valid value for a required field."""
    if f.metadata.get("choices"):
        return [str(f.metadata["choices"][0])]
    base, _ = field_type(cls, f.name)
    if base in (int, float):
        return [str(f.metadata.get("low") or 1)]
    return ["out.gif"] if f.name == "out" else ["value"]


def bad_values(cmd: Command) -> list[tuple[list[str], str]]:
    """For each declared setting with a range or choices: arguments that give it a value outside them (every
    required argument valid), and a fragment the one-line error must hold. The command's own settings come
    before the seed and device every run has. A command with none gets a run folder that does not exist,
    or an unknown flag."""
    required: list[str] = []
    bad: list[tuple[list[str], str]] = []
    for cls in (cmd.options, cmd.settings):
        for f in dataclasses.fields(cls) if cls else ():
            meta, name = f.metadata, flag(f.name)
            base, _ = field_type(cls, f.name)
            if meta.get("positional"):
                required.append("/nonexistent/run")
            elif meta.get("required"):
                required += [name, *_valid(cls, f)]
            elif base in (int, float) and meta.get("low") is not None:
                value = base(meta["low"]) - 1
                bad.append(([name, str(value)], f"{name}: {value!r} is out of range"))
            elif base in (int, float) and meta.get("high") is not None:
                value = base(meta["high"]) + 1
                bad.append(([name, str(value)], f"{name}: {value!r} is out of range"))
            elif meta.get("choices") and base is str:
                bad.append(([name, "no-such-choice"], f"{name}: 'no-such-choice' is not valid"))
    bad.sort(key=lambda b: b[0][0] in ("--seed", "--device"))
    words = cmd.command.split()
    if bad:
        return [([*words, *required, *args], fragment) for args, fragment in bad]
    if "/nonexistent/run" in required:
        return [([*words, *required], "/nonexistent/run")]
    return [([*words, "--no-such-flag"], "unrecognized arguments: --no-such-flag")]


def _out(cmd: Command, tmp_path: Path) -> list[str]:
    """``--out TMP`` for commands that write run folders, so that the test can see nothing was written."""
    writes = cmd.options is not None and any(
        f.name == "out" and f.default == "runs" for f in dataclasses.fields(cmd.options)
    )
    return ["--out", str(tmp_path)] if writes else []


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_refuses_a_bad_value_in_one_line(command: str, tmp_path: Path) -> None:
    cmd = COMMANDS[command]
    args, fragment = bad_values(cmd)[0]
    assert_one_line_error(cli(*args, *_out(cmd, tmp_path)), fragment)
    assert not any(tmp_path.iterdir())  # nothing was written


def test_every_ranged_setting_of_every_command_is_refused_naming_its_flag(tmp_path: Path) -> None:
    checked = 0
    for cmd in COMMANDS.values():
        for args, fragment in bad_values(cmd):
            assert_one_line_error(cli(*args, *_out(cmd, tmp_path)), fragment)
            checked += 1
    assert not any(tmp_path.iterdir())
    assert checked > 250  # 278 settings of 34 commands


def test_optim_train_help_lists_every_setting_with_its_range() -> None:
    out = cli("optim", "train", "--help").stdout
    for name in [
        "--seed",
        "--device",
        "--out",
        "--config",
        "--resume",
        "--optimizer",
        "--lr",
        "--batch-size",
        "--epochs",
    ]:
        assert name in out
    assert "0.0 < lr <= 10.0" in " ".join(out.split())


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["optim", "train", "--lr", "-1"], ["lr: -1.0 is out of range", "0.0 < lr <= 10.0"]),
        (["optim", "train", "--epochs", "two"], ["--epochs: 'two' is not an integer", "1 <= epochs <= 1000"]),
        (["optim", "train", "--lr", "1e-3x"], ["--lr: '1e-3x' is not a number", "0.0 < lr <= 10.0"]),
        (["optim", "train", "--optimizer", "lbfgs"], ["optimizer: 'lbfgs' is not valid", "one of sgd, momentum"]),
        (["optim", "train", "--device", "tpu"], ["device", "one of auto, cpu, cuda"]),
        (["optim", "train", "--momentum", "1.0"], ["momentum: 1.0 is out of range", "0.0 <= momentum < 1.0"]),
        (["optim", "train", "--bogus"], ["unrecognized arguments: --bogus"]),
        (["optimise"], ["invalid choice: 'optimise'"]),
        (["stn", "train", "--bogus"], ["unrecognized arguments: --bogus"]),
        (["lm"], ["required: ACTION"]),
        (["lm", "train", "--bptt", "0"], ["bptt: 0 is out of range", "1 <= bptt"]),
        (["lm", "train", "--decay", "1.5"], ["decay: 1.5 is out of range"]),
        (["rnn", "adding", "--length", "1"], ["length: 1 is out of range"]),
        (["landscape", "surface", "/nonexistent/run"], ["/nonexistent/run"]),
        (["hpo", "optim-train"], ["--trials"]),
        (["generalize", "mnist", "--keep-input", "1.5"], ["--keep-input: 1.5 is out of range"]),
        (["optim", "train", "--resume", "/nonexistent/run"], ["no such run folder"]),
        (["runs", "compare", "/nonexistent/run"], ["not a run folder"]),
        (["report", "/nonexistent/run"], ["no such run folder"]),
        (["tour", "--config", "/nonexistent.toml"], ["--config /nonexistent.toml: no such file"]),
        (
            ["optim", "bench", "--only", "LBFGS"],
            ["--only: 'LBFGS' is not a benchmarked algorithm", "valid: SGD momentum"],
        ),
        (["optim", "bench", "--rounds", "0"], ["--rounds: 0 is out of range", "1 <= rounds"]),
        (
            ["optim", "train", "--regime", "online"],
            ["regime: 'online' is not valid", "full-batch, stochastic, mini-batch"],
        ),
        (["optim", "race", "--landscape", "everest"], ["landscape: 'everest' is not valid", "rosenbrock"]),
        (["optim", "race", "--optimizers", "sgd,lbfgs"], ["optimizers: 'sgd,lbfgs' is not valid", "comma list of sgd"]),
        (["optim", "race", "--start", "1,2,3"], ["start: '1,2,3' is not valid", "'X,Y'"]),
        (["optim", "race", "--lr", "adam=-1"], ["lr: 'adam=-1' is not valid", "VALUE > 0"]),
        (["optim", "race", "--steps", "0"], ["steps: 0 is out of range"]),
    ],
)
def test_bad_input_is_one_line_exit_2(args: list[str], fragments: list[str]) -> None:
    assert_one_line_error(cli(*args), *fragments)


def test_cuda_request_without_a_gpu(tmp_path: Path) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA; the error path is for machines without it")
    result = cli("optim", "train", *TINY, "--device", "cuda", "--out", str(tmp_path))
    assert_one_line_error(result, "CUDA is not available", "valid here: auto, cpu")


def test_config_file_and_flags(tmp_path: Path) -> None:
    config = tmp_path / "adam.toml"
    config.write_text('optimizer = "adam"\nepochs = 1\nhidden = 16\n')
    result = cli("optim", "train", "--config", str(config), *TINY, "--hidden", "24", "--out", str(tmp_path / "runs"))
    assert result.returncode == 0, result.stderr
    (run,) = (tmp_path / "runs" / "optim-train").iterdir()
    stored = json.loads((run / "config.json").read_text())
    assert stored["config"]["optimizer"] == "adam" and stored["config"]["epochs"] == 1
    assert stored["config"]["hidden"] == 24  # the flag overrides the file


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("optimiser = 'adam'\n", ["unknown key 'optimiser'", "valid keys:"]),
        ("lr = 'fast'\n", ["lr: 'fast' is not a number"]),
        ("epochs = 0\n", ["epochs: 0 is out of range", "1 <= epochs <= 1000"]),
        ("epochs = = 1\n", ["cannot parse"]),
    ],
)
def test_bad_config_file_is_one_line_exit_2(tmp_path: Path, text: str, fragments: list[str]) -> None:
    config = tmp_path / "c.toml"
    config.write_text(text)
    assert_one_line_error(cli("optim", "train", "--config", str(config), "--out", str(tmp_path)), *fragments)
    assert not (tmp_path / "optim-train").exists()  # nothing was started


@pytest.mark.e2e
def test_missing_data_set_names_the_package(tmp_path: Path) -> None:
    env = {"DESCENTLAB_FASHION_MNIST_DIR": str(tmp_path / "none")}
    result = cli_process("optim", "train", "--dataset", "fashion-mnist", *TINY, "--out", str(tmp_path), env=env)
    assert_one_line_error(result, "apt-get install dataset-fashion-mnist")


def test_data_check_reports_each_set() -> None:
    result = cli("data", "check", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["mnist"]["sizes"] == {"train": 60000, "test": 10000}
    assert report["ptb"]["sizes"] == {"train": 929589, "valid": 73760, "test": 82430}
    assert all(entry["present"] and entry["intact"] for entry in report.values())
    table = cli("data", "check").stdout
    assert "fashion-mnist" in table and "train=60,000" in table


def test_data_check_flags_a_missing_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESCENTLAB_FASHION_MNIST_DIR", str(tmp_path))
    result = cli("data", "check", "--json")
    assert result.returncode == 1
    entry = json.loads(result.stdout)["fashion-mnist"]
    assert entry == {"present": False, "intact": False, "sizes": {}, "note": "apt-get install dataset-fashion-mnist"}


def _popen(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-m", "descentlab.cli.main", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


@pytest.mark.slow  # 30 s; test_kill (SIGKILL and resume) and test_runs (stop and resume) cover it by default
@pytest.mark.e2e
def test_ctrl_c_checkpoints_exits_130_and_resume_matches_an_unbroken_run(tmp_path: Path) -> None:
    args = ["optim", "train", *TINY, "--batch-size", "10", "--epochs", "10", "--optimizer", "momentum"]
    proc = _popen(*args, "--out", str(tmp_path / "broken"))
    metrics = None
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        found = list((tmp_path / "broken").glob("optim-train/*/metrics.jsonl"))
        if found and len(read_metrics(found[0])) >= 20:
            metrics = found[0]
            break
        time.sleep(0.05)
    assert metrics is not None, "training did not start logging"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    run_dir = metrics.parent
    assert f"checkpoint written to {run_dir / 'checkpoint.pt'}" in err
    assert f"resume with: descentlab optim train --resume {run_dir}" in err
    assert "Traceback" not in err
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "interrupted" and 0 < summary["step"] < 2000

    resumed = cli_process("optim", "train", "--resume", str(run_dir))
    assert resumed.returncode == 0, resumed.stderr
    unbroken = cli_process(*args, "--out", str(tmp_path / "unbroken"))
    assert unbroken.returncode == 0, unbroken.stderr
    (other,) = (tmp_path / "unbroken").glob("optim-train/*/metrics.jsonl")
    assert read_metrics(metrics) == read_metrics(other)
    assert (
        json.loads((run_dir / "summary.json").read_text())["metrics"]
        == json.loads((other.parent / "summary.json").read_text())["metrics"]
    )


def test_resume_rejects_config_flags(tmp_path: Path) -> None:
    result = cli("optim", "train", "--resume", str(tmp_path), "--lr", "0.5")
    assert_one_line_error(result, "--resume continues a run with its stored config; drop --lr")


def test_runs_list_and_compare(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    for opt in ("sgd", "adam"):
        assert cli("optim", "train", *TINY, "--epochs", "1", "--optimizer", opt, "--out", str(root)).returncode == 0
    listing = cli("runs", "list", "--out", str(root))
    assert listing.returncode == 0 and listing.stdout.count("complete") == 2
    assert "no runs under" in cli("runs", "list", "--out", str(root), "--experiment", "rl-train").stdout
    assert_one_line_error(cli("runs", "list", "--out", str(root), "--experiment", "nope"),
                          "--experiment: 'nope' is not an experiment; valid: optim-race, ")  # fmt: skip
    dirs = sorted(str(p) for p in (root / "optim-train").iterdir())
    compare = cli("runs", "compare", *dirs)
    assert compare.returncode == 0
    assert any(line.split()[:1] == ["config.optimizer"] for line in compare.stdout.splitlines())


def test_optim_list_prints_the_unit_eight_with_their_rules() -> None:
    result = cli("optim", "list")
    assert result.returncode == 0
    entries = [line for line in result.stdout.splitlines() if line[:1].isdigit()]
    assert len(entries) == 8
    assert entries[0] == "1. gradient descent [full batch]"
    assert entries[7].startswith("8. Adam [mini-batch (32)]")
    assert "m/(1-b1^t)" in result.stdout  # Adam's bias correction, which the unit omits


def test_optim_race_writes_paths_figures_and_table(tmp_path: Path) -> None:
    args = ["--landscape", "himmelblau", "--optimizers", "sgd,adam", "--steps", "40", "--gif", "--out", str(tmp_path)]
    result = cli("optim", "race", *args)
    assert result.returncode == 0, result.stderr
    (run,) = (tmp_path / "optim-race").iterdir()
    assert {"race.png", "race.gif", "trajectories.json", "config.json", "summary.json"} <= {
        p.name for p in run.iterdir()
    }
    data = json.loads((run / "trajectories.json").read_text())
    assert [p["name"] for p in data["paths"]] == ["sgd", "adam"] and len(data["paths"][0]["points"]) == 41
    assert "distance to nearest minimum" in result.stdout and "adam" in result.stdout
    assert (run / "race.gif").read_bytes()[:6] == b"GIF89a"


def test_landscape_hessian_of_a_trained_run(tmp_path: Path) -> None:
    assert cli("optim", "train", *TINY, "--epochs", "1", "--out", str(tmp_path)).returncode == 0
    (run,) = (tmp_path / "optim-train").iterdir()
    result = cli("landscape", "hessian", str(run), "--examples", "200", "--k", "2", "--samples", "4")
    assert result.returncode == 0, result.stderr
    saved = json.loads((run / "hessian.json").read_text())
    assert saved["parameters"] == 784 * 32 + 32 + 32 * 10 + 10 and saved["examples"] == 200
    top = saved["top_eigenvalues"]
    assert len(top) == 2 and top[0] >= top[1] > 0  # a trained network sits in a basin with positive curvature
    assert (run / "hessian_density.png").read_bytes()[:4] == b"\x89PNG"
    assert f"top eigenvalues: {top[0]:.4g}" in result.stdout
    assert cli("optim", "race", "--steps", "5", "--optimizers", "sgd", "--out", str(tmp_path)).returncode == 0
    (race,) = (tmp_path / "optim-race").iterdir()
    assert_one_line_error(cli("landscape", "hessian", str(race)), "needs an optim-train run")
    assert_one_line_error(
        cli("landscape", "hessian", str(run), "--k", "0"), "--k: 0 is out of range; valid: an integer, 1 <= k"
    )


def test_landscape_saddle_prints_steps_to_escape(tmp_path: Path) -> None:
    result = cli("landscape", "saddle", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line.split()[1] for line in result.stdout.splitlines()[-3:]}
    assert set(rows) == {"gd", "noise", "hessian"}
    assert int(rows["hessian"]) < int(rows["gd"]) and int(rows["noise"]) < int(rows["gd"])
    (run,) = (tmp_path / "landscape-saddle").iterdir()
    assert (run / "escape.png").exists() and (run / "escapes.json").exists()
    assert_one_line_error(cli("landscape", "saddle", "--lr", "0.5"), "lr: 0.5 is out of range")
