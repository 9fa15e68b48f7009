"""The `?` screen: every key, by mode."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

KEYS: dict[str, list[tuple[str, str]]] = {
    "Explore": [
        ("← ↓ ↑ →  h j k l", "move the active cursor one cell"),
        ("shift + arrows, H J K L", "move it five cells"),
        ("tab", "switch the active model (AE / VAE)"),
        ("space", "link: both cursors move together, at the same place relative to their maps"),
        ("mouse click", "jump to a point of a map (and make it active)"),
        ("c", "compare mode"),
        ("g", "grid mode"),
    ],
    "Compare (a test image and its reconstructions)": [
        ("n / p", "next / previous test image"),
        ("r", "a random test image"),
        ("0 – 9", "a random test image of that digit"),
        ("c / escape", "back to exploring"),
    ],
    "Grid (decodings over a regular grid)": [
        ("b", "VAE grid over its latent bounds or over N(0,1)'s quantiles"),
        ("g / escape", "back to exploring"),
    ],
    "Anywhere": [("?", "this help"), ("q", "quit")],
}


def help_text() -> Group:
    """A heading and a two-column grid per mode, the key columns all one width."""
    key_width = max(len(key) for keys in KEYS.values() for key, _ in keys)
    parts: list[Text | Table] = []
    for section, keys in KEYS.items():
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", no_wrap=True, width=key_width)
        table.add_column()
        for key, what in keys:
            table.add_row(key, what)
        parts += [Text(section, style="underline"), table, Text("")]
    return Group(*parts[:-1])


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,question_mark", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box") as box:
            box.border_title = "Keys"
            box.border_subtitle = "escape closes"
            yield Static(help_text())
