"""Experiment settings as frozen dataclasses, filled from defaults, a TOML/YAML file and flags.

Each experiment declares its settings once::

    @dataclass(frozen=True)
    class TrainConfig(RunConfig):
        lr: float = param(0.1, "learning rate eta", low=0.0, low_open=True, high=10.0)

and everything else is derived from that declaration: the command-line flags (``--lr``), the keys a
config file may hold (``lr = 0.1``), and validation, which names the field and its valid range::

    lr: 20.0 is out of range; valid: 0 < lr <= 10

Precedence is defaults < config file < command-line flags. Config files are data (TOML or YAML read
with ``yaml.safe_load``), never executed.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tomllib
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from descentlab.errors import ConfigError

C = TypeVar("C")


def param(
    default: Any,
    help: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    choices: Sequence[Any] | None = None,
) -> Any:
    """A config field with its help text and valid range (``low``/``high`` inclusive unless ``*_open``)."""
    meta = {
        "help": help,
        "low": low,
        "high": high,
        "low_open": low_open,
        "high_open": high_open,
        "choices": tuple(choices) if choices is not None else None,
    }
    return dataclasses.field(default=default, metadata=meta)


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """Settings every run has. Experiments subclass this and add their own fields."""

    seed: int = param(0, "random seed; the same config and seed give the same metrics", low=0, high=2**31 - 1)
    device: str = param("auto", "where to compute: auto picks CUDA when present", choices=("auto", "cpu", "cuda"))

    def __post_init__(self) -> None:
        check(self)


def _field_type(cls: type, name: str) -> tuple[type, bool]:
    """The base type of a field and whether it may be None (``float | None``)."""
    hint = typing.get_type_hints(cls)[name]
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType) and type(None) in args:
        (inner,) = [a for a in args if a is not type(None)]
        return inner, True
    return hint, False


def describe_range(name: str, meta: Mapping[str, Any], base: type) -> str:
    """The valid values of a field, in words: ``0 < lr <= 10`` or ``one of sgd, adam``."""
    if meta.get("choices"):
        return "one of " + ", ".join(str(c) for c in meta["choices"])
    low, high = meta.get("low"), meta.get("high")
    kind = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}.get(base, base.__name__)
    if low is None and high is None:
        return kind
    parts = []
    if low is not None:
        parts.append(f"{low} {'<' if meta['low_open'] else '<='} ")
    parts.append(name)
    if high is not None:
        parts.append(f" {'<' if meta['high_open'] else '<='} {high}")
    return f"{kind}, " + "".join(parts)


def _coerce(name: str, value: Any, base: type, optional: bool, meta: Mapping[str, Any]) -> Any:
    """Check one value's type (ints are accepted for floats) and range; return it converted."""
    valid = describe_range(name, meta, base)
    if value is None:
        if optional:
            return None
        raise ConfigError(f"{name}: a value is required; valid: {valid}")
    if base is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{name}: {value!r} is not true or false")
    elif base is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{name}: {value!r} is not an integer; valid: {valid}")
    elif base is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{name}: {value!r} is not a number; valid: {valid}")
        value = float(value)
        if value != value or value in (float("inf"), float("-inf")):
            raise ConfigError(f"{name}: {value!r} is not a finite number; valid: {valid}")
    elif base is str and not isinstance(value, str):
        raise ConfigError(f"{name}: {value!r} is not a string; valid: {valid}")
    if meta.get("choices") and value not in meta["choices"]:
        raise ConfigError(f"{name}: {value!r} is not valid; valid: {valid}")
    low, high = meta.get("low"), meta.get("high")
    if low is not None and (value < low or (meta["low_open"] and value == low)):
        raise ConfigError(f"{name}: {value!r} is out of range; valid: {valid}")
    if high is not None and (value > high or (meta["high_open"] and value == high)):
        raise ConfigError(f"{name}: {value!r} is out of range; valid: {valid}")
    return value


