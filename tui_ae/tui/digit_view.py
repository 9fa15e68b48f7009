"""One decoded 28x28 digit: 2x where it fits, else 1x, else shrunk to 14x14 (14 columns x 7 rows).

Its border's title and subtitle are given in forms, longest first, and the view shows the
first that fits its width, again after each resize: a view laid out anew (the compact
layout, a mode shown) keeps its figures whole by dropping words, never digits.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from textual.geometry import Size

from tui_ae.render import halve
from tui_ae.tui.formatting import TITLE_MARGIN, first_fitting
from tui_ae.tui.picture import Picture


class DigitView(Picture):
    DEFAULT_CSS = """
    DigitView { width: 30; height: 16; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.titles: tuple[tuple[str, ...], tuple[str, ...]] = (("",), ("",))  # the title's forms, the subtitle's

    def fit(self, image: np.ndarray, size: Size) -> tuple[np.ndarray, int]:
        h, w = image.shape
        if size.width >= 2 * w and size.height >= h:  # 2x: 56 columns x 28 rows
            return image, 2
        if size.width >= w and size.height >= h // 2:
            return image, 1
        return halve(image), 1

    def set_titles(self, title: Sequence[str], subtitle: Sequence[str] = ("",)) -> None:
        """The border's title and subtitle, each as the first of its forms (longest first) that fits the border."""
        self.titles = (tuple(title), tuple(subtitle))
        self._fit_titles()

    def on_resize(self) -> None:
        self._fit_titles()

    def _fit_titles(self) -> None:
        """Hidden, the view has no width yet and shows the shortest forms, until its first resize."""
        title, subtitle = self.titles
        room = self.size.width - TITLE_MARGIN
        self.border_title, self.border_subtitle = first_fitting(room, *title), first_fitting(room, *subtitle)
