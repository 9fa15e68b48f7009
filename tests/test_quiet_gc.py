"""The collector kept out of key presses: no full passes of its own while frozen, its thresholds given back after."""

from __future__ import annotations

import gc

from tui_ae.tui import quiet_gc
from tui_ae.tui.quiet_gc import QuietCollector, release_free_memory


def full_passes_while(allocate) -> int:
    """How many collections of the oldest generation (full passes) Python starts while allocate() runs."""
    passes = []

    def count(phase: str, info: dict) -> None:
        if phase == "start" and info["generation"] == 2:
            passes.append(info)

    gc.callbacks.append(count)
    try:
        allocate()
    finally:
        gc.callbacks.remove(count)
    return len(passes)


def survivors() -> list[list]:
    """Containers kept alive through many young collections: more than the oldest generation holds, so a full pass
    comes due (Python's rule: its threshold of middle collections, and a quarter more objects than it holds)."""
    return [[] for _ in range(2 * len(gc.get_objects()) + 100_000)]


def test_frozen_the_collector_makes_no_full_pass_of_its_own_and_unfrozen_it_is_as_it_was():
    before = gc.get_threshold()
    assert full_passes_while(survivors) > 0  # left to itself, the collector makes full passes as objects pile up
    collector = QuietCollector()
    try:
        assert collector.freeze()
        assert gc.get_freeze_count() > 0  # this process's objects out of its sight
        assert full_passes_while(survivors) == 0
        assert not collector.freeze()  # once
    finally:
        collector.unfreeze()
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
    assert full_passes_while(survivors) > 0


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
