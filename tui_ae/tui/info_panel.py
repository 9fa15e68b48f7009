"""Beside a model's decoded digit: the model, how far the cursor is from its codes, the nearest real digits.

Line API, in sections that change at different rates: the model's line (on a reload), the
readout (every move), the three nearest validation images (once the keys rest) and the map's
extent (on a reload). A change repaints only the rows whose cells differ, so a move sends the
readout's line and nothing else of this panel.

The thumbnails take the largest form that fits: 14x14 (the image halved) or 8x8 (its central
24x24 in thirds), in a row with the captions under them, or in a column with the captions
beside them; where neither fits, the captions alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.widget import Widget

from tui_ae.render import ColorMode, Glyph, digit_lines, label_style
from tui_ae.tui.formatting import first_fitting

READOUT_ROWS = 2  # at least: the distance, and for the VAE its prior's log-density (a plane's map adds a line)
GAP = 2  # columns between thumbnails in a row


@dataclass(frozen=True)
class Neighbour:
    """A validation image near the cursor, as shown: its thumbnails, its label, and how far its code is."""

    key: int  # its index among the map's codes
    tiles: dict[int, np.ndarray] = field(compare=False)  # size -> (size, size) uint8: the key tells them
    label: int
    distance: str  # "0.83×"


@dataclass(frozen=True)
class Arrangement:
    tile: int  # pixels a side: 14, 8, or 0 for the captions alone
    column: bool  # stacked, captions beside; else side by side, captions under

    def size(self, count: int) -> Size:
        """Cells the thumbnails and their captions take."""
        if self.tile == 0:
            return Size(CAPTION, count)
        rows = self.tile // 2
        if self.column:
            return Size(self.tile + 1 + CAPTION, count * rows)
        return Size(count * self.tile + (count - 1) * GAP, rows + 1)


CAPTION = 8  # "7 0.83×" and a space
ARRANGEMENTS = (Arrangement(14, False), Arrangement(14, True), Arrangement(8, False), Arrangement(8, True))


def arrangement(width: int, height: int, count: int) -> Arrangement:
    """The largest thumbnails that fit width x height cells, side by side where they fit, else stacked."""
    for candidate in ARRANGEMENTS:
        need = candidate.size(count)
        if need.width <= width and need.height <= height:
            return candidate
    return Arrangement(0, True)


class InfoPanel(Widget):
    COMPONENT_CLASSES = {"info-panel--name", "info-panel--dim", "info-panel--off"}
    DEFAULT_CSS = """
    InfoPanel { width: 1fr; height: 100%; }
    """

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
        self.headers: tuple[Text, ...] = (Text(),)  # the model's line, and shorter forms of it
        self.readout: tuple[tuple[str, ...], ...] = (("",),) * READOUT_ROWS  # each line's forms, longest first
        self.off_the_data = False
        self.neighbours: tuple[Neighbour, ...] = ()
        self.note = ""  # in place of the thumbnails: why there are none (yet)
        self.details = Text()
        self._strips: list[Strip] = []
        self._built_for: Size | None = None
        self._sections: dict[str, list[Strip]] = {}  # each section's lines as last built; dropped when it changes
        self._built_styles: tuple[Style, Style, Style] | None = None  # the styles they were built in (_styles())
        self._rows: dict[str, range] = {}  # where each section's lines are

    # -- what it shows -----------------------------------------------------------------------
    def show_model(self, headers: tuple[Text, ...], details: Text) -> None:
        """The model's line (the first of its forms that fits) and the map's extent."""
        self.headers, self.details = headers, details
        self._update("header", "details")

    @property
    def header(self) -> Text:
        return first_fitting(self.content_size.width, *self.headers, length=lambda text: text.cell_len)

    def show_readout(self, lines: tuple[tuple[str, ...], ...], off_the_data: bool = False) -> None:
        """The readout's lines, each in forms from longest to shortest: drawn in the longest that fits."""
        lines = (tuple(lines) + (("",),) * READOUT_ROWS)[: max(READOUT_ROWS, len(lines))]
        if (lines, off_the_data) != (self.readout, self.off_the_data):
            self.readout, self.off_the_data = lines, off_the_data
            self._update("readout")

    @property
    def readout_shown(self) -> tuple[str, ...]:
        """The readout's lines as drawn at the panel's width."""
        width = self.content_size.width
        return tuple(first_fitting(width, *forms)[:width] for forms in self.readout)

    def show_neighbours(self, neighbours: tuple[Neighbour, ...]) -> None:
        if neighbours != self.neighbours or self.note:
            self.neighbours, self.note = tuple(neighbours), ""
            self._update("block")

    def show_note(self, note: str) -> None:
        if note != self.note or self.neighbours:
            self.neighbours, self.note = (), note
            self._update("block")

    # -- drawing -----------------------------------------------------------------------------
    def _update(self, *sections: str) -> None:
        """Rebuild the sections that changed and repaint the rows whose cells differ (all of them after a resize)."""
        for section in sections:
            self._sections.pop(section, None)
        old, old_rows, size = self._strips, self._rows, self.content_size
        if not self.is_mounted or self._built_for != size:
            self._build()
            self.refresh()
            return
        self._build()
        if self._rows != old_rows:  # sections moved: compare every row
            rows: range | list[int] = range(len(self._strips))
        else:  # only the rows of the sections rebuilt (every key rebuilds the readout: two rows of fifteen)
            rows = [y for section in sections for y in self._rows.get(section, ())]
        for y in rows:
            if y >= len(old) or old[y] != self._strips[y]:
                self.refresh(Region(0, y, size.width, 1))

    def on_resize(self) -> None:
        self._build()
        self.refresh()

    def notify_style_update(self) -> None:
        """The lines carry the panel's styles: where these changed, they are built anew.

        Textual calls this each time the stylesheet is applied to the panel (on every mode's class,
        mostly to the same styles), as Textual's own Log drops its line cache here; where the
        styles changed, Textual repaints the panel.
        """
        super().notify_style_update()
        if self._built_styles is not None and self._styles() != self._built_styles:
            self._sections.clear()
            self._build()

    def _styles(self) -> tuple[Style, Style, Style]:
        """The panel's style, and the dim and the off-the-data styles laid over it, as the stylesheet gives them now."""
        base = self.rich_style
        dim = base + self.get_component_rich_style("info-panel--dim", partial=True)
        return base, dim, self.get_component_rich_style("info-panel--off", partial=True)

    def _build(self) -> None:
        size = self.content_size
        if size != self._built_for:
            self._sections.clear()
        self._built_for = size
        width, height = size
        if width <= 0 or height <= 0:
            self._strips = []
            return
        top = len(self.readout) + 1
        lines: list[Strip] = []
        rows: dict[str, range] = {}

        def add(name: str, section: list[Strip]) -> None:
            rows[name] = range(len(lines), min(len(lines) + len(section), height))
            lines.extend(section)

        add("header", self._section("header", width, height))
        add("readout", self._section("readout", width, height))
        block = self._section("block", width, height - top)
        if block and top + 1 + len(block) <= height:  # a blank line above, where there is room for one
            lines.append(Strip.blank(width, self.rich_style))
        add("block", block)
        details = self._section("details", width, height)
        if len(lines) + 1 + len(details) <= height:  # the map's extent, where all of it fits
            lines.append(Strip.blank(width, self.rich_style))
            add("details", details)
        self._strips, self._rows = lines[:height], rows

    def _section(self, name: str, width: int, room: int) -> list[Strip]:
        """A section's lines, as built last unless it changed since."""
        if name not in self._sections:
            base, dim, off = self._built_styles = self._styles()
            if name == "header":
                lines = [self._text(self.header, width, base)]
            elif name == "readout":  # plain text, and on every key: one segment a line, no Rich rendering
                styles = [base + off if self.off_the_data else base] + [base] * (len(self.readout) - 1)
                lines = [
                    Strip([Segment(line.ljust(width), style)], width) for line, style in zip(self.readout_shown, styles)
                ]
            elif name == "block" and self.neighbours:
                lines = self._thumbnail_lines(arrangement(width, room, len(self.neighbours)), width, base, dim)
            elif name == "block":
                lines = [self._text(line, width, dim) for line in Text(self.note).wrap(self.app.console, width)][:room]
            else:
                lines = [self._text(line, width, dim) for line in self.details.split(allow_blank=True)]
            self._sections[name] = lines
        return self._sections[name]

    def _text(self, text: Text, width: int, style: Style) -> Strip:
        segments = list(text.render(self.app.console))
        segments = [segment for segment in segments if segment.text != "\n"]
        strip = Strip(segments).apply_style(style)  # under the text's own styles
        return strip.crop_extend(0, width, style)

    def _caption(self, neighbour: Neighbour, base: Style, dim: Style) -> list[Segment]:
        label = base + Style(bold=True) + label_style(neighbour.label, self.mode)  # mono's None adds nothing
        return [Segment(str(neighbour.label), label), Segment(" " + neighbour.distance, dim)]

    def _thumbnail_lines(self, layout: Arrangement, width: int, base: Style, dim: Style) -> list[Strip]:
        captions = [Strip(self._caption(n, base, dim)) for n in self.neighbours]
        if layout.tile == 0:
            return [caption.crop_extend(0, width, base) for caption in captions]
        tiles = [self._tile(n.tiles[layout.tile], layout.tile) for n in self.neighbours]
        if layout.column:
            lines = []
            for tile, caption in zip(tiles, captions):
                beside = [caption] + [Strip.blank(0)] * (len(tile) - 1)
                lines += [Strip.join([row, Strip.blank(1, base), text]) for row, text in zip(tile, beside)]
        else:
            gap = Strip.blank(GAP, base)
            rows = range(len(tiles[0]))
            lines = [Strip.join([piece for tile in tiles for piece in (tile[y], gap)][:-1]) for y in rows]
            under = [caption.crop_extend(0, layout.tile + GAP, base) for caption in captions]
            lines.append(Strip.join(under))
        return [line.crop_extend(0, width, base) for line in lines]

    def _tile(self, pixels: np.ndarray, tile: int) -> list[Strip]:
        lines = digit_lines(pixels / 255, glyph=self.glyph, mode=self.mode)
        strips = [Strip(line, tile) for line in lines]
        if self.mode in ("16", "mono"):  # shade glyphs carry no background of their own
            strips = [strip.apply_style(self.rich_style) for strip in strips]
        return strips

    def render_line(self, y: int) -> Strip:
        if self._built_for != self.content_size:
            self._build()
        if y < len(self._strips):
            return self._strips[y]
        return Strip.blank(self.content_size.width, self.rich_style)
