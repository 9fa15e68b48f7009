"""Shapes in a latent space, as the cells of a map they pass through: a point, a straight line, an ellipse's outline.

A shape is kept in latent coordinates and turned into cells for the map's size as it
is drawn, so a resize redraws it in place. A point is clamped into the map, as the
cursor and the ◆ are; a line or an outline is clipped to it (what lies outside is not drawn).
An Overlay is a shape as a mode view asks for it to be drawn: with a glyph, in one of the map's looks.
numpy only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np

from tui_ae.latent import Bounds
from tui_ae.render import cell_of

Cell = tuple[int, int]  # (col, row)
Grid = tuple[int, int]  # (width, height) of a map in cells, as laid out
SAMPLES_PER_CELL = 4  # points sampled per cell of a line's or an outline's length: no cell of it is skipped


class Shape(Protocol):
    def cells(self, bounds: Bounds, width: int, height: int) -> list[Cell]:
        """The cells of a width x height map over bounds that the shape covers, each once."""
        ...


Look = Literal["mark", "bright", "dim"]  # an overlay's style: as the ◆, or a bright or a dim glyph


@dataclass(frozen=True)
class Overlay:
    """A shape laid over a map, drawn with one glyph in one of the map's looks."""

    shape: Shape
    glyph: str
    look: Look = "bright"


def cell_at(point: tuple[float, float] | None, bounds: Bounds, grid: Grid | None) -> Cell | None:
    """The cell of a map of grid's size that a point falls in (clamped into it); None before the map is laid out."""
    if point is None or grid is None or not grid[0] or not grid[1]:
        return None
    return cell_of(point[0], point[1], bounds, *grid)


def _grid_coordinates(x: np.ndarray, y: np.ndarray, bounds: Bounds, width: int, height: int) -> np.ndarray:
    """Latent points -> (N, 2) continuous (col, row) positions, row 0 at y_max, as render.cell_of counts them."""
    x_min, x_max, y_min, y_max = bounds
    return np.stack([(x - x_min) / (x_max - x_min) * width, (y_max - y) / (y_max - y_min) * height], axis=1)


def _cells_inside(positions: np.ndarray, width: int, height: int) -> list[Cell]:
    """The distinct cells of (N, 2) continuous positions that fall inside the map, in the order first met."""
    cells = np.floor(positions).astype(np.int64)
    inside = (cells[:, 0] >= 0) & (cells[:, 0] < width) & (cells[:, 1] >= 0) & (cells[:, 1] < height)
    return list(dict.fromkeys(map(tuple, cells[inside].tolist())))


@dataclass(frozen=True)
class Point:
    x: float
    y: float

    def cells(self, bounds: Bounds, width: int, height: int) -> list[Cell]:
        return [cell_of(self.x, self.y, bounds, width, height)]


@dataclass(frozen=True)
class Line:
    """The straight line from start to end, ends included."""

    start: tuple[float, float]
    end: tuple[float, float]

    def cells(self, bounds: Bounds, width: int, height: int) -> list[Cell]:
        ends = _grid_coordinates(*np.array([self.start, self.end], dtype=np.float64).T, bounds, width, height)
        length = float(np.abs(ends[1] - ends[0]).max())  # in cells
        t = np.linspace(0.0, 1.0, max(2, math.ceil(length * SAMPLES_PER_CELL) + 1))[:, None]
        return _cells_inside(ends[0] + t * (ends[1] - ends[0]), width, height)


@dataclass(frozen=True)
class Ellipse:
    """The outline of an axis-aligned ellipse: centre and the two radii, in latent units."""

    centre: tuple[float, float]
    radii: tuple[float, float]

    def cells(self, bounds: Bounds, width: int, height: int) -> list[Cell]:
        x_min, x_max, y_min, y_max = bounds
        cx, cy = _grid_coordinates(np.array([self.centre[0]]), np.array([self.centre[1]]), bounds, width, height)[0]
        rx = abs(self.radii[0]) * width / (x_max - x_min)  # in cells
        ry = abs(self.radii[1]) * height / (y_max - y_min)
        # A multiple of 4 samples, so the four extremes (angles 0, 90, 180, 270 degrees) are among them.
        n = 4 * max(4, math.ceil(2 * math.pi * max(rx, ry) * SAMPLES_PER_CELL / 4))
        angle = np.arange(n) * (2 * math.pi / n)
        return _cells_inside(np.stack([cx + rx * np.cos(angle), cy - ry * np.sin(angle)], axis=1), width, height)
