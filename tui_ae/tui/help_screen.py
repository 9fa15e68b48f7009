"""The `?` screen: every key, by mode, from the one key table (keys.py).

The keys that work anywhere (quit, this help, save) come first, where they show without
scrolling; where the rest do not fit, the border says that the box scrolls.
"""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from tui_ae.tui.keys import KEYS, TITLES, bindings

FIRST = "anywhere"  # the modes in the key table's order, this one first


def help_text() -> Group:
    """A heading and a two-column grid per mode, the key columns all one width."""
    gap = 2
    key_width = max(len(row.keys) for rows in KEYS.values() for row in rows) + gap
    parts: list[Text | Table] = []
    for mode in sorted(KEYS, key=lambda mode: mode != FIRST):  # stable: the others keep their order
        # The gap inside the key column, not as padding: Rich 14.2 adds padding to a column's
        # width and Rich 15 counts it in, so only unpadded columns lay out the same in both.
        table = Table.grid()
        table.add_column(style="bold", no_wrap=True, width=key_width)
        table.add_column()
        for row in KEYS[mode]:
            table.add_row(row.keys, row.does)
        parts += [Text(TITLES[mode], style="underline"), table, Text("")]
    return Group(*parts[:-1])


class HelpScreen(ModalScreen[None]):
    BINDINGS = bindings("help")

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box") as box:
            box.border_title = "Keys"
            box.border_subtitle = self.closes
            yield Static(help_text())

    @property
    def closes(self) -> str:
        return f"{KEYS['help'][0].keys} closes"

    def on_resize(self) -> None:
        self.call_after_refresh(self._say_if_it_scrolls)

    def _say_if_it_scrolls(self) -> None:
        """The box's subtitle: how to close it, and where it holds more than it shows, how to scroll it."""
        box = self.query_one("#help-box", VerticalScroll)
        box.border_subtitle = f"↑↓ scroll · {self.closes}" if box.max_scroll_y else self.closes
