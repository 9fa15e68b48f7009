"""Grid mode's picture (the homework's Figure 4): decodings of a regular grid of latent points.

The grid's digits are tiled into one mosaic image, drawn as one picture. Each digit is
resampled to the largest whole size that fits (render.digit_size): from 5x5 pixels up to
its own 28x28, or doubled where that fits, so a grid fills the room it has.
"""

from __future__ import annotations

import numpy as np

from tui_ae.render import DIGIT, digit_size, resample, with_even_rows
from tui_ae.tui.picture import Picture

SIDES = (2, 12)  # the square grids + and - step through
DEFAULT_DIGIT = 12  # pixels a side: the default grid has as many digits as fit at least this large

Shape = tuple[int, int, int]  # (cols, rows, pixels): cols x rows digits of pixels x pixels each


def digits_of(width: int, height: int, side: int) -> int | None:
    """Pixels a side of the digits of a side x side grid in width x height cells; None where not even 5 fit."""
    return digit_size(width // side, 2 * height // side)


def grid_shape(width: int, height: int, side: int | None = None) -> Shape | None:
    """side x side digits, as large as fit a width x height content area; None where they do not fit at 5x5 pixels.

    By default (side None), the square grid with the most digits, up to 12x12, that fit at 12x12
    pixels or larger; 2x2 where not even that does.
    """
    if side is None:
        fitting = (n for n in range(SIDES[0], SIDES[1] + 1) if (digits_of(width, height, n) or 0) >= DEFAULT_DIGIT)
        side = max(fitting, default=SIDES[0])
    pixels = digits_of(width, height, side)
    return None if pixels is None else (side, side, pixels)


def next_side(side: int, step: int) -> int:
    """The square grid one digit a side more (step 1) or fewer (-1), from 2x2 to 12x12."""
    return min(max(side + step, SIDES[0]), SIDES[1])


def size_note(pixels: int) -> str:
    """A digit's size as the subtitle says it after the grid's: nothing at 28x28, its own size."""
    if pixels == DIGIT:
        return ""
    return ", doubled" if pixels > DIGIT else f", shrunk to {pixels}×{pixels}"


def mosaic(images: np.ndarray, cols: int, rows: int, pixels: int) -> np.ndarray:
    """(rows * cols, 28, 28) -> one (rows * pixels, cols * pixels) image (and an even number of rows)."""
    tiles = resample(images, pixels)  # (rows * cols, pixels, pixels)
    tiles = tiles.reshape(rows, cols, pixels, pixels).transpose(0, 2, 1, 3).reshape(rows * pixels, cols * pixels)
    return with_even_rows(tiles)


class GridView(Picture):
    DEFAULT_CSS = """
    GridView { width: 1fr; height: 1fr; }
    """
