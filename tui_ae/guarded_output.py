"""Standard output that can no longer be written: a closed pipe (`| head -1`) or a full disk (`> /dev/full`).

Left alone, either ends a command in a traceback, or, inside Rich, in Console.on_broken_pipe's
SystemExit(1), which in the middle of training costs the run its checkpoints. So main() puts a
GuardedStdout in sys.stdout: it hands everything to the real stream, and records the first write
or flush that fails instead of raising it. From then on its output is dropped, and file
descriptor 1 points at /dev/null, so that the interpreter's last flush at exit has nothing left
to fail on. Then:

- `train` goes on to its end, checkpoints and all (keep_going());
- every other command stops at that write, as a process killed by SIGPIPE would, without a word.

At the end the exit status follows from what was recorded (exit_status): a closed pipe is no
error (the reader took what it wanted), so the command's own status stands, 0 when it did its
work; anything else is one line on stderr and exit 1.

SIGPIPE stays ignored, as Python leaves it: its default action would kill `train` mid-epoch.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import TextIO


class OutputFailed(SystemExit):
    """Ends a command whose output can no longer be written; main() turns it into the exit status."""


class GuardedStdout:
    """sys.stdout for a command: the real stream, whose failures are recorded instead of raised."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.failure: OSError | None = None  # the first write or flush that failed
        self.stop = True  # end the command at that failure (OutputFailed); keep_going() turns it off

    def write(self, text: str) -> int:
        if self.failure is None:
            try:
                return self.stream.write(text)
            except OSError as error:
                self._failed(error)
        return len(text)

    def writelines(self, lines) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        if self.failure is None:
            try:
                self.stream.flush()
            except OSError as error:
                self._failed(error)

    def __getattr__(self, name: str):
        return getattr(self.stream, name)  # isatty, fileno, encoding...: Rich and Typer ask the real stream

    @property
    def closed_pipe(self) -> bool:
        return isinstance(self.failure, BrokenPipeError)

    def exit_status(self, status: int | str | None) -> int | str | None:
        """The command's exit status, given what became of its output; says on stderr why, if that fails it."""
        self.stop = False
        self.flush()  # what is still buffered: a failure to write it counts as well
        if self.failure is None or self.closed_pipe:
            return status
        reason = self.failure.strerror or str(self.failure)
        with contextlib.suppress(OSError):
            sys.stderr.write(f"error: could not write to standard output: {reason} (the rest was dropped)\n")
            sys.stderr.flush()
        return status if status not in (0, None) else 1

    def _failed(self, error: OSError) -> None:
        self.failure = error
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, self.stream.fileno())  # what is left in the stream's buffer goes there at exit
        finally:
            os.close(devnull)
        if self.stop:
            raise OutputFailed(0)


def install() -> GuardedStdout | None:
    """Guard sys.stdout, if it is a real file (one with a descriptor); the guard, or None.

    sys.stderr is guarded too, so that a notice or warning written to a closed pipe
    (`2>&1 | head -1`) neither ends the command nor prints a traceback; its failure is
    dropped unsaid, there being nowhere left to say it, and does not change the exit status.
    """
    if _has_descriptor(sys.stderr):
        sys.stderr = GuardedStdout(sys.stderr)
        sys.stderr.stop = False
    if not _has_descriptor(sys.stdout):
        return None
    sys.stdout = guard = GuardedStdout(sys.stdout)
    return guard


def _has_descriptor(stream) -> bool:
    """Whether the stream is a real file: not None, not a stream in memory (nothing to guard there)."""
    try:
        stream.fileno()
    except (AttributeError, OSError, ValueError):
        return False
    return True


def keep_going() -> None:
    """Let this command run to its end when its output fails (train: the checkpoints matter more than the lines)."""
    if isinstance(sys.stdout, GuardedStdout):
        sys.stdout.stop = False
