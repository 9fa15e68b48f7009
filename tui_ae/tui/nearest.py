"""What explore mode knows of a map's codes besides where they lie, and the images behind them.

For each model: a bucket index of its codes (the nearest to the cursor on every key), their
typical spacing (the readout's unit), each digit's medoid (the digit keys' targets) and the
local depth (what the cursor decodes off a plane), built from the stored map in a thread worker
after the first frame. Every distance is in the full latent space: the index holds each code's
projection on the map and its residual off it (neighbours.py). And the validation images the
codes are the encodings of, rebuilt from the data set as training split it, and checked against
the map's labels before a thumbnail is shown.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from tui_ae.errors import TuiAeError
from tui_ae.latent import log_prior
from tui_ae.tui.slot import Slot

if TYPE_CHECKING:  # imported where used: the first frame needs none of it
    from tui_ae.neighbours import GridIndex, Spacing
    from tui_ae.plane import LocalDepth, Plane

NEIGHBOURS = 3  # validation images shown beside each decoded digit


@dataclass(frozen=True)
class MapFacts:
    """A map's codes, indexed; built from one reading of the checkpoint (a reload builds new facts)."""

    points: np.ndarray  # (N, 2): what the index holds, to tell these facts from a reloaded map's
    index: GridIndex  # the points, and each code's residual off the plane (none for a 2-D map)
    spacing: Spacing | None  # in full dimensions; None: too few codes, or too many in one place, to measure by
    medoids: dict[int, int]  # label -> index of its medoid code, in full dimensions
    depth: LocalDepth  # what the cursor decodes off the plane (flat for a 2-D map)

    @classmethod
    def of(
        cls, points: np.ndarray, labels: np.ndarray, codes: np.ndarray, plane: Plane, spacing: Spacing | None
    ) -> MapFacts:
        """The facts of a slot's map: its points, labels, full codes, plane and stored spacing (None: measure it)."""
        from tui_ae.neighbours import GridIndex, Spacing, class_medoids
        from tui_ae.plane import LocalDepth

        residuals = plane.residuals(codes) if plane.shares is not None else None  # a 2-D map's are all 0
        index = GridIndex(points, depths=residuals)
        if spacing is None:  # not stored: a 2-D map's, or one written by hand
            spacing = Spacing.of(index) if residuals is None else Spacing.of_codes(codes)
        depth = LocalDepth(index, index.depths if residuals is not None else np.zeros((len(points), 2)))  # one copy
        return cls(points, index, spacing, class_medoids(codes, labels), depth)


@dataclass(frozen=True)
class Near:
    """Where the cursor is relative to a map's codes."""

    indices: np.ndarray  # (k,) the nearest codes, nearest first
    distances: np.ndarray  # (k,) their distances, in latent units
    spacing: Spacing | None

    @property
    def off_the_data(self) -> bool:
        return self.spacing is not None and bool(len(self.distances)) and self.spacing.off_the_data(self.distances[0])

    def units(self, i: int) -> float | None:
        """Distance i in spacings; None where the map has no spacing to count in."""
        return self.spacing.units(float(self.distances[i])) if self.spacing else None


def near(facts: MapFacts, x: float, y: float, k: int = 1, depth: np.ndarray | None = None) -> Near:
    """The k codes nearest the code decoded at map point (x, y), whose local depth is depth (None: on the plane)."""
    indices, distances = facts.index.nearest(x, y, k, depth)
    return Near(indices, distances, facts.spacing)


def times(units: float) -> str:
    """A distance in spacings, short: 0.83×, 9.1×, 123×."""
    if units < 10:
        return f"{units:.2f}×"
    return f"{units:.1f}×" if units < 100 else f"{units:,.0f}×"


def readout(near: Near) -> tuple[str, ...]:
    """The one-line distance readout, in shorter and shorter forms: the panel shows the longest that fits."""
    if not len(near.distances):
        return ("",)
    units = near.units(0)
    if units is None:
        distance = f"{float(near.distances[0]):.3g}"
        forms = (f"nearest code at {distance}", f"nearest {distance}", distance)
    elif near.off_the_data:
        forms = (f"off the data: {times(units)} spacing", f"off the data {times(units)}", "off the data")
    else:
        forms = (f"nearest code {times(units)} spacing", f"nearest {times(units)}", times(units))
    return forms


