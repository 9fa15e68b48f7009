"""The strip above the live bar: what the terminal shows (conftest.Screen replays the bytes) and what it costs.

Rich's Live is driven here by hand (no refresh thread of its own), with a fake clock; each
refresh runs on a thread of its own, as Rich's refresh thread would run it.
"""

from __future__ import annotations

import io
import re
import threading

import numpy as np
import pytest
from conftest import Screen
from rich.console import Console
from rich.live import Live
from rich.text import Text

from tui_ae import preview as preview_module
from tui_ae import strip_above
from tui_ae.preview import PreviewStrip
from tui_ae.strip_above import MIN_SECONDS, STRIP_BYTES_PER_SECOND, StripAbove
from tui_ae.train import Preview

BAR = "the bar of epoch 3"
SLOW = 60.0  # an epoch longer than the pause after any strip here (random greys: up to ~90 KiB)


def make_preview(seed: int) -> Preview:
    rng = np.random.default_rng(seed)
    return Preview(tuple(range(10)), rng.random((10, 28, 28)), rng.random((10, 28, 28)))


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Display:
    """A console on a screen of width x height, the strip's hook on it, and a Live showing BAR."""

    def __init__(self, width: int = 120, height: int = 40) -> None:
        self.console = Console(
            file=io.StringIO(), width=width, height=height, force_terminal=True, color_system="truecolor"
        )
        self.screen = Screen(width, height)
        self.clock = Clock()
        self.above = StripAbove(self.console, PreviewStrip("truecolor"), self.clock)
        self.live = Live(Text(BAR), console=self.console, auto_refresh=False)
        self._read = 0

    def __enter__(self) -> Display:
        self._running = self.above.around(self.live)
        self._running.__enter__()
        return self

    def __exit__(self, *exc_info) -> None:
        self._running.__exit__(*exc_info)
        self.written()

    def refresh(self) -> str:
        """One refresh of Live, as its refresh thread makes it; what it wrote."""
        thread = threading.Thread(target=self.live.refresh)
        thread.start()
        thread.join()
        return self.written()

    def written(self) -> str:
        """What was written since the last call, replayed on the screen."""
        data = self.console.file.getvalue()[self._read :]
        self._read += len(data)
        self.screen.feed(data)
        return data

    def epoch(self, epoch: int, seconds: float) -> str:
        """An epoch ends: its line held, its preview shown; `seconds` later, a refresh."""
        self.above.hold(Text(f"Epoch {epoch} done"))
        self.above.strip.show(make_preview(epoch), epoch)
        self.clock.now += seconds
        return self.refresh()


def headers(lines: list[str]) -> list[str]:
    """The strip's first rows ("ep N  0 ... 1 ..."), wherever they are."""
    return [match[1] for line in lines if (match := re.match(r"(ep \d+) +0 ", line))]


@pytest.mark.parametrize(("width", "height", "rows"), [(120, 40, 30), (80, 24, 15)])
def test_lines_scroll_above_the_strip_and_the_strip_stays_right_above_the_bar(width, height, rows):
    with Display(width, height) as display:
        display.above.strip.show(make_preview(0), 0)
        display.refresh()
        assert display.screen.lines()[0].startswith("ep 0") and display.screen.lines()[-1] == BAR
        for epoch in range(1, 16):
            display.epoch(epoch, seconds=SLOW)  # each epoch's strip is written as it ends
            screen = display.screen.lines()
            assert screen[-1] == BAR and headers(screen) == [f"ep {epoch}"]
            assert screen[-rows - 2] == f"Epoch {epoch} done", "the epoch's line right above its strip"
            assert len(screen) == min(height, epoch + rows + 1)
    screen, history = display.screen.lines(), display.screen.history()
    assert screen[-1] == BAR and headers(screen) == ["ep 15"], "Live's end leaves the strip and the bar as they were"
    assert headers(history) == ["ep 15"], "no old strip left in the scrollback"
    assert [line for line in history if line.startswith("Epoch ")] == [f"Epoch {e} done" for e in range(1, 16)]


