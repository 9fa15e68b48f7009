"""One decoded 28x28 digit: 2x where it fits, else 1x, else shrunk to 14x14 (14 columns x 7 rows)."""

from __future__ import annotations

import numpy as np
from textual.geometry import Size

from tui_ae.render import halve
from tui_ae.tui.picture import Picture


class DigitView(Picture):
    DEFAULT_CSS = """
    DigitView { width: 30; height: 16; }
    """

    def fit(self, image: np.ndarray, size: Size) -> tuple[np.ndarray, int]:
        h, w = image.shape
        if size.width >= 2 * w and size.height >= h:  # 2x: 56 columns x 28 rows
            return image, 2
        if size.width >= w and size.height >= h // 2:
            return image, 1
        return halve(image), 1
