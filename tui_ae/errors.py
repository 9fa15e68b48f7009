"""Errors the user can fix: the CLI prints them as one line and exits non-zero."""


class TuiAeError(Exception):
    """Something the user gave or has is wrong; the message says what."""


class DataError(TuiAeError):
    """A data set is missing or unreadable."""


class CheckpointError(TuiAeError):
    """A checkpoint is missing, corrupt, of another kind, or not ours."""