def test_between_its_writes_a_refresh_redraws_the_bar_alone_and_a_notice_goes_out_at_once():
    with Display() as display:
        display.above.strip.show(make_preview(0), 0)
        strip_bytes = len(display.refresh())
        assert strip_bytes > 20_000
        written = display.epoch(1, seconds=0.1)  # before the pause is over
        assert 0 < len(written) < 200 and BAR in written
        assert headers(display.screen.lines()) == ["ep 0"] and "Epoch 1 done" not in display.screen.lines()
        display.console.print("a notice", markup=False)
        display.written()
        screen = display.screen.lines()
        assert screen[:2] == ["Epoch 1 done", "a notice"], "the held line first, then the notice, at once"
        assert headers(screen) == ["ep 1"] and screen[-1] == BAR, "the strip the refresh built, under them"
        display.clock.now += SLOW
        assert "recon" not in display.refresh(), "that strip is drawn already"


def test_fast_epochs_write_the_strip_at_most_once_a_second_and_within_its_byte_budget():
    with Display() as display:
        display.above.strip.show(make_preview(0), 0)
        display.refresh()
        writes, total = [], 0
        for epoch in range(1, 301):  # 30 s of epochs of 0.1 s
            written = display.epoch(epoch, seconds=0.1)
            total += len(written.encode())
            if "recon" in written:  # the strip's band label: the strip was written
                writes.append(display.clock.now)
        display.above.finish()
    seconds = display.clock.now
    assert total / seconds <= STRIP_BYTES_PER_SECOND * 1.1  # a pause follows each write: the last one's is cut short
    gaps = np.diff(writes)
    assert gaps.min() >= MIN_SECONDS - 1e-9 and len(writes) >= seconds / (gaps.max() + 0.1) - 1
    history = display.screen.history()
    assert [line for line in history if line.startswith("Epoch ")] == [f"Epoch {e} done" for e in range(1, 301)]
    assert headers(history) == ["ep 300"], "finish() writes the last epoch's strip"


def test_the_pause_after_a_write_follows_the_strips_bytes(monkeypatch):
    monkeypatch.setattr(strip_above, "STRIP_BYTES_PER_SECOND", 1024)
    with Display(80, 24) as display:
        display.above.strip.show(make_preview(0), 0)
        size = len(display.refresh().encode())
        assert headers(display.screen.lines()) == ["ep 0"]
        for _ in range(int(size / 1024 / 0.1) - 2):  # epochs of 0.1 s until just before size / 1024 seconds
            assert "recon" not in display.epoch(1, seconds=0.1)
        display.clock.now += 0.3
        assert "recon" in display.refresh() and headers(display.screen.lines()) == ["ep 1"]


def test_after_a_change_of_width_the_old_strip_is_left_and_after_one_of_height_erased():
    with Display(120, 40) as display:
        display.above.strip.show(make_preview(0), 0)
        display.refresh()
        display.console.size = (110, 40)
        written = display.epoch(1, seconds=SLOW)
        assert "\x1b[1A" not in written, "no move up over the old strip: it may have been reflowed"
        assert headers(display.screen.history()) == ["ep 0", "ep 1"] and display.screen.lines()[-1] == BAR
        display.console.size = (110, 30)
        display.epoch(2, seconds=SLOW)
        assert headers(display.screen.history()) == ["ep 0", "ep 2"]
        assert display.screen.lines()[-1] == BAR


def test_the_loops_thread_never_builds_the_strip_until_finish(monkeypatch):
    builds = []
    real = preview_module.strip_lines
    monkeypatch.setattr(
        preview_module, "strip_lines", lambda *args: builds.append(threading.current_thread()) or real(*args)
    )
    with Display() as display:
        display.above.strip.show(make_preview(0), 0)
        display.clock.now += SLOW
        display.live.refresh()  # on this thread, as Progress.add_task refreshes
        display.console.print("a notice", markup=False)
        assert builds == [] and "recon" not in display.written()
        display.refresh()
        assert len(builds) == 1 and builds[0] is not threading.main_thread()
        display.above.hold(Text("Epoch 1 done"))
        display.above.strip.show(make_preview(1), 1)
        display.above.finish()  # before the pause is over, on this thread
        assert builds[-1] is threading.main_thread()
        display.written()
        assert display.screen.lines()[:2] == ["a notice", "Epoch 1 done"]
        assert headers(display.screen.lines()) == ["ep 1"]
