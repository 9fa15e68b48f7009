"""Python's full garbage collections kept out of key presses.

Torch's import leaves a few million long-lived objects; every full collection would
walk them all (a 200 ms pause on a key press). Freezing them moves them out of the
collector's way. What Textual's caches leave behind is then collected while no key is
being pressed: left to itself, the collector's full pass falls in the middle of a burst
every fifty moves or so, and costs that move 20-50 ms.
"""

from __future__ import annotations

import gc
import time

REST = 1.0  # seconds without input after which a burst is over


class QuietCollector:
    def __init__(self) -> None:
        self.frozen = False
        self.inputs = 0  # since the last collection
        self.last_input = 0.0

    def freeze(self) -> bool:
        """Move everything alive now (torch, the models) out of the collector's sight; True the first time."""
        if self.frozen:
            return False
        gc.freeze()
        self.frozen = True
        return True

    def note_input(self) -> None:
        self.inputs += 1
        self.last_input = time.monotonic()

    def collect_if_rested(self) -> None:
        """A full collection after a burst of input, once input has rested; meant to run every REST seconds."""
        if self.inputs and time.monotonic() - self.last_input > REST:
            self.inputs = 0
            gc.collect()

    def unfreeze(self) -> None:
        if self.frozen:
            gc.unfreeze()
            self.frozen = False
