"""Shapes laid over a latent map, as cells: a clamped point, a clipped line, a clipped ellipse outline."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tui_ae.render import cell_of
from tui_ae.tui.map_shapes import Ellipse, Line, Point

BOUNDS = (-4.0, 4.0, -3.0, 3.0)  # x_min, x_max, y_min, y_max
WIDTH, HEIGHT = 80, 30  # a cell is 0.1 wide and 0.2 high


def continuous(x: float, y: float) -> tuple[float, float]:
    """(col, row) before flooring, as cell_of counts them."""
    return (x + 4.0) / 8.0 * WIDTH, (3.0 - y) / 6.0 * HEIGHT


def eight_connected(cells: list[tuple[int, int]]) -> bool:
    """Whether every cell can be reached from the first through neighbours, diagonals included."""
    left, todo = set(cells), [cells[0]]
    left.discard(cells[0])
    while todo:
        col, row = todo.pop()
        for neighbour in [(col + dc, row + dr) for dc in (-1, 0, 1) for dr in (-1, 0, 1)]:
            if neighbour in left:
                left.discard(neighbour)
                todo.append(neighbour)
    return not left


def test_a_point_is_the_cell_it_falls_in_and_clamped_into_the_map_as_the_cursor_is():
    assert Point(0.33, -1.07).cells(BOUNDS, WIDTH, HEIGHT) == [cell_of(0.33, -1.07, BOUNDS, WIDTH, HEIGHT)]
    assert Point(100.0, 100.0).cells(BOUNDS, WIDTH, HEIGHT) == [(WIDTH - 1, 0)]


def test_a_line_runs_from_its_start_cell_to_its_end_cell_without_gaps():
    start, end = (-2.93, 1.77), (3.41, -2.38)
    cells = Line(start, end).cells(BOUNDS, WIDTH, HEIGHT)
    assert cells[0] == cell_of(*start, BOUNDS, WIDTH, HEIGHT) and cells[-1] == cell_of(*end, BOUNDS, WIDTH, HEIGHT)
    assert len(set(cells)) == len(cells) and eight_connected(cells)
    # each cell lies on the line: the line passes within a cell's half-diagonal of its centre
    (c0, r0), (c1, r1) = continuous(*start), continuous(*end)
    direction = np.array([c1 - c0, r1 - r0]) / math.hypot(c1 - c0, r1 - r0)
    for col, row in cells:
        offset = np.array([col + 0.5 - c0, row + 0.5 - r0])
        assert abs(offset[0] * direction[1] - offset[1] * direction[0]) <= math.sqrt(0.5) + 1e-9


def test_a_line_leaving_the_map_is_clipped_not_piled_on_its_edge():
    cells = Line((0.0, 0.0), (9.0, 0.0)).cells(BOUNDS, WIDTH, HEIGHT)  # to the right edge and beyond
    assert cells == [(col, HEIGHT // 2) for col in range(WIDTH // 2, WIDTH)]
    assert Line((5.0, 5.0), (9.0, 4.0)).cells(BOUNDS, WIDTH, HEIGHT) == []


@pytest.mark.parametrize("radii", [(1.234, 0.777), (0.061, 0.043), (2.51, 0.09)])
def test_an_ellipse_outline_spans_its_radii_and_is_closed(radii):
    centre = (0.317, -0.213)
    cells = Ellipse(centre, radii).cells(BOUNDS, WIDTH, HEIGHT)
    cx, cy = continuous(*centre)
    rx, ry = radii[0] * WIDTH / 8.0, radii[1] * HEIGHT / 6.0
    cols, rows = [c for c, _ in cells], [r for _, r in cells]
    assert (min(cols), max(cols)) == (math.floor(cx - rx), math.floor(cx + rx))
    assert (min(rows), max(rows)) == (math.floor(cy - ry), math.floor(cy + ry))
    assert len(set(cells)) == len(cells) and eight_connected(cells)
    for col, row in cells:  # an outline: no cell lies wholly inside the ellipse
        corners = [((col + dc - cx) / rx) ** 2 + ((row + dr - cy) / ry) ** 2 for dc in (0, 1) for dr in (0, 1)]
        assert max(corners) >= 1


def test_an_ellipse_larger_than_the_map_is_clipped_to_it():
    cells = Ellipse((3.5, 0.0), (1.0, 1.0)).cells(BOUNDS, WIDTH, HEIGHT)
    assert cells and all(0 <= col < WIDTH and 0 <= row < HEIGHT for col, row in cells)
    assert max(col for col, _ in cells) == WIDTH - 1 and (WIDTH - 1) not in {col for col, row in cells if row == 15}
    assert Ellipse((10.0, 10.0), (1.0, 1.0)).cells(BOUNDS, WIDTH, HEIGHT) == []


def cells_as_drawn_before_rotation(centre, radii, bounds, width, height) -> list[tuple[int, int]]:
    """The axis-aligned ellipse's cells as the explorer drew them before ellipses could turn (issue 18), kept here
    as the reference its pictures were made with."""
    x_min, x_max, y_min, y_max = bounds
    cx, cy = (centre[0] - x_min) / (x_max - x_min) * width, (y_max - centre[1]) / (y_max - y_min) * height
    rx = abs(radii[0]) * width / (x_max - x_min)
    ry = abs(radii[1]) * height / (y_max - y_min)
    n = 4 * max(4, math.ceil(2 * math.pi * max(rx, ry) * 4 / 4))
    angle = np.arange(n) * (2 * math.pi / n)
    cells = np.floor(np.stack([cx + rx * np.cos(angle), cy - ry * np.sin(angle)], axis=1)).astype(np.int64)
    inside = (cells[:, 0] >= 0) & (cells[:, 0] < width) & (cells[:, 1] >= 0) & (cells[:, 1] < height)
    return list(dict.fromkeys(map(tuple, cells[inside].tolist())))


def test_an_unturned_ellipse_covers_exactly_the_cells_it_always_did():
    rng = np.random.default_rng(8)
    for _ in range(300):
        centre = tuple(rng.uniform(-5, 5, size=2))
        radii = tuple(rng.uniform(0, 3, size=2) ** 2)
        width, height = rng.integers(10, 120), rng.integers(5, 40)
        expected = cells_as_drawn_before_rotation(centre, radii, BOUNDS, width, height)
        assert Ellipse(centre, radii).cells(BOUNDS, width, height) == expected


@pytest.mark.parametrize("angle", [0.4, 1.2, -2.3])
def test_a_turned_ellipse_is_the_outline_of_its_rotated_quadratic_form(angle):
    centre, radii = (0.21, -0.34), (2.1, 0.6)
    cells = Ellipse(centre, radii, angle).cells(BOUNDS, WIDTH, HEIGHT)
    assert len(set(cells)) == len(cells) and eight_connected(cells)
    turn = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    inverse = turn @ np.diag(1 / np.array(radii) ** 2) @ turn.T  # x'Ax = 1 on the outline, in latent units
    x_min, x_max, y_min, y_max = BOUNDS

    def form(col: float, row: float) -> float:
        offset = np.array([x_min + col * 8.0 / WIDTH - centre[0], y_max - row * 6.0 / HEIGHT - centre[1]])
        return float(offset @ inverse @ offset)

    for col, row in cells:  # each cell straddles the outline: a corner on it or outside, a corner on it or inside
        corners = [form(col + dc, row + dr) for dc in (0, 1) for dr in (0, 1)]
        assert min(corners) <= 1 <= max(corners), (col, row)
    ends = [np.array(centre) + sign * radius * turn[:, axis] for axis, radius in enumerate(radii) for sign in (1, -1)]
    for x, y in ends:  # the four ends of its axes are drawn
        assert cell_of(x, y, BOUNDS, WIDTH, HEIGHT) in cells
