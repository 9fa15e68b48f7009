"""Every screen's footer: Textual's own, compact (a column less around each key) below the normal layout's
width, so that at 80 columns every key of every mode shows whole."""

from __future__ import annotations

from textual.widgets import Footer

from tui_ae.tui.sizes import NORMAL_SIZE


class KeysFooter(Footer):
    def on_resize(self) -> None:
        self.compact = self.size.width < NORMAL_SIZE[0]
