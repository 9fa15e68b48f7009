"""`tui-ae explore`: walk the AE's and the VAE's 2-D latent spaces and compare their digits.

The first frame draws from the checkpoints alone (numpy: the stored latent maps);
torch and the models load in a thread worker once that frame is out, and the
digit panels say "loading" meanwhile. Decoding one point takes well under a
millisecond on a CPU, so moves decode synchronously on the main thread.
"""

from __future__ import annotations

import gc
import time
from pathlib import Path

import numpy as np
from rich.color import ColorSystem
from rich.text import Text
from textual import events, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.filter import Monochrome
from textual.geometry import Size
from textual.widgets import Footer, Static

from tui_ae.config import SAMPLE_SOURCE
from tui_ae.errors import TuiAeError
from tui_ae.render import ColorMode, Glyph, legend_segments, point_of
from tui_ae.tui.compare_view import CompareView
from tui_ae.tui.digit_view import DigitView
from tui_ae.tui.grid_screen import GridScreen
from tui_ae.tui.help_screen import HelpScreen
from tui_ae.tui.latent_map import LatentMap
from tui_ae.tui.messages import ModelFailed, ModelLoaded, TestImagesFailed, TestImagesLoaded
from tui_ae.tui.slot import Slot
from tui_ae.tui.too_small import TooSmallScreen

KINDS = ("ae", "vae")
MIN_SIZE = (60, 20)  # columns, rows: two maps of some use above two 14x7 digits
BIG_STEP = 5  # cells moved by shift + arrow
COLOR_SYSTEMS = {"truecolor": ColorSystem.TRUECOLOR, "256": ColorSystem.EIGHT_BIT, "16": ColorSystem.STANDARD}


def layout_class(width: int, height: int) -> str | None:
    """The app's size class, which app.tcss sizes the digit panels by; None when too small."""
    if width < MIN_SIZE[0] or height < MIN_SIZE[1]:
        return None
    if width >= 180 and height >= 64:
        return "-big"  # digits at 2x: 56x28
    if width >= 96 and height >= 30:
        return "-normal"  # 28x14
    return "-compact"  # halved: 14x7


def _moves() -> list[Binding]:
    keys = {"left,h": (-1, 0), "down,j": (0, 1), "up,k": (0, -1), "right,l": (1, 0)}
    bindings = [
        Binding(k, f"move({dx},{dy})", "Move", show=k == "left,h", key_display="←↓↑→") for k, (dx, dy) in keys.items()
    ]
    for k, (dx, dy) in keys.items():
        arrow, letter = k.split(",")
        bindings.append(
            Binding(f"shift+{arrow},{letter.upper()}", f"move({dx * BIG_STEP},{dy * BIG_STEP})", show=False)
        )
    return bindings


