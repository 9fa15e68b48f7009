"""The live strip above `tui-ae train`'s progress bar: fixed validation digits above their reconstructions.

    ep 3  0              1              2              3              4
    val   ▀▀▀▀▀▀▀▀▀▀▀▀▀▀ ▀▀▀▀▀▀▀▀▀▀▀▀▀▀ ...
          ...
    recon ▀▀▀▀▀▀▀▀▀▀▀▀▀▀ ...

The layout is chosen from the space the terminal gives (a Rich live display crops
what is taller than the terminal, and a line wider than it would wrap): as many of
the classes as fit, full-size digits (28 columns by 14 rows) where they show as many
classes as halved ones (14 by 7) would, in one tier of pairs or in several when that
shows more classes; nothing where not even one halved digit fits.

The strip's lines are built once per preview and terminal size, and kept; strip_above.py
writes them above the training bar when they change. Rich and numpy only, no torch:
train.Preview's arrays come in on the CPU.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from rich.console import Console, ConsoleOptions, RenderResult
from rich.segment import Segment
from rich.style import Style

from tui_ae.render import ColorMode, digit_lines, halve

GAP = 1  # blank columns between two digits, and after the label column
RESERVED_ROWS = 2  # rows of the terminal the strip leaves to the rest: the bar under it, the latest line above
BAND_LABELS = ("val", "recon")  # the originals' band, the reconstructions' band
LABEL_STYLE = Style(dim=True)
CLASS_STYLE = Style(bold=True)

Line = list[Segment]


class PreviewLike(Protocol):
    """What the strip needs of train.Preview (so this module needs no torch)."""

    labels: tuple[int, ...]
    originals: np.ndarray  # (n, 28, 28) in [0, 1]
    reconstructions: np.ndarray  # (n, 28, 28)


@dataclass(frozen=True)
class Layout:
    """Where the strip's digits go: `shown` classes, `per_tier` side by side, in `tiers` tiers."""

    shown: int
    per_tier: int
    tiers: int
    halved: bool
    label_width: int  # the left column with the band labels and the epoch

    @property
    def digit_width(self) -> int:
        return 14 if self.halved else 28

    @property
    def digit_height(self) -> int:
        return 7 if self.halved else 14

    @property
    def tier_height(self) -> int:
        return 1 + 2 * self.digit_height  # the class labels, the originals, the reconstructions

    @property
    def width(self) -> int:
        return self.label_width + GAP + self.per_tier * (self.digit_width + GAP) - GAP

    @property
    def height(self) -> int:
        return self.tiers * self.tier_height


def epoch_label(epoch: int) -> str:
    return f"ep {epoch}"


def choose_layout(width: int, height: int, classes: int, label_width: int) -> Layout | None:
    """The layout that shows the most classes in width x height cells; full-size digits on a tie; None if none fits."""
    best: Layout | None = None
    for halved in (False, True):
        one = Layout(1, 1, 1, halved, label_width)
        per_row = (width - label_width) // (one.digit_width + GAP)  # each digit with the gap before it
        rows = height // one.tier_height
        shown = min(classes, max(per_row, 0) * rows)
        if shown < 1 or (best is not None and shown <= best.shown):
            continue
        tiers = math.ceil(shown / per_row)
        best = Layout(shown, math.ceil(shown / tiers), tiers, halved, label_width)
    return best


def _band(images: np.ndarray, label: str, layout: Layout, mode: ColorMode) -> list[Line]:
    """One band: the images' lines side by side, the band's label at the top of the left column."""
    digits = [digit_lines(halve(image) if layout.halved else image, mode=mode) for image in images]
    lines = []
    for row in range(layout.digit_height):
        line = [Segment((label if row == 0 else "").ljust(layout.label_width + GAP), LABEL_STYLE)]
        for i, digit in enumerate(digits):
            if i:
                line.append(Segment(" " * GAP))
            line.extend(digit[row])
        lines.append(line)
    return lines


def strip_lines(preview: PreviewLike, epoch: int, width: int, height: int, mode: ColorMode) -> list[Line]:
    """The strip's lines for a terminal area of width x height cells; [] where nothing fits."""
    label = epoch_label(epoch)
    layout = choose_layout(width, height, len(preview.labels), max(len(label), *map(len, BAND_LABELS)))
    if layout is None:
        return []
    lines: list[Line] = []
    for tier in range(layout.tiers):
        chosen = slice(tier * layout.per_tier, min(layout.shown, (tier + 1) * layout.per_tier))
        classes = "".join(str(c).ljust(layout.digit_width + GAP) for c in preview.labels[chosen]).rstrip()
        header = (label if tier == 0 else "").ljust(layout.label_width + GAP)
        lines.append([Segment(header, LABEL_STYLE), Segment(classes, CLASS_STYLE)])
        lines += _band(preview.originals[chosen], BAND_LABELS[0], layout, mode)
        lines += _band(preview.reconstructions[chosen], BAND_LABELS[1], layout, mode)
    return lines


class PreviewStrip:
    """A Rich renderable of the latest preview, its lines cached per (preview, epoch, width, height)."""

    def __init__(self, mode: ColorMode) -> None:
        self.mode = mode
        self.shown: tuple[PreviewLike, int] | None = None  # (preview, epoch); one assignment, so thread-safe
        self._cache: tuple[PreviewLike | None, int, int, int, list[Line]] = (None, 0, 0, 0, [])

    def show(self, preview: PreviewLike | None, epoch: int) -> None:
        """Draw this preview from the next render on (None: draw nothing)."""
        self.shown = None if preview is None else (preview, epoch)

    def lines(self, width: int, height: int, build: bool = True) -> list[Line] | None:
        """The lines of the preview shown, for a terminal of width x height: the same list until either changes.

        None where they are not built yet and `build` is False (the training loop's thread
        leaves the building to another: strip_above.py).
        """
        shown = self.shown
        if shown is None:
            return []
        preview, epoch = shown
        cached, *rest, lines = self._cache
        if cached is preview and rest == [epoch, width, height]:  # `is`: a Preview's == compares arrays
            return lines
        if not build:
            return None
        lines = strip_lines(preview, epoch, width, height - RESERVED_ROWS, self.mode)
        self._cache = (preview, epoch, width, height, lines)  # one assignment: another thread may read it
        return lines

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for line in self.lines(options.max_width, options.size.height):
            yield from line
            yield Segment.line()
