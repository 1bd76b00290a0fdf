"""Errors a user can cause and fix, and the two ways a run stops early.

Every error of bad input is a :class:`ValueError` (as torch's are), so a library user catches one kind:

* :class:`ParameterError` names the parameter, the value and what would be valid
  (``tau_m: -1.0 is out of range; valid: a number > 0 (ms)``); the command line words the same error
  with its flag (``--tau-m: -1.0 is out of range; ...``) when the value came from that flag.
* :class:`ConfigError`: a config file cannot be read, or holds a key that is no setting. (A setting's
  value that is out of range is a :class:`ParameterError` naming the setting.)
* :class:`DataError`: a data set or data file is missing or corrupt.
* :class:`CheckpointError`: a checkpoint is missing, truncated, tampered with, or does not fit the run.

The command line prints any :class:`UserError` as one line and exits with code 2. The library never
words its messages with command-line flags.
"""


class UserError(ValueError):
    """Bad input from the user (a value, a config file, a data file, a checkpoint).

    The message is one line that says what is wrong and what would be valid.
    """


class ParameterError(UserError):
    """A parameter's value is invalid. ``name`` is the parameter (a keyword argument or config field),
    ``detail`` what is wrong with the value and what would be valid."""

    def __init__(self, name: str, detail: str) -> None:
        super().__init__(f"{name}: {detail}")
        self.name = name
        self.detail = detail


class ConfigError(UserError):
    """A config file cannot be read or parsed, or holds an unknown key."""


class DataError(UserError):
    """A data set is missing or its files are corrupt."""


class CheckpointError(UserError):
    """A checkpoint is missing, truncated, tampered with, or not ours."""


class Interrupted(Exception):
    """Training was stopped by a signal after a checkpoint was written (CLI exit code 128 + the signal's
    number: 130 for Ctrl-C's SIGINT, 143 for SIGTERM)."""

    def __init__(self, checkpoint: str, resume_command: str = "", signum: int = 2) -> None:
        super().__init__(checkpoint)
        self.checkpoint = checkpoint
        self.resume_command = resume_command  # e.g. "descentlab optim train --resume RUN_DIR"
        self.signum = signum


class Pruned(Exception):
    """A hyperparameter search stopped this run early for poor metrics (run status 'pruned')."""


def printable(text: str) -> str:
    """``text`` on one line: control and line-breaking characters (which may come from a value or a file
    name a user gave) are shown as escapes (``\\n``, ``\\x1e``), so an error is always one line."""
    return "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in text)


def shown(path: object) -> str:
    """A path as an error shows it: quoted when blanks at its ends (or its being empty) would hide it."""
    text = str(path)
    return repr(text) if not text or text != text.strip() else text


def first_line(e: BaseException) -> str:
    """An exception's message, its first line only (at most 160 characters), or its type's name."""
    text = str(e).strip()
    return text.splitlines()[0][:160] if text else type(e).__name__
