"""Text that names a folder, for a narrow column: wrapped at spaces, and inside a path after a `/`.

Rich folds a word wider than the column wherever the column ends (`…/MN` `IST/raw`);
a path reads better broken after one of its slashes, and a name is cut only where it
alone is wider than the column.
"""

from __future__ import annotations

import re
from pathlib import Path

from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.style import Style
from rich.text import Text

PIECES = re.compile(r"[^/]*/|[^/]+")  # "a/b/c" -> "a/", "b/", "c"


def home_relative(folder: str) -> str:
    """A folder under the home folder as ~/..., shorter in a narrow column; any other as it is."""
    home = str(Path.home())
    if home != "/" and (folder == home or folder.startswith(home + "/")):
        return "~" + folder[len(home) :]
    return folder


def wrap_path(text: str, width: int) -> list[str]:
    """The text's lines at most `width` long: words whole where they fit a line, a path broken after a '/'."""
    width = max(width, 1)
    lines: list[str] = []
    line = ""

    def add(piece: str, glue: str) -> None:
        nonlocal line
        if line and len(line) + len(glue) + len(piece) <= width:
            line += glue + piece
            return
        if line:
            lines.append(line)
        while len(piece) > width:  # a name wider than the column: cut, as nothing else fits
            lines.append(piece[:width])
            piece = piece[width:]
        line = piece

    for word in text.split():
        if len(word) <= width:
            add(word, " ")
            continue
        for i, piece in enumerate(PIECES.findall(word)):
            add(piece, " " if i == 0 else "")
    if line:
        lines.append(line)
    return lines


class PathText:
    """A Rich renderable of wrap_path's lines, at whatever width the widget gives it."""

    def __init__(self, text: str, style: str | Style = "") -> None:
        self.text, self.style = text, style

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for line in wrap_path(self.text, options.max_width):
            yield Text(line, self.style, no_wrap=True, end="\n")

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        longest = max((len(piece) for piece in PIECES.findall(self.text.replace(" ", "/"))), default=1)
        return Measurement(min(longest, options.max_width), min(len(self.text), options.max_width))
