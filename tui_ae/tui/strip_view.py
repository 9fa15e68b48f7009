"""A strip of digits in a row: A's original, decodings along a path, B's original; a bar over and under the marker's.

Its tiles are shrunk as grid mode's are (halved to 14x14, or halved again where the
strip is under 7 rows high). Moving the marker changes the bars of two tiles, on the
strip's first and last rows, and only those two rows are repainted. Bars rather than a
frame: Textual 8.2 writes each repainted line of a widget from its left edge, so a
frame's sides would repaint every row of the strip up to the tile.
"""

from __future__ import annotations

import operator

import numpy as np
from textual.geometry import Region

from tui_ae.render import shrink
from tui_ae.tui.picture import Picture

GAP = 1  # a column of pixels between each original and the decodings
GAP_GREY = 0.25
BAR_GREY = 0.6  # the marker's bars: not ink (1.0), yet plain on black and as a shade glyph
MIN_STEPS = 2  # the path's two ends, however narrow the strip


def halvings(rows: int) -> int:
    """How many times a 28x28 digit is halved for a strip `rows` cells high: 14x14 (7 rows) where it fits, else 7x7."""
    return 1 if rows >= 7 else 2


def tile_width(times: int) -> int:
    return 28 >> times


def steps_that_fit(width: int, times: int) -> int:
    """How many decodings fit between the two originals in `width` columns (one column a pixel)."""
    return max(MIN_STEPS, (width - 2 * GAP) // tile_width(times) - 2)


def strip_image(originals: np.ndarray, decodings: np.ndarray, times: int) -> np.ndarray:
    """(2, 28, 28) A and B, (steps, 28, 28) decodings -> one image: A, gap, the decodings, gap, B."""
    tiles = [shrink(image, times) for image in decodings]
    a, b = (shrink(image, times) for image in originals)
    gap = np.full((a.shape[0], GAP), GAP_GREY, np.float32)
    return np.hstack([a, gap, *tiles, gap, b])


def marker_columns(marker: int, times: int) -> tuple[int, int]:
    """(first column, width) of the marker's tile in strip_image's picture."""
    width = tile_width(times)
    return width + GAP + marker * width, width


def barred(strip: np.ndarray, marker: int, times: int) -> np.ndarray:
    """The strip with the marker's tile's top and bottom rows of pixels grey: its bars."""
    strip = strip.copy()
    x, width = marker_columns(marker, times)
    strip[[0, -1], x : x + width] = BAR_GREY
    return strip


class StripView(Picture):
    DEFAULT_CSS = """
    StripView { width: 1fr; height: 1fr; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.strip: tuple[np.ndarray, int] | None = None  # the strip without bars (shrunk once), its halvings
        self.marker: int | None = None
        self._made_of: tuple[np.ndarray, np.ndarray, int] | None = None  # what self.strip was made of

    def show_strip(self, originals: np.ndarray, decodings: np.ndarray, times: int, marker: int) -> None:
        """The strip of these images with the marker's tile barred; the same images again only move the marker.

        Opening the view redraws it twice (once opened, once laid out): the second must not repaint the strip.
        """
        made_of = (originals, decodings, times)
        if self.strip is not None and self._made_of is not None and all(map(operator.is_, made_of, self._made_of)):
            self.move_marker(marker)
            return
        self._made_of = made_of
        self.strip, self.marker = (strip_image(originals, decodings, times), times), marker
        self.show_image(barred(self.strip[0], marker, times))

    def move_marker(self, marker: int) -> None:
        """Bar another tile, repainting only the strip's first and last rows, where the bars are."""
        if self.strip is None or self.image is None or marker == self.marker:
            return
        old, self.marker = self.marker, marker
        plain, times = self.strip
        self.image = barred(plain, marker, times)
        self._build()
        size = self.content_size
        rows, cols = self.image.shape[0] // 2, self.image.shape[1]
        if cols > size.width or rows > size.height:  # cropped: tiles are not where the sums say
            self.refresh()
            return
        left, top = (size.width - cols) // 2, (size.height - rows) // 2  # as Picture centres it
        for tile in {old, marker} - {None}:
            x, width = marker_columns(tile, times)
            self.refresh(Region(left + x, top, width, 1), Region(left + x, top + rows - 1, width, 1))

    def show_message(self, message: str) -> None:
        self.strip, self.marker, self._made_of = None, None, None
        super().show_message(message)
