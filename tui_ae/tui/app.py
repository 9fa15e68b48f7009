"""`tui-ae explore`: walk the AE's and the VAE's latent spaces and compare their digits.

The app lays the screen out and hands each mode to its owner: explore_view.py (the
cursors and the decoded digits), compare_view.py (test images and reconstructions),
interpolation_view.py (the path between two of them), grid_screen.py and help_screen.py.
Their keys come from keys.py, and Textual routes each key to the owner that has the
focus. The first frame draws from the checkpoints alone (numpy: the stored latent maps);
the models load behind it (loading.py).

The app owns the row of maps: each model's LatentMap and, between them, the marker's large
decodings. What they draw (the cursors, the ◆, the overlays, the titles) the mode views ask
for with messages (messages.py) that they post to the app; the app sets it, and hands the
views the maps' sizes in cells (`grids`) when they are laid out anew. No view touches a map.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from rich.text import Text
from textual import events
from textual.app import App, ComposeResult
from textual.containers import Horizontal
from textual.filter import Monochrome
from textual.geometry import Size
from textual.reactive import var
from textual.widget import Widget
from textual.widgets import Static
from textual.worker import Worker, WorkerState

from tui_ae.config import KINDS
from tui_ae.render import ColorMode, Glyph, legend_segments
from tui_ae.tui.compare_view import CompareView
from tui_ae.tui.explore_view import ExploreView
from tui_ae.tui.footer import KeysFooter
from tui_ae.tui.grid_screen import GridScreen
from tui_ae.tui.help_screen import HelpScreen
from tui_ae.tui.interpolation_view import Ends, InterpolationView
from tui_ae.tui.keys import bindings
from tui_ae.tui.latent_map import LatentMap
from tui_ae.tui.loading import ModelLoader, OneTorchThread, checkpoint_model, load_models
from tui_ae.tui.map_shapes import Grid
from tui_ae.tui.marker_view import MarkerView
from tui_ae.tui.messages import (
    ActiveChanged,
    CursorMoved,
    FactsBuilt,
    MapEncoded,
    MarkerMoved,
    MarkMoved,
    ModelFailed,
    ModelLoaded,
    OverlaysChanged,
)
from tui_ae.tui.nearest import ImagesLoader, validation_images
from tui_ae.tui.quiet_gc import REST, QuietCollector
from tui_ae.tui.sizes import MIN_SIZE, layout_class
from tui_ae.tui.slot import Slot
from tui_ae.tui.too_small import TooSmallScreen


def map_panel(slot: Slot, mode: ColorMode, watching: bool = False) -> Widget:
    """A model's latent map, or where there is none, why not (a watched file gets a map to fill when it comes)."""
    if not slot.usable and not (watching and slot.path is not None):
        return Static(slot.error or "", id=f"{slot.kind}-missing", classes="map-panel missing")
    panel = LatentMap(slot.points, slot.labels, slot.bounds, mode=mode, id=f"{slot.kind}-map", classes="map-panel")
    panel.set_subtitle(*map_subtitles(slot))
    return panel


def map_subtitles(slot: Slot) -> tuple[str, ...]:
    """Under a map, in forms longest first: how many points it draws, or on a principal plane, what its axes are."""
    if not slot.usable:
        return ((slot.error or "").split("\n")[0],)
    if slot.needs_encoding:
        return (slot.load_error or "encoding the validation images for its map…",)
    if slot.plane.shares is not None:
        (x, y), (x_short, y_short) = slot.plane.axis_labels(), slot.plane.axis_labels(short=True)
        return f"x {x} · y {y}", f"x {x_short} · y {y_short}", f"{x_short} · {y_short}", "PC1 · PC2"
    n = len(slot.points)
    return (f"{n:,} validation points",) if n else ("no points stored in this checkpoint",)


