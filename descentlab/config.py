"""Settings as frozen dataclasses: declared once, validated, read from TOML/YAML files.

Each experiment (and each agent, and each command's options) declares its settings once::

    @dataclass(frozen=True)
    class TrainConfig(RunConfig):
        lr: float = param(0.1, "learning rate eta", low=0.0, low_open=True, high=10.0)

and everything else is derived from that declaration: validation, which names the field and its valid
range (``lr: 20.0 is out of range; valid: a number, 0.0 < lr <= 10.0``), the keys a config file may hold
(``lr = 0.1``), and the command-line flags (``--lr``, :mod:`descentlab.cli.flags`); :func:`command_line`
gives the shortest command that rebuilds a config (the ``command`` a run records).

Precedence is defaults < config file < command-line flags. Config files are data (TOML or YAML read
with ``yaml.safe_load``), never executed.
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml

from descentlab.errors import ConfigError, ParameterError

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
    positional: bool = False,
    short: str | None = None,
    metavar: str | None = None,
    required: bool = False,
) -> Any:
    """A settings field with its help text and valid range (``low``/``high`` inclusive unless ``*_open``).

    The last four shape the field's command-line form only: a positional argument instead of a flag, a
    short alias such as ``-o``, the placeholder shown in ``--help``, and a flag that must be given.
    """
    meta = {
        "help": help,
        "low": low,
        "high": high,
        "low_open": low_open,
        "high_open": high_open,
        "choices": tuple(choices) if choices is not None else None,
        "positional": positional,
        "short": short,
        "metavar": metavar,
        "required": required,
    }
    return dataclasses.field(default=default, metadata=meta)


@dataclasses.dataclass(frozen=True)
class Options:
    """Validated settings: every field is checked against its declaration when the object is made."""

    def __post_init__(self) -> None:
        check(self)


@dataclasses.dataclass(frozen=True)
class RunConfig(Options):
    """Settings every run has. Experiments subclass this and add their own fields."""

    seed: int = param(0, "random seed; the same config and seed give the same metrics", low=0, high=2**31 - 1)
    device: str = param("auto", "where to compute: auto picks CUDA when present", choices=("auto", "cpu", "cuda"))


def field_type(cls: type, name: str) -> tuple[type, bool]:
    """The base type of a field and whether it may be None (``float | None``). A tuple of strings
    (``tuple[str, ...]``) has base type ``tuple``."""
    hint = typing.get_type_hints(cls)[name]
    args = typing.get_args(hint)
    optional = False
    if typing.get_origin(hint) in (typing.Union, types.UnionType) and type(None) in args:
        (hint,) = [a for a in args if a is not type(None)]
        optional = True
    if typing.get_origin(hint) is tuple:
        return tuple, optional
    return hint, optional


def describe_range(name: str, meta: Mapping[str, Any], base: type) -> str:
    """The valid values of a field, in words: ``0 < lr <= 10`` or ``one of sgd, adam``."""
    if meta.get("choices"):
        return "one of " + ", ".join(str(c) for c in meta["choices"])
    low, high = meta.get("low"), meta.get("high")
    kind = {int: "an integer", float: "a number", bool: "true or false", str: "a string", tuple: "a list of strings"}
    words = kind.get(base, base.__name__)
    if low is None and high is None:
        return words
    parts = []
    if low is not None:
        parts.append(f"{low} {'<' if meta['low_open'] else '<='} ")
    parts.append(name)
    if high is not None:
        parts.append(f" {'<' if meta['high_open'] else '<='} {high}")
    return f"{words}, " + "".join(parts)


def _coerce(name: str, value: Any, base: type, optional: bool, meta: Mapping[str, Any]) -> Any:
    """Check one value's type (ints are accepted for floats) and range; return it converted."""
    valid = describe_range(name, meta, base)
    if value is None:
        if optional:
            return None
        raise ParameterError(name, f"a value is required; valid: {valid}")
    if base is bool:
        if not isinstance(value, bool):
            raise ParameterError(name, f"{value!r} is not true or false")
    elif base is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ParameterError(name, f"{value!r} is not an integer; valid: {valid}")
    elif base is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ParameterError(name, f"{value!r} is not a number; valid: {valid}")
        value = float(value)
        if value != value or value in (float("inf"), float("-inf")):
            raise ParameterError(name, f"{value!r} is not a finite number; valid: {valid}")
    elif base is str and not isinstance(value, str):
        raise ParameterError(name, f"{value!r} is not a string; valid: {valid}")
    elif base is str and value and not value.strip():
        raise ParameterError(name, f"{value!r} is blank; valid: {valid} that is not only spaces")
    elif base is tuple:
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise ParameterError(name, f"{value!r} is not a list of strings")
        if any(v and not v.strip() for v in value):
            raise ParameterError(name, f"{list(value)!r} holds a blank value; valid: values that are not only spaces")
        value = tuple(value)
    if meta.get("choices") and value not in meta["choices"]:
        raise ParameterError(name, f"{value!r} is not valid; valid: {valid}")
    low, high = meta.get("low"), meta.get("high")
    if low is not None and (value < low or (meta["low_open"] and value == low)):
        raise ParameterError(name, f"{value!r} is out of range; valid: {valid}")
    if high is not None and (value > high or (meta["high_open"] and value == high)):
        raise ParameterError(name, f"{value!r} is out of range; valid: {valid}")
    return value


def check(settings: Any) -> None:
    """Validate every field of a settings dataclass against its declared type and range."""
    for f in dataclasses.fields(settings):
        base, optional = field_type(type(settings), f.name)
        value = getattr(settings, f.name)
        coerced = _coerce(f.name, value, base, optional, f.metadata)
        if coerced is not value:
            object.__setattr__(settings, f.name, coerced)


def from_mapping(cls: type[C], values: Mapping[str, Any], source: str = "config") -> C:
    """Build ``cls`` from a mapping; an unknown key is an error that lists the valid ones."""
    names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    for key in values:
        if key not in names:
            raise ConfigError(f"{source}: unknown key {key!r}; valid keys: {', '.join(names)}")
    return cls(**values)


def to_dict(settings: Any) -> dict[str, Any]:
    return dataclasses.asdict(settings)


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Read a TOML (``.toml``), YAML (``.yaml``/``.yml``) or JSON file of config keys (data, never code)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"--config {path}: no such file")
    suffix = path.suffix.lower()
    try:
        text = path.read_text(encoding="utf-8")
        if suffix == ".toml":
            data: Any = tomllib.loads(text)
        elif suffix in (".yaml", ".yml"):
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


def config_toml(settings: Any, comment: str = "") -> str:
    """``settings`` as a TOML file that ``--config`` reads back to the same config (None fields omitted)."""
    lines = [f"# {line}" for line in comment.splitlines()]
    for f in dataclasses.fields(settings):
        value = getattr(settings, f.name)
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


def flag(name: str) -> str:
    """The flag of a field: ``batch_size`` -> ``--batch-size``."""
    return "--" + name.replace("_", "-")


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
