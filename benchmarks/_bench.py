"""What the explorer's benchmarks share: the frame hook, the settle loop, the figures they print.

Imported by the scripts beside it (Python puts a script's folder first on sys.path).
"""

from __future__ import annotations

import os
import sys
import time
from typing import NamedTuple


class Frame(NamedTuple):
    time: float  # time.perf_counter() once the frame was encoded
    cpu: float  # the main thread's CPU time then (time.thread_time())
    size: int  # bytes the real driver would write


def record_frames(app) -> list[Frame]:
    """Encode each frame the app shows as the real driver would; the list they are appended to, in order.

    Call before `app.run_test()` and after the colour system is chosen (the frames are encoded with it).
    """
    # Two private pieces of Textual, here only (the package uses none), because a headless app
    # never encodes its frames and no public hook is handed the frame: App._display is where
    # each frame passes, and CompositorUpdate is the type of a frame among what passes there.
    from textual._compositor import CompositorUpdate

    frames: list[Frame] = []
    display = app._display

    def encoding_display(screen, renderable) -> None:
        display(screen, renderable)
        if isinstance(renderable, CompositorUpdate):
            data = renderable.render_segments(app.console)  # what the real driver would write
            frames.append(Frame(time.perf_counter(), time.thread_time(), len(data.encode())))

    app._display = encoding_display
    return frames


async def settle(pilot) -> None:
    """Let the app's workers (loading, encoding, decoding) and the messages they post run out."""
    for _ in range(3):
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()


def percentiles(seconds: list[float], top: bool = True) -> str:
    """'p50 ... ms  p95 ... ms', and the max where top is set."""
    values = sorted(seconds)
    n = len(values)
    text = f"p50 {values[n // 2] * 1000:5.1f} ms  p95 {values[int(n * 0.95)] * 1000:5.1f} ms"
    return text + (f"  max {values[-1] * 1000:5.1f} ms" if top else "")


def machine_line(terminal: tuple[int, int] | None = None) -> str:
    """The line a benchmark's output starts with: CPUs, load, Python, and the terminal's size where there is one."""
    line = f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; python {sys.version.split()[0]}"
    return line + (f"; {terminal[0]}x{terminal[1]} terminal" if terminal else "")