def map_title(slot: Slot, active: bool, linked: bool) -> str:
    """▶ before the active model's map, "linked" after each map whose cursor moves with the other."""
    title = f"{slot.kind.upper()} latent space"
    return ("▶ " if active else "") + title + (" · linked" if linked and slot.usable else "")


class ExplorerApp(App):
    CSS_PATH = "app.tcss"
    TITLE = "tui-ae explore"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS = bindings("anywhere")

    comparing = var(False, init=False, bindings=True, toggle_class="-comparing")  # else exploring
    interpolating = var(False, init=False, bindings=True, toggle_class="-interpolating")  # opened from comparing

    def __init__(
        self,
        ae_path: Path | None,
        vae_path: Path | None,
        *,
        color_mode: ColorMode = "truecolor",  # how to draw; the terminal's colour system is Textual's (cli.explore)
        glyph: Glyph = "upper",
        data_dir: Path | None = None,
        seed: int | None = None,
        model_loader: ModelLoader | None = checkpoint_model,  # None: the digits stay "loading" (the first frame)
        watch: bool = False,  # re-read a checkpoint when its file changes (explore --watch)
        images_loader: ImagesLoader | None = validation_images,  # the images behind the codes; None: maps unmeasured
    ) -> None:
        super().__init__(ansi_color=color_mode == "16")  # 16 colours: the terminal's own palette
        self.color_mode, self.glyph, self.data_dir, self.seed = color_mode, glyph, data_dir, seed
        self.model_loader, self.images_loader = model_loader, images_loader
        self.slots = {kind: Slot.open(kind, path) for kind, path in zip(KINDS, (ae_path, vae_path))}
        self.checkpoint_watch = None
        if watch:
            from tui_ae.tui.watch import CheckpointWatch  # only for --watch: not on the first frame's path

            self.checkpoint_watch = CheckpointWatch(self.slots)
        self.quiet_gc = QuietCollector()
        self.torch_threads = OneTorchThread()
        self._mono = Monochrome()

    def get_line_filters(self):
        """Mono: greys only, as Textual itself does for NO_COLOR."""
        filters = list(super().get_line_filters())
        if self.color_mode == "mono" and not any(isinstance(f, Monochrome) for f in filters):
            filters.append(self._mono)
        return filters

    # -- layout ------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        # Flat on purpose: every container under a repainted cell is repainted with it.
        watching = self.checkpoint_watch is not None
        self.map_panels = {kind: map_panel(slot, self.color_mode, watching) for kind, slot in self.slots.items()}
        self.maps = {kind: panel for kind, panel in self.map_panels.items() if isinstance(panel, LatentMap)}
        look = {"mode": self.color_mode, "glyph": self.glyph}
        # The interpolation's large decodings, between the maps (hidden in the other modes).
        self.markers = {kind: MarkerView(**look, id=f"{kind}-marker", classes="marker") for kind in self.slots}
        first, second = self.map_panels.values()
        with Horizontal(id="maps"):
            yield first
            yield from self.markers.values()
            yield second
        yield Static(Text.assemble(*((s.text, s.style) for s in legend_segments(self.color_mode))), id="legend")
        self.explorer = ExploreView(
            self.slots, **look, data_dir=self.data_dir, images_loader=self.images_loader, id="explore"
        )
        self.compare = CompareView(self.slots, **look, data_dir=self.data_dir, seed=self.seed, id="compare")
        self.interpolation = InterpolationView(self.slots, **look, id="interpolation")
        yield self.explorer
        yield self.compare
        yield self.interpolation
        yield KeysFooter()

    def on_mount(self) -> None:
        self._apply_size(self.size)
        self._focus_mode()
        if self.model_loader is not None:
            # After the first frame: importing torch holds the GIL for most of two seconds.
            self.call_after_refresh(self._start_loading_models)
        else:
            self.call_after_refresh(self.explorer.learn_maps)
        if self.checkpoint_watch is not None:
            self.set_interval(self.checkpoint_watch.interval, self._poll_checkpoints)

    def on_resize(self, event: events.Resize) -> None:
        self._apply_size(event.size)

    def _apply_size(self, size: Size) -> None:
        name = layout_class(size.width, size.height)
        too_small = isinstance(self.screen, TooSmallScreen)
        if name is None and too_small:
            self.screen.show_size(size)
        elif name is None:
            self.push_screen(TooSmallScreen(MIN_SIZE, size))
        elif too_small:
            self.pop_screen()  # first: a class set while another screen shows leaves this one unstyled
        for candidate in ("-compact", "-normal", "-big"):
            self.set_class(candidate == name, candidate)

    def on_latent_map_resized(self) -> None:
        """Laid out anew: the maps' cells, the digits' titles and the readouts' widths have their new sizes now."""
        grids: dict[str, Grid] = {kind: latent_map.grid for kind, latent_map in self.maps.items()}
        self.compare.grids = grids
        self.explorer.refit(grids)

    # -- what the maps draw: the mode views ask, the app sets it -------------------------------
    def on_cursor_moved(self, message: CursorMoved) -> None:
        if latent_map := self.maps.get(message.kind):
            latent_map.set_cursor(message.x, message.y)

    def on_active_changed(self, message: ActiveChanged) -> None:
        for kind, panel in self.map_panels.items():
            panel.set_class(kind == message.active, "-active")
            panel.border_title = map_title(self.slots[kind], kind == message.active, message.linked)

    def on_mark_moved(self, message: MarkMoved) -> None:
        if latent_map := self.maps.get(message.kind):
            latent_map.set_mark(message.point)

    def on_overlays_changed(self, message: OverlaysChanged) -> None:
        if latent_map := self.maps.get(message.kind):
            for name, overlay in message.overlays.items():
                latent_map.set_overlay(name, overlay)

    def on_marker_moved(self, message: MarkerMoved) -> None:
        """The marker's decoding large between the maps, where it is larger there than in the strips."""
        view = self.markers[message.kind]
        if message.decoding is None:
            view.display = False
            return
        view.display = view.larger_than(message.tile)  # else it would only take the maps' room
        view.show_step(message.kind.upper(), message.step, message.steps, message.point, message.decoding)

    # -- models ------------------------------------------------------------------------------
    def _start_loading_models(self) -> None:
        work = partial(load_models, list(self.slots.values()), self.model_loader, self.post_message, self.data_dir)
        self.run_worker(work, thread=True, group="models", exclusive=True)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Once the models are in, the maps' index and images: run beside the loading, they held the digits up."""
        if event.worker.group == "models" and event.state in (WorkerState.SUCCESS, WorkerState.ERROR):
            self.explorer.learn_maps()

    def on_model_loaded(self, message: ModelLoaded) -> None:
        self.torch_threads.hold()  # before this thread's first decode
        self.slots[message.kind].model = message.model
        self._model_changed(message.kind)
        if self.quiet_gc.freeze():
            self.set_interval(REST, self.quiet_gc.collect_if_rested)

    def on_model_failed(self, message: ModelFailed) -> None:
        slot = self.slots[message.kind]
        if slot.model is not None:  # a reload (--watch): the model shown stays
            self.notify(f"Kept the {message.kind.upper()} as it was: {message.error}", severity="warning")
            return
        slot.load_error = message.error
        if message.kind in self.maps:
            self.maps[message.kind].set_subtitle(*map_subtitles(slot))
        self._model_changed(message.kind)

    def on_map_encoded(self, message: MapEncoded) -> None:
        """An old checkpoint's map, made from its validation images: shown as a reloaded one is (--watch)."""
        slot = self.slots[message.kind]
        slot.set_map(message.codes)
        slot.move_to((slot.bounds[0] + slot.bounds[1]) / 2, (slot.bounds[2] + slot.bounds[3]) / 2)
        self._show_new_map(message.kind)

    def on_facts_built(self, message: FactsBuilt) -> None:
        """A map's codes indexed: its cursor's readout and decoding, and its grid, by the local depth from now on."""
        slot = self.slots[message.kind]
        if message.facts.points is not slot.points:
            return  # a map replaced since (--watch)
        slot.facts = message.facts
        self.explorer.show_cursor(message.kind)
        for screen in self.screen_stack:
            if isinstance(screen, GridScreen) and slot.plane.shares is not None:
                screen.models_changed()  # a 2-D map decodes its grid the same way with or without them

    def _model_changed(self, kind: str) -> None:
        self.explorer.show_cursor(kind)
        self.compare.models_changed()
        self.interpolation.models_changed()
        for screen in self.screen_stack:
            if isinstance(screen, GridScreen):
                screen.models_changed()

    # -- --watch -----------------------------------------------------------------------------
    def _poll_checkpoints(self) -> None:
        for kind in self.checkpoint_watch.poll():
            slot = self.slots[kind]
            self._show_new_map(kind)
            if self.model_loader is not None:
                from tui_ae.tui.watch import reload_model

                work = partial(reload_model, slot, self.model_loader, self.post_message)
                self.run_worker(work, thread=True, group=f"reload-{kind}", exclusive=True)

    def _show_new_map(self, kind: str) -> None:
        """The slot has another map (a reload, or an old checkpoint's made anew): drawn, measured, its cursor shown."""
        slot, latent_map = self.slots[kind], self.maps[kind]
        latent_map.show_map(slot.points, slot.labels, slot.bounds)
        latent_map.set_subtitle(*map_subtitles(slot))
        self.explorer.reloaded(kind)

    def on_unmount(self) -> None:
        self.quiet_gc.unfreeze()
        self.torch_threads.release()

    def on_key(self) -> None:
        self.quiet_gc.note_input()

    def on_click(self) -> None:
        self.quiet_gc.note_input()

    # -- modes -------------------------------------------------------------------------------
    def action_compare(self) -> None:
        self.comparing = not self.comparing

    def watch_comparing(self, comparing: bool) -> None:
        """The mode's owner shows and takes the focus, and with it the keys."""
        if comparing:
            self.compare.start(self.explorer.active)
        else:
            self.compare.stop()
        self._focus_mode()

    def on_compare_view_interpolate(self, message: CompareView.Interpolate) -> None:
        self.compare.stop()  # its ◆ and outlines make way for the path
        self.interpolation.start(Ends(message.dataset, message.indices, message.labels, message.images))
        self.interpolating = True

    def action_end_interpolation(self) -> None:
        self.interpolating = False

    def watch_interpolating(self, interpolating: bool) -> None:
        if not interpolating:
            self.interpolation.stop()
            self.compare.start(self.explorer.active)  # the same data set and image as before
        self._focus_mode()

    def _focus_mode(self) -> None:
        # Now, not after a refresh as widget.focus() does: a key typed right after this one goes to the new mode.
        owner = self.interpolation if self.interpolating else self.compare if self.comparing else self.explorer
        self.explorer.screen.set_focus(owner)

    def on_latent_map_clicked(self, message: LatentMap.Clicked) -> None:
        if not self.comparing:
            kind = next(kind for kind, latent_map in self.maps.items() if latent_map is message.latent_map)
            self.explorer.jump(kind, message.x, message.y)

    def action_grid(self) -> None:
        self.push_screen(GridScreen(self.slots, mode=self.color_mode, glyph=self.glyph))

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def action_save_svg(self) -> None:
        """The screen as an SVG in the current folder (Textual's screenshot action would use Downloads)."""
        try:
            path = Path(self.save_screenshot(path=str(Path.cwd()))).resolve()
        except OSError as e:
            self.notify(f"Could not save the screen: {e.strerror or e}", severity="error")
        else:
            self.notify(f"Saved {path}", title="Screenshot")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Help from anywhere but the too-small screen, whose message is all that fits."""
        return action != "help" or not isinstance(self.screen, TooSmallScreen)
