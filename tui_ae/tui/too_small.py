"""Shown instead of the layout while the terminal is smaller than it needs; popped on a resize back."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.geometry import Size
from textual.screen import Screen
from textual.widgets import Static


def too_small_message(need: tuple[int, int], now: Size) -> str:
    return f"Terminal too small: need at least {need[0]}x{need[1]} (now {now.width}x{now.height})"


class TooSmallScreen(Screen):
    def __init__(self, need: tuple[int, int], now: Size) -> None:
        super().__init__()
        self.need = need
        self._now = now

    def compose(self) -> ComposeResult:
        yield Static(too_small_message(self.need, self._now), id="too-small")

    def show_size(self, now: Size) -> None:
        if now == self._now:
            return
        self._now = now
        if self.is_mounted:
            self.query_one("#too-small", Static).update(too_small_message(self.need, now))
