"""The preview strip: rendered by real Rich consoles of 80 and 120 columns, its cells checked against the images."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
from conftest import halves
from rich.color import Color
from rich.console import Console
from rich.segment import Segment

from tui_ae import preview as preview_module
from tui_ae.preview import PreviewStrip, choose_layout
from tui_ae.render import GREY_CODES, GREY_LEVELS, SHADES
from tui_ae.train import Preview

ESCAPE = re.compile(r"\x1b\[")


def make_preview(classes: int = 10, seed: int = 0) -> Preview:
    """Random greys, so every cell of every digit has its own colours to check."""
    rng = np.random.default_rng(seed)
    originals = rng.random((classes, 28, 28)).astype(np.float32)
    reconstructions = rng.random((classes, 28, 28)).astype(np.float32)
    return Preview(tuple(range(classes)), originals, reconstructions)


def console_for(width: int, height: int, color_system: str | None = "truecolor") -> Console:
    return Console(file=io.StringIO(), width=width, height=height, force_terminal=True, color_system=color_system)


def grid(strip: PreviewStrip, console: Console) -> list[list[Segment]]:
    """The strip as the console renders it: one Segment per cell."""
    lines = console.render_lines(strip, console.options, pad=False)
    return [[Segment(char, s.style) for s in line for char in s.text] for line in lines]


def text(row: list[Segment]) -> str:
    return "".join(cell.text for cell in row)


def spans(row: list[Segment]) -> list[tuple[int, int]]:
    """(start, end) of each run of cells with a background of their own in a row: the digits."""
    drawn = "".join("d" if cell.style is not None and cell.style.bgcolor is not None else " " for cell in row)
    return [m.span() for m in re.finditer("d+", drawn)]


def pixel_pairs(image: np.ndarray, halved: bool) -> tuple[np.ndarray, np.ndarray]:
    """(upper, lower) pixel of each cell, as the image says they should be drawn."""
    if halved:
        image = image.reshape(14, 2, 14, 2).mean(axis=(1, 3))
    return image[0::2], image[1::2]


def grey(value: float) -> Color:
    level = round(value * 255)
    return Color.from_rgb(level, level, level)


def palette_grey(value: float) -> Color:
    return Color.from_ansi(int(GREY_CODES[np.abs(GREY_LEVELS - round(value * 255)).argmin()]))


def find_row(cells: list[list[Segment]], label: str, start: int = 0) -> int:
    return next(i for i in range(start, len(cells)) if text(cells[i]).startswith(label))


def check_band(cells, top: int, span: tuple[int, int], image: np.ndarray, halved: bool, to_color) -> None:
    upper, lower = pixel_pairs(image, halved)
    left, right = span
    assert right - left == upper.shape[1]
    for r in range(upper.shape[0]):
        for c in range(upper.shape[1]):
            cell = cells[top + r][left + c]
            assert halves(cell) == (to_color(upper[r, c]), to_color(lower[r, c])), (
                f"cell {r},{c} of the digit at columns {span}"
            )


def check_tiers(cells, preview: Preview, shown: int, halved: bool, to_color=grey) -> None:
    """Each tier: a class label over each digit, its original in the val band, its reconstruction under it."""
    digit_rows = 7 if halved else 14
    seen, row = [], 0
    while len(seen) < shown:
        val = find_row(cells, "val", row)
        recon = find_row(cells, "recon", val)
        assert recon == val + digit_rows
        header = text(cells[val - 1])
        for left, right in spans(cells[val]):
            label = int(header[left])  # the class is written over its digit's first column
            check_band(cells, val, (left, right), preview.originals[label], halved, to_color)
            check_band(cells, recon, (left, right), preview.reconstructions[label], halved, to_color)
            seen.append(label)
        row = recon + digit_rows
    assert seen == list(range(shown))


def test_at_80x24_the_strip_is_halved_digits_in_one_band():
    preview = make_preview()
    strip = PreviewStrip("truecolor")
    strip.show(preview, 3)
    console = console_for(80, 24)
    cells = grid(strip, console)
    assert text(cells[0]).startswith("ep 3")
    assert len(spans(cells[1])) == 5
    check_tiers(cells, preview, shown=5, halved=True)
    assert len(cells) <= 24 - 2, "it leaves the bar and the latest epoch line their rows"
    assert max(len(row) for row in cells) <= 80


@pytest.mark.parametrize(
    ("classes", "seed", "width", "height", "halved"),
    [
        pytest.param(10, 1, 120, 40, True, id="120x40-ten-halved-in-two-tiers"),
        pytest.param(10, 2, 160, 62, False, id="160x62-ten-full-size"),
        pytest.param(3, 5, 120, 40, False, id="120x40-three-full-size"),
    ],
)
def test_every_class_shows_at_the_largest_size_that_fits(classes, seed, width, height, halved):
    preview = make_preview(classes=classes, seed=seed)
    strip = PreviewStrip("truecolor")
    strip.show(preview, 1)
    cells = grid(strip, console_for(width, height))
    check_tiers(cells, preview, shown=classes, halved=halved)
    assert len(cells) <= height - 2 and max(len(row) for row in cells) <= width


def test_256_colours_draw_with_the_palettes_greys():
    preview = make_preview(seed=3)
    strip = PreviewStrip("256")
    strip.show(preview, 1)
    check_tiers(grid(strip, console_for(80, 24, "256")), preview, shown=5, halved=True, to_color=palette_grey)


def test_mono_draws_shades_of_each_cells_mean_and_writes_no_colour():
    preview = make_preview(seed=4)
    strip = PreviewStrip("mono")
    strip.show(preview, 2)
    console = console_for(80, 24, None)
    cells = grid(strip, console)
    val, recon = find_row(cells, "val"), find_row(cells, "recon")
    assert recon == val + 7
    lefts = [6 + i * 15 for i in range(5)]  # no half blocks to find them by: label column, then 14 + a gap each
    assert re.fullmatch(r"ep 2  0 {14}1 {14}2 {14}3 {14}4", text(cells[val - 1]))
    for band, images in ((val, preview.originals), (recon, preview.reconstructions)):
        for label, left in enumerate(lefts):
            upper, lower = pixel_pairs(images[label], halved=True)
            expected = [
                "".join(SHADES[min(4, int((u + v) / 2 * 5))] for u, v in zip(*pair)) for pair in zip(upper, lower)
            ]
            assert [text(cells[band + r])[left : left + 14] for r in range(7)] == expected
    console.print(strip)
    output = console.file.getvalue()
    assert "▀" not in output and not re.search(r"\x1b\[[0-9;]*(38|48)[;m]", output)


@pytest.mark.parametrize("width", [80, 120])
def test_printed_lines_never_wrap(width):
    strip = PreviewStrip("truecolor")
    strip.show(make_preview(), 12)
    console = console_for(width, 40)
    console.print(strip)
    printed = [ESCAPE.sub("", line) for line in console.file.getvalue().splitlines()]
    assert len(printed) == len(strip.lines(width, 40))


@pytest.mark.parametrize(
    ("width", "height", "shown"),
    [(40, 24, 2), (34, 24, 1), (19, 24, 0), (80, 17, 5), (80, 16, 0)],
)
def test_fewer_classes_when_the_width_is_short_and_none_below_the_minimum(width, height, shown):
    strip = PreviewStrip("truecolor")
    strip.show(make_preview(), 1)
    cells = grid(strip, console_for(width, height))
    if not shown:
        assert cells == []
        return
    assert len(spans(cells[find_row(cells, "val")])) == shown
    assert len(cells) <= height - 2 and max(len(row) for row in cells) <= width


def test_the_layout_prefers_more_classes_then_bigger_digits():
    assert choose_layout(80, 22, 10, 5).halved
    full = choose_layout(300, 38, 10, 5)
    assert (full.shown, full.halved, full.tiers) == (10, False, 1)
    assert choose_layout(150, 58, 10, 5) == preview_module.Layout(10, 5, 2, False, 5)
    assert choose_layout(149, 58, 10, 5).halved  # one column short of two tiers of five full-size digits


def test_every_chosen_layout_fits_its_terminal():
    for width in range(15, 320, 7):
        for height in range(10, 70, 3):
            layout = choose_layout(width, height, 10, 5)
            if layout is None:
                assert choose_layout(width, height, 1, 5) is None, f"at {width}x{height} one digit would fit"
                continue
            assert layout.width <= width and layout.height <= height, (width, height, layout)
            assert layout.per_tier * layout.tiers >= layout.shown > layout.per_tier * (layout.tiers - 1)


def test_the_lines_are_built_once_per_preview_and_size_never_on_a_refresh(monkeypatch):
    built = []
    real = preview_module.strip_lines
    monkeypatch.setattr(preview_module, "strip_lines", lambda *args: built.append(args[1:]) or real(*args))
    strip = PreviewStrip("truecolor")
    console = console_for(80, 24)
    assert grid(strip, console) == [] and built == []  # nothing shown yet
    first = make_preview()
    strip.show(first, 1)
    for _ in range(3):
        console.print(strip)
    assert built == [(1, 80, 22, "truecolor")]
    strip.show(make_preview(seed=9), 2)
    console.print(strip)
    console.print(strip)
    assert len(built) == 2
    console.size = (120, 40)
    console.print(strip)
    assert built[-1] == (2, 120, 38, "truecolor")
    strip.show(None, 3)
    assert grid(strip, console) == [] and len(built) == 3


def test_without_build_the_lines_come_only_once_built():
    strip = PreviewStrip("truecolor")
    assert strip.lines(80, 24, build=False) == [], "nothing shown: nothing to build"
    strip.show(make_preview(), 1)
    assert strip.lines(80, 24, build=False) is None
    built = strip.lines(80, 24)
    assert text(built[0]).startswith("ep 1") and strip.lines(80, 24, build=False) is built
    strip.show(make_preview(seed=1), 2)
    assert strip.lines(80, 24, build=False) is None, "a new preview is built anew"
    assert strip.lines(80, 24) is not built and strip.lines(120, 40, build=False) is None
