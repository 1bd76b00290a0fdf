"""The ``descentlab`` command: parse, dispatch, and turn errors into one line.

The parser is made from :data:`descentlab.cli.builtin.COMMANDS`, each command's flags from its options and
settings dataclasses (:mod:`descentlab.cli.flags`); the work lives in the command's ``run``. Errors a user can
fix (a bad flag, value, config file, data set or checkpoint, a path that cannot be written) print one line
and exit with code 2, worded with the flag when the value came from one; a failure of the system (a full
disk, a file-size limit) prints one line and exits with code 1. Ctrl-C, or SIGTERM or SIGHUP from a
scheduler, during training writes a checkpoint, says where, and exits with code 128 + the signal (130 for
Ctrl-C, 143 for SIGTERM).
"""

from __future__ import annotations

import argparse
import dataclasses
import errno
import functools
import os
import sys
import threading
from collections.abc import Sequence
from typing import Any, NoReturn

from descentlab import __version__
from descentlab.cli import classroom
from descentlab.cli.flags import add_arguments, flag, given_flags, options, resolve
from descentlab.command import Call, Command, Group
from descentlab.config import read_config_file
from descentlab.errors import Interrupted, ParameterError, UserError, first_line, printable
from descentlab.runs import distributed

EXIT_SYSTEM = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
# A path the user gave that cannot be used is bad input; anything else the system refused is not.
PATH_ERRORS = (PermissionError, FileNotFoundError, NotADirectoryError, IsADirectoryError, FileExistsError)
PATH_ERRNOS = {errno.ENAMETOOLONG, errno.ELOOP, errno.EROFS}  # a name too long, a symlink loop, a read-only disk


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage dump) and examples kept as written."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {printable(message)} (see {self.prog} --help)\n")


def _examples(lines: Sequence[str]) -> str | None:
    return "examples:\n" + "\n".join(f"  {line}" for line in lines) if lines else None


def _add_command(parent: Any, name: str, cmd: Command) -> None:
    p = parent.add_parser(name, help=cmd.help.replace("%", "%%"), description=cmd.description,
                          epilog=_examples(cmd.examples))  # fmt: skip
    if cmd.options is not None:
        add_arguments(p, cmd.options, settings=False)
    if cmd.settings is not None:
        p.add_argument("--config", metavar="FILE", help="TOML or YAML file of settings (flags override it)")
        add_arguments(p, cmd.settings, settings=True)
    p.set_defaults(declaration=cmd)


def declared(group: str = "") -> tuple[Sequence[Command], Sequence[Group]]:
    """Every command and group; for ``exercise``, only its own, which import no experiment: a student's
    ``descentlab exercise check`` starts in the time torch takes to import, not the 3 s every experiment adds.
    (The one import of descentlab's own inside a function, listed in ``tests/test_layers.py``.)"""
    if group == "exercise":
        return classroom.COMMANDS, (classroom.GROUP,)
    from descentlab.cli.builtin import COMMANDS, GROUPS

    return COMMANDS, GROUPS


