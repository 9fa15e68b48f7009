"""Files replaced whole or not at all: what checkpoints, their metrics and the figures are written with."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from tui_ae.errors import CheckpointError


def write_atomically(path: Path, data: bytes) -> None:
    """Replace path with data: a temporary file in the same folder, flushed and synced, then renamed."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # same folder, so the rename is atomic
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        _remove(tmp)
        raise CheckpointError(f"could not write {path}: {e.strerror or e}") from None
    except BaseException:
        _remove(tmp)
        raise


def _remove(tmp: Path) -> None:
    """The temporary file, if it was made; its folder may be what failed."""
    with contextlib.suppress(OSError):
        tmp.unlink(missing_ok=True)
