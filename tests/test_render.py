"""render.py: exact cells, colours and escape codes on small known inputs."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
from conftest import halves
from rich.color import Color, ColorSystem, ColorType
from rich.console import Console
from rich.segment import Segment

from tui_ae.render import (
    COLOR_RULES,
    LABEL_COLORS,
    LABEL_COLORS_16,
    ColorEnvironment,
    area_weights,
    cell_of,
    color_choice,
    detect_color_mode,
    digit_lines,
    digit_size,
    halve,
    legend_segments,
    map_cells,
    map_lines,
    point_of,
    resample,
    with_even_rows,
)

CHECKER = np.array([[0.0, 1.0], [1.0, 0.0]])
ESCAPE = re.compile(r"\x1b\[")


def grey(v: int) -> Color:
    return Color.from_rgb(v, v, v)


def text(line: list[Segment]) -> str:
    return "".join(segment.text for segment in line)


def cells(line: list[Segment]) -> list[Segment]:
    """One segment per cell, so tests need not care how runs were merged."""
    return [Segment(char, segment.style) for segment in line for char in segment.text]


def printed(renderable, color_system: str | None) -> str:
    """What a real Rich console writes to a terminal with these colours."""
    console = Console(color_system=color_system, file=io.StringIO(), force_terminal=True, width=80)
    console.print(renderable)
    return console.file.getvalue()


class Lines:
    """The smallest renderable for lines of segments, as the app's Strips draw them."""

    def __init__(self, lines: list[list[Segment]]) -> None:
        self.lines = lines

    def __rich_console__(self, console, options):
        for line in self.lines:
            yield from line
            yield Segment.line()


# --- digits: truecolor ---


def test_upper_glyph_takes_upper_pixel_as_foreground():
    [line] = digit_lines(CHECKER)
    assert [(s.text, s.style.color, s.style.bgcolor) for s in line] == [
        ("▀", grey(0), grey(255)),
        ("▀", grey(255), grey(0)),
    ]


def test_lower_glyph_takes_lower_pixel_as_foreground():
    [line] = digit_lines(CHECKER, glyph="lower")
    assert [(s.text, s.style.color, s.style.bgcolor) for s in line] == [
        ("▄", grey(255), grey(0)),
        ("▄", grey(0), grey(255)),
    ]


def test_grey_levels_round_to_nearest_byte():
    [line] = digit_lines(np.array([[0.2], [0.5]]))
    assert (line[0].style.color, line[0].style.bgcolor) == (grey(51), grey(128))


def test_values_outside_unit_range_are_clipped():
    [line] = digit_lines(np.array([[-1.0, 2.0], [7.0, -0.5]]))
    assert [(s.style.color, s.style.bgcolor) for s in line] == [(grey(0), grey(255)), (grey(255), grey(0))]


def test_equal_adjacent_cells_are_merged_into_one_segment():
    [line] = digit_lines(np.full((2, 5), 0.5))
    assert len(line) == 1 and line[0].text == "▀" * 5


@pytest.mark.parametrize("mode, black", [("truecolor", "\x1b[48;2;0;0;0m   "), ("256", "\x1b[48;5;16m   ")])
def test_a_cell_black_in_both_halves_is_a_space_on_black_with_no_foreground(mode, black):
    [line] = digit_lines(np.array([[0.0, 0.0, 0.0, 0.5, 0.2], [0.0, 0.0, 0.0, 0.5, 0.0]]), mode=mode)
    assert [s.text for s in line] == ["   ", "▀", "▀"]  # a grey of its own in both halves keeps its half block
    assert line[0].style.color is None
    out = printed(Lines([line]), "truecolor" if mode == "truecolor" else "256")
    assert black in out  # a background alone: no foreground and no glyph's three bytes


def test_truecolor_cells_reproduce_the_image():
    image = np.random.default_rng(0).random((28, 28))
    lines = digit_lines(image)
    upper = [[halves(c)[0].triplet.red for c in cells(line)] for line in lines]
    lower = [[halves(c)[1].triplet.red for c in cells(line)] for line in lines]
    levels = np.rint(image * 255)
    assert np.array_equal(upper, levels[0::2]) and np.array_equal(lower, levels[1::2])


# --- digits: 256 colours ---


@pytest.mark.parametrize(
    "level, ansi",
    [(0, 16), (4, 16), (5, 232), (8, 232), (26, 234), (128, 244), (238, 255), (246, 255), (247, 231), (255, 231)],
)
def test_256_picks_nearest_grey_of_the_palette(level, ansi):
    [line] = digit_lines(np.array([[level / 255], [0.0]]), mode="256")
    assert halves(line[0]) == (Color.from_ansi(ansi), Color.from_ansi(16))


