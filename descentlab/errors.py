"""Errors a user can cause and fix: the CLI prints their one-line message and exits with code 2."""


class UserError(Exception):
    """Bad input from the user (flag, config file, data file, checkpoint).

    The message is one line that says what is wrong and what would be valid.
    """


class ConfigError(UserError):
    """A config field is unknown, of the wrong type, or out of range."""


class DataError(UserError):
    """A data set is missing or its files are corrupt."""


class CheckpointError(UserError):
    """A checkpoint is missing, truncated, tampered with, or not ours."""


class Interrupted(Exception):
    """Training was stopped by SIGINT after a checkpoint was written (CLI exit code 130)."""

    def __init__(self, checkpoint: str, resume_command: str = "") -> None:
        super().__init__(checkpoint)
        self.checkpoint = checkpoint
        self.resume_command = resume_command  # e.g. "descentlab optim train --resume RUN_DIR"


class Pruned(Exception):
    """A hyperparameter search stopped this run early for poor metrics (run status 'pruned')."""
