"""A model's latent space: its encoded points, one majority label per cell, and a crosshair.

Line API: the map's lines are built once per size (render.map_cells/map_lines) and
kept as runs of segments; the crosshair, the overlays (shapes the mode views have the app
lay over it: an ellipse, a path) and the compare mode's mark are laid over them as
lines are asked for. A cursor move repaints only the old and new crosshair's row
(and column, when it moves sideways); an overlay's change repaints only the cells it
changed. With no overlay, a line costs one dictionary look-up more than without them.

The map is drawn by narrow bands side by side (MapBand), each a slice of its lines. Textual
writes a repainted region of a line from the left edge of the widget it lies in, not from
the region's own left edge (ChopsUpdate.render_segments), so in one wide widget a repainted
column rewrites every row from the map's left edge: most of a sideways move's bytes (BENCHMARKS.md,
the explorer with issue 11's views, "Bytes"). Cut into bands, a column rewrites only its band's
few cells a row.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate

import numpy as np
from rich.color import Color, ColorSystem
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.app import ComposeResult
from textual.geometry import Region
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget

from tui_ae.latent import Bounds
from tui_ae.render import ColorMode, map_cells, map_lines, point_of
from tui_ae.tui.formatting import TITLE_MARGIN, first_fitting
from tui_ae.tui.map_shapes import Cell, Overlay, cell_at

BANDS = 2  # the widgets a map's width is cut into (see above): each more saves less and costs a widget


@dataclass(frozen=True)
class CrosshairStyles:
    line: Style  # the crosshair's ─ and │ over empty cells
    under: Style | None  # added to a point's marker that the crosshair crosses
    cursor: Style
    mark: Style  # compare mode's encoded test image
    bright: Style  # overlays: glyphs that stand out from the points under them
    dim: Style  # and glyphs a step back from those (a 2σ outline behind a 1σ one)


@lru_cache(maxsize=8)
def crosshair_styles(mode: ColorMode) -> CrosshairStyles:
    if mode == "mono":  # glyphs tell overlays apart here: bold or not is all there is
        reverse = Style(bold=True, reverse=True)
        return CrosshairStyles(Style(), None, reverse, reverse, Style(bold=True), Style())
    if mode == "16":
        return CrosshairStyles(
            Style(color="bright_black"),
            None,
            Style(color="bright_white", bold=True),
            Style(color="black", bgcolor="bright_white", bold=True),
            Style(color="bright_white", bold=True),
            Style(color="white"),
        )

    def colour(hex_: str) -> Color:
        c = Color.parse(hex_)
        return c if mode == "truecolor" else c.downgrade(ColorSystem.EIGHT_BIT)

    return CrosshairStyles(
        Style(color=colour("#6c6c6c")),
        Style(bgcolor=colour("#3a3a3a")),
        Style(color=colour("#ffffff"), bold=True),
        Style(color=colour("#000000"), bgcolor=colour("#ffffff"), bold=True),
        Style(color=colour("#ffffff"), bold=True),
        Style(color=colour("#a8a8a8")),
    )


class MapBand(Widget):
    """A vertical slice of a LatentMap: its columns of the map's lines, which the map draws and keeps."""

    DEFAULT_CSS = """
    MapBand { width: 1fr; height: 1fr; }
    """

    def __init__(self, latent_map: LatentMap) -> None:
        super().__init__()
        self.latent_map = latent_map

    start = 0  # the map's column this band's first column shows; the map sets it as it lays them out

    def render_line(self, y: int) -> Strip:
        return self.latent_map.render_line(y).crop(self.start, self.start + self.size.width)

    def on_resize(self) -> None:
        self.latent_map.repaint()  # which places the bands anew


