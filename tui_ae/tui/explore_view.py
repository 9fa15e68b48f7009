"""Explore mode: each model's decoding of its cursor, under the maps, beside the model's details.

The mode's owner: the cursors (kept in the slots), which model is active, whether the two
are linked, and the keys that move them, live while it has the focus. It draws the
crosshairs on the maps it is given and the decoded digits in its own panels. Decoding
one point takes well under a millisecond on a CPU, so moves decode on the UI thread.
"""

from __future__ import annotations

import numpy as np
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.reactive import Initialize, var
from textual.widget import Widget
from textual.widgets import Static

from tui_ae.render import ColorMode, Glyph, point_of
from tui_ae.tui.digit_view import DigitView
from tui_ae.tui.keys import bindings
from tui_ae.tui.latent_map import LatentMap
from tui_ae.tui.slot import Slot


def coordinates(name: str, x: float, y: float, width: int) -> str:
    """ "AE (1.23, -4.56)", as precise as fits in width."""
    for text in (f"{name} ({x:.2f}, {y:.2f})", f"{name} ({x:.1f}, {y:.1f})", f"({x:.1f}, {y:.1f})"):
        if len(text) <= width:
            return text
    return f"({x:.0f}, {y:.0f})"


def model_info(slot: Slot) -> Text:
    """What does not change as the cursor moves: the model and its map."""
    if not slot.usable:
        return Text()
    meta = slot.header.meta
    epochs = meta.get("epochs_done", "?")
    x_min, x_max, y_min, y_max = slot.bounds
    text = Text()
    text.append(slot.kind.upper(), style="bold")
    text.append(f" · {epochs} epoch{'' if epochs == 1 else 's'}\n")
    if meta.get("history"):  # the weights are the last epoch's
        text.append(f"val loss {meta['history'][-1]['val']['loss']:.4g}\n")
    text.append(f"latent dim {slot.latent_dim}\n\n", style="dim")
    text.append(f"x {x_min:.3g} … {x_max:.3g}\ny {y_min:.3g} … {y_max:.3g}\n", style="dim")
    text.append(f"{len(slot.points):,} points\n", style="dim")
    return text


class ExploreView(Horizontal):
    BINDINGS = bindings("explore")
    can_focus = True

    def first_usable(self) -> str:
        return next((kind for kind, slot in self.slots.items() if slot.usable), "ae")

    active: var[str] = var(Initialize(first_usable))  # the model the keys move
    linked: var[bool] = var(False)  # both cursors move together

    def __init__(
        self, slots: dict[str, Slot], panels: dict[str, Widget], *, mode: ColorMode, glyph: Glyph, id: str | None = None
    ) -> None:
        super().__init__(id=id)
        self.slots, self.panels = slots, panels  # a map panel per model: its LatentMap, or a Static saying why not
        self.maps = {kind: panel for kind, panel in panels.items() if isinstance(panel, LatentMap)}
        self.mode, self.glyph = mode, glyph

    def compose(self) -> ComposeResult:
        for kind, slot in self.slots.items():
            yield DigitView(mode=self.mode, glyph=self.glyph, id=f"{kind}-digit")
            yield Static(model_info(slot), id=f"{kind}-info", classes="info")

    def on_mount(self) -> None:
        self.digit_views = {kind: self.query_one(f"#{kind}-digit", DigitView) for kind in self.slots}
        self.refit()

    # -- state -------------------------------------------------------------------------------
    def watch_active(self) -> None:
        for kind, panel in self.panels.items():
            panel.set_class(kind == self.active, "-active")
        self._show_titles()

    def watch_linked(self, linked: bool) -> None:
        if linked:
            self._moved(self.active)
        self._show_titles()

    def _show_titles(self) -> None:
        for kind, panel in self.panels.items():
            title = f"{kind.upper()} latent space"
            if kind == self.active:
                title = "▶ " + title
            panel.border_title = title + (" · linked" if self.linked and self.slots[kind].usable else "")

    # -- keys and clicks ---------------------------------------------------------------------
    def action_move(self, dx: int, dy: int) -> None:
        """Move the active cursor by (dx, dy) cells, from one cell's centre to another's."""
        slot, latent_map = self.slots[self.active], self.maps.get(self.active)
        cell = latent_map.cell((slot.x, slot.y)) if latent_map else None
        if cell is None:
            return
        width, height = latent_map.grid
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

    def jump(self, latent_map: LatentMap, x: float, y: float) -> None:
        """A click on a map: its cursor to (x, y), and its model active."""
        kind = next(k for k, m in self.maps.items() if m is latent_map)
        self.active = kind
        self.slots[kind].move_to(x, y)
        self._moved(kind)

    # -- drawing -----------------------------------------------------------------------------
    def refit(self) -> None:
        """Each cursor snapped to the centre of its cell (a resize changes the cells), and shown."""
        for kind, latent_map in self.maps.items():
            slot = self.slots[kind]
            cell = latent_map.cell((slot.x, slot.y))
            if cell is not None:
                slot.move_to(*point_of(*cell, slot.bounds, *latent_map.grid))
        for kind in self.slots:
            self.show_cursor(kind)

    def _moved(self, kind: str) -> None:
        """The cursor of `kind` moved: show it, and carry the other cursor along when linked."""
        self.show_cursor(kind)
        other = self.slots[self._other(kind)]
        if self.linked and other.usable:
            other.move_to_relative(*self.slots[kind].relative())
            self.show_cursor(other.kind)

    @staticmethod
    def _other(kind: str) -> str:
        return "vae" if kind == "ae" else "ae"

    def show_cursor(self, kind: str) -> None:
        """Crosshair and decoded digit of one model, for its cursor as it is now.

        Runs on every key press: what changes is the digit panel and the map's crosshair,
        so nothing else is touched (the info beside the digit is static).
        """
        slot, view = self.slots[kind], self.digit_views[kind]
        name = kind.upper()
        if not slot.usable:
            view.border_title = name
            view.show_message(slot.error or "")
            return
        self.maps[kind].set_cursor(slot.x, slot.y)
        nearest = slot.nearest()
        view.border_title = coordinates(name, slot.x, slot.y, view.size.width - 4)
        view.border_subtitle = f"nearest: {nearest[0]}" if nearest else ""
        if slot.model is not None:
            view.show_image(slot.decode(np.array([[slot.x, slot.y]]))[0])
        else:
            view.show_message(slot.load_error or f"loading the {name}…")
