"""Grid mode: each model's decodings over a regular grid of its latent space, side by side.

The grids are decoded in a thread worker per model; a stale answer (the terminal
was resized, or the VAE's grid switched space meanwhile) is dropped on arrival.
"""

from __future__ import annotations

from functools import partial

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Footer
from textual.worker import get_current_worker

from tui_ae.latent import grid_points, quantile_points
from tui_ae.render import ColorMode, Glyph
from tui_ae.tui.grid_view import GridView, grid_shape, mosaic
from tui_ae.tui.keys import bindings
from tui_ae.tui.messages import GridDecoded
from tui_ae.tui.slot import Slot


class GridScreen(Screen):
    BINDINGS = bindings("grid")

    def __init__(self, slots: dict[str, Slot], *, mode: ColorMode, glyph: Glyph) -> None:
        super().__init__()
        self.slots, self.mode, self.glyph = slots, mode, glyph
        self.vae_space = "bounds"  # or "quantiles": N(0, 1)'s
        self._wanted: dict[str, tuple] = {}  # kind -> the key of the grid asked for last

    def compose(self) -> ComposeResult:
        with Horizontal(id="grids"):
            for kind in self.slots:
                yield GridView(mode=self.mode, glyph=self.glyph, id=f"{kind}-grid")
        yield Footer()

    def on_resize(self) -> None:
        self.call_after_refresh(self.redraw)

    def action_toggle_space(self) -> None:
        self.vae_space = "quantiles" if self.vae_space == "bounds" else "bounds"
        self.redraw()

    def space(self, kind: str) -> str:
        return self.vae_space if kind == "vae" else "bounds"

    def redraw(self) -> None:
        """Ask for every grid that is not shown yet at the current size; called on resize and model load."""
        if not self.is_mounted:
            return  # pushed, not yet composed: its first resize draws it
        for kind, slot in self.slots.items():
            view = self.query_one(f"#{kind}-grid", GridView)
            space = self.space(kind)
            view.border_title = f"{kind.upper()} · " + ("N(0,1) quantiles" if space == "quantiles" else "latent bounds")
            if not slot.usable or slot.model is None:
                view.show_message(slot.error or slot.load_error or f"loading the {kind.upper()}…")
                continue
            size = view.content_size
            if not size.area:
                continue  # not laid out yet: its first resize draws it
            cols, rows, halved = grid_shape(size.width, size.height)
            key = (kind, space, cols, rows, halved)
            if self._wanted.get(kind) == key:
                continue
            self._wanted[kind] = key
            view.border_subtitle = f"{cols}×{rows}" + (", shrunk to 14×14" if halved else "")
            if view.image is None:
                view.show_message("decoding…")
            self.run_worker(partial(self._decode, slot, key), thread=True, group=f"grid-{kind}", exclusive=True)

    def _decode(self, slot: Slot, key: tuple) -> None:
        kind, space, cols, rows, halved = key
        points = quantile_points(cols, rows) if space == "quantiles" else grid_points(cols, rows, slot.bounds)
        images = slot.decode(points)  # (rows * cols, 28, 28)
        if not get_current_worker().is_cancelled:
            self.post_message(GridDecoded(key, mosaic(images, cols, rows, halved)))

    def on_grid_decoded(self, message: GridDecoded) -> None:
        kind = message.key[0]
        if self._wanted.get(kind) == message.key:
            self.query_one(f"#{kind}-grid", GridView).show_image(message.mosaic)
