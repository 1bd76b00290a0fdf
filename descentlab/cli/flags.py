"""Command-line flags derived from settings dataclasses (:mod:`descentlab.config`), and back.

``lr: float = param(0.1, "learning rate", low=0.0)`` becomes ``--lr LR`` with its help text, default and
valid range; ``keep: bool`` becomes ``--keep/--no-keep``. Two uses:

* an experiment's *settings* (``settings=True``): every flag's default is None, so that only the flags a
  user gave override the config file, which overrides the defaults (:func:`resolve`);
* a command's *options* (``settings=False``): flags take the field's default, a ``bool`` that defaults
  to False is a plain switch (``--json``), and fields may be positional arguments.

:func:`descentlab.config.command_line` goes the other way: the shortest command that rebuilds a config.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Mapping
from typing import Any, TypeVar

from descentlab.config import describe_range, field_type, flag, from_mapping

C = TypeVar("C")

_KIND_NAMES = {int: "an integer", float: "a number", str: "a string"}


def add_arguments(parser: argparse.ArgumentParser, cls: type, *, settings: bool = True) -> None:
    """One argument per field of ``cls`` (see the module docstring for ``settings``)."""
    target: Any = parser
    if settings:
        target = parser.add_argument_group(f"settings ({cls.__name__}; also settable in --config FILE)")
    for f in dataclasses.fields(cls):
        base, _ = field_type(cls, f.name)
        meta = f.metadata
        valid = describe_range(f.name, meta, base)
        if settings:
            text = f"{meta.get('help', '')} (default {f.default}; {valid})"
        else:
            hidden = f.default is None or base is bool or meta.get("positional")
            shown = [] if hidden else [f"default {f.default}"]
            if meta.get("low") is not None or meta.get("high") is not None or meta.get("choices"):
                shown.append(valid)
            text = meta.get("help", "") + (f" ({'; '.join(shown)})" if shown else "")
        text = text.replace("%", "%%")  # argparse formats help with %
        metavar = meta.get("metavar") or f.name.upper()
        if meta.get("positional"):
            nargs = "+" if base is tuple else None
            target.add_argument(f.name, metavar=metavar, nargs=nargs, type=_converter(base, valid), help=text)
            continue
        names = [meta["short"], flag(f.name)] if meta.get("short") else [flag(f.name)]
        default = None if settings else f.default
        if base is bool:
            switch = not settings and f.default is False
            action: Any = "store_true" if switch else argparse.BooleanOptionalAction
            target.add_argument(*names, dest=f.name, action=action, default=default, help=text)
            continue
        kwargs: dict[str, Any] = {"dest": f.name, "default": default, "metavar": metavar, "help": text}
        if meta.get("required"):
            kwargs["required"] = True
        if base is tuple:
            target.add_argument(*names, nargs="+", type=str, **kwargs)
        else:
            target.add_argument(*names, type=_converter(base, valid), **kwargs)


def _converter(base: type, valid: str) -> Any:
    """Parse a flag's text as ``base``; a failure names the valid range (argparse adds the flag)."""
    if base is tuple:
        return str

    def convert(text: str) -> Any:
        try:
            return base(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {_KIND_NAMES[base]}; valid: {valid}") from None

    return convert


def resolve(cls: type[C], args: argparse.Namespace, file_values: Mapping[str, Any] | None = None) -> C:
    """Defaults, then the config file, then the flags a user gave on the command line."""
    values: dict[str, Any] = dict(file_values or {})
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        given = getattr(args, f.name, None)
        if given is not None:
            values[f.name] = given
    return from_mapping(cls, values)


def options(cls: type[C], args: argparse.Namespace) -> C:
    """A command's options from its parsed arguments (every field has one)."""
    return cls(**{f.name: getattr(args, f.name) for f in dataclasses.fields(cls)})  # type: ignore[arg-type]


def given_flags(cls: type, args: argparse.Namespace) -> list[str]:
    """The config flags a user gave on the command line."""
    return [flag(f.name) for f in dataclasses.fields(cls) if getattr(args, f.name, None) is not None]
