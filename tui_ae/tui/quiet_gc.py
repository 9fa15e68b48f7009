"""Python's full garbage collections kept out of key presses.

Torch's import leaves a great many long-lived objects; every full collection would walk
them all, a long pause on a key press (BENCHMARKS.md, "What the explorer's keys are
spared"). Freezing them moves them out of the collector's way. What
Textual's caches leave behind is then collected while no key is being pressed: left to
itself, the collector's full pass falls in the middle of a burst of moves every so often,
the slowest moves there were (BENCHMARKS.md, the explorer with issue 11's views: the worst
key before and after). So while frozen, the collector makes no full passes of its own (its
third threshold out of reach); the young generations it still collects as it goes, and the
full pass waits for a rest.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import time
from functools import cache

REST = 1.0  # seconds without input after which a burst is over
NO_FULL_PASS = 1_000_000  # gc's third threshold while frozen: collections of the middle generation between full ones


class QuietCollector:
    def __init__(self) -> None:
        self.frozen = False
        self.inputs = 0  # since the last collection
        self.last_input = 0.0
        self.thresholds: tuple[int, int, int] | None = None  # gc's before freeze()

    def freeze(self) -> bool:
        """Move everything alive now (torch, the models) out of the collector's sight; True the first time."""
        if self.frozen:
            return False
        gc.freeze()
        self.thresholds = gc.get_threshold()
        gc.set_threshold(self.thresholds[0], self.thresholds[1], NO_FULL_PASS)
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
            release_free_memory()

    def unfreeze(self) -> None:
        if self.frozen:
            gc.unfreeze()
            gc.set_threshold(*self.thresholds)
            self.frozen = False


@cache
def _malloc_trim():
    """glibc's malloc_trim, or None where the C library has none (macOS, musl)."""
    name = ctypes.util.find_library("c")
    library = ctypes.CDLL(name) if name else None
    return getattr(library, "malloc_trim", None)


def release_free_memory() -> None:
    """Give the C heap's free pages back to the system (glibc; elsewhere nothing).

    Work done in threads (reading images, indexing maps, loading models) frees what it
    allocated, but glibc keeps the freed pages in each thread's heap, where they still count
    in the process's resident memory: several MB after each. malloc_trim returns them.
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
