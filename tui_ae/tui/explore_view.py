"""Explore mode: each model's decoding of its cursor, under the maps, beside the nearest real digits.

The mode's owner: the cursors (kept in the slots), which model is active, whether the two
are linked, and the keys that move them, live while it has the focus. It draws the decoded
digits in its own panels, and beside each the readout of how far the cursor's code is from
the model's codes, in all their dimensions (every move), and the three validation images
nearest it (once the keys rest). On a map of a principal plane the cursor decodes the plane
plus the local depth (plane.py), and the readout says so.
The maps are the app's: this view posts where each cursor is and which model is active
(messages.py), and the app draws the crosshairs and the titles; the app hands down each
map's size in cells (`grids`), which a move by cells needs. Decoding one point takes well
under a millisecond on a CPU, so moves decode on the UI thread; the index, spacing, medoids
and local depth of each map (nearest.py) and the validation images are built in thread
workers after the first frame (the app hands the facts to the slots as they come).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.reactive import Initialize, var
from textual.timer import Timer

from tui_ae.render import ColorMode, Glyph, point_of
from tui_ae.tui.digit_view import DigitView
from tui_ae.tui.formatting import point_forms
from tui_ae.tui.info_panel import InfoPanel, Neighbour
from tui_ae.tui.keys import bindings
from tui_ae.tui.map_shapes import Cell, Grid, cell_at
from tui_ae.tui.messages import ActiveChanged, CursorMoved, FactsBuilt, ImagesRead
from tui_ae.tui.nearest import (
    NEIGHBOURS,
    ImagesLoader,
    MapFacts,
    ValidationImages,
    decoding_readout,
    near,
    prior_readout,
    readout,
    times,
    validation_images,
)
from tui_ae.tui.quiet_gc import release_free_memory
from tui_ae.tui.slot import Slot

REST = 0.1  # seconds after the last move at which the thumbnails follow the cursor


def coordinates(name: str, x: float, y: float) -> tuple[str, ...]:
    """ "AE (1.23, -4.56)" and shorter forms of it, for the digit's title: the name goes first, then decimals."""
    at = point_forms(x, y)
    return (f"{name} {at[0]}", f"{name} {at[1]}", *at)


def model_header(slot: Slot) -> tuple[Text, ...]:
    """The model's line: its name, epochs and last validation loss; shorter forms after it, for narrow panels."""
    if not slot.usable:
        return (Text(),)
    meta = slot.header.meta
    epochs = meta.get("epochs_done", "?")
    name = Text(slot.kind.upper(), style="bold")
    long = Text.assemble(name, f" · {epochs} epoch{'' if epochs == 1 else 's'}")
    if not meta.get("history"):
        return (long, name)
    loss = f"{meta['history'][-1]['val']['loss']:.4g}"  # the weights are the last epoch's
    return (long + f" · val {loss}", Text.assemble(name, f" · {epochs} ep · {loss}"), long, name)


def map_details(slot: Slot) -> Text:
    """What does not change as the cursor moves: the map's extent."""
    if not slot.usable:
        return Text()
    x_min, x_max, y_min, y_max = slot.bounds
    lines = (f"latent dim {slot.latent_dim}", f"{len(slot.points):,} codes", f"x {x_min:.3g} … {x_max:.3g}")
    return Text("\n".join((*lines, f"y {y_min:.3g} … {y_max:.3g}")))