class LatentMap(Widget):
    DEFAULT_CSS = """
    LatentMap { width: 1fr; height: 1fr; layout: horizontal; }
    """
    CURSOR, MARK, ROW_LINE, COLUMN_LINE = "╋", "◆", "─", "│"

    @dataclass
    class Clicked(Message):
        """The user clicked a cell; x, y are its centre in latent coordinates."""

        latent_map: LatentMap
        x: float
        y: float

        @property
        def control(self) -> LatentMap:
            return self.latent_map

    class Resized(Message):
        """The map was laid out at another size: its cells are new (the cursors snap to them)."""

    def __init__(
        self,
        points: np.ndarray,
        labels: np.ndarray,
        bounds: Bounds,
        *,
        mode: ColorMode = "truecolor",
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.points, self.labels, self.bounds, self.mode = points, labels, bounds, mode
        self._cross = crosshair_styles(mode)
        self.cursor_point: tuple[float, float] | None = None  # latent coordinates
        self.mark_point: tuple[float, float] | None = None
        self._cursor_cell: Cell | None = None  # where they fall on the map as built
        self._mark_cell: Cell | None = None
        self._cells = np.full((0, 0), -1, np.int8)  # (height, width) majority labels, -1 empty
        self.overlays: dict[str, Overlay | None] = {}  # drawn in the order their names were first set
        self._overlay_cells: dict[str, dict[Cell, Segment]] = {}  # each overlay's cells on the map as built
        self._overlay_rows: dict[int, list[tuple[int, Segment]]] = {}  # all of them by row: (col, cell)
        self._rows: list[list[Segment]] = []  # per row: runs of equal cells
        self._starts: list[list[int]] = []  # per row: the column each run starts at
        self._lines: dict[int, Strip] = {}  # rows as last drawn, for the bands; dropped when repainted
        self._base: Style | None = None  # the widget's style the lines were drawn in (under the points)
        self._bands: list[MapBand] = []
        self.subtitles: tuple[str, ...] = ("",)  # the border's subtitle in forms, longest first

    def set_subtitle(self, *forms: str) -> None:
        """The border's subtitle: the first of its forms (longest first) that fits the border, again at each resize."""
        self.subtitles = forms
        self._fit_subtitle()

    def _fit_subtitle(self) -> None:
        self.border_subtitle = first_fitting(self.size.width - TITLE_MARGIN, *self.subtitles)

    def compose(self) -> ComposeResult:
        self._bands = [MapBand(self) for _ in range(BANDS)]
        yield from self._bands

    def repaint(self, *cells: Region) -> None:
        """Repaint regions of the map given in its cells, or all of it, through the bands they fall in.

        The map's own lines lie under its bands, so only the bands' repaints show, each of its
        part of a region. (Widget.refresh is left as Textual defines it: it repaints the widget's
        own region, its border and titles, and never draws the map's lines anew.)
        """
        if cells:
            for region in cells:
                for y in range(region.y, region.bottom):
                    self._lines.pop(y, None)
        else:
            self._lines.clear()
            self.refresh()  # the border too
        start = 0
        for band in self._bands:  # side by side from the left, so each starts where the last ended
            band.start, width = start, band.size.width
            start += width
            if not cells or not width:
                band.refresh()
                continue
            parts = [region.intersection(Region(band.start, region.y, width, region.height)) for region in cells]
            if parts := [part.translate((-band.start, 0)) for part in parts if part.area]:
                band.refresh(*parts)

    def notify_style_update(self) -> None:
        """The lines carry the widget's style (under the points): where it changed, they are drawn anew.

        Textual calls this each time the stylesheet is applied to the widget (on every mode's or the
        active map's class, mostly to the same style), as Textual's own Log drops its line cache here;
        where the style changed, Textual repaints the widget and its bands.
        """
        super().notify_style_update()
        if self._base is not None and self.rich_style != self._base:
            self._style_lines()

    # -- geometry ----------------------------------------------------------------------------
    @property
    def grid(self) -> tuple[int, int]:
        """(width, height) in cells of the map as last built."""
        return self._cells.shape[1], self._cells.shape[0]

    def cell(self, point: tuple[float, float] | None) -> Cell | None:
        return cell_at(point, self.bounds, self.grid)

    # -- state -------------------------------------------------------------------------------
    def show_map(self, points: np.ndarray, labels: np.ndarray, bounds: Bounds) -> None:
        """Another map in place of this one (a watched checkpoint changed): rebuilt and repainted whole."""
        self.points, self.labels, self.bounds = points, labels, bounds
        self._build()
        self.repaint()

    def set_cursor(self, x: float, y: float) -> None:
        old = self._cursor_cell
        self.cursor_point = (x, y)
        new = self._cursor_cell = self.cell(self.cursor_point)
        if new == old:
            return
        if old is None or new is None:
            self.repaint()
            return
        width, height = self.grid
        regions = {Region(0, old[1], width, 1), Region(0, new[1], width, 1)}  # the cursor's rows
        if old[0] != new[0]:  # and its columns, only where it moved sideways
            regions |= {Region(old[0], 0, 1, height), Region(new[0], 0, 1, height)}
        self.repaint(*regions)

    def set_mark(self, point: tuple[float, float] | None) -> None:
        old = self._mark_cell
        self.mark_point = point
        new = self._mark_cell = self.cell(point)
        for cell in {old, new} - {None}:
            self.repaint(Region(cell[0], cell[1], 1, 1))

    def set_overlay(self, name: str, overlay: Overlay | None) -> None:
        """Lay a shape over the map under `name`, replacing the one there (None: remove it)."""
        old = self._overlay_cells.get(name, {})
        self.overlays[name] = overlay
        new = self._overlay_cells[name] = self._overlay_segments(overlay)
        self._overlay_rows = self._by_row()
        changed = [cell for cell in old.keys() | new.keys() if old.get(cell) != new.get(cell)]
        rows: dict[int, list[int]] = {}
        for col, row in changed:
            rows.setdefault(row, []).append(col)
        if rows:  # repaint() with no region would repaint the whole map
            self.repaint(*(Region(min(cols), row, max(cols) - min(cols) + 1, 1) for row, cols in rows.items()))

    def overlay_cells(self, name: str) -> list[Cell]:
        """The cells an overlay covers on the map as drawn now (under the cursor or the ◆ or not)."""
        return list(self._overlay_cells.get(name, {}))

    def _overlay_segments(self, overlay: Overlay | None) -> dict[Cell, Segment]:
        width, height = self.grid
        if overlay is None or width == 0 or height == 0:
            return {}
        style = {"mark": self._mark_style, "bright": self._bright_style, "dim": self._dim_style}[overlay.look]
        cell = Segment(overlay.glyph, style)
        return dict.fromkeys(overlay.shape.cells(self.bounds, width, height), cell)

    def _by_row(self) -> dict[int, list[tuple[int, Segment]]]:
        """Every overlay's cells by row, a later overlay's after an earlier one's (drawn over it)."""
        rows: dict[int, list[tuple[int, Segment]]] = {}
        for cells in self._overlay_cells.values():
            for (col, row), cell in cells.items():
                rows.setdefault(row, []).append((col, cell))
        return rows

    # -- drawing -----------------------------------------------------------------------------
    def on_resize(self, event: events.Resize) -> None:
        self._fit_subtitle()
        self._build()
        self.repaint()
        self.post_message(self.Resized())

    def _build(self) -> None:
        """The map's cells at its size, and its lines."""
        width, height = self.content_size
        if width <= 0 or height <= 0:
            self._cells = np.full((0, 0), -1, np.int8)
            self._rows, self._starts, self._lines = [], [], {}
            self._blank = Strip.blank(max(width, 0), self.rich_style)
            return
        self._cells = map_cells(self.points, self.labels, self.bounds, width, height)
        self._cursor_cell, self._mark_cell = self.cell(self.cursor_point), self.cell(self.mark_point)
        self._style_lines()

    def _style_lines(self) -> None:
        """The map's rows as runs of equal cells in the widget's style as it is now, where each run starts, and
        the styles of what is laid over them."""
        base = self._base = self.rich_style  # looked up once: it walks the DOM
        self._rows, self._starts, self._lines = [], [], {}
        self._blank = Strip.blank(max(self.content_size.width, 0), base)
        cross = self._cross
        self._line_style, self._cursor_style, self._mark_style = (
            base + cross.line,
            base + cross.cursor,
            base + cross.mark,
        )
        self._bright_style, self._dim_style = base + cross.bright, base + cross.dim
        for line in map_lines(self._cells, mode=self.mode):
            runs = list(Segment.apply_style(line, base))
            self._rows.append(runs)
            self._starts.append(list(accumulate((len(run.text) for run in runs[:-1]), initial=0)))
        self._overlay_cells = {name: self._overlay_segments(overlay) for name, overlay in self.overlays.items()}
        self._overlay_rows = self._by_row()

    def render_line(self, y: int) -> Strip:
        """Row y as drawn now: for the bands, each of which shows a slice of it."""
        line = self._lines.get(y)
        if line is None:
            line = self._lines[y] = self.map_line(y)
        return line

    def map_line(self, y: int) -> Strip:
        width, height = self.content_size
        if self._cells.shape != (height, width):
            self._build()
        if y >= len(self._rows):
            return self._blank
        cursor, mark = self._cursor_cell, self._mark_cell
        runs, starts = self._rows[y], self._starts[y]
        if cursor is not None and cursor[1] == y:
            runs = self._crosshair_row(runs)
            runs, starts = self._put(runs, starts, cursor[0], Segment(self.CURSOR, self._cursor_style))
        elif cursor is not None:
            runs, starts = self._put(runs, starts, cursor[0], self._crossed(runs, starts, cursor[0], y))
        for col, cell in self._overlay_rows.get(y, ()):
            runs, starts = self._put(runs, starts, col, cell)
        if mark is not None and mark[1] == y and mark != cursor:
            runs, starts = self._put(runs, starts, mark[0], Segment(self.MARK, self._mark_style))
        return Strip(runs, width)

    def _crossed(self, runs: list[Segment], starts: list[int], col: int, row: int) -> Segment:
        """The cell (col, row) with the crosshair's column through it."""
        if self._cells[row, col] < 0:
            return Segment(self.COLUMN_LINE, self._line_style)
        run = runs[bisect_right(starts, col) - 1]
        under = self._cross.under
        return Segment(run.text[0], run.style + under if under else run.style)

    def _crosshair_row(self, runs: list[Segment]) -> list[Segment]:
        under, line = self._cross.under, self._line_style
        return [
            (Segment(run.text, run.style + under) if under else run)
            if run.text.strip()  # a run of markers
            else Segment(self.ROW_LINE * len(run.text), line)
            for run in runs
        ]

    @staticmethod
    def _put(runs: list[Segment], starts: list[int], col: int, cell: Segment) -> tuple[list[Segment], list[int]]:
        """The runs with the cell at col replaced, splitting the run it falls in (no Strip.crop: cheaper)."""
        k = bisect_right(starts, col) - 1
        run, offset = runs[k], col - starts[k]
        pieces, at = [cell], [col]
        if offset:
            pieces.insert(0, Segment(run.text[:offset], run.style))
            at.insert(0, starts[k])
        if offset + 1 < len(run.text):
            pieces.append(Segment(run.text[offset + 1 :], run.style))
            at.append(col + 1)
        return runs[:k] + pieces + runs[k + 1 :], starts[:k] + at + starts[k + 1 :]

    def on_click(self, event: events.Click) -> None:
        width, height = self.grid
        if event.screen_offset not in self.content_region or width == 0:
            return
        offset = event.screen_offset - self.content_region.offset  # the click lands on a band: from the screen
        x, y = point_of(offset.x, offset.y, self.bounds, width, height)
        self.post_message(self.Clicked(self, x, y))
