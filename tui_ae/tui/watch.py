"""`explore --watch`: follow a training run by re-reading each checkpoint when its file changes.

Polled once a second with os.stat (the standard library; no watcher library to install, and a
stat of two files a second costs nothing while idle). A file counts as changed when its
(mtime, size, inode) does: `tui-ae train` replaces its checkpoint by an atomic rename, which
gives a new inode, and its temporary files (`.NAME.PID.RANDOM.tmp`, files.replacing) are other names, never looked at.
A file that does not exist yet is waited for; one that cannot be read (cut short, or not a
checkpoint) is skipped until it changes again, and what was shown stays.

The map is read with numpy at once (read_codes); the model, which needs torch, in a thread worker.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.message import Message
from textual.worker import get_current_worker

from tui_ae.tui.loading import ModelLoader, load_model
from tui_ae.tui.slot import Slot

POLL = 1.0  # seconds between looks at the files

Stamp = tuple[int, int, int]  # (st_mtime_ns, st_size, st_ino)


def stamp(path: Path) -> Stamp | None:
    """What tells one version of a file from the next; None while there is no file."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_mtime_ns, info.st_size, info.st_ino


def waiting(path: Path, why: str = "") -> str:
    """What a watched slot without a readable checkpoint says."""
    return f"waiting for {path}" + (f"\n({why})" if why else "")


class CheckpointWatch:
    """The slots' checkpoint files as last seen; poll() re-reads the slots whose file changed."""

    interval = POLL  # seconds between polls (the tests shorten it)

    def __init__(self, slots: dict[str, Slot]) -> None:
        self.slots = {kind: slot for kind, slot in slots.items() if slot.path is not None}
        self.stamps: dict[str, Stamp | None] = {kind: stamp(slot.path) for kind, slot in self.slots.items()}
        for slot in self.slots.values():
            if not slot.usable:
                slot.error = waiting(slot.path, "" if self.stamps[slot.kind] is None else slot.error or "")

    def poll(self) -> list[str]:
        """The kinds whose file changed since the last poll and now holds a readable checkpoint of their kind."""
        changed = []
        for kind, slot in self.slots.items():
            now = stamp(slot.path)
            if now == self.stamps[kind]:
                continue
            self.stamps[kind] = now  # read once per version: an unreadable one waits for the next
            if now is not None and reread(slot):
                changed.append(kind)
        return changed


def reread(slot: Slot) -> bool:
    """Take the map and metadata of the slot's file as it is now; False (and nothing changed) if it cannot be read.

    The cursor keeps its place in latent coordinates, clamped into the new map's bounds; a slot
    that had no map yet starts at the new map's centre. The model is reloaded apart (reload_model);
    until then the old one decodes, unless the new file's model is built otherwise.
    """
    fresh = Slot.open(slot.kind, slot.path)
    if fresh.error is None and fresh.header.kind != slot.kind:
        fresh.error = f"{slot.path} holds the {fresh.header.kind.upper()} model, not the {slot.kind.upper()}"
    if fresh.error is None and fresh.needs_encoding:  # training writes none such: a file from an older tui-ae
        fresh.error = f"{slot.path} stores no map of its {fresh.latent_dim} dimensions: open it without --watch"
    if fresh.error is not None:
        if not slot.usable:
            slot.error = waiting(slot.path, fresh.error)
        return False
    had_map = slot.usable
    if slot.header is not None and fresh.header.model_args != slot.header.model_args:
        slot.model = None  # it cannot decode the new codes (another latent_dim): "loading" until the reload lands
    slot.header, slot.points, slot.labels, slot.bounds = fresh.header, fresh.points, fresh.labels, fresh.bounds
    slot.codes, slot.plane, slot.spacing, slot.needs_encoding = fresh.codes, fresh.plane, fresh.spacing, False
    slot.facts = None  # the old map's: built anew for these points
    slot.error = slot.load_error = None
    slot.move_to(*((slot.x, slot.y) if had_map else (fresh.x, fresh.y)))
    return True


def reload_model(slot: Slot, loader: ModelLoader, post: Callable[[Message], Any]) -> None:
    """Load the slot's model from its file again (in a thread worker); a reload superseded meanwhile posts nothing."""
    message = load_model(slot, loader)
    if not get_current_worker().is_cancelled:
        post(message)