def check(config: Any) -> None:
    """Validate every field of a config dataclass against its declared type and range."""
    for f in dataclasses.fields(config):
        base, optional = _field_type(type(config), f.name)
        value = getattr(config, f.name)
        coerced = _coerce(f.name, value, base, optional, f.metadata)
        if coerced is not value:
            object.__setattr__(config, f.name, coerced)


def from_mapping(cls: type[C], values: Mapping[str, Any], source: str = "config") -> C:
    """Build ``cls`` from a mapping; an unknown key is an error that lists the valid ones."""
    names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    for key in values:
        if key not in names:
            raise ConfigError(f"{source}: unknown key {key!r}; valid keys: {', '.join(names)}")
    return cls(**values)


def to_dict(config: Any) -> dict[str, Any]:
    return dataclasses.asdict(config)


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Read a TOML (``.toml``) or YAML (``.yaml``/``.yml``) file of config keys (data, never code)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"--config {path}: no such file")
    suffix = path.suffix.lower()
    try:
        text = path.read_text(encoding="utf-8")
        if suffix == ".toml":
            data: Any = tomllib.loads(text)
        elif suffix in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        elif suffix == ".json":
            data = json.loads(text)
        else:
            raise ConfigError(f"--config {path}: unknown format {suffix!r}; valid: .toml, .yaml, .yml, .json")
    except ConfigError:
        raise
    except Exception as e:  # a parse error of any of the three formats
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ConfigError(f"--config {path}: cannot parse: {first}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"--config {path}: expected a table of key = value pairs, got {type(data).__name__}")
    return data


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def add_arguments(parser: argparse.ArgumentParser, cls: type) -> None:
    """One flag per field; every default is None so that only the flags a user gave override."""
    group = parser.add_argument_group(f"settings ({cls.__name__}; also settable in --config FILE)")
    for f in dataclasses.fields(cls):
        base, _ = _field_type(cls, f.name)
        meta = f.metadata
        default = f.default
        text = f"{meta.get('help', '')} (default {default}; {describe_range(f.name, meta, base)})"
        if base is bool:
            group.add_argument(
                flag(f.name), dest=f.name, action=argparse.BooleanOptionalAction, default=None, help=text
            )
        else:
            conv = _converter(base, describe_range(f.name, meta, base))
            group.add_argument(flag(f.name), dest=f.name, type=conv, default=None, metavar=f.name.upper(), help=text)


def _converter(base: type, valid: str) -> Any:
    """Parse a flag's text as ``base``; a failure names the valid range (argparse adds the flag)."""

    def convert(text: str) -> Any:
        try:
            return base(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {_KIND_NAMES[base]}; valid: {valid}") from None

    return convert


_KIND_NAMES = {int: "an integer", float: "a number", str: "a string"}


def resolve(cls: type[C], args: argparse.Namespace, file_values: Mapping[str, Any] | None = None) -> C:
    """Defaults, then the config file, then the flags a user gave on the command line."""
    values: dict[str, Any] = dict(file_values or {})
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        given = getattr(args, f.name, None)
        if given is not None:
            values[f.name] = given
    return from_mapping(cls, values)


def given_flags(cls: type, args: argparse.Namespace) -> list[str]:
    """The config flags a user gave on the command line."""
    return [flag(f.name) for f in dataclasses.fields(cls) if getattr(args, f.name, None) is not None]


def command_line(config: Any, prefix: str) -> str:
    """The shortest command that rebuilds ``config``: flags for fields that differ from the default."""
    parts = [prefix]
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if value == f.default and f.name != "seed":
            continue
        if isinstance(value, bool):
            parts.append(flag(f.name) if value else "--no-" + f.name.replace("_", "-"))
        else:
            parts.append(f"{flag(f.name)} {value}")
    return " ".join(parts)


def config_toml(config: Any, comment: str = "") -> str:
    """``config`` as a TOML file that ``--config`` reads back to the same config (None fields omitted)."""
    lines = [f"# {line}" for line in comment.splitlines()]
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if value is None:
            continue
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, int | float):
            text = repr(value)
        else:
            text = json.dumps(str(value))  # a TOML basic string: JSON's escapes are valid TOML
        lines.append(f"{f.name} = {text}")
    return "\n".join(lines) + "\n"
