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
    """The outline of an ellipse: its centre, its two semi-axes and the first one's angle, in latent units and radians.

    Its points are centre + a·cos t + b·sin t, with a = r₁(cos θ, sin θ) and b = r₂(−sin θ, cos θ):
    at angle 0, the axis-aligned ellipse (r₁ along x, r₂ along y), drawn in exactly the cells the
    explorer always drew it in (a 2-D VAE's posterior); rotated, a posterior projected on a plane.
    """

    centre: tuple[float, float]
    radii: tuple[float, float]
    angle: float = 0.0

    def cells(self, bounds: Bounds, width: int, height: int) -> list[Cell]:
        x_min, x_max, y_min, y_max = bounds
        cx, cy = _grid_coordinates(np.array([self.centre[0]]), np.array([self.centre[1]]), bounds, width, height)[0]
        cos, sin = math.cos(self.angle), math.sin(self.angle)
        r1, r2 = abs(self.radii[0]), abs(self.radii[1])
        # The semi-axes in cells (columns right, rows down): at angle 0, (r₁ cells, 0) and (0, r₂ cells up).
        a = (r1 * cos * width / (x_max - x_min), -(r1 * sin * height / (y_max - y_min)))
        b = (-(r2 * sin) * width / (x_max - x_min), -(r2 * cos * height / (y_max - y_min)))
        # A multiple of 4 samples, so the four extremes (angles 0, 90, 180, 270 degrees) are among them.
        longest = max(math.hypot(*a), math.hypot(*b))
        n = 4 * max(4, math.ceil(2 * math.pi * longest * SAMPLES_PER_CELL / 4))
        t = np.arange(n) * (2 * math.pi / n)
        cos_t, sin_t = np.cos(t), np.sin(t)
        positions = np.stack([cx + (a[0] * cos_t + b[0] * sin_t), cy + (a[1] * cos_t + b[1] * sin_t)], axis=1)
        return _cells_inside(positions, width, height)
