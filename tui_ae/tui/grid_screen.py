"""Grid mode: each model's decodings over a regular grid of its latent space, side by side or one alone.

The grid lies over the map's bounds, each point decoded by the cursor's rule (on a principal
plane, the plane plus the local depth: slot.code_at); the VAE's grid of N(0, 1)'s quantiles
lies along the map's two directions, every other direction at 0, its prior's mean.
The grids are decoded in a thread worker per model; a stale answer (the terminal
was resized, the grid's size changed, or the VAE's grid switched space meanwhile)
is dropped on arrival. By default each grid is the square one with the most digits that
fit at 12x12 pixels or larger; + and - step through square grids from 2x2 to 12x12, their
digits as large as fit (grid_view.py).
"""

from __future__ import annotations

from functools import partial

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.screen import Screen
from textual.worker import get_current_worker

from tui_ae.latent import grid_points, quantile_points
from tui_ae.render import ColorMode, Glyph
from tui_ae.tui.footer import KeysFooter
from tui_ae.tui.grid_view import GridView, grid_shape, mosaic, next_side, size_note
from tui_ae.tui.keys import bindings
from tui_ae.tui.messages import GridDecoded
from tui_ae.tui.slot import Slot


class GridScreen(Screen):
    BINDINGS = bindings("grid")

    def __init__(self, slots: dict[str, Slot], *, mode: ColorMode, glyph: Glyph) -> None:
        super().__init__()
        self.slots, self.mode, self.glyph = slots, mode, glyph
        self.vae_space = "bounds"  # or "quantiles": N(0, 1)'s
        self.side: int | None = None  # digits a side the user asked for; None: as many as fit
        self.alone: str | None = None  # the model shown full-screen, or None for both
        self._wanted: dict[str, tuple] = {}  # kind -> the key of the grid asked for last

    def compose(self) -> ComposeResult:
        with Horizontal(id="grids"):
            for kind in self.slots:
                yield GridView(mode=self.mode, glyph=self.glyph, id=f"{kind}-grid")
        yield KeysFooter()

    def view(self, kind: str) -> GridView:
        return self.query_one(f"#{kind}-grid", GridView)

    def on_resize(self) -> None:
        self.call_after_refresh(self.redraw)

    # -- keys --------------------------------------------------------------------------------
    def action_toggle_space(self) -> None:
        self.vae_space = "quantiles" if self.vae_space == "bounds" else "bounds"
        self.redraw()

    def action_resize(self, step: int) -> None:
        """A square grid with more (step 1) or fewer (-1) digits than the one shown, from 2x2 to 12x12."""
        shown = [self.view(kind) for kind in self.slots if self._shows(kind)]
        shapes = [grid_shape(*view.content_size, self.side) for view in shown if view.content_size.area]
        if not shapes or shapes[0] is None:
            return
        side = next_side(shapes[0][0], step)
        if all(grid_shape(*view.content_size, side) is not None for view in shown):  # fewer always fit
            self.side = side
            self.redraw()
            return
        most = max(n for n in range(1, side) if all(grid_shape(*view.content_size, n) for view in shown))
        self.app.clear_notifications()  # one at a time, however often + is pressed
        self.notify(f"{side}×{side} does not fit here: {most}×{most} at most.", severity="warning")

    def action_alone(self) -> None:
        """Both grids, then one model's full-screen, then the other's, then both again."""
        usable = [kind for kind, slot in self.slots.items() if slot.usable]
        order = [None, *usable] if len(usable) > 1 else [None]
        self.alone = order[(order.index(self.alone) + 1) % len(order)] if self.alone in order else None
        for kind in self.slots:
            self.view(kind).display = self._shows(kind)
        self.call_after_refresh(self.redraw)  # after the views take their new widths

    def _shows(self, kind: str) -> bool:
        return self.alone is None or self.alone == kind

    # -- drawing -----------------------------------------------------------------------------
    def models_changed(self) -> None:
        """A model loaded, or a watched checkpoint changed: every grid decoded anew."""
        self._wanted.clear()
        self.redraw()

    def space(self, kind: str) -> str:
        return self.vae_space if kind == "vae" else "bounds"

    def redraw(self) -> None:
        """Ask for every grid that is not shown yet at the current size; called on resize, keys and model load."""
        if not self.is_mounted:
            return  # pushed, not yet composed: its first resize draws it
        for kind, slot in self.slots.items():
            view = self.view(kind)
            space = self.space(kind)
            view.border_title = f"{kind.upper()} · " + ("N(0,1) quantiles" if space == "quantiles" else "latent bounds")
            if not self._shows(kind):
                continue
            if not slot.usable or slot.model is None:
                view.show_message(slot.why_no_model)
                continue
            size = view.content_size
            if not size.area:
                continue  # not laid out yet: its first resize draws it
            shape = grid_shape(size.width, size.height, self.side) or grid_shape(size.width, size.height)
            if shape is None:  # not even 2x2 digits of 5x5 pixels: narrower than 10 columns
                self._wanted.pop(kind, None)
                view.show_message("too narrow for a grid")
                continue
            cols, rows, pixels = shape
            key = (kind, space, cols, rows, pixels)
            if self._wanted.get(kind) == key:
                continue
            self._wanted[kind] = key
            view.border_subtitle = f"{cols}×{rows}{size_note(pixels)}"
            if view.image is None:
                view.show_message("decoding…")
            self.run_worker(partial(self._decode, slot, key), thread=True, group=f"grid-{kind}", exclusive=True)

    def _decode(self, slot: Slot, key: tuple) -> None:
        kind, space, cols, rows, pixels = key
        if space == "quantiles":
            codes = slot.plane.directions(quantile_points(cols, rows))
        else:
            codes = slot.code_at(grid_points(cols, rows, slot.bounds))
        images = slot.decode_codes(codes)  # (rows * cols, 28, 28)
        if not get_current_worker().is_cancelled:
            self.post_message(GridDecoded(key, mosaic(images, cols, rows, pixels)))

    def on_grid_decoded(self, message: GridDecoded) -> None:
        kind = message.key[0]
        if self._wanted.get(kind) == message.key:
            self.view(kind).show_image(message.mosaic)
