"""The interpolation marker's decoding, large between the maps, where it is drawn larger than the strips' tiles."""

from __future__ import annotations

import numpy as np
from textual.geometry import Size

from tui_ae.tui.digit_view import DigitView
from tui_ae.tui.formatting import mark_forms


class MarkerView(DigitView):
    def size_when_shown(self) -> Size:
        """The content size the layout gives this view once it is shown.

        Textual lays out only what is displayed, so while hidden this view has no size, and
        it must know one to be shown at all (only where it is larger than a strip's tile). So
        it works it out as the layout will: its stylesheet's width and height (app.tcss's, by
        the app's size class), resolved in its container's content area, which is laid out (the
        maps' row), held within its min-width and max-height, less its border.
        """
        room = self.parent.content_size if self.parent is not None else Size(0, 0)
        styles, viewport = self.styles, self.app.size
        width = styles.width.resolve(room, viewport) if styles.width else 0
        if styles.min_width is not None:
            width = max(width, styles.min_width.resolve(room, viewport))
        height = styles.height.resolve(room, viewport) if styles.height else 0
        if styles.max_height is not None:
            height = min(height, styles.max_height.resolve(room, viewport))
        gutter = styles.gutter
        return Size(max(0, int(width) - gutter.width), max(0, int(height) - gutter.height))

    def larger_than(self, tile: int) -> bool:
        """Whether a decoding would be drawn here wider than `tile` columns."""
        image, scale = self.fit(np.zeros((28, 28)), self.size_when_shown())
        return image.shape[1] * scale > tile

    def show_step(self, name: str, step: int, steps: int, point: tuple[float, float], decoding: np.ndarray) -> None:
        """The decoding at step `step` of `steps`, with where it is on the path in the titles, as far as they fit."""
        self.set_titles((f"{name} · {step + 1} of {steps}", f"{name} {step + 1}/{steps}"), mark_forms(*point))
        self.show_image(decoding)
