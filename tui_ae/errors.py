"""Errors the user can fix, each with the exit code the CLI ends with: one line on stderr, never a traceback.

fastapi-cli keeps its errors in one module; so does tui-ae. The CLI prints str(error)
and exits with error.exit_code, so a new error chooses its code here, not in cli.py.
"""


class TuiAeError(Exception):
    """Something the user gave or has is wrong; the message says what."""

    exit_code = 2  # a usage error, as Click's: the command was asked for something it cannot do


class DataError(TuiAeError):
    """A data set is missing or unreadable."""


class CheckpointError(TuiAeError):
    """A checkpoint is missing, corrupt, of another kind, or not ours."""


class NonFiniteLoss(TuiAeError):
    """The loss became NaN or infinite: the run failed, though nothing the user typed was wrong."""

    exit_code = 1


class WriteError(TuiAeError):
    """A file could not be written (a full disk, a quota): the run failed, though what the user typed was right."""

    exit_code = 1


class Interrupted(TuiAeError):
    """Ctrl-C during training."""

    exit_code = 130  # 128 + SIGINT, as a shell reports a process that Ctrl-C ended