class ExplorerApp(App):
    CSS_PATH = "app.tcss"
    TITLE = "tui-ae explore"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS = [
        *_moves(),
        Binding("tab", "switch", "Model", priority=True),
        Binding("space", "link", "Link"),
        Binding("c", "compare", "Compare"),
        Binding("escape", "back", "Back"),
        Binding("n", "next_image(1)", "Next"),
        Binding("p", "next_image(-1)", "Prev"),
        Binding("r", "random_image", "Random"),
        *(Binding(str(d), f"digit({d})", "Digit", show=d == 0, key_display="0-9") for d in range(10)),
        Binding("g", "grid", "Grid"),
        Binding("question_mark", "help", "Help"),
        Binding("q", "quit", "Quit"),
    ]
    EXPLORE_ACTIONS = {"move", "switch", "link", "grid"}
    COMPARE_ACTIONS = {"back", "next_image", "random_image", "digit"}

    def __init__(
        self,
        ae_path: Path | None,
        vae_path: Path | None,
        *,
        color_mode: ColorMode = "truecolor",
        glyph: Glyph = "upper",
        data_dir: Path | None = None,
        seed: int | None = None,
        load_models: bool = True,
    ) -> None:
        super().__init__(ansi_color=color_mode == "16")  # 16 colours: the terminal's own palette
        self.color_mode, self.glyph, self.data_dir = color_mode, glyph, data_dir
        self.load_models = load_models  # False: the digit panels stay as in the first frame (tests)
        if color_mode in COLOR_SYSTEMS:  # the flag wins over Textual's detection (ssh drops COLORTERM)
            self.console._color_system = COLOR_SYSTEMS[color_mode]  # Rich has no public setter
        self._mono = Monochrome()
        self.slots = {kind: Slot.open(kind, path) for kind, path in zip(KINDS, (ae_path, vae_path))}
        self.active = next((k for k in KINDS if self.slots[k].usable), "ae")
        self.linked = False
        self.comparing = False
        self.rng = np.random.default_rng(seed)
        self.test_images: TestImagesLoaded | None = None
        self.test_error: str | None = None
        self.test_index = 0
        self._loading_test_images = False
        self._frozen = False  # whether gc.freeze() was called
        self._moves_since_gc, self._last_move = 0, 0.0
        self._torch_threads: int | None = None  # torch's thread count before the app set it to one

    def get_line_filters(self):
        """Mono: greys only, as Textual itself does for NO_COLOR."""
        filters = list(super().get_line_filters())
        if self.color_mode == "mono" and not any(isinstance(f, Monochrome) for f in filters):
            filters.append(self._mono)
        return filters

    # -- layout ------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        # Flat on purpose: every container under a repainted cell is repainted with it.
        with Horizontal(id="maps"):
            for kind, slot in self.slots.items():
                if slot.usable:
                    panel = LatentMap(
                        slot.points,
                        slot.labels,
                        slot.bounds,
                        mode=self.color_mode,
                        id=f"{kind}-map",
                        classes="map-panel",
                    )
                    panel.border_subtitle = self._map_subtitle(slot)
                else:
                    panel = Static(slot.error or "", id=f"{kind}-missing", classes="map-panel missing")
                panel.border_title = f"{kind.upper()} latent space"
                yield panel
        yield Static(Text.assemble(*((s.text, s.style) for s in legend_segments(self.color_mode))), id="legend")
        with Horizontal(id="digits"):
            for kind in KINDS:
                yield DigitView(mode=self.color_mode, glyph=self.glyph, id=f"{kind}-digit")
                yield Static(id=f"{kind}-info", classes="info")
        yield CompareView(mode=self.color_mode, glyph=self.glyph, id="compare")
        yield Footer()

    @staticmethod
    def _map_subtitle(slot: Slot) -> str:
        n = len(slot.points)
        return f"{n:,} validation points" if n else "no points stored in this checkpoint"

    def on_mount(self) -> None:
        self.panels = {kind: self.query_one(f"#{kind}-map, #{kind}-missing") for kind in KINDS}
        self.maps = {kind: panel for kind, panel in self.panels.items() if isinstance(panel, LatentMap)}
        self.digit_views = {kind: self.query_one(f"#{kind}-digit", DigitView) for kind in KINDS}
        self.infos = {kind: self.query_one(f"#{kind}-info", Static) for kind in KINDS}
        self._apply_size(self.size)
        self._show_active()
        for kind in KINDS:
            self.infos[kind].update(self._info(self.slots[kind]))
        self._show_cursors()
        if self.load_models:
            # After the first frame: importing torch holds the GIL for most of two seconds.
            self.call_after_refresh(self._load_models)

    def on_resize(self, event: events.Resize) -> None:
        self._apply_size(event.size)
        self.call_after_refresh(self._show_cursors)  # the titles fit the panels' new width

    def _show_cursors(self) -> None:
        """Each cursor snapped to the centre of its cell (a resize changes the cells), and shown."""
        for kind, latent_map in self.maps.items():
            cell = latent_map.cell((self.slots[kind].x, self.slots[kind].y))
            if cell is not None:
                self.slots[kind].move_to(*point_of(*cell, self.slots[kind].bounds, *latent_map.grid))
        for kind in KINDS:
            self._show_cursor(kind)

    def _apply_size(self, size: Size) -> None:
        name = layout_class(size.width, size.height)
        for candidate in ("-compact", "-normal", "-big"):
            self.set_class(candidate == name, candidate)
        too_small = isinstance(self.screen, TooSmallScreen)
        if name is None and too_small:
            self.screen.show_size(size)
        elif name is None:
            self.push_screen(TooSmallScreen(MIN_SIZE, size))
        elif too_small:
            self.pop_screen()

    # -- models ------------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="models")
    def _load_models(self) -> None:
        import torch

        from tui_ae.checkpoint import load

        # One decode is a few small layers: a second intra-op thread only adds its wake-up to the
        # latency of a key press (p95 5 ms against 1 ms here). Restored when the app exits.
        self._torch_threads = torch.get_num_threads()
        torch.set_num_threads(1)
        for kind, slot in self.slots.items():
            if not slot.usable:
                continue
            try:
                model, _, _ = load(slot.path, kind=kind)
                with torch.inference_mode():
                    model.decode(torch.zeros(1, slot.latent_dim))  # the first call pays for setup; not a key press
            except TuiAeError as e:
                self.post_message(ModelFailed(kind, str(e)))
            else:
                self.post_message(ModelLoaded(kind, model))

    def on_unmount(self) -> None:
        if self._frozen:
            gc.unfreeze()
        if self._torch_threads is not None:
            import torch

            torch.set_num_threads(self._torch_threads)

    def on_model_loaded(self, message: ModelLoaded) -> None:
        self.slots[message.kind].model = message.model
        self._model_changed(message.kind)
        if not self._frozen:
            # Torch's import leaves a few million long-lived objects; every full collection would walk
            # them all (a 200 ms pause on a key press). Freezing moves them out of the collector's way,
            # and what Textual's caches leave behind is collected while no key is being pressed.
            gc.freeze()
            self._frozen = True
            self.set_interval(1.0, self._collect_when_idle)

    def _collect_when_idle(self) -> None:
        """A full collection after a burst of moves, once the keys have rested for a second.

        Left to itself, the collector's full pass falls in the middle of a burst every fifty
        moves or so, and costs that move 20-50 ms.
        """
        if self._moves_since_gc and time.monotonic() - self._last_move > 1.0:
            self._moves_since_gc = 0
            gc.collect()

    def on_model_failed(self, message: ModelFailed) -> None:
        self.slots[message.kind].load_error = message.error
        self._model_changed(message.kind)

    def _model_changed(self, kind: str) -> None:
        self._show_cursor(kind)
        if self.comparing:
            self._show_compare()
        for screen in self.screen_stack:
            if isinstance(screen, GridScreen):
                screen.redraw()

    # -- explore -----------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Explore's keys while exploring, compare's while comparing, neither over another screen."""
        if action == "help":
            return not isinstance(self.screen, (HelpScreen, TooSmallScreen))
        if action in self.EXPLORE_ACTIONS:
            return len(self.screen_stack) == 1 and not self.comparing
        if action in self.COMPARE_ACTIONS or action == "compare":
            return len(self.screen_stack) == 1 and (self.comparing or action == "compare")
        return True

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

    def _moved(self, kind: str) -> None:
        """The cursor of `kind` moved: show it, and carry the other cursor along when linked."""
        self._moves_since_gc, self._last_move = self._moves_since_gc + 1, time.monotonic()
        self._show_cursor(kind)
        other = self.slots[self._other(kind)]
        if self.linked and other.usable:
            other.move_to_relative(*self.slots[kind].relative())
            self._show_cursor(other.kind)

    @staticmethod
    def _other(kind: str) -> str:
        return "vae" if kind == "ae" else "ae"

    def on_latent_map_clicked(self, message: LatentMap.Clicked) -> None:
        if self.comparing:
            return
        kind = next(k for k, m in self.maps.items() if m is message.latent_map)
        self.active = kind
        self._show_active()
        self.slots[kind].move_to(message.x, message.y)
        self._moved(kind)

    def action_switch(self) -> None:
        other = self._other(self.active)
        if self.slots[other].usable:
            self.active = other
            self._show_active()

    def action_link(self) -> None:
        if not all(slot.usable for slot in self.slots.values()):
            self.notify("Linking needs both models.", severity="warning")
            return
        self.linked = not self.linked
        if self.linked:
            self._moved(self.active)
        self._show_active()

    def _show_active(self) -> None:
        for kind in KINDS:
            panel = self.panels[kind]
            panel.set_class(kind == self.active, "-active")
            title = f"{kind.upper()} latent space"
            if kind == self.active:
                title = "▶ " + title
            panel.border_title = title + (" · linked" if self.linked and self.slots[kind].usable else "")

    def _show_cursor(self, kind: str) -> None:
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
        view.border_title = self._coordinates(name, slot.x, slot.y, view.size.width - 4)
        view.border_subtitle = f"nearest: {nearest[0]}" if nearest else ""
        if slot.model is not None:
            view.show_image(slot.decode(np.array([[slot.x, slot.y]]))[0])
        else:
            view.show_message(slot.load_error or f"loading the {name}…")

    @staticmethod
    def _coordinates(name: str, x: float, y: float, width: int) -> str:
        """ "AE (1.23, -4.56)", as precise as fits in width."""
        for text in (f"{name} ({x:.2f}, {y:.2f})", f"{name} ({x:.1f}, {y:.1f})", f"({x:.1f}, {y:.1f})"):
            if len(text) <= width:
                return text
        return f"({x:.0f}, {y:.0f})"

    def _info(self, slot: Slot) -> Text:
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

    # -- compare -----------------------------------------------------------------------------
    def action_compare(self) -> None:
        self.comparing = not self.comparing
        self.set_class(self.comparing, "-comparing")
        if self.comparing:
            if self.test_images is None and not self._loading_test_images:
                self._loading_test_images = True
                self._load_test_images()
            self._show_compare()
        else:
            for latent_map in self.maps.values():
                latent_map.set_mark(None)
        self.refresh_bindings()

    def action_back(self) -> None:
        if self.comparing:
            self.action_compare()

    def action_next_image(self, delta: int) -> None:
        if self.test_images is not None:
            self.test_index = (self.test_index + delta) % len(self.test_images.labels)
            self._show_compare()

    def action_random_image(self) -> None:
        if self.test_images is not None:
            self.test_index = int(self.rng.integers(len(self.test_images.labels)))
            self._show_compare()

    def action_digit(self, digit: int) -> None:
        if self.test_images is not None:
            candidates = np.flatnonzero(self.test_images.labels == digit)
            if len(candidates):
                self.test_index = int(self.rng.choice(candidates))
                self._show_compare()

    @work(thread=True, exclusive=True, group="test-images")
    def _load_test_images(self) -> None:
        from tui_ae import data  # imports torch

        metas = [s.header.meta for s in self.slots.values() if s.usable]
        dataset = metas[0].get("dataset", "mnist") if metas else "mnist"
        recorded = (data.recorded_dir(m.get("data_source", "")) for m in metas)  # where training read them
        data_dir = self.data_dir or next((d for d in recorded if d), None)
        try:
            raw_dir, source = data.locate(dataset, data_dir, download=False, notify=lambda _: None)
            digits = data.read_split(raw_dir, "test", source)
        except TuiAeError as e:
            self.post_message(TestImagesFailed(str(e)))
        else:
            self.post_message(TestImagesLoaded(digits.images.numpy(), digits.labels.numpy(), source))

    def on_test_images_loaded(self, message: TestImagesLoaded) -> None:
        self.test_images, self._loading_test_images = message, False
        if self.comparing:
            self._show_compare()

    def on_test_images_failed(self, message: TestImagesFailed) -> None:
        self.test_error, self._loading_test_images = message.error, False
        if self.comparing:
            self._show_compare()

    def _show_compare(self) -> None:
        view = self.query_one(CompareView)
        test = self.test_images
        if test is None:
            view.show("original", "Test image", message=self.test_error or "loading the test images…")
            for kind in KINDS:
                view.show(kind, kind.upper(), message="")
            view.show_info("")
            return
        i = self.test_index
        label = int(test.labels[i])
        image = test.images[i].astype(np.float32) / 255  # (28, 28)
        view.show("original", f"Test image · a {label}", image)
        for kind, slot in self.slots.items():
            name = kind.upper()
            if not slot.usable or slot.model is None:
                view.show(kind, name, message=slot.error or slot.load_error or f"loading the {name}…")
                continue
            z, recon, mse = slot.reconstruct(image)
            view.show(kind, f"{name} · MSE {mse:.4f}", recon, subtitle=f"◆ at ({z[0]:.2f}, {z[1]:.2f})")
            self.maps[kind].set_mark((float(z[0]), float(z[1])))
        source = test.source.split(":", 1)[-1]
        if test.source == SAMPLE_SOURCE:
            source = "embedded sample: for all 10,000, pass --data-dir or put MNIST in ~/.cache/tui-ae/data"
        view.show_info(f"{i + 1:,} of\n{len(test.labels):,}\nlabel {label}\n\n◆ its\nencodings\n\n{source}")

    # -- other screens -----------------------------------------------------------------------
    def action_grid(self) -> None:
        self.push_screen(GridScreen(self.slots, mode=self.color_mode, glyph=self.glyph))

    def action_help(self) -> None:
        self.push_screen(HelpScreen())
