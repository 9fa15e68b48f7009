"""A strip of digits in a row: A's original, decodings along a path, B's original; a bar over and under the marker's.

Its tiles are sized as grid mode's digits are (render.digit_size): as large as the strip's
height allows, 14x14 pixels in a strip of 7 rows, 8x8 in one of 4. Moving the marker
changes the bars of two tiles, on the strip's first and last rows, and only those two rows
are repainted. Bars rather than a frame: Textual 8.2 writes each repainted line of a
widget from its left edge, so a frame's sides would repaint every row of the strip up to
the tile.
"""

from __future__ import annotations

import operator

import numpy as np
from textual.geometry import Region

from tui_ae.render import SMALLEST, digit_size, resample, with_even_rows
from tui_ae.tui.picture import Picture

GAP = 1  # a column of pixels between each original and the decodings
GAP_GREY = 0.25
BAR_GREY = 0.6  # the marker's bars: not ink (1.0), yet plain on black and as a shade glyph
MIN_STEPS = 2  # the path's two ends, however narrow the strip


def tile_size(width: int, rows: int) -> int:
    """Pixels a side of the tiles of a strip `width` columns by `rows` cells: as large as its height allows."""
    return digit_size(width, 2 * rows) or SMALLEST


def steps_that_fit(width: int, tile: int) -> int:
    """How many decodings fit between the two originals in `width` columns (one column a pixel)."""
    return max(MIN_STEPS, (width - 2 * GAP) // tile - 2)


def strip_image(originals: np.ndarray, decodings: np.ndarray, tile: int) -> np.ndarray:
    """(2, 28, 28) A and B, (steps, 28, 28) decodings -> one image of tiles `tile` pixels a side: A, gap, the
    decodings, gap, B."""
    a, b = resample(originals, tile)
    gap = np.full((tile, GAP), GAP_GREY)
    return with_even_rows(np.hstack([a, gap, *resample(decodings, tile), gap, b]))


def marker_columns(marker: int, tile: int) -> tuple[int, int]:
    """(first column, width) of the marker's tile in strip_image's picture."""
    return tile + GAP + marker * tile, tile


def barred(strip: np.ndarray, marker: int, tile: int) -> np.ndarray:
    """The strip with the marker's tile's top and bottom rows of pixels grey: its bars."""
    strip = strip.copy()
    x, width = marker_columns(marker, tile)
    strip[[0, tile - 1], x : x + width] = BAR_GREY
    return strip


class StripView(Picture):
    DEFAULT_CSS = """
    StripView { width: 1fr; height: 1fr; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.strip: tuple[np.ndarray, int] | None = None  # the strip without bars (resampled once), its tile size
        self.marker: int | None = None
        self._made_of: tuple[np.ndarray, np.ndarray, int] | None = None  # what self.strip was made of

    def show_strip(self, originals: np.ndarray, decodings: np.ndarray, tile: int, marker: int) -> None:
        """The strip of these images with the marker's tile barred; the same images again only move the marker.

        Opening the view redraws it twice (once opened, once laid out): the second must not repaint the strip.
        """
        made_of = (originals, decodings, tile)
        if self.strip is not None and self._made_of is not None and all(map(operator.is_, made_of, self._made_of)):
            self.move_marker(marker)
            return
        self._made_of = made_of
        self.strip, self.marker = (strip_image(originals, decodings, tile), tile), marker
        self.show_image(barred(self.strip[0], marker, tile))

    def move_marker(self, marker: int) -> None:
        """Bar another tile, repainting only the strip's first and last rows, where the bars are."""
        if self.strip is None or self.image is None or marker == self.marker:
            return
        old, self.marker = self.marker, marker
        plain, tile = self.strip
        self.image = barred(plain, marker, tile)
        self._build()
        size = self.content_size
        rows, cols = self.image.shape[0] // 2, self.image.shape[1]
        if cols > size.width or rows > size.height:  # cropped: tiles are not where the sums say
            self.refresh()
            return
        left, top = (size.width - cols) // 2, (size.height - rows) // 2  # as Picture centres it
        for step in {old, marker} - {None}:
            x, width = marker_columns(step, tile)
            self.refresh(Region(left + x, top, width, 1), Region(left + x, top + (tile - 1) // 2, width, 1))

    def show_message(self, message: str) -> None:
        self.strip, self.marker, self._made_of = None, None, None
        super().show_message(message)
