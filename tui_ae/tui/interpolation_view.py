"""Interpolation view: the straight path between two test images' codes, on both maps and as strips of decodings.

The mode's owner, opened from compare mode (`a` marks a test image as A, `b` another as B).
Each model encodes A and B, images of the data set it was trained on (a model trained on
another one says so in its strip), and its map shows the path from A's code to B's: a
straight line in the full latent space, drawn as its projection on a plane's map. Under
the maps, a strip per model holds A's original, the decodings of evenly spaced points of
the path (as many as fit the width) and B's original. ←/→ move a marker from point to
point: ◆ on the maps, bars over and under its tile in the strips, its decodings large
beside the maps. The maps and the large decodings are the app's: this view posts the path,
the ◆ and the marker's decodings (messages.py), and the app draws them.

Where the AE's path crosses a hole in its space, its decodings break up while the VAE's
stay digit-like: the contrast the homework's two models are about. Each strip is one
batched decode, made again only when a resize changes how many points fit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from tui_ae.render import ColorMode, Glyph
from tui_ae.tui.compare_view import dataset_name, dataset_of
from tui_ae.tui.keys import bindings
from tui_ae.tui.map_shapes import Line, Overlay, Point
from tui_ae.tui.messages import MarkerMoved, OverlaysChanged
from tui_ae.tui.slot import Slot
from tui_ae.tui.strip_view import StripView, steps_that_fit, tile_size

OVERLAYS = ("path", "marker", "A", "B")  # drawn on each map in this order (_draw_path's): A and B stay over the ◆


@dataclass(frozen=True)
class Ends:
    """The two test images the path joins."""

    dataset: str
    indices: tuple[int, int]  # in the data set's test images
    labels: tuple[int, int]
    images: np.ndarray  # (2, 28, 28) in [0, 1]


def path_points(start: np.ndarray, end: np.ndarray, steps: int) -> np.ndarray:
    """(steps, D) evenly spaced points from start to end, both included."""
    t = np.linspace(0.0, 1.0, steps)[:, None]
    return start + t * (end - start)


def marker_overlay(point: np.ndarray) -> Overlay:
    """The marker on a map: ◆ at its point of the path."""
    x, y = point.tolist()
    return Overlay(Point(x, y), "◆", "mark")


class InterpolationView(Vertical):
    BINDINGS = bindings("interpolation")
    can_focus = True

    def __init__(self, slots: dict[str, Slot], *, mode: ColorMode, glyph: Glyph, id: str | None = None) -> None:
        super().__init__(id=id)
        self.slots, self.mode, self.glyph = slots, mode, glyph
        self.ends: Ends | None = None
        self.at = 0.0  # the marker, as a fraction of the way from A to B: kept when a resize changes the steps
        self.paths: dict[str, np.ndarray] = {}  # by model: (steps, D) codes of its path, A's code first
        self.drawn: dict[str, np.ndarray] = {}  # by model: (steps, 2) the path's points on its map
        self.decodings: dict[str, np.ndarray] = {}  # by model: (steps, 28, 28)
        self.tile = 0  # a strip's tile width in columns, as last drawn

    def compose(self) -> ComposeResult:
        for kind in self.slots:
            with Horizontal(classes="strip-row"):
                yield Static(kind.upper(), classes="strip-label")
                yield StripView(mode=self.mode, glyph=self.glyph, id=f"{kind}-strip")

    def strip(self, kind: str) -> StripView:
        return self.query_one(f"#{kind}-strip", StripView)

    @property
    def steps(self) -> int:
        """The decodings per strip, as many as fit (0 before the view is laid out)."""
        return max((len(points) for points in self.paths.values()), default=0)

    @property
    def marker(self) -> int:
        """The marker's step: 0 at A's code, steps - 1 at B's."""
        return round(self.at * (self.steps - 1)) if self.steps > 1 else 0

    # -- the mode ----------------------------------------------------------------------------
    def start(self, ends: Ends) -> None:
        self.ends, self.at = ends, 0.0
        self.paths, self.drawn, self.decodings = {}, {}, {}
        la, lb = ends.labels
        self.border_title = f"{la} → {lb}"
        self.border_subtitle = f"test images {ends.indices[0] + 1:,} → {ends.indices[1] + 1:,}"
        self.call_after_refresh(self.redraw)  # once laid out: the strips' width sets the steps

    def stop(self) -> None:
        self.ends = None
        self.paths, self.drawn, self.decodings = {}, {}, {}
        for kind in self.slots:
            self._clear_path(kind)

    def models_changed(self) -> None:
        if self.ends is not None:
            self.paths, self.drawn, self.decodings = {}, {}, {}
            self.redraw()

    def on_resize(self) -> None:
        if self.ends is not None:
            self.call_after_refresh(self.redraw)

    # -- keys --------------------------------------------------------------------------------
    def action_step(self, delta: int) -> None:
        """Move the marker `delta` points along the path, stopping at its ends."""
        if self.steps > 1:
            self.at = min(max(self.marker + delta, 0), self.steps - 1) / (self.steps - 1)
            self._show_marker()

    # -- drawing -----------------------------------------------------------------------------
    def redraw(self) -> None:
        """Decode each model's path for as many points as fit (only when that number changed), and show it."""
        if self.ends is None:
            return
        size = self.strip(next(iter(self.slots))).content_size
        if not size.area:
            return  # not laid out yet: its resize redraws
        self.tile = tile_size(size.width, size.height)
        steps = steps_that_fit(size.width, self.tile)
        marker = round(self.at * (steps - 1))  # not self.marker: the paths change length one by one below
        for kind, slot in self.slots.items():
            why_not = self._why_not(slot)
            if why_not:  # said in its strip
                self.paths.pop(kind, None)
                self.drawn.pop(kind, None)
                self.strip(kind).show_message(why_not)
                self._clear_path(kind)
                continue
            if len(self.paths.get(kind, ())) != steps:
                codes = slot.encode(self.ends.images)  # (2, D): A's and B's
                self.paths[kind] = path_points(codes[0], codes[1], steps)
                self.drawn[kind] = slot.plane.project(self.paths[kind])  # a 2-D model's path itself
                self.decodings[kind] = slot.decode_codes(self.paths[kind])  # (steps, 28, 28): one batch
                self._draw_path(kind, slot.plane.project(codes), self.drawn[kind][marker])
            self.strip(kind).show_strip(self.ends.images, self.decodings[kind], self.tile, marker)
        self._show_marker()

    def _why_not(self, slot: Slot) -> str | None:
        """Why a model's path cannot be shown, or None when it can."""
        name = slot.kind.upper()
        if not slot.usable or slot.model is None:
            return slot.why_no_model
        if (trained_on := dataset_of(slot)) != self.ends.dataset:
            there, here = dataset_name(trained_on), dataset_name(self.ends.dataset)
            return f"the {name} was trained on {there}, not {here}: no path between {here} images"
        return None

    def _draw_path(self, kind: str, ends: np.ndarray, marker: np.ndarray) -> None:
        """The path from A's code to B's on the model's map (ends: (2, 2) where they lie on it), the marker, A and B."""
        (ax, ay), (bx, by) = ends.tolist()
        overlays = {
            "path": Overlay(Line((ax, ay), (bx, by)), "·"),
            "marker": marker_overlay(marker),
            "A": Overlay(Point(ax, ay), "A", "mark"),
            "B": Overlay(Point(bx, by), "B", "mark"),
        }
        self.app.post_message(OverlaysChanged(kind, overlays))

    def _clear_path(self, kind: str) -> None:
        """No path on the model's map: its overlays removed, and its decodings no longer shown large."""
        self.app.post_message(OverlaysChanged(kind, dict.fromkeys(OVERLAYS)))
        self.app.post_message(MarkerMoved(kind, None))

    def _show_marker(self) -> None:
        """The marker at its step: ◆ on each map, its tile barred in each strip, its decodings large."""
        i = self.marker
        for kind, points in self.drawn.items():
            self.app.post_message(OverlaysChanged(kind, {"marker": marker_overlay(points[i])}))
            self.strip(kind).move_marker(i)
            x, y = points[i].tolist()
            self.app.post_message(MarkerMoved(kind, self.decodings[kind][i], i, len(points), (x, y), self.tile))
