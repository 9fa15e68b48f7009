"""How soon a frame follows a key: Textual's frame rate, set through its public setting before it is imported.

Textual draws a changed screen on a timer, at most MAX_FPS times a second (TEXTUAL_FPS, read
once when textual is first imported; 60 by default), so a key's frame waits for the timer's
next tick: 8 ms on average and up to 16.7 ms, more than the work of the frame itself. The
explorer draws only when something changed, a frame per key, and nothing while idle; a faster
tick sends each frame sooner and costs nothing between keys. A TEXTUAL_FPS the user set wins.
"""

from __future__ import annotations

import os

VARIABLE = "TEXTUAL_FPS"
FPS = 240  # ticks 4 ms apart


def use_frame_rate(fps: int = FPS) -> None:
    """Let Textual draw up to `fps` frames a second, unless the environment says otherwise; call before importing it."""
    os.environ.setdefault(VARIABLE, str(fps))
