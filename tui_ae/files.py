"""Files replaced whole or not at all: checkpoints, their metrics, the figures and the unpacked MNIST."""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from tui_ae.errors import WriteError


@contextlib.contextmanager
def replacing(path: Path) -> Iterator[BinaryIO]:
    """A file to write path's new contents into: a temporary one in the same folder, flushed, synced, then renamed.

    If the writing fails, the temporary file is removed and path is left as it was; an
    OSError is the caller's to word.
    """
    # In the same folder, so the rename is atomic. A name of its own, made exclusively ("x"), so that two
    # writers of one file at once never write into one temporary file: explore's workers may both unpack
    # MNIST, and on an HPC cluster's shared home two jobs on two nodes may even share a pid.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "xb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        _remove(tmp)
        raise


def write_refusal(folder: Path) -> str | None:
    """Why no file can be written in folder (or the nearest part of it that exists, where it would be made), else None.

    Tried as a write is: a temporary file made there and removed at once. Not os.access, whose
    mode bits say yes to root, and past ACLs, quotas and read-only file systems, where a write fails.
    """
    existing = next(p for p in (folder, *folder.parents) if p.exists())
    try:
        with tempfile.TemporaryFile(dir=existing):
            return None
    except OSError as e:
        return e.strerror or str(e)


def write_atomically(path: Path, data: bytes) -> None:
    """Replace path with data, whole or not at all."""
    try:
        with replacing(path) as f:
            f.write(data)
    except OSError as e:
        raise WriteError(f"could not write {path} ({e.strerror or e})") from None


def _remove(tmp: Path) -> None:
    """The temporary file, if it was made; its folder may be what failed."""
    with contextlib.suppress(OSError):
        tmp.unlink(missing_ok=True)
