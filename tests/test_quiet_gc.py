"""The collector kept out of key presses: no full passes of its own while frozen, its thresholds given back after."""

from __future__ import annotations

import gc

from tui_ae.tui import quiet_gc
from tui_ae.tui.quiet_gc import NO_FULL_PASS, QuietCollector, release_free_memory


def test_frozen_the_collector_makes_no_full_pass_of_its_own_and_unfrozen_it_is_as_it_was(monkeypatch):
    before = gc.get_threshold()
    monkeypatch.setattr(quiet_gc.gc, "freeze", lambda: None)  # the test process's objects stay where they are
    monkeypatch.setattr(quiet_gc.gc, "unfreeze", lambda: None)
    collector = QuietCollector()
    try:
        assert collector.freeze()
        assert gc.get_threshold() == (before[0], before[1], NO_FULL_PASS)
        assert not collector.freeze()  # once
    finally:
        collector.unfreeze()
    assert gc.get_threshold() == before


def test_releasing_free_memory_calls_malloc_trim_where_there_is_one_and_nothing_elsewhere(monkeypatch):
    calls = []
    monkeypatch.setattr(quiet_gc, "_malloc_trim", lambda: calls.append)
    release_free_memory()
    assert calls == [0]  # malloc_trim(0): every heap, down to nothing kept
    monkeypatch.undo()
    quiet_gc._malloc_trim.cache_clear()
    monkeypatch.setattr(quiet_gc.ctypes.util, "find_library", lambda name: None)  # a C library without it
    try:
        assert quiet_gc._malloc_trim() is None
        release_free_memory()
    finally:
        quiet_gc._malloc_trim.cache_clear()
