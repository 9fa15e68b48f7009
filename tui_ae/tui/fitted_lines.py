"""A column of lines that, where it is too short for all of them, drops the most dispensable first.

Compare mode's side panel is one: on a small terminal its spacing and legends make way,
and the figures (which image, σ, A) and where the images came from stay whole, down to
the last line. Which lines fit is worked out again at each size, as the lines are drawn.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rich.console import Group, RenderableType
from textual.widget import Widget


@dataclass(frozen=True)
class Line:
    content: RenderableType  # a Text, or a renderable that wraps to several lines (a PathText)
    dispensable: int = 0  # 0: always shown; else dropped where the column is too short, the highest first


def kept(lines: Sequence[Line], heights: Sequence[int], room: int) -> list[Line]:
    """The lines shown in `room` rows: the most dispensable dropped (the lowest of equals first) until the rest fit."""
    shown = list(range(len(lines)))
    droppable = sorted((i for i in shown if lines[i].dispensable), key=lambda i: (-lines[i].dispensable, -i))
    for i in droppable:
        if sum(heights[j] for j in shown) <= room:
            break
        shown.remove(i)
    return [lines[i] for i in shown]


class FittedLines(Widget):
    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.lines: tuple[Line, ...] = ()

    def show(self, lines: Iterable[Line]) -> None:
        self.lines = tuple(lines)
        self.refresh()

    def render(self) -> Group:
        width, height = self.content_size
        console = self.app.console
        options = console.options.update_width(max(width, 1))
        heights = [len(console.render_lines(line.content, options, pad=False)) for line in self.lines]
        return Group(*(line.content for line in kept(self.lines, heights, height)))
