"""Pixels and latent points -> terminal cells, as Rich segments.

A digit is drawn with half blocks, two vertically adjacent pixels per cell: one
as the glyph's foreground, one as its background (as timg, rich-pixels and
textual-canvas do). Terminals without 24-bit colour get the 256-colour grey ramp,
and those with 16 colours or none get shade glyphs, so a digit still reads.
The latent map is one cell per colour: the majority label of the points in it.

Only numpy and Rich: the Textual app wraps these lines in Strips, and the training
preview (preview.py) prints them with a plain Rich console.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal, NamedTuple

import numpy as np
from rich.color import Color, ColorSystem
from rich.segment import Segment
from rich.style import Style

from tui_ae.latent import Bounds

ColorMode = Literal["truecolor", "256", "16", "mono"]
Glyph = Literal["upper", "lower"]

SHADES = " ░▒▓█"  # 16-colour and mono digits: one shade per cell, from its two pixels' mean
# The 256-colour palette's greys, darkest first: black, the 24-step ramp, white.
GREY_CODES = np.array([16, *range(232, 256), 231])
GREY_LEVELS = np.array([0, *range(8, 239, 10), 255])
GREY_MIDPOINTS = (GREY_LEVELS[1:] + GREY_LEVELS[:-1]) / 2  # nearest level by searchsorted

# Each label's colour, 0 to 9: matplotlib's tab10, distinct hues that stay readable on a dark background;
# and in 16 colours the nearest ANSI names to them, less dark blue and black, unreadable on black.
LABEL_COLORS = tuple("#1f77b4 #ff7f0e #2ca02c #d62728 #9467bd #8c564b #e377c2 #7f7f7f #bcbd22 #17becf".split())
LABEL_COLORS_16 = tuple(
    "bright_blue yellow green red magenta bright_red bright_magenta white bright_yellow cyan".split()
)


class ColorEnvironment(NamedTuple):
    """What --color auto reads of the environment."""

    no_color: str
    colorterm: str
    term: str

    @classmethod
    def of(cls, environ: Mapping[str, str]) -> ColorEnvironment:
        return cls(environ.get("NO_COLOR", ""), environ.get("COLORTERM", ""), environ.get("TERM", ""))


@dataclass(frozen=True)
class ColorRule:
    mode: ColorMode
    applies: Callable[[ColorEnvironment], bool]
    why: str  # as `tui-ae doctor` says it; {colorterm} and {term} are the environment's


# --color auto's rules, the first that applies wins: explore and the training preview draw in its
# mode, and doctor says its why. ssh does not forward COLORTERM, so --color always wins over them.
COLOR_RULES: tuple[ColorRule, ...] = (
    ColorRule("mono", lambda env: env.no_color != "", "NO_COLOR is set"),  # https://no-color.org: any non-empty value
    ColorRule("truecolor", lambda env: env.colorterm.lower() in ("truecolor", "24bit"), "COLORTERM={colorterm}"),
    ColorRule(
        "256", lambda env: "256color" in env.term, "TERM={term} names 256 colours, and COLORTERM does not say truecolor"
    ),
    ColorRule("mono", lambda env: env.term == "", "TERM is not set"),
    ColorRule("mono", lambda env: env.term == "dumb", "TERM is dumb"),
    ColorRule("16", lambda env: True, "TERM={term} promises 16 colours at most, and COLORTERM does not say truecolor"),
)


def color_choice(environ: Mapping[str, str] | None = None) -> tuple[ColorMode, str]:
    """--color auto's mode for an environment (os.environ by default), and why: the first rule that applies."""
    env = ColorEnvironment.of(os.environ if environ is None else environ)
    rule = next(rule for rule in COLOR_RULES if rule.applies(env))
    return rule.mode, rule.why.format(**env._asdict())


def detect_color_mode(environ: Mapping[str, str] | None = None) -> ColorMode:
    """Guess the terminal's colours from the environment; ssh drops COLORTERM, so --color wins."""
    return color_choice(environ)[0]


