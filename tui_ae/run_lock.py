"""One writer per checkpoint: `train` holds an advisory lock beside its checkpoint for the whole run.

Two runs given one --out would each replace the other's checkpoint after every epoch, and both
would end saying "Checkpoint: ...". So train takes flock(2) on `.NAME.lock` in the checkpoint's
folder, before torch is imported (a refusal comes at once), and holds it to its end, --resume and
--force included; a second run is refused, naming the holder that the file records (pid@host).

- The kernel releases the lock when its holder's process ends, however it ends (SIGKILL too):
  nothing left behind can block the next run. The file itself is never deleted: deleting it
  would let a third run lock a new file while the second still holds the old one.
- `.NAME.lock` does not end in .safetensors, so eval's search of a folder passes it by, and
  explore --watch polls the checkpoints' own names only. Readers never take the lock: a
  checkpoint is replaced by a rename, so a reader always finds a whole file.
- Where flock is missing (not POSIX) or refused (ENOLCK, EOPNOTSUPP: some network file
  systems), one line says that concurrent runs are not guarded there, and the run goes on.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

from tui_ae.errors import CheckpointError


def lock_path(checkpoint: Path) -> Path:
    return checkpoint.with_name(f".{checkpoint.name}.lock")


@contextlib.contextmanager
def held(checkpoint: Path, notify: Callable[[str], None]) -> Iterator[None]:
    """Hold the checkpoint's lock while the block runs; CheckpointError if another run holds it.

    The checkpoint's folder must exist.
    """
    descriptor = _open(lock_path(checkpoint), notify)
    try:
        if descriptor is not None and _locked(descriptor, checkpoint, notify):
            os.ftruncate(descriptor, 0)
            os.write(descriptor, f"{os.getpid()}@{socket.gethostname()}\n".encode())
        yield
    finally:
        if descriptor is not None:
            os.close(descriptor)  # which releases the lock


def _open(path: Path, notify: Callable[[str], None]) -> int | None:
    """The lock file, made if need be; None, said in one line, where it cannot be opened."""
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as e:
        notify(_unguarded(path, e.strerror or str(e)))
        return None


def _locked(descriptor: int, checkpoint: Path, notify: Callable[[str], None]) -> bool:
    """Take the lock: True; False, said in one line, where it cannot be taken here; CheckpointError if held."""
    path = lock_path(checkpoint)
    try:
        import fcntl
    except ImportError:  # not a POSIX system
        notify(_unguarded(path, "this system has no flock"))
        return False
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(descriptor, 256, 0).decode(errors="replace").strip() or "another process"
        raise CheckpointError(
            f"{checkpoint} is being trained by another run ({holder} holds its lock, {path}): "
            "wait for it to end, or give this run another --out"
        ) from None
    except OSError as e:  # ENOLCK, EOPNOTSUPP: some network file systems
        notify(_unguarded(path, e.strerror or str(e)))
        return False
    return True


def _unguarded(path: Path, reason: str) -> str:
    return f"warning: cannot lock {path} ({reason}): concurrent runs on this checkpoint are not guarded here"
