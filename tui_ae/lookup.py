"""Which checkpoints `explore` and `figures` open: those given, else checkpoints/ae.safetensors and vae.safetensors."""

from __future__ import annotations

from pathlib import Path

from tui_ae.checkpoint import read_header
from tui_ae.config import CHECKPOINT_DIR, KINDS
from tui_ae.errors import CheckpointError, TuiAeError


def find_pair(ae: Path | None, vae: Path | None, *, wait: bool = False) -> dict[str, Path | None]:
    """Each kind's checkpoint: the path given, else checkpoints/<kind>.safetensors; None where that default is absent.

    A checkpoint must hold a model of its kind. With wait (explore --watch), a file absent or
    unreadable is kept, to be waited for. At least one must be there.
    """
    found: dict[str, Path | None] = {}
    for kind, given in zip(KINDS, (ae, vae)):
        path = given if given is not None else CHECKPOINT_DIR / f"{kind}.safetensors"
        found[kind] = path
        if given is None and not path.exists() and not wait:
            found[kind] = None  # the other model alone
            continue
        try:
            header = read_header(path)
        except CheckpointError:
            if wait:  # not written yet, or cut short: waited for
                continue
            raise
        if header.kind != kind:
            raise CheckpointError(f"{path} holds the {header.kind.upper()} model; pass it with --{header.kind}")
    if not any(found.values()):
        raise TuiAeError(
            f"no checkpoints in {CHECKPOINT_DIR}/: train them first with `tui-ae train --model ae` and "
            "`tui-ae train --model vae`, or pass --ae and --vae"
        )
    return found