def test_256_lower_glyph_swaps_colours():
    [line] = digit_lines(CHECKER, mode="256", glyph="lower")
    assert [(s.text, s.style.color.number, s.style.bgcolor.number) for s in line] == [("▄", 231, 16), ("▄", 16, 231)]


# --- digits: shades ---


@pytest.mark.parametrize("mode", ["16", "mono"])
def test_shades_follow_the_mean_of_each_cell(mode):
    image = np.array([[0.0, 0.3, 0.5, 0.7, 1.0, 1.0], [0.3, 0.3, 0.5, 0.8, 0.9, 1.0]])
    [line] = digit_lines(image, mode=mode)  # means 0.15, 0.3, 0.5, 0.75, 0.95, 1.0
    assert text(line) == " ░▒▓██"
    assert all(segment.style is None for segment in line)
    assert line[-1].text == "██"  # merged


# --- digits: shape ---


@pytest.mark.parametrize("mode", ["truecolor", "256", "16", "mono"])
@pytest.mark.parametrize("scale, rows, cols", [(1, 14, 28), (2, 28, 56), (3, 42, 84)])
def test_mnist_digit_shape(mode, scale, rows, cols):
    lines = digit_lines(np.random.default_rng(1).random((28, 28)), scale=scale, mode=mode)
    assert len(lines) == rows
    assert [Segment.get_line_length(line) for line in lines] == [cols] * rows
    assert not any("\n" in segment.text for line in lines for segment in line)