class ExploreView(Horizontal):
    BINDINGS = bindings("explore")
    can_focus = True

    def first_usable(self) -> str:
        return next((kind for kind, slot in self.slots.items() if slot.usable), "ae")

    active: var[str] = var(Initialize(first_usable))  # the model the keys move
    linked: var[bool] = var(False)  # both cursors move together

    def __init__(
        self,
        slots: dict[str, Slot],
        *,
        mode: ColorMode,
        glyph: Glyph,
        data_dir: Path | None = None,
        images_loader: ImagesLoader | None = validation_images,  # None: nothing measured (the first frame, in tests)
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.slots = slots
        self.grids: dict[str, Grid] = {}  # by kind: its map's (width, height) in cells as laid out; the app's to set
        self.mode, self.glyph, self.data_dir, self.images_loader = mode, glyph, data_dir, images_loader
        self.images: dict[str, ValidationImages] = {}  # by kind, once read
        self._restless: set[str] = set()  # kinds whose cursor moved since the thumbnails last followed
        self._rest_timer: Timer | None = None  # one at a time: a key only notes when it came (_rested)
        self._last_move = 0.0

    def compose(self) -> ComposeResult:
        for kind in self.slots:
            yield DigitView(mode=self.mode, glyph=self.glyph, id=f"{kind}-digit")
            yield InfoPanel(mode=self.mode, glyph=self.glyph, id=f"{kind}-info", classes="info")

    def on_mount(self) -> None:
        self.digit_views = {kind: self.query_one(f"#{kind}-digit", DigitView) for kind in self.slots}
        self.info = {kind: self.query_one(f"#{kind}-info", InfoPanel) for kind in self.slots}
        for kind in self.slots:
            self.show_model(kind)
        self.refit()  # the maps' facts and images come later: the app calls learn_maps once the models are in

    # -- state -------------------------------------------------------------------------------
    def watch_active(self) -> None:
        self._say_active()

    def watch_linked(self, linked: bool) -> None:
        if linked:
            self._moved(self.active)
        self._say_active()

    def _say_active(self) -> None:
        """Which model is active, and whether linked: for the maps' titles and borders, which the app draws."""
        self.app.post_message(ActiveChanged(self.active, self.linked))

    def _cell(self, kind: str) -> Cell | None:
        """The cell of its map that a model's cursor is in; None before the map is laid out (or where there is none)."""
        slot = self.slots[kind]
        return cell_at((slot.x, slot.y), slot.bounds, self.grids.get(kind))

    # -- keys and clicks ---------------------------------------------------------------------
    def action_move(self, dx: int, dy: int) -> None:
        """Move the active cursor by (dx, dy) cells, from one cell's centre to another's."""
        slot, cell = self.slots[self.active], self._cell(self.active)
        if cell is None:
            return
        width, height = self.grids[self.active]
        col, row = min(max(cell[0] + dx, 0), width - 1), min(max(cell[1] + dy, 0), height - 1)
        slot.move_to(*point_of(col, row, slot.bounds, width, height))
        self._moved(self.active)

    def action_switch(self) -> None:
        other = self._other(self.active)
        if self.slots[other].usable:
            self.active = other

    def action_link(self) -> None:
        if not all(slot.usable for slot in self.slots.values()):
            self.notify("Linking needs both models.", severity="warning")
            return
        self.linked = not self.linked

    def action_digit(self, digit: int) -> None:
        """The active cursor (and, when linked, the other) to the medoid of the digit's codes in its own map."""
        kinds = [self.active] + ([self._other(self.active)] if self.linked else [])
        missing = []
        for kind in kinds:
            slot, facts = self.slots[kind], self._facts(kind)
            if not slot.usable:
                continue
            if facts is None or digit not in facts.medoids:
                missing.append(kind.upper())
                continue
            slot.move_to(*(float(v) for v in facts.points[facts.medoids[digit]]))
            self.show_cursor(kind)
        if missing:
            measuring = any(self._facts(kind.lower()) is None for kind in missing)
            why = "is still being measured" if measuring else f"has no {digit}s"
            self.notify(f"The {' and the '.join(missing)} map {why}.", severity="warning")

    def jump(self, kind: str, x: float, y: float) -> None:
        """A click on a model's map: its cursor to (x, y), and the model active."""
        if not self.slots[kind].usable:  # a watched checkpoint not there yet
            return
        self.active = kind
        self.slots[kind].move_to(x, y)
        self._moved(kind)

    # -- drawing -----------------------------------------------------------------------------
    def refit(self, grids: dict[str, Grid] | None = None) -> None:
        """Each cursor snapped to the centre of its cell (a resize changes the cells; grids: their sizes), and shown."""
        if grids is not None:
            self.grids = grids
        for kind, slot in self.slots.items():
            cell = self._cell(kind)
            if cell is not None:
                slot.move_to(*point_of(*cell, slot.bounds, *self.grids[kind]))
        for kind in self.slots:
            self.show_cursor(kind)

    def _moved(self, kind: str) -> None:
        """The cursor of `kind` moved: show it, and carry the other cursor along when linked."""
        self.show_cursor(kind)
        other = self.slots[self._other(kind)]
        if self.linked and other.usable:
            other.move_to_relative(*self.slots[kind].relative())
            self.show_cursor(other.kind)

    def _other(self, kind: str) -> str:
        return next(other for other in self.slots if other != kind)

    def reloaded(self, kind: str) -> None:
        """A watched checkpoint changed: its model line, its map's facts and its cursor anew (kept in place)."""
        self.show_model(kind)
        if not self.slots[self.active].usable:
            self.active = kind
        self._say_active()  # the title says "linked" only of a map that has a model
        images = self.images.pop(kind, None)
        if images is not None and images.fit(self.slots[kind].labels):  # the same validation split, in a new map
            self.images[kind] = images
        self.learn_maps((kind,), images=kind not in self.images)
        self.show_cursor(kind)

    def show_model(self, kind: str) -> None:
        """The model's line and its map's extent beside its digit: on mount, and after a reload."""
        slot = self.slots[kind]
        self.info[kind].show_model(model_header(slot), map_details(slot))

    def show_cursor(self, kind: str) -> None:
        """Crosshair, decoded digit and distance readout of one model, for its cursor as it is now.

        Runs on every key press: what changes is the digit panel, the map's crosshair (which the
        app draws) and the readout's line, so nothing else is touched; the thumbnails follow once
        the keys rest.
        """
        slot, view = self.slots[kind], self.digit_views[kind]
        name = kind.upper()
        if not slot.usable:
            view.set_titles((name,))
            view.show_message(slot.error or "")
            return
        self.app.post_message(CursorMoved(kind, slot.x, slot.y))
        facts = self._facts(kind)
        depth = slot.depth_at(slot.x, slot.y)  # off the plane: the same for the decoding and the distances
        code = slot.plane.code(np.array([[slot.x, slot.y]]), depth)  # (1, D)
        if facts is not None and facts.index.size:
            where = near(facts, slot.x, slot.y, depth=depth)
            nearest: tuple[int, float] | None = (int(slot.labels[where.indices[0]]), float(where.distances[0]))
            lines = [readout(where)]
            off = where.off_the_data
        else:
            nearest, lines, off = slot.nearest(), [("measuring the map…" if len(slot.points) else "",)], False
        if kind == "vae":
            lines.append((prior_readout(code[0]),))
        if rule := decoding_readout(slot):
            lines.append(rule)
        self.info[kind].show_readout(tuple(lines), off)
        view.set_titles(coordinates(name, slot.x, slot.y), (f"nearest: {nearest[0]}" if nearest else "",))
        if slot.model is not None:
            view.show_image(slot.decode_codes(code)[0])
        else:
            view.show_message(slot.why_no_model)
        self._restless.add(kind)
        self._last_move = time.monotonic()
        if self._rest_timer is None:
            self._rest_timer = self.set_timer(REST, self._rested)

    def _rested(self) -> None:
        """The timer is up: the thumbnails follow if the keys have rested since the last move, else wait on."""
        self._rest_timer = None
        wait = REST - (time.monotonic() - self._last_move)
        if wait > 0.005:
            self._rest_timer = self.set_timer(wait, self._rested)
        else:
            self.show_neighbours()

    def show_neighbours(self) -> None:
        """The validation images nearest each cursor that moved: once the keys rest."""
        for kind in self._restless:
            self._show_neighbours(kind)
        self._restless.clear()

    def _show_neighbours(self, kind: str) -> None:
        slot, info = self.slots[kind], self.info[kind]
        facts, images = self._facts(kind), self.images.get(kind)
        if not slot.usable or slot.needs_encoding:  # no map yet: its panel says why
            return
        if images is not None and images.tiles is None:
            info.show_note(images.why_not)
        elif facts is None or images is None:
            info.show_note("finding the nearest validation images…")
        elif facts.index.size:
            where = near(facts, slot.x, slot.y, NEIGHBOURS, slot.depth_at(slot.x, slot.y))
            shown = []
            for i, code in enumerate(where.indices.tolist()):
                units = where.units(i)
                distance = times(units) if units is not None else f"{float(where.distances[i]):.2g}"
                shown.append(Neighbour(code, images.of_code(code), int(slot.labels[code]), distance))
            info.show_neighbours(tuple(shown))

    def _facts(self, kind: str) -> MapFacts | None:
        """The facts of the slot's map as it is now (none yet: a replaced map's are dropped with it)."""
        return self.slots[kind].facts

    # -- the maps' facts and images, from thread workers -------------------------------------
    def learn_maps(self, kinds: tuple[str, ...] | None = None, images: bool = True) -> None:
        """Index each map and read its validation images (again, for the kinds given after a reload)."""
        chosen = [
            slot for kind in (kinds or self.slots) if (slot := self.slots[kind]).usable and not slot.needs_encoding
        ]
        if chosen and self.images_loader is not None:  # what each map is now: a reload may replace it meanwhile
            self._build_facts(
                [(slot.kind, (slot.points, slot.labels, slot.codes, slot.plane, slot.spacing)) for slot in chosen]
            )
        if chosen and images and self.images_loader is not None:
            self._read_images(chosen)

    @work(thread=True, group="map-facts")
    def _build_facts(self, maps: list[tuple[str, tuple]]) -> None:
        """Each map's facts, handed to the app (the slots are its: it gives each its facts, if still its map's)."""
        for kind, stored in maps:
            self.app.post_message(FactsBuilt(kind, MapFacts.of(*stored)))
        release_free_memory()  # the passes' temporary arrays

    @work(thread=True, group="validation-images")
    def _read_images(self, slots: list[Slot]) -> None:
        read: dict[tuple, ValidationImages] = {}  # the AE and the VAE usually share their data: read it once
        for slot in slots:
            meta = slot.header.meta
            key = (meta.get("dataset"), meta.get("data_source"), len(slot.labels), slot.labels.tobytes())
            if key not in read:
                read[key] = self.images_loader(slot, self.data_dir)
            self.post_message(ImagesRead(slot.kind, slot.points, read[key]))
        release_free_memory()  # the file's chunks

    def on_images_read(self, message: ImagesRead) -> None:
        if message.points is self.slots[message.kind].points:
            self.images[message.kind] = message.images
            self._restless.add(message.kind)
            self.show_neighbours()
