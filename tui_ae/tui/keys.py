"""The explorer's keys, in one table: it makes each mode's bindings, the help screen and README's key table.

Each mode's owner takes its bindings from here (`BINDINGS = bindings("compare")`), and
Textual routes a key to the owner that has the focus: the explore view while exploring,
the compare view while comparing, the interpolation view while it is open, the grid and
help screens while they are shown. So a
key can mean one thing in one mode and another in the next, and no mode checks another's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from textual.binding import Binding

Mode = Literal["explore", "compare", "interpolation", "grid", "anywhere", "help"]
BIG_STEP = 5  # cells moved by shift + arrow


@dataclass(frozen=True)
class Keys:
    """A row of the table: keys as people read them, what they do, and the bindings they make (none for the mouse)."""

    keys: str
    does: str
    bindings: tuple[Binding, ...] = ()


def _moves(step: int) -> tuple[Binding, ...]:
    """The four directions, as arrows and vi keys; by one cell, or by BIG_STEP with shift (H J K L)."""
    directions = (("left", "h", -1, 0), ("down", "j", 0, 1), ("up", "k", 0, -1), ("right", "l", 1, 0))
    if step == 1:
        return tuple(
            Binding(f"{arrow},{letter}", f"move({dx},{dy})", "Move", show=arrow == "left", key_display="←↓↑→")
            for arrow, letter, dx, dy in directions
        )
    return tuple(
        Binding(f"shift+{arrow},{letter.upper()}", f"move({dx * step},{dy * step})", show=False)
        for arrow, letter, dx, dy in directions
    )


def _digits(description: str) -> tuple[Binding, ...]:
    return tuple(Binding(str(d), f"digit({d})", description, show=d == 0, key_display="0-9") for d in range(10))


TITLES: dict[Mode, str] = {
    "explore": "Explore",
    "compare": "Compare (a test image and its reconstructions)",
    "interpolation": "Interpolation (from test image A to B, on both models)",
    "grid": "Grid (decodings over a regular grid)",
    "anywhere": "Anywhere",
    "help": "This help",
}

KEYS: dict[Mode, tuple[Keys, ...]] = {
    "explore": (
        Keys("← ↓ ↑ → or h j k l", "move the active cursor one cell", _moves(1)),
        Keys("shift + arrows, H J K L", f"move it {BIG_STEP} cells", _moves(BIG_STEP)),
        Keys("tab", "switch the active model (AE / VAE)", (Binding("tab", "switch", "Model"),)),
        Keys(
            "space",
            "link: both cursors move together, at the same place relative to their maps",
            (Binding("space", "link", "Link"),),
        ),
        Keys("mouse click", "jump to a point of a map (and make it active)"),
        Keys(
            "0 – 9",
            "jump to the medoid of that digit's codes (both cursors, when linked, each in its own map)",
            _digits("Medoid"),
        ),
        Keys(
            "c",
            "compare mode (the homework's Figure 3): a test image, its AE and VAE reconstructions "
            "with their MSE, its encodings marked ◆ on the maps",
            (Binding("c", "app.compare", "Compare"),),
        ),
        Keys(
            "g",
            "grid mode (the homework's Figure 4): decodings over a grid of each latent space",
            (Binding("g", "app.grid", "Grid"),),
        ),
    ),
    "compare": (
        Keys(
            "n / p",
            "next / previous test image",
            (Binding("n", "next_image(1)", "Next"), Binding("p", "next_image(-1)", "Prev")),
        ),
        Keys("r", "a random test image", (Binding("r", "random_image", "Random"),)),
        Keys("0 – 9", "a random test image of that digit", _digits("Digit")),
        Keys("a", "mark the test image shown as A", (Binding("a", "mark_a", "Mark A"),)),
        Keys(
            "b",
            "mark the one shown now as B, and interpolate: the path from A to B on each map, the decodings along it",
            (Binding("b", "mark_b", "Mark B"),),
        ),
        Keys(
            "c / escape",
            "back to exploring",
            (Binding("escape", "app.compare", "Back"), Binding("c", "app.compare", show=False)),
        ),
    ),
    "interpolation": (
        Keys(
            "← → or h l",
            "move the marker along the path; its decodings are shown large beside the maps",
            (
                Binding("left,h", "step(-1)", "Marker", key_display="←→"),
                Binding("right,l", "step(1)", "Marker", show=False),
            ),
        ),
        Keys("escape", "back to comparing", (Binding("escape", "app.end_interpolation", "Back"),)),
    ),
    "grid": (
        Keys(
            "b",
            "the VAE's grid over its latent bounds or over N(0,1)'s quantiles",
            (Binding("b", "toggle_space", "VAE bounds/N(0,1)"),),
        ),
        Keys(
            "+ / -",
            "more or fewer digits: square grids from 2×2 to 12×12, each digit as large as fits",
            (Binding("plus,equals_sign", "resize(1)", "More"), Binding("minus", "resize(-1)", "Fewer")),
        ),
        Keys("tab", "one model's grid full-screen, then the other's, then both", (Binding("tab", "alone", "One"),)),
        Keys("g / escape", "back to exploring", (Binding("escape,g", "app.pop_screen", "Back"),)),
    ),
    "anywhere": (
        Keys(
            "ctrl+s",
            "save the screen as an SVG file in the current folder",
            (Binding("ctrl+s", "save_svg", "Save SVG", show=False),),
        ),
        Keys("?", "this help", (Binding("question_mark", "help", "Help"),)),
        Keys("q", "quit", (Binding("q", "quit", "Quit"),)),
    ),
    "help": (Keys("escape / ?", "close this help", (Binding("escape,question_mark", "dismiss", "Close"),)),),
}


def bindings(mode: Mode) -> list[Binding]:
    """The Textual bindings of one mode, for its owner's BINDINGS."""
    return [binding for row in KEYS[mode] for binding in row.bindings]


def markdown_table() -> list[str]:
    """README's key table, line by line: a row per row of KEYS (README.md holds exactly these; a test checks)."""

    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    rows = [f"| {mode} | {cell(row.keys)} | {cell(row.does)} |" for mode, rows in KEYS.items() for row in rows]
    return ["| mode | key | what it does |", "| --- | --- | --- |", *rows]
