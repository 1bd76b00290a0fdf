"""Property-based fuzzing of every declared field of every command (hypothesis).

Each example sets one field of one command (a flag, or a positional argument) to a value of any kind:
negative, zero, huge, NaN, infinite, empty, unicode, long, path-like, list-like. The command must then
either refuse it on one line (``descentlab: error: ...``, exit code 2, no traceback) or accept it and
begin its work. Work is not done here: the fuzz stops each command where it would begin (a run folder
being made, a benchmark or a simulation starting), after every check that comes before a run. What
happens inside runs is what the kill tests (tests/test_kill.py), the damaged-data tests and the
garbled-run tests are for. The default suite tries 5 values per field, ``-m slow`` 150.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import descentlab.experiments.neuro.simulate as neuro_simulate
import descentlab.experiments.optim.bench as optim_bench
from descentlab.cli.builtin import COMMANDS
from descentlab.cli.flags import flag
from descentlab.config import field_type
from descentlab.runs.run import Run


class Started(BaseException):
    """Raised where a command's work would begin: its input was accepted."""


def _started(*args: Any, **kwargs: Any) -> Any:
    raise Started()


def _fields() -> list[tuple[str, str, bool, bool]]:
    """(command, field, positional, boolean) for every declared field of every command."""
    found = []
    for cmd in COMMANDS:
        for cls in (cmd.options, cmd.settings):
            if cls is None:
                continue
            for f in dataclasses.fields(cls):
                base, _ = field_type(cls, f.name)
                found.append((cmd.command, f.name, bool(f.metadata.get("positional")), base is bool))
    return found


FIELDS = _fields()
BY_COMMAND = {c.command: c for c in COMMANDS}

# Values a careless user, a script or a hostile caller might give (besides the generated ones below).
SPECIAL_NUMBERS = [
    "0",
    "-0",
    "1",
    "-1",
    "2",
    "1e30",
    "-1e30",
    "1e-300",
    "1e308",
    "1e400",
    "nan",
    "NaN",
    "inf",
    "-inf",
    "Infinity",
    "0x10",
    "1_000",
    "+5",
    "3.",
    ".5",
    "1e",
    "2**31",
]
SPECIAL_WORDS = [
    "none",
    "None",
    "null",
    "true",
    "false",
    "a,b",
    ",",
    "sgd=",
    "=0.1",
    "sgd=nan",
    "../x",
    "/",
    "/dev/null",
    "/proc/self/mem",
    "~",
    "*",
    "'",
    '"',
    "\\",
    "%s",
    "{}",
]
SPECIAL_WORDS += [
    "",
    " ",
    " 3 ",
    "-",
    "--",
    "é",
    "∞",
    "日本語",
    "🙂",
    "a" * 300,
    "x/" * 100,
    "9" * 400,
    "CartPole-v1",
    "adam",
]

NUMBERS = st.one_of(
    st.integers(min_value=-(10**40), max_value=10**40).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.floats(min_value=-10, max_value=10).map(lambda x: f"{x:.3g}"),
    st.sampled_from(SPECIAL_NUMBERS),
)
WORDS = st.one_of(
    st.sampled_from(SPECIAL_WORDS),
    st.text(alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=24),
    st.lists(st.sampled_from(["sgd", "adam", "0.1", "-1", "x"]), min_size=1, max_size=4).map(",".join),
)
VALUES = st.one_of(NUMBERS, WORDS)


def _argv(command: str, field: str, positional: bool, boolean: bool, value: str) -> list[str]:
    """The command with ``field`` set to ``value`` and every other required argument given validly."""
    cmd = BY_COMMAND[command]
    argv = command.split()
    if boolean:
        argv.append(f"{flag(field)}={value}")  # a switch takes no value: argparse's one-line error
    elif not positional:
        argv.append(f"{flag(field)}={value}")
    required = [f for f in dataclasses.fields(cmd.options) if f.metadata.get("required")] if cmd.options else []
    argv += [x for f in required if f.name != field for x in (flag(f.name), (f.metadata["choices"] or ["1"])[0])]
    positionals = [f for f in dataclasses.fields(cmd.options) if f.metadata.get("positional")] if cmd.options else []
    if positionals:
        argv.append("--")
        argv += [value if f.name == field else "no-such-run" for f in positionals]
    return argv