def _run_lines(codes: np.ndarray, segment: Callable[[int, int], Segment]) -> list[list[Segment]]:
    """One line per row of `codes`, one segment(code, length) per run of equal codes.

    Merging runs here, with numpy, spares Rich and Textual most of the segments.
    """
    height, width = codes.shape
    starts = np.ones(codes.shape, dtype=bool)  # every row starts a run, so no run spans two rows
    starts[:, 1:] = codes[:, 1:] != codes[:, :-1]
    positions = np.flatnonzero(starts)
    lengths = np.diff(positions, append=codes.size)
    lines: list[list[Segment]] = [[] for _ in range(height)]
    for position, length, code in zip(positions.tolist(), lengths.tolist(), codes.ravel()[positions].tolist()):
        lines[position // width].append(segment(code, length))
    return lines


def _grey_codes(pixels: np.ndarray, mode: ColorMode) -> np.ndarray:
    """Grey levels 0..255 in truecolor, else the nearest palette grey's number."""
    levels = np.rint(pixels * 255).astype(np.int64)
    return levels if mode == "truecolor" else GREY_CODES[np.searchsorted(GREY_MIDPOINTS, levels)]


GREYS = tuple(Color.from_rgb(level, level, level) for level in range(256))  # truecolor, by level
PALETTE = tuple(Color.from_ansi(code) for code in range(256))  # the 256-colour palette, by number
BLACK = {"truecolor": 0, "256": int(GREY_CODES[0])}  # black's code in each, as _grey_codes gives it


@lru_cache(maxsize=4096)  # a digit uses a few hundred (fg, bg) pairs
def _grey_style(fg: int, bg: int, mode: ColorMode) -> Style:
    # Style.from_color: the same Style as Style(color=..., bgcolor=...), many times faster (BENCHMARKS.md, the
    # explorer's start and keys, second pass: "Styles"). A decoded digit at 1x is a new pair in most of its cells,
    # so this runs on every key.
    colors = GREYS if mode == "truecolor" else PALETTE
    return Style.from_color(colors[fg], colors[bg])


def _cell_run(fg: int, bg: int, n: int, char: str, mode: ColorMode) -> Segment:
    """n cells of one pair of greys. Black in both halves (a digit's margins, a large part of it): a space on black,
    the same picture without the glyph's three bytes and a foreground for the terminal (BENCHMARKS.md, issue 18's
    budgets). Only black, so that every other cell of a digit, even one of a single grey, keeps its half block."""
    if fg == bg == BLACK[mode]:
        return Segment(" " * n, Style.from_color(None, (GREYS if mode == "truecolor" else PALETTE)[bg]))
    return Segment(char * n, _grey_style(fg, bg, mode))


def digit_lines(
    image: np.ndarray, *, scale: int = 1, glyph: Glyph = "upper", mode: ColorMode = "truecolor"
) -> list[list[Segment]]:
    """An (H, W) image in [0, 1] as H*scale/2 lines of W*scale cells."""
    pixels = np.clip(np.asarray(image, dtype=np.float64), 0.0, 1.0)
    pixels = pixels.repeat(scale, axis=0).repeat(scale, axis=1)
    if pixels.shape[0] % 2:
        raise ValueError(f"an image needs an even number of rows, got {pixels.shape[0]}")
    upper, lower = pixels[0::2], pixels[1::2]  # (H/2, W) each: the two halves of each cell
    if mode in ("16", "mono"):
        shades = np.minimum(4, ((upper + lower) / 2 * 5).astype(np.int64))
        return _run_lines(shades, lambda shade, n: Segment(SHADES[shade] * n))
    fg, bg = (upper, lower) if glyph == "upper" else (lower, upper)
    char = "▀" if glyph == "upper" else "▄"
    pairs = _grey_codes(fg, mode) << 8 | _grey_codes(bg, mode)  # one int per cell, to find runs
    return _run_lines(pairs, lambda pair, n: _cell_run(pair >> 8, pair & 255, n, char, mode))


def halve(image: np.ndarray) -> np.ndarray:
    """2x downsample by averaging 2x2 blocks: (H, W) -> (H // 2, W // 2); an odd last row or column is dropped."""
    h, w = image.shape
    return image[: h // 2 * 2, : w // 2 * 2].reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))


DIGIT = 28  # pixels a side of a digit as decoded
SMALLEST = 5  # pixels a side of the smallest digit drawn: a 4x4 digit no longer reads as one


def digit_size(width: int, height: int) -> int | None:
    """Pixels a side of the largest digit that fits width x height pixels (a cell is one column, two rows).

    28 doubled (56) where that fits, else the largest whole size from 5 to 28; None where not even 5 fits.
    """
    side = min(width, height)
    if side >= 2 * DIGIT:
        return 2 * DIGIT
    return min(side, DIGIT) if side >= SMALLEST else None


def area_weights(size: int, to: int) -> np.ndarray:
    """(to, size): the share of each of `size` pixels in each of `to` pixels over the same length; rows sum to 1.

    The length is measured in size * to units, so that every overlap is a whole number: old pixel j
    spans [j * to, (j + 1) * to), new pixel i spans [i * size, (i + 1) * size).
    """
    old, new = np.arange(size + 1) * to, np.arange(to + 1) * size
    overlap = np.minimum(new[1:, None], old[None, 1:]) - np.maximum(new[:-1, None], old[None, :-1])
    return np.maximum(overlap, 0) / size


def resample(images: np.ndarray, size: int) -> np.ndarray:
    """(..., n, n) square images -> (..., size, size) by area averaging.

    Each new pixel is the mean of the old ones under it, weighted by how much of it each covers:
    28 -> 12 averages 7/3 x 7/3 pixels, 28 -> 56 repeats each pixel twice each way. Where size
    divides n, the blocks' means are taken as halve() takes them, in the images' own precision,
    so that a digit at 14x14 is drawn to the bit as it was before this resampler (the matrices
    round differently, and a grey level can flip).
    """
    n = images.shape[-1]
    if n % size == 0:
        block = n // size
        return images.reshape(*images.shape[:-2], size, block, size, block).mean(axis=(-3, -1))
    weights = area_weights(n, size)  # (size, n)
    return weights @ images @ weights.T


def with_even_rows(image: np.ndarray) -> np.ndarray:
    """The image with a blank row under it where it has an odd number of rows: a cell is two rows."""
    if image.shape[0] % 2:
        image = np.vstack([image, np.zeros((1, image.shape[1]), image.dtype)])
    return image


def _cells(x: np.ndarray, y: np.ndarray, bounds: Bounds, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """(col, row) of latent points, clamped into the grid; row 0 is y_max, as in a plot."""
    x_min, x_max, y_min, y_max = bounds
    col = np.floor((x - x_min) / (x_max - x_min) * width)
    row = np.floor((y_max - y) / (y_max - y_min) * height)
    return np.clip(col, 0, width - 1).astype(np.int64), np.clip(row, 0, height - 1).astype(np.int64)


def cell_of(x: float, y: float, bounds: Bounds, width: int, height: int) -> tuple[int, int]:
    """The (col, row) of a latent point, clamped into the grid."""
    col, row = _cells(np.float64(x), np.float64(y), bounds, width, height)
    return int(col), int(row)


def point_of(col: int, row: int, bounds: Bounds, width: int, height: int) -> tuple[float, float]:
    """The latent coordinates of a cell's centre."""
    x_min, x_max, y_min, y_max = bounds
    return x_min + (col + 0.5) * (x_max - x_min) / width, y_max - (row + 0.5) * (y_max - y_min) / height


def map_cells(points: np.ndarray, labels: np.ndarray, bounds: Bounds, width: int, height: int) -> np.ndarray:
    """(height, width) int8: each cell's majority label (ties to the smaller), -1 where empty."""
    x, y = points[:, 0], points[:, 1]
    x_min, x_max, y_min, y_max = bounds
    inside = (x >= x_min) & (x <= x_max) & (y >= y_min) & (y <= y_max)
    col, row = _cells(x[inside], y[inside], bounds, width, height)
    votes = np.bincount((row * width + col) * 10 + labels[inside], minlength=height * width * 10)
    votes = votes.reshape(height, width, 10)
    cells = votes.argmax(axis=2).astype(np.int8)
    cells[votes.sum(axis=2) == 0] = -1
    return cells


@lru_cache(maxsize=64)
def label_style(label: int, mode: ColorMode) -> Style | None:
    """The style a map draws a label's points in (None in mono: the terminal's own)."""
    if mode == "mono":
        return None
    if mode == "16":
        return Style(color=LABEL_COLORS_16[label])
    color = Color.parse(LABEL_COLORS[label])
    return Style(color=color if mode == "truecolor" else color.downgrade(ColorSystem.EIGHT_BIT))


def _label_char(label: int, mode: ColorMode, marker: str) -> str:
    """The marker where colours tell labels apart, else the digit itself."""
    return marker if mode in ("truecolor", "256") else str(label)


def map_lines(cells: np.ndarray, *, mode: ColorMode = "truecolor", marker: str = "●") -> list[list[Segment]]:
    """One line of width cells per row of map_cells(); empty cells are unstyled spaces."""

    def segment(label: int, n: int) -> Segment:
        if label < 0:
            return Segment(" " * n)
        return Segment(_label_char(label, mode, marker) * n, label_style(label, mode))

    return _run_lines(np.asarray(cells), segment)


def legend_segments(mode: ColorMode = "truecolor", *, marker: str = "●") -> list[Segment]:
    """One line naming each label's colour: "● 0  ● 1 ...", or the coloured digits alone."""
    with_marker = mode in ("truecolor", "256")
    segments: list[Segment] = []
    for label in range(10):
        if label:
            segments.append(Segment("  " if with_marker else " "))
        segments.append(Segment(_label_char(label, mode, marker), label_style(label, mode)))
        if with_marker:
            segments.append(Segment(f" {label}"))
    return segments
