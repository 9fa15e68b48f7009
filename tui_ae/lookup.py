"""Which checkpoints the commands open: for `explore` and `figures` those given, else checkpoints/ae.safetensors and
vae.safetensors; for `eval` the files and folders given, else checkpoints/."""

from __future__ import annotations

import os
from pathlib import Path

from tui_ae.checkpoint import MAP_MAX_DIM, read_header
from tui_ae.config import CHECKPOINT_DIR, KINDS
from tui_ae.errors import CheckpointError, TuiAeError


def find_pair(ae: Path | None, vae: Path | None, *, wait: bool = False) -> dict[str, Path | None]:
    """Each kind's checkpoint: the path given, else checkpoints/<kind>.safetensors; None where that default is absent.

    A checkpoint must hold a model of its kind, of at most MAP_MAX_DIM latent dimensions (no map
    shows more). With wait (explore --watch), a file absent or unreadable is kept, to be waited
    for. At least one must be there.
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
        dim = header.model_args.get("latent_dim", 2) if isinstance(header.model_args, dict) else 2
        if isinstance(dim, int) and dim > MAP_MAX_DIM:
            raise CheckpointError(too_many_dimensions(path, dim))
    if not any(found.values()):
        raise TuiAeError(
            f"no checkpoints in {CHECKPOINT_DIR}/: train them first with `tui-ae train --model ae` and "
            "`tui-ae train --model vae`, or pass --ae and --vae"
        )
    return found


def checkpoints_to_evaluate(given: list[Path]) -> list[Path]:
    """The files given, then the checkpoints in the folders given (checkpoints/ if none), each file once.

    One file under two names (./a and a, a link and its target, a folder and a file in it) is
    one checkpoint, named as it was first given.
    """
    folders = [p for p in given or [CHECKPOINT_DIR] if p.is_dir()]
    files = [p for p in given if not p.is_dir()] + [c for f in folders for c in sorted(f.glob("*.safetensors"))]
    if not files:
        where = ", ".join(f"{f}/" for f in folders) or f"{CHECKPOINT_DIR}/"
        raise TuiAeError(f"no checkpoints in {where}: train one with `tui-ae train --model ae`")
    distinct: list[Path] = []
    for path in files:
        if not any(_same_file(path, kept) for kept in distinct):
            distinct.append(path)
    return distinct


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # not there: eval says so, once per name
        return a == b


def too_many_dimensions(path: Path, dim: int) -> str:
    """Why explore and figures refuse a checkpoint that eval scores."""
    return (
        f"{path} has {dim} latent dimensions: explore and figures show up to {MAP_MAX_DIM} dimensions "
        "(no map is stored above that); `tui-ae eval` scores it"
    )
