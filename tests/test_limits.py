"""Sizes and times within reason: settings that would exhaust the memory, run for days or never end are
refused on one line before a run folder is made; GridRoute maps are checked whole; values that used to be
accepted and then crash (a temperature of 1e-300, a figure in a missing folder) are refused up front."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from conftest import assert_one_line_error, cli, cli_process

from descentlab.errors import UserError
from descentlab.rl.envs import GridRoute, parse_map

# What the probe found running out of memory or time, with what the refusal must say.
ABSURD = [
    (["lm", "train", "--hidden", "8192", "--emsize", "8192", "--layers", "16"], "needs about"),
    (["lm", "train", "--batch-size", "10000", "--bptt", "10000"], "needs about"),
    (["generalize", "mnist", "--hidden", ",".join(["8192"] * 40)], "--hidden"),
    (["generalize", "mnist", "--hidden", ",".join(["8192"] * 16)], "needs about"),
    (["rl", "train", "--env", "CartPole-v1", "--algo", "dqn", "--hidden", "100000000"], "--hidden"),
    (["rl", "train", "--env", "CartPole-v1", "--algo", "dqn", "--buffer-size", "1000000000000"], "--buffer-size"),
    (["rl", "train", "--env", "CartPole-v1", "--max-episode-steps", "1000000000000"], "--max-episode-steps"),
    (["neuro", "simulate", "--model", "lif", "--duration", "1000000", "--neurons", "10000"], "neuron-steps"),
    (["landscape", "surface", "no-such-run", "--grid", "100000"], "--grid"),
    (["lm", "generate", "no-such-run", "--words", "1000000000"], "--words"),
    (["lm", "generate", "no-such-run", "--temperature", "1e-300"], "--temperature"),
    (["neuro", "simulate", "--model", "lif", "--out", "missing/dir/x.png"], "--out"),
]


@pytest.mark.parametrize(("args", "fragment"), ABSURD, ids=[" ".join(a)[:60] for a, _ in ABSURD])
def test_absurd_sizes_and_times_are_refused_at_once(args: list[str], fragment: str, tmp_path: Path) -> None:
    started = time.time()
    out = ["--out", str(tmp_path / "runs")] if args[0] not in ("lm", "landscape", "neuro") or args[1] == "train" else []
    result = cli(*args, *out)  # in this process: a refusal that failed would exhaust the memory or run on
    assert_one_line_error(result, fragment)
    assert time.time() - started < 20  # refused, not tried
    assert not (tmp_path / "runs").exists()


def test_a_memory_refusal_names_the_estimate_and_the_machine(tmp_path: Path) -> None:
    result = cli("lm", "train", "--hidden", "8192", "--emsize", "8192", "--layers", "16", "--out", str(tmp_path))
    assert_one_line_error(result, "emsize 8192, hidden 8192, 16 layers", "GB of memory", "GB available")


# ---- GridRoute maps ----------------------------------------------------------------------------------


def test_a_map_of_two_regions_draws_goals_from_the_start_region() -> None:
    # The start's region is the left one; the right region's cells are unreachable from it.
    env = GridRoute(map="S.#..\n..#..\n")
    for seed in range(20):
        env.reset(seed=seed)
        assert env.goal in {(0, 1), (1, 0), (1, 1)}, env.goal
    env = GridRoute(map="..#..\n..#..\n")  # no start: start and goal drawn from one region each episode
    for seed in range(20):
        env.reset(seed=seed)
        assert (env.agent[1] < 2) == (env.goal[1] < 2), (env.agent, env.goal)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("S" + "." * 99_999 + "\n", "a 1 x 100000 map; valid: at most 64 rows of at most 64 cells"),
        (("." * 2000 + "\n") * 2000, "a 2000 x 2000 map"),
        ("S..\n.S.\n", "a second S at row 2, column 2"),
        ("SG.\n..G\n", "a second G at row 2, column 3"),
    ],
)
def test_maps_too_large_or_with_two_starts_are_refused(text: str, fragment: str) -> None:
    with pytest.raises(UserError, match=fragment):
        parse_map(text)


def test_a_map_without_two_connected_cells_is_refused() -> None:
    with pytest.raises(UserError, match="no two free cells of this map are connected"):
        GridRoute(map=".#.\n#.#\n")
    with pytest.raises(UserError, match="no path from start"):
        GridRoute(map="S#G\n")


def test_a_large_map_file_is_refused_before_the_run(tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    big.write_text(("." * 2000 + "\n") * 2000)
    result = cli("rl", "train", "--env", "descentlab/GridRoute-v0", "--algo", "dqn", "--map", str(big),
                 "--out", str(tmp_path / "runs"))  # fmt: skip
    assert_one_line_error(result, "a 2000 x 2000 map")
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("env", ["Taxi-v3", "CliffWalking-v0"])
@pytest.mark.e2e
def test_a_deprecated_environment_is_one_line_without_its_warning(env: str, tmp_path: Path) -> None:
    result = cli_process("rl", "train", "--env", env, "--out", str(tmp_path / "runs"), timeout=60)
    assert_one_line_error(result, f"--env: {env}", "deprecated")
    assert not (tmp_path / "runs").exists()
