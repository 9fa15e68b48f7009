"""The preview strip kept just above `tui-ae train`'s live bar, and written only when it changes.

Rich's Live rewrites its whole region at each refresh: with the strip in it, tens of KiB
of escape codes several times a second (BENCHMARKS.md). So the strip stays out of the
region, which holds the bar alone, and this render hook, which sees all that is printed
while Live runs, writes the strip between what is printed and the bar:

    Epoch 2/10  train loss ...        printed lines scroll up, as without the strip
    ep 2  0              1     ...    the strip
    val   ▀▀▀▀▀▀▀▀▀▀▀▀▀▀ ▀▀▀▀▀ ...
    recon ▀▀▀▀▀▀▀▀▀▀▀▀▀▀ ▀▀▀▀▀ ...
    Epoch 3/10 ━━━━━━━━━━━━━ ...      Live's region, refreshed 10 times a second

A line printed above the strip moves it down, so the strip is erased (the cursor moved up
over it, as Live erases its own region) and written again under the line. To keep that
within a budget, the epoch lines are held and go out with the strip that shows their epoch,
at most once a second, and no more often than the strip's bytes allow within
STRIP_BYTES_PER_SECOND: on a GPU, where an epoch can take 0.1 s, several epochs' lines come
together. Whatever else is printed (a notice, a warning) goes out at once, the strip under it.

After a change of width the old strip is left where it is, and a new one drawn under it: the
terminal may have reflowed the old lines, so moving up over them could land anywhere.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator

from rich.console import COLOR_SYSTEMS, Console, RenderableType
from rich.control import Control
from rich.live import Live
from rich.progress import Progress
from rich.segment import ControlType, SegmentLines

from tui_ae.preview import Line, PreviewStrip

MIN_SECONDS = 1.0  # between two writes of the strip, however fast the epochs
STRIP_BYTES_PER_SECOND = 8 * 1024  # on average; the bar's refreshes and the epoch lines come on top (BENCHMARKS.md)


def encoded_size(lines: list[Line], color_system: str | None) -> int:
    """The bytes that Rich writes for the lines on a terminal of that colour system, escape codes included."""
    system = COLOR_SYSTEMS.get(color_system) if color_system else None
    text = "".join(s.style.render(s.text, color_system=system) if s.style else s.text for line in lines for s in line)
    return len(text.encode()) + len(lines)  # a newline after each


class StripAbove:
    """A Rich render hook that writes the strip between what is printed and Live's region; run Live in around().

    Thread-safe: Live's refresh thread and the training loop's thread both print. The
    strip's lines are built on the refresh thread, so the loop never waits for them.
    """

    def __init__(self, console: Console, strip: PreviewStrip, clock: Callable[[], float] = time.monotonic) -> None:
        self.console = console
        self.strip = strip
        self.clock = clock
        self._lock = threading.Lock()
        self._held: list[RenderableType] = []  # epoch lines waiting for their strip
        self._drawn: list[Line] = []  # the strip on the screen, right above Live's region
        self._drawn_width = 0  # the console's width when it was drawn
        self._next = 0.0  # the clock's time from which the strip may be written again
        self._finishing = False  # from finish() on, everything goes out at once
        self._stopped = False  # from then on, what is printed goes under the bar, as without a strip

    @contextlib.contextmanager
    def around(self, live: Live | Progress) -> Iterator[None]:
        """Run Live (or a Progress) with the strip above it; at the end, what is held and the last strip go out."""
        self.console.push_render_hook(self)  # before Live pushes its own, so this hook sees each print first
        try:
            with live:
                try:
                    yield
                finally:  # also on Ctrl-C: the epochs that finished are said
                    self.finish()
                    self._stopped = True  # Live ends the bar's line with a newline once its own hook is gone
        finally:
            self.console.pop_render_hook()  # the last one pushed: Live has popped its own

    def hold(self, line: RenderableType) -> None:
        """Print this line above the strip when the strip is next written."""
        with self._lock:
            self._held.append(line)

    def finish(self) -> None:
        """Write what is held, and the latest strip, now (training is over, or interrupted)."""
        with self._lock:
            self._finishing = True
        self.console.print(Control())  # what Live prints to refresh: through the hooks, with no line of its own

    def process_renderables(self, renderables: list) -> list:
        if self._stopped:
            return renderables
        printed = any(not isinstance(r, Control) for r in renderables)  # Live's refresh prints an empty Control
        width, height = self.console.size
        with self._lock:
            may_build = self._finishing or threading.current_thread() is not threading.main_thread()
            latest = self.strip.lines(width, height, build=may_build)  # None: not built yet
            if printed or self._due(latest):
                return self._written(renderables, latest, width)
            return renderables  # Live redraws its region alone

    def _due(self, latest: list[Line] | None) -> bool:
        """Whether a refresh writes the strip: it changed (or lines wait for it), it is built, and the pause is over."""
        changed = latest is not self._drawn and bool(latest or self._drawn)
        waiting = changed or bool(self._held)
        return latest is not None and waiting and (self._finishing or self.clock() >= self._next)

    def _written(self, renderables: list, latest: list[Line] | None, width: int) -> list:
        """The old strip erased, the lines held, what is printed, the latest strip; Live adds its region after."""
        in_place = width == self._drawn_width  # else the old strip is left: the terminal may have reflowed it
        if latest is None:  # a print on the loop's thread, the new strip not built: the one drawn, if it can be
            latest = self._drawn if in_place else []
        erase = Control(*((ControlType.CURSOR_UP, 1), (ControlType.ERASE_IN_LINE, 2)) * len(self._drawn))
        written = [erase if in_place else Control(), *self._held, *renderables, SegmentLines(latest, new_lines=True)]
        size = encoded_size(latest, self.console.color_system)
        self._held, self._drawn, self._drawn_width = [], latest, width
        self._next = self.clock() + (max(MIN_SECONDS, size / STRIP_BYTES_PER_SECOND) if latest else 0.0)
        return written
