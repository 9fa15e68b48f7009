"""Compare mode's row (the homework's Figure 3): a test image and its AE and VAE reconstructions."""

from __future__ import annotations

import numpy as np
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

from tui_ae.render import ColorMode, Glyph
from tui_ae.tui.digit_view import DigitView

PANELS = ("original", "ae", "vae")


class CompareView(Horizontal):
    DEFAULT_CSS = """
    CompareView { height: 16; }
    """

    def __init__(self, *, mode: ColorMode, glyph: Glyph, id: str | None = None) -> None:
        super().__init__(id=id)
        self.mode, self.glyph = mode, glyph

    def compose(self) -> ComposeResult:
        for name in PANELS:
            yield DigitView(mode=self.mode, glyph=self.glyph, id=f"compare-{name}")
        yield Static(id="compare-info", classes="info")

    def panel(self, name: str) -> DigitView:
        return self.query_one(f"#compare-{name}", DigitView)

    def show(
        self, name: str, title: str, image: np.ndarray | None = None, message: str = "", subtitle: str = ""
    ) -> None:
        """One panel: an image, or a message where there is none."""
        view = self.panel(name)
        view.border_title, view.border_subtitle = title, subtitle
        if image is not None:
            view.show_image(image)
        else:
            view.show_message(message)

    def show_info(self, text: str) -> None:
        self.query_one("#compare-info", Static).update(text)
