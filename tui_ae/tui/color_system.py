"""--color as the colour system Textual writes to the terminal in, set through Textual's public setting.

Textual reads TEXTUAL_COLOR_SYSTEM (textual.constants.COLOR_SYSTEM; Rich's names) once,
when textual is first imported, and builds every app's console with it. So `explore`
sets it before it imports the app, and this module imports no textual. Rich's Console
has no public setter for its colour system, and Textual no other way to choose it.
"""

from __future__ import annotations

import os

from tui_ae.render import ColorMode

VARIABLE = "TEXTUAL_COLOR_SYSTEM"
SYSTEMS: dict[ColorMode, str] = {"truecolor": "truecolor", "256": "256", "16": "standard"}  # mono: a grey filter


def use_color_system(mode: ColorMode) -> None:
    """Make Textual write `mode`'s colours whatever it detects (ssh drops COLORTERM); call before importing textual."""
    if mode in SYSTEMS:
        os.environ[VARIABLE] = SYSTEMS[mode]
