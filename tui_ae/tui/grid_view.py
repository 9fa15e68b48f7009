"""Grid mode's picture (the homework's Figure 4): decodings of a regular grid of latent points.

The grid's digits are tiled into one mosaic image, drawn as one picture: full size
(28 columns x 14 rows a digit) where enough of them fit, else halved to 14x14.
"""

from __future__ import annotations

import numpy as np

from tui_ae.tui.picture import Picture, halve

MIN_FULL = 5  # digits per side below which the grid shrinks them to 14x14


def grid_shape(width: int, height: int) -> tuple[int, int, bool]:
    """(cols, rows, halved) of the largest grid that fits a width x height content area."""
    cols, rows = width // 28, height // 14
    if cols >= MIN_FULL and rows >= MIN_FULL:
        return cols, rows, False
    return width // 14, height // 7, True


def mosaic(images: np.ndarray, cols: int, rows: int, halved: bool) -> np.ndarray:
    """(rows * cols, 28, 28) -> one (rows * 28, cols * 28) image, or half that."""
    tiles = images.reshape(rows, cols, 28, 28).transpose(0, 2, 1, 3).reshape(rows * 28, cols * 28)
    return halve(tiles) if halved else tiles


class GridView(Picture):
    DEFAULT_CSS = """
    GridView { width: 1fr; height: 1fr; }
    """