@pytest.fixture(scope="module", autouse=True)
def _sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A working folder of its own (defaults such as --out runs land there), and the points where work
    begins replaced by :class:`Started`."""
    here = os.getcwd()
    os.chdir(tmp_path_factory.mktemp("fuzz"))
    patches = [(Run, "create", classmethod(_started)), (optim_bench.bench, "main", _started),
               (neuro_simulate, "simulate", _started)]  # fmt: skip
    saved = [
        (obj, name, obj.__dict__[name] if isinstance(obj, type) else getattr(obj, name)) for obj, name, _ in patches
    ]
    for obj, name, new in patches:
        setattr(obj, name, new)
    try:
        yield
    finally:
        for obj, name, old in saved:
            setattr(obj, name, old)
        os.chdir(here)


ERROR_LINE = re.compile(r"descentlab( [a-z-]+)*: error: \S")  # ours, or argparse's (which names the command)


TALLY: Counter[str] = Counter()  # outcomes of this session's examples, printed at the end (see conftest)


def _refused_or_started(argv: list[str]) -> str:
    """'refused' (one line, exit 2), 'started' or 'done' (exit 0); anything else fails the test."""
    try:
        outcome = _outcome(argv)
    except AssertionError:
        TALLY["failed"] += 1
        raise
    TALLY[outcome] += 1
    return outcome


def _outcome(argv: list[str]) -> str:
    try:
        result = cli(*argv)
    except Started:
        return "started"
    assert "Traceback" not in result.stderr, (argv, result.stderr)
    if result.returncode == 0:
        return "done"
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2, (argv, result.returncode, result.stderr)
    assert len(lines) == 1 and ERROR_LINE.match(lines[0]), (argv, result.stderr)
    return "refused"


def _fuzz(examples: int) -> Any:
    return settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])  # fmt: skip


EVERY_FIELD = pytest.mark.parametrize(
    ("command", "field", "positional", "boolean"), FIELDS, ids=[f"{c}:{f}" for c, f, _, _ in FIELDS]
)


@EVERY_FIELD
@_fuzz(5)
@given(value=VALUES)
def test_any_value_of_any_field_is_refused_on_one_line_or_starts_cleanly(
    command: str, field: str, positional: bool, boolean: bool, value: str
) -> None:
    _refused_or_started(_argv(command, field, positional, boolean, value))


@pytest.mark.slow
@EVERY_FIELD
@_fuzz(150)
@given(value=VALUES)
def test_any_value_of_any_field_many_values(
    command: str, field: str, positional: bool, boolean: bool, value: str
) -> None:
    _refused_or_started(_argv(command, field, positional, boolean, value))


def test_the_fuzz_covers_every_command_and_reaches_both_outcomes() -> None:
    assert {c for c, *_ in FIELDS} == {c.command for c in COMMANDS if c.options or c.settings}
    assert len(FIELDS) >= 400
    # A value each way, so that neither outcome is unreachable by construction.
    assert _refused_or_started(["optim", "train", "--lr=-1"]) == "refused"
    assert _refused_or_started(["optim", "train", "--lr=0.5"]) == "started"
    assert _refused_or_started(["neuro", "simulate", "--model=lif", "--duration=100"]) == "started"


# What the fuzz found (each was a traceback or an unreadable message before it was fixed), kept as examples.
FOUND = [
    ["runs", "list", "--experiment=2**31"],  # a glob pattern error
    ["rl", "train", "--env=0:"],  # Gymnasium's "module:Env" imported the module '0'
    ["rl", "train", "--env=os:system"],
    ["rl", "train", "--env=:"],
    ["runs", "compare", "--", " "],  # "descentlab: error:  : not a run folder"
    ["lm", "train", "--corpus= "],
    ["optim", "race", "--resume=" + "a" * 300],  # File name too long: exit 1
    ["optim", "svrg", "--resume=\x1e"],  # a record separator split the error into two lines
    ["rl", "rewards", "--map=\x1e"],
    ["lm", "eval", "--", " 0"],  # "descentlab: error:  0: no such run folder": the blank hid the name
    ["rl", "eval", "--", " 3 "],
]


@pytest.mark.parametrize("argv", FOUND, ids=[" ".join(a)[:40] for a in FOUND])
def test_what_the_fuzz_found_is_refused_on_one_line(argv: list[str]) -> None:
    assert _refused_or_started(argv) == "refused"
