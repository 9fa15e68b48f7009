"""Grid mode's picture (the homework's Figure 4): decodings of a regular grid of latent points.

The grid's digits are tiled into one mosaic image, drawn as one picture: full size
(28 columns x 14 rows a digit) where enough of them fit, else halved to 14x14, or for a
grid the user asked for that fits no other way, quartered to 7x7.
"""

from __future__ import annotations

import numpy as np

from tui_ae.render import shrink
from tui_ae.tui.picture import Picture

MIN_FULL = 5  # digits per side below which the default grid shrinks them to 14x14
SIDES = (2, 12)  # the square grids + and - step through
SHRINK = {1: "", 2: ", shrunk to 14×14", 4: ", shrunk to 7×7"}  # a tile's scale, as the subtitle says it

Shape = tuple[int, int, int]  # (cols, rows, scale): scale 1, 2 or 4 is how many times each digit is shrunk


def grid_shape(width: int, height: int, side: int | None = None) -> Shape | None:
    """The grid for a width x height content area: the largest that fits, or side x side digits as large as fit.

    None when side x side does not fit even at 7x7 a digit.
    """
    if side is None:
        cols, rows = width // 28, height // 14
        if cols >= MIN_FULL and rows >= MIN_FULL:
            return cols, rows, 1
        return width // 14, height // 7, 2
    for scale in (1, 2, 4):
        tile = 28 // scale  # pixels: as many columns, half as many rows
        if side * tile <= width and (side * tile + 1) // 2 <= height:
            return side, side, scale
    return None


def next_side(cols: int, rows: int, step: int) -> int:
    """The square grid after cols x rows: the smallest with more digits (step 1); with fewer (-1), the square
    inside it (whose digits are no smaller), or one a side less than a square."""
    if cols == rows:
        side = cols + step
    elif step > 0:
        side = next(n for n in range(1, 100) if n * n > cols * rows)
    else:
        side = min(cols, rows)
    return min(max(side, SIDES[0]), SIDES[1])


def mosaic(images: np.ndarray, cols: int, rows: int, scale: int) -> np.ndarray:
    """(rows * cols, 28, 28) -> one (rows * 28, cols * 28) image, shrunk scale times (and an even number of rows)."""
    tiles = images.reshape(rows, cols, 28, 28).transpose(0, 2, 1, 3).reshape(rows * 28, cols * 28)
    return shrink(tiles, scale.bit_length() - 1)  # scale 1, 2, 4: halved 0, 1, 2 times


class GridView(Picture):
    DEFAULT_CSS = """
    GridView { width: 1fr; height: 1fr; }
    """