def prior_readout(code: np.ndarray) -> str:
    """The VAE's log-density of the cursor's code under its prior N(0, I), over all its dimensions."""
    return f"log p(z) {log_prior(code):.2f}".replace("-", "−")


def decoding_readout(slot: Slot) -> tuple[str, ...]:
    """What the cursor of a map on a plane decodes, in shorter and shorter forms (nothing for a 2-D map)."""
    if slot.plane.shares is None:
        return ()
    if slot.facts is None:  # the depth is not known yet: the plane alone, for now
        return ("decodes the plane alone", "the plane alone", "plane")
    return ("decodes plane + local depth", "plane + local depth", "plane + depth")


# -- the validation images -------------------------------------------------------------------------------------


TILES = (14, 8)  # thumbnails' sizes: the image halved, or its central 24x24 in thirds (MNIST's rim is blank)


def thumbnails(images: np.ndarray, chunk: int = 1024) -> dict[int, np.ndarray]:
    """(N, 28, 28) uint8 images as the thumbnails drawn of them: {14: (N, 14, 14), 8: (N, 8, 8)} uint8.

    Kept instead of the images: 260 bytes an image rather than 784 (3 MB for 12,000, not 9.4).
    """
    tiles = {tile: np.empty((len(images), tile, tile), np.uint8) for tile in TILES}
    for start in range(0, len(images), chunk):
        pixels = images[start : start + chunk].astype(np.float32)  # a chunk at a time: 3 MB of floats
        n = len(pixels)
        halves = pixels.reshape(n, 14, 2, 14, 2).mean(axis=(2, 4))
        thirds = pixels[:, 2:26, 2:26].reshape(n, 8, 3, 8, 3).mean(axis=(2, 4))
        tiles[14][start : start + n] = np.rint(halves)
        tiles[8][start : start + n] = np.rint(thirds)
    return tiles


@dataclass(frozen=True)
class ValidationImages:
    """Thumbnails of a map's validation images, in the map's order; or why there are none."""

    tiles: dict[int, np.ndarray] | None  # tile size -> (N, tile, tile) uint8 (thumbnails())
    why_not: str = ""
    labels: np.ndarray | None = None  # (N,) the labels they were checked against: a reloaded map with these keeps them

    @classmethod
    def of(cls, images: np.ndarray, labels: np.ndarray) -> ValidationImages:
        return cls(thumbnails(images), labels=labels)

    def fit(self, labels: np.ndarray) -> bool:
        """Whether these are the images of a map with these labels (a new epoch's map of the same split)."""
        return self.tiles is not None and np.array_equal(self.labels, labels)

    def of_code(self, index: int) -> dict[int, np.ndarray]:
        """The thumbnails of one code's image, by size."""
        return {tile: images[index] for tile, images in self.tiles.items()}


def validation_images(slot: Slot, data_dir: Path | None) -> ValidationImages:
    """The images behind a slot's codes, rebuilt as training split them (runs in a thread: reads files, imports torch).

    The split is checked against the stored map: as many images as codes, with the same labels in
    the same order. Anything else (another data set, a changed split, a missing folder) is said, not shown.
    """
    from tui_ae import data  # imports torch, for the split's generator

    if not len(slot.points):
        return ValidationImages(None, "no codes stored in this checkpoint")
    try:
        images, labels, _ = data.read_validation_digits(slot.header.meta, data_dir)
    except TuiAeError as e:
        return ValidationImages(None, f"no validation images: {e}")
    if len(labels) != len(slot.labels):
        counts = f"{len(labels):,} images, the map {len(slot.labels):,} codes"
        return ValidationImages(None, f"no validation images: the data's validation split has {counts}")
    if not np.array_equal(labels, slot.labels):
        return ValidationImages(None, "no validation images: the data's validation split does not match the map")
    return ValidationImages.of(images, labels)


ImagesLoader = Callable[[Slot, Path | None], ValidationImages]  # (slot, --data-dir) -> its images; tests give others
