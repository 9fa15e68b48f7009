"""A widget that shows one image in half blocks, centred, or a short message in its place.

Line API: the image's lines are rendered once per image and size (render.digit_lines)
and kept as Strips, so a repaint only copies them out.
"""

from __future__ import annotations

import numpy as np
from rich.style import Style
from rich.text import Text
from textual.geometry import Size
from textual.strip import Strip
from textual.widget import Widget

from tui_ae.render import ColorMode, Glyph, digit_lines


class Picture(Widget):
    def __init__(
        self,
        *,
        mode: ColorMode = "truecolor",
        glyph: Glyph = "upper",
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.mode, self.glyph = mode, glyph
        self.image: np.ndarray | None = None  # what is shown, as given
        self.message: str | None = None
        self._strips: list[Strip] = []
        self._built_for: Size | None = None
        self._built_style: Style | None = None  # the widget's style they were built in

    def show_image(self, image: np.ndarray) -> None:
        self.image, self.message = image, None
        self._rebuild()

    def show_message(self, message: str) -> None:
        self.image, self.message = None, message
        self._rebuild()

    def fit(self, image: np.ndarray, size: Size) -> tuple[np.ndarray, int]:
        """The image to draw and its integer scale, for a content area of `size`."""
        return image, 1

    def on_resize(self) -> None:
        self._rebuild()

    def notify_style_update(self) -> None:
        """The lines carry the widget's style (around an image, a message's text): where it changed, drawn anew.

        Textual calls this each time the stylesheet is applied to the widget (on every mode's class,
        mostly to the same style), as Textual's own Log drops its line cache here; where the style
        changed, Textual repaints the widget.
        """
        super().notify_style_update()
        if self._built_style is not None and self.rich_style != self._built_style:
            self._build()

    def _rebuild(self) -> None:
        self._build()
        self.refresh()

    def _build(self) -> None:
        size = self.content_size
        self._built_for, self._built_style = size, self.rich_style
        self._strips = []
        if size.width > 0 and size.height > 0:
            if self.image is not None:
                self._strips = self._image_strips(size)
            elif self.message:
                self._strips = self._message_strips(size)

    def _image_strips(self, size: Size) -> list[Strip]:
        image, scale = self.fit(self.image, size)
        lines = digit_lines(image, scale=scale, glyph=self.glyph, mode=self.mode)
        strips = [Strip(line, image.shape[1] * scale) for line in lines]
        if self.mode in ("16", "mono"):  # shade glyphs carry no background of their own
            strips = [strip.apply_style(self.rich_style) for strip in strips]
        return self._centre(strips, size)

    def _message_strips(self, size: Size) -> list[Strip]:
        console = self.app.console
        strips = []
        text = Text(self.message)
        text.stylize("italic")  # a span, which wrap() keeps (a Text's base style it does not)
        for line in text.wrap(console, size.width):
            line.rstrip()
            strips.append(Strip(line.render(console), line.cell_len).apply_style(self.rich_style))
        return self._centre(strips, size)

    def _centre(self, strips: list[Strip], size: Size) -> list[Strip]:
        """Strips centred in the content area; only the padding takes the widget's style (an image has its own)."""
        style = self.rich_style
        strips = strips[: size.height]
        top = (size.height - len(strips)) // 2
        centred = []
        for strip in strips:
            if strip.cell_length > size.width:
                strip = strip.crop(0, size.width)
            left = (size.width - strip.cell_length) // 2
            right = size.width - strip.cell_length - left
            if left or right:  # a digit that fills its panel (most of them) is drawn as it is
                strip = Strip.join([Strip.blank(left, style), strip, Strip.blank(right, style)])
            centred.append(strip)
        return [Strip.blank(size.width, style)] * top + centred

    def render_line(self, y: int) -> Strip:
        if self._built_for != self.content_size:
            self._build()
        if y < len(self._strips):
            return self._strips[y]
        return Strip.blank(self.content_size.width, self.rich_style)