def build_parser(group: str = "") -> Parser:
    """The parser of every command (of ``group``'s only, when it is ``exercise``: see :func:`declared`)."""
    commands, groups = declared(group)
    parser = Parser(
        prog="descentlab",
        description="descentlab: the unit 'Optimization and Generalization', run for real.",
        epilog=_examples(["descentlab tour --quick", "descentlab optim train --optimizer adam --epochs 3",
                          "descentlab runs list"]),
    )  # fmt: skip
    parser.add_argument("--version", action="version", version=f"descentlab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    parsers = {}
    for g in groups:
        p = sub.add_parser(g.name, help=g.help, description=g.description, epilog=_examples(g.examples))
        parsers[g.name] = p.add_subparsers(dest="action", metavar=g.metavar, required=True)
    for cmd in commands:
        first, *rest = cmd.command.split()
        _add_command(parsers[first] if rest else sub, rest[0] if rest else first, cmd)
    return parser


@functools.cache
def parser(group: str = "") -> Parser:
    """The parser, built once a process (parsing does not change it)."""
    return build_parser(group)


def _call(cmd: Command, args: argparse.Namespace, argv: Sequence[str]) -> Call:
    """The command's options and settings from the parsed arguments (defaults < --config file < flags)."""
    opts = options(cmd.options, args) if cmd.options is not None else None
    if cmd.settings is None:
        return Call(options=opts, argv=tuple(argv))
    file_values = read_config_file(args.config) if args.config else {}
    given = tuple(f.lstrip("-").replace("-", "_") for f in given_flags(cmd.settings, args))
    return Call(options=opts, settings=resolve(cmd.settings, args, file_values), flags=given, config_file=args.config,
                file_keys=frozenset(file_values), argv=tuple(argv))  # fmt: skip


def _worded(e: UserError, cmd: Command, args: argparse.Namespace) -> str:
    """The error's message, naming the flag (``--tau-m``) when the value came from that flag."""
    if not isinstance(e, ParameterError):
        return str(e)
    settings = {f.name for f in dataclasses.fields(cmd.settings)} if cmd.settings else set()
    options = {f.name: f for f in dataclasses.fields(cmd.options)} if cmd.options else {}
    if e.name in settings and getattr(args, e.name, None) is not None:
        return f"{flag(e.name)}: {e.detail}"
    if e.name in options:
        field = options[e.name]
        name = field.metadata.get("metavar") or e.name.upper() if field.metadata.get("positional") else flag(e.name)
        return f"{name}: {e.detail}"
    return str(e)


def _os_error_line(e: OSError) -> str:
    name = str(e.filename) if e.filename else ""
    where = f"{name if len(name) <= 120 else name[:100] + f'... ({len(name)} characters)'}: " if name else ""
    return f"descentlab: error: {printable(where + (e.strerror or first_line(e)))}"


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser("exercise" if argv[:1] == ["exercise"] else "").parse_args(argv)
    cmd: Command = args.declaration
    # A system error in another thread (TensorBoard's event writer on a full disk) is the command's error,
    # said on one line like the main thread's, not a thread's traceback.
    thread_errors: list[OSError] = []
    default_hook = threading.excepthook

    def thread_error(hook: threading.ExceptHookArgs) -> None:
        if isinstance(hook.exc_value, OSError):
            thread_errors.append(hook.exc_value)
        else:
            default_hook(hook)

    threading.excepthook = thread_error
    try:
        code = cmd.run(_call(cmd, args, argv))
        if thread_errors and code == 0:
            print(_os_error_line(thread_errors[0]), file=sys.stderr)
            return EXIT_SYSTEM
        return code
    except UserError as e:
        print(f"descentlab: error: {printable(_worded(e, cmd, args))}", file=sys.stderr)
        return EXIT_USAGE
    except Interrupted as e:
        if distributed.from_environment().main:  # once for a torchrun group, not once a rank
            print(f"\ninterrupted: checkpoint written to {e.checkpoint}", file=sys.stderr)
            print(f"resume with: {e.resume_command}", file=sys.stderr)
        return 128 + e.signum  # 130 for Ctrl-C, 143 for SIGTERM, as a shell reports a process killed by it
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except OSError as e:
        print(_os_error_line(e), file=sys.stderr)
        return EXIT_USAGE if isinstance(e, PATH_ERRORS) or e.errno in PATH_ERRNOS else EXIT_SYSTEM
    except RuntimeError as e:
        if not distributed.peer_lost(e):
            raise
        if not os.environ.get("DESCENTLAB_TORCHRUN"):  # python -m descentlab.torchrun says it itself
            print(f"descentlab: error: {printable(distributed.lost_message(e))}", file=sys.stderr)
        return EXIT_SYSTEM
    finally:
        threading.excepthook = default_hook


if __name__ == "__main__":
    sys.exit(main())
