"""The explorer's app-level messages: what its workers post back, and what its mode views ask the app to draw.

Attributes down, messages up (Textual's guide, widgets.md): a widget never changes its
siblings. The maps, and the marker's decodings between them, are the app's: a mode view
posts one of the messages below to the app, and the app sets what the maps draw.

A view posts them to the app itself (`self.app.post_message`), not to itself to bubble up.
A key's action runs in the app's task, so the app handles the message as soon as the key
is done, and the map repaints in the same frame as the view's own panels. Bubbled, the
message would reach the app two turns of the event loop later, after the screen had drawn
the key's frame without the map: every move would take two frames.

A widget's own messages stay on the widget (`LatentMap.Clicked`, `CompareView.Interpolate`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from textual.message import Message

from tui_ae.tui.map_shapes import Overlay

if TYPE_CHECKING:  # only as types: nearest.py is imported once the maps are measured
    from tui_ae.checkpoint import LatentCodes
    from tui_ae.tui.nearest import MapFacts, ValidationImages

# -- from the workers ------------------------------------------------------------------------------------------


@dataclass
class ModelLoaded(Message):
    kind: str
    model: Any  # a torch module in eval mode


@dataclass
class ModelFailed(Message):
    kind: str
    error: str


@dataclass
class MapEncoded(Message):
    """An old checkpoint of more than 2 dimensions, which stores only its first two axes: its map made anew, from
    its validation images (posted before the model that made it)."""

    kind: str
    codes: LatentCodes


@dataclass
class TestImagesLoaded(Message):
    dataset: str  # "mnist" or "fashion-mnist"
    images: np.ndarray  # (N, 28, 28) uint8
    labels: np.ndarray  # (N,) int64
    source: str  # where they came from, as data.locate names it
    where: str  # the same, as the compare panel says it


@dataclass
class TestImagesFailed(Message):
    dataset: str
    error: str


@dataclass
class GridDecoded(Message):
    key: tuple  # what was asked for: (kind, space, cols, rows, scale); stale answers are dropped
    mosaic: np.ndarray  # (rows * 28, cols * 28) in [0, 1], shrunk as key's scale says


@dataclass
class FactsBuilt(Message):
    """A worker built a map's facts (for the points it was given: a reload may have come since)."""

    kind: str
    facts: MapFacts


@dataclass
class ImagesRead(Message):
    kind: str
    points: np.ndarray  # the map they were checked against
    images: ValidationImages


# -- from the mode views, to the app that owns the maps ----------------------------------------------------------


@dataclass
class CursorMoved(Message):
    """A model's cursor is at (x, y) now, in latent coordinates: its crosshair goes there."""

    kind: str
    x: float
    y: float


@dataclass
class ActiveChanged(Message):
    """Which model the keys move, and whether the two cursors move together: the maps' titles and borders say it."""

    active: str
    linked: bool


@dataclass
class MarkMoved(Message):
    """Compare mode's ◆, the test image's code, on a model's map; None: no ◆."""

    kind: str
    point: tuple[float, float] | None


@dataclass
class OverlaysChanged(Message):
    """Shapes laid over a model's map, by name: each replaces the one of its name, None removes it.

    A map draws its overlays in the order their names first came, later ones over earlier ones.
    """

    kind: str
    overlays: dict[str, Overlay | None]


@dataclass
class MarkerMoved(Message):
    """The interpolation's marker on a model's path: its decoding, shown large between the maps where that is
    larger than the strips' tiles. decoding None: none shown (the path closed, or this model has none)."""

    kind: str
    decoding: np.ndarray | None  # (28, 28) in [0, 1]
    step: int = 0  # 0 at A's code, steps - 1 at B's
    steps: int = 0
    point: tuple[float, float] = (0.0, 0.0)  # the marker's place on the path, in latent coordinates
    tile: int = 0  # the strips' tile width in columns