def test_scale_repeats_each_pixel():
    image = np.random.default_rng(2).random((4, 3))
    lines = digit_lines(image, scale=2)
    assert len(lines) == 4 and all(Segment.get_line_length(line) == 6 for line in lines)
    for row, line in enumerate(lines):  # at scale 2 both halves of a cell are the same pixel
        for col, cell in enumerate(cells(line)):
            level = round(image[row, col // 2] * 255)
            assert halves(cell) == (grey(level), grey(level))


def test_odd_row_count_is_refused():
    with pytest.raises(ValueError, match="even"):
        digit_lines(np.zeros((3, 4)))
    assert len(digit_lines(np.zeros((3, 4)), scale=2)) == 3  # scaled, it is even


def test_halve_averages_2x2_blocks_and_drops_an_odd_last_row_and_column():
    image = np.arange(35.0).reshape(5, 7)
    np.testing.assert_array_equal(halve(image), [[4.0, 6.0, 8.0], [18.0, 20.0, 22.0]])


def test_area_weights_are_the_overlaps_worked_out_by_hand():
    # 28 -> 12: a new pixel spans 7/3 old ones. The first covers pixels 0 and 1 whole and a third of pixel 2;
    # the second the other two thirds of pixel 2, pixel 3 whole and two thirds of pixel 4.
    weights = area_weights(28, 12)
    np.testing.assert_allclose(weights[0, :3], [3 / 7, 3 / 7, 1 / 7])
    np.testing.assert_allclose(weights[1, 2:5], [2 / 7, 3 / 7, 2 / 7])
    assert not weights[0, 3:].any() and not weights[1, :2].any() and not weights[1, 5:].any()
    np.testing.assert_allclose(weights.sum(axis=1), 1)  # a mean: a blank image stays blank, ink stays ink
    np.testing.assert_array_equal(area_weights(3, 2), [[2 / 3, 1 / 3, 0], [0, 1 / 3, 2 / 3]])


def test_resampling_28_to_12_is_the_area_average_worked_out_by_hand():
    image = np.random.default_rng(3).random((28, 28))
    third = 1 / 3
    # New pixel (0, 0) covers rows and columns 0 and 1 whole and a third of row and column 2: 7/3 x 7/3 of area.
    rows = image[0] + image[1] + third * image[2]  # the columns' sums over the first 7/3 rows, per column
    first = (rows[0] + rows[1] + third * rows[2]) / (7 / 3) ** 2
    # New pixel (1, 1): two thirds of rows and columns 2 and 4, all of row and column 3.
    share = np.array([2 * third, 1, 2 * third])
    second = share @ image[2:5, 2:5] @ share / (7 / 3) ** 2
    resampled = resample(image, 12)
    assert resampled.shape == (12, 12)
    assert resampled[0, 0] == pytest.approx(first, rel=1e-12) and resampled[1, 1] == pytest.approx(second, rel=1e-12)
    assert resampled.mean() == pytest.approx(image.mean(), rel=1e-12)  # every pixel's area counted once


def test_at_14_and_7_the_resampler_gives_what_halving_gives():
    # Levels of 1/256: every sum is exact in float64, so the two must agree to the last bit.
    images = np.random.default_rng(4).integers(0, 256, (50, 28, 28)) / 256
    for image in images:
        np.testing.assert_array_equal(resample(image, 14), halve(image))
        np.testing.assert_array_equal(resample(image, 7), halve(halve(image)))
    np.testing.assert_array_equal(resample(images, 14), [halve(image) for image in images])  # a batch at once
    decodings = np.random.default_rng(5).random((50, 28, 28), dtype=np.float32)  # as a model decodes: float32
    np.testing.assert_array_equal(resample(decodings, 14), [halve(d) for d in decodings])  # to the bit
    np.testing.assert_allclose(resample(decodings, 7), [halve(halve(d)) for d in decodings], rtol=1e-6)  # rounded


def test_resampling_to_56_doubles_each_pixel():
    image = np.random.default_rng(6).random((28, 28))
    np.testing.assert_array_equal(resample(image, 56), image.repeat(2, axis=0).repeat(2, axis=1))


def test_digit_size_is_the_largest_whole_size_that_fits_from_5_to_28_then_doubled():
    assert digit_size(19, 12) == 12  # a 6x6 grid in 116x36 cells: 116 // 6 columns, 72 // 6 pixel rows
    assert digit_size(100, 28) == 28 and digit_size(55, 100) == 28  # 28 until 56 fits
    assert digit_size(56, 56) == 56 and digit_size(200, 200) == 56  # doubled, no further
    assert digit_size(5, 40) == 5 and digit_size(4, 40) is None and digit_size(40, 4) is None


def test_an_odd_number_of_rows_gets_a_blank_row():
    image = np.ones((5, 3))
    padded = with_even_rows(image)
    assert padded.shape == (6, 3) and padded[:5].all() and not padded[5].any()
    assert with_even_rows(np.ones((4, 3))).shape == (4, 3)


# --- digits through a real Rich console ---


def test_truecolor_escape_codes():
    out = printed(Lines(digit_lines(CHECKER)), "truecolor")
    assert "38;2;0;0;0;48;2;255;255;255m▀" in out
    assert "38;2;255;255;255;48;2;0;0;0m▀" in out


@pytest.mark.parametrize("console_colors", ["256", "truecolor"])
def test_256_escape_codes(console_colors):
    out = printed(Lines(digit_lines(CHECKER, mode="256")), console_colors)
    assert "38;5;16;48;5;231m▀" in out and "38;5;231;48;5;16m▀" in out
    assert "38;2" not in out


@pytest.mark.parametrize("console_colors", ["standard", "truecolor"])
def test_16_colour_digit_has_no_palette_or_rgb_codes(console_colors):
    out = printed(Lines(digit_lines(CHECKER, mode="16")), console_colors)
    assert "▒▒" in out
    assert "38;2" not in out and "38;5" not in out and "48;" not in out


@pytest.mark.parametrize("console_colors", [None, "truecolor"])
def test_mono_digit_has_no_escape_codes(console_colors):
    out = printed(Lines(digit_lines(np.full((28, 28), 0.5), mode="mono")), console_colors)
    assert not ESCAPE.search(out)
    assert out == ("▒" * 28 + "\n") * 14


# --- latent map: cells ---

BOUNDS = (0.0, 4.0, 0.0, 2.0)  # 4 x 2 cells of 1 x 1


def test_map_cells_majority_vote_and_empty_cells():
    points = np.array([[0.5, 1.5], [0.6, 1.4], [0.7, 1.3], [3.5, 0.5], [3.6, 0.6]])
    labels = np.array([3, 7, 3, 5, 2])
    result = map_cells(points, labels, BOUNDS, 4, 2)
    assert result.dtype == np.int8
    assert result.tolist() == [[3, -1, -1, -1], [-1, -1, -1, 2]]  # a 2-5 tie goes to the smaller


def test_map_cells_y_grows_upwards_and_edges_belong_to_the_grid():
    points = np.array([[0.0, 2.0], [4.0, 0.0], [1.5, 0.2]])
    result = map_cells(points, np.array([1, 8, 6]), BOUNDS, 4, 2)
    assert result.tolist() == [[1, -1, -1, -1], [-1, 6, -1, 8]]


def test_map_cells_drops_points_outside_bounds():
    points = np.array([[-0.1, 1.0], [4.1, 1.0], [2.0, -0.1], [2.0, 2.1], [2.5, 1.5]])
    result = map_cells(points, np.array([9, 9, 9, 9, 4]), BOUNDS, 4, 2)
    assert result.tolist() == [[-1, -1, 4, -1], [-1, -1, -1, -1]]


def test_map_cells_and_cell_of_put_points_in_the_cells_they_lie_in():
    """Cells 0.4 wide and 0.5 high from (-2, 1), rows counted from the top: points inside a cell and on its edges."""
    bounds, width, height = (-2.0, 0.0, 1.0, 3.5), 5, 5
    cases = {  # (x, y): (col, row), worked out by hand
        (-1.9, 3.4): (0, 0),  # inside the top left cell
        (-0.1, 1.1): (4, 4),  # the bottom right
        (-1.05, 2.3): (2, 2),  # (-1.05 + 2) / 0.4 = 2.375; (3.5 - 2.3) / 0.5 = 2.4
        (-1.2, 2.5): (2, 2),  # on the left edge of column 2 and the top edge of row 2: both belong to the cell
        (-1.2000001, 2.5000001): (1, 1),  # a hair to the left and above: the cells before
        (0.0, 1.0): (4, 4),  # the far corner belongs to the last cell
    }
    for (x, y), cell in cases.items():
        assert cell_of(x, y, bounds, width, height) == cell, (x, y)
        grid = map_cells(np.array([[x, y]]), np.array([5]), bounds, width, height)
        assert list(zip(*np.nonzero(grid == 5))) == [cell[::-1]], (x, y)  # (row, col)


def test_cell_of_and_point_of_are_inverse_on_every_cell():
    bounds, width, height = (-3.0, 4.5, -2.0, 1.0), 7, 5
    for row in range(height):
        for col in range(width):
            assert cell_of(*point_of(col, row, bounds, width, height), bounds, width, height) == (col, row)


def test_point_of_is_the_cell_centre_with_row_zero_at_the_top():
    assert point_of(0, 0, BOUNDS, 4, 2) == (0.5, 1.5)
    assert point_of(3, 1, BOUNDS, 4, 2) == (3.5, 0.5)


def test_cell_of_clamps_into_the_grid():
    assert cell_of(-100.0, 100.0, BOUNDS, 4, 2) == (0, 0)
    assert cell_of(100.0, -100.0, BOUNDS, 4, 2) == (3, 1)
    assert cell_of(4.0, 0.0, BOUNDS, 4, 2) == (3, 1)  # the far edges belong to the last cells


# --- latent map: lines ---

GRID = np.array([[-1, 0, 0, 3], [9, -1, -1, -1]], dtype=np.int8)


def test_map_lines_truecolor_markers():
    lines = map_lines(GRID)
    assert [(s.text, s.style and s.style.color) for s in lines[0]] == [
        (" ", None),
        ("●●", Color.parse(LABEL_COLORS[0])),
        ("●", Color.parse(LABEL_COLORS[3])),
    ]
    assert [(s.text, s.style and s.style.color) for s in lines[1]] == [
        ("●", Color.parse(LABEL_COLORS[9])),
        ("   ", None),
    ]


def test_map_lines_256_uses_palette_colours():
    lines = map_lines(GRID, mode="256", marker="*")
    colours = [s.style.color for line in lines for s in line if s.style]
    assert [c.type for c in colours] == [ColorType.EIGHT_BIT] * 3
    assert colours == [Color.parse(LABEL_COLORS[i]).downgrade(ColorSystem.EIGHT_BIT) for i in (0, 3, 9)]
    assert [text(line) for line in lines] == [" ***", "*   "]


@pytest.mark.parametrize("mode", ["16", "mono"])
def test_map_lines_show_digits_without_rgb(mode):
    lines = map_lines(GRID, mode=mode)
    assert [text(line) for line in lines] == [" 003", "9   "]
    styled = [(s.text, s.style.color if s.style else None) for line in lines for s in line if s.text.strip()]
    if mode == "16":
        assert styled == [("00", Color.parse("bright_blue")), ("3", Color.parse("red")), ("9", Color.parse("cyan"))]
    else:
        assert styled == [("00", None), ("3", None), ("9", None)]


@pytest.mark.parametrize("mode", ["truecolor", "256", "16", "mono"])
def test_map_lines_are_exactly_the_grid_width(mode):
    grid = np.random.default_rng(4).integers(-1, 10, size=(6, 17)).astype(np.int8)
    assert [Segment.get_line_length(line) for line in map_lines(grid, mode=mode)] == [17] * 6


def test_map_lines_through_rich_consoles():
    r, g, b = Color.parse(LABEL_COLORS[0]).triplet
    assert f"38;2;{r};{g};{b}m●●" in printed(Lines(map_lines(GRID)), "truecolor")
    number = Color.parse(LABEL_COLORS[0]).downgrade(ColorSystem.EIGHT_BIT).number
    out = printed(Lines(map_lines(GRID, mode="256")), "truecolor")
    assert f"38;5;{number}m●●" in out and "38;2" not in out
    out = printed(Lines(map_lines(GRID, mode="16")), "standard")
    assert "\x1b[31m3" in out and "\x1b[94m00" in out and "38;" not in out
    out = printed(Lines(map_lines(GRID, mode="mono")), "truecolor")
    assert out == " 003\n9   \n"


# --- legend and palettes ---


def test_legend_with_markers():
    segments = legend_segments()
    assert text(segments) == "  ".join(f"● {label}" for label in range(10))
    markers = [s.style.color for s in segments if s.text == "●"]
    assert markers == [Color.parse(colour) for colour in LABEL_COLORS]


def test_legend_256_uses_palette_colours():
    markers = [s.style.color for s in legend_segments("256") if s.text == "●"]
    assert [m.type for m in markers] == [ColorType.EIGHT_BIT] * 10


def test_legend_16_colours_the_digits():
    segments = legend_segments("16")
    assert text(segments) == "0 1 2 3 4 5 6 7 8 9"
    assert [s.style.color for s in segments if s.text.strip()] == [Color.parse(name) for name in LABEL_COLORS_16]


def test_legend_mono_is_plain():
    segments = legend_segments("mono")
    assert text(segments) == "0 1 2 3 4 5 6 7 8 9" and all(s.style is None for s in segments)


def test_label_palettes_are_distinct_in_every_mode():
    assert len(LABEL_COLORS) == len(set(LABEL_COLORS)) == 10
    assert all(re.fullmatch(r"#[0-9a-f]{6}", colour) for colour in LABEL_COLORS)
    assert len({Color.parse(c).downgrade(ColorSystem.EIGHT_BIT).number for c in LABEL_COLORS}) == 10
    standard = [Color.parse(name) for name in LABEL_COLORS_16]
    assert len({c.number for c in standard}) == 10 and all(c.type == ColorType.STANDARD for c in standard)


# --- colour detection ---


SIXTEEN = "promises 16 colours at most, and COLORTERM does not say truecolor"
TWO_FIFTY_SIX = "names 256 colours, and COLORTERM does not say truecolor"
COLOR_CASES = [  # environment, --color auto's mode, and why (as doctor prints it)
    ({"NO_COLOR": "1", "COLORTERM": "truecolor", "TERM": "xterm-256color"}, "mono", "NO_COLOR is set"),
    ({"COLORTERM": "truecolor", "TERM": "tmux-256color"}, "truecolor", "COLORTERM=truecolor"),
    ({"COLORTERM": "24bit", "TERM": "xterm"}, "truecolor", "COLORTERM=24bit"),
    ({"COLORTERM": "TrueColor", "TERM": "dumb"}, "truecolor", "COLORTERM=TrueColor"),  # any case; over a dumb TERM
    ({"TERM": "tmux-256color"}, "256", f"TERM=tmux-256color {TWO_FIFTY_SIX}"),
    ({"TERM": "screen-256color", "COLORTERM": "yes"}, "256", f"TERM=screen-256color {TWO_FIFTY_SIX}"),
    ({}, "mono", "TERM is not set"),
    ({"TERM": ""}, "mono", "TERM is not set"),
    ({"TERM": "dumb"}, "mono", "TERM is dumb"),
    ({"NO_COLOR": "", "TERM": "xterm"}, "16", f"TERM=xterm {SIXTEEN}"),  # an empty NO_COLOR does not count
    ({"TERM": "linux", "COLORTERM": "yes"}, "16", f"TERM=linux {SIXTEEN}"),
]


@pytest.mark.parametrize("environ, mode, why", COLOR_CASES)
def test_each_colour_rule_gives_its_mode_and_why(environ, mode, why):
    assert color_choice(environ) == (mode, why)
    assert detect_color_mode(environ) == mode


def test_every_colour_rule_is_among_the_cases_above():
    def rule(environ):
        return next(i for i, rule in enumerate(COLOR_RULES) if rule.applies(ColorEnvironment.of(environ)))

    assert {rule(environ) for environ, _, _ in COLOR_CASES} == set(range(len(COLOR_RULES)))


def test_detect_color_mode_reads_os_environ(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("COLORTERM", raising=False)
    monkeypatch.setenv("TERM", "screen-256color")
    assert detect_color_mode() == "256"
