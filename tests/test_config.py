"""Config dataclasses: flags, config files and validation all derive from one declaration."""

from __future__ import annotations

import argparse
from dataclasses import FrozenInstanceError, dataclass

import pytest

from descentlab.cli.flags import add_arguments, resolve
from descentlab.config import RunConfig, command_line, from_mapping, param, read_config_file
from descentlab.errors import ConfigError, ParameterError


@dataclass(frozen=True)
class Demo(RunConfig):
    lr: float = param(0.1, "learning rate", low=0.0, low_open=True, high=10.0)
    steps: int = param(100, "number of steps", low=1, high=1000)
    name: str = param("sgd", "which one", choices=("sgd", "adam"))
    nesterov: bool = param(False, "Nesterov momentum")
    clip: float | None = param(None, "gradient clip norm", low=0.0, low_open=True)


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser, Demo)
    return parser.parse_args(argv)


def test_defaults_and_types() -> None:
    cfg = Demo()
    assert (cfg.lr, cfg.steps, cfg.name, cfg.nesterov, cfg.clip, cfg.seed, cfg.device) == (
        0.1,
        100,
        "sgd",
        False,
        None,
        0,
        "auto",
    )
    with pytest.raises(FrozenInstanceError):
        cfg.lr = 1.0  # type: ignore[misc]


@pytest.mark.parametrize(
    ("values", "fragments"),
    [
        ({"lr": 0.0}, ["lr", "out of range", "0.0 < lr <= 10.0"]),
        ({"lr": 11}, ["lr", "out of range"]),
        ({"steps": 0}, ["steps", "1 <= steps <= 1000"]),
        ({"steps": 2.5}, ["steps", "not an integer"]),
        ({"steps": True}, ["steps", "not an integer"]),
        ({"lr": "fast"}, ["lr", "not a number"]),
        ({"lr": float("nan")}, ["lr", "not a finite number"]),
        ({"name": "lbfgs"}, ["name", "one of sgd, adam"]),
        ({"nesterov": "yes"}, ["nesterov", "not true or false"]),
        ({"device": "tpu"}, ["device", "one of auto, cpu, cuda"]),
        ({"clip": -1.0}, ["clip", "out of range"]),
    ],
)
def test_invalid_values_name_the_field_and_range(values: dict[str, object], fragments: list[str]) -> None:
    with pytest.raises(ParameterError) as info:
        from_mapping(Demo, values)
    assert isinstance(info.value, ValueError)  # a library user catches one kind
    assert info.value.name == next(iter(values))
    message = str(info.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message


def test_an_unknown_key_lists_the_valid_ones() -> None:
    with pytest.raises(ConfigError) as info:
        from_mapping(Demo, {"momentum": 0.9})
    for fragment in ["unknown key 'momentum'", "valid keys:", "lr", "steps"]:
        assert fragment in str(info.value)
    assert isinstance(info.value, ValueError)


def test_ints_are_accepted_for_floats_and_none_for_optional() -> None:
    cfg = from_mapping(Demo, {"lr": 1, "clip": None})
    assert cfg.lr == 1.0 and isinstance(cfg.lr, float) and cfg.clip is None


def test_precedence_defaults_then_file_then_flags() -> None:
    args = parse("--steps", "7", "--nesterov")
    cfg = resolve(Demo, args, {"steps": 3, "lr": 0.5})
    assert (cfg.steps, cfg.lr, cfg.nesterov, cfg.name) == (7, 0.5, True, "sgd")


def test_toml_and_yaml_files(tmp_path) -> None:
    toml = tmp_path / "c.toml"
    toml.write_text('lr = 0.25\nname = "adam"\nsteps = 9\n')
    yaml = tmp_path / "c.yaml"
    yaml.write_text("lr: 0.25\nname: adam\nsteps: 9\n")
    assert (
        from_mapping(Demo, read_config_file(toml))
        == from_mapping(Demo, read_config_file(yaml))
        == Demo(lr=0.25, name="adam", steps=9)
    )


@pytest.mark.parametrize(
    ("name", "text", "fragment"),
    [
        ("bad.toml", "lr = = 3", "cannot parse"),
        ("bad.yaml", "lr: [1, 2", "cannot parse"),
        ("list.yaml", "- 1\n- 2\n", "expected a table"),
        ("c.ini", "lr=1", "unknown format"),
        # YAML data never becomes code: a python tag is a parse error under safe_load
        ("evil.yaml", "lr: !!python/object/apply:os.system ['echo hacked']", "cannot parse"),
    ],
)
def test_bad_config_files(tmp_path, name: str, text: str, fragment: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ConfigError, match=fragment):
        read_config_file(path)


def test_missing_config_file(tmp_path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        read_config_file(tmp_path / "none.toml")


def test_command_line_rebuilds_the_config() -> None:
    cfg = Demo(lr=0.5, nesterov=True, seed=3)
    line = command_line(cfg, "prog")
    assert line == "prog --seed 3 --lr 0.5 --nesterov"
    assert resolve(Demo, parse(*line.split()[1:])) == cfg
