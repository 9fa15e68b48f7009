"""Pictures of the explorer's screens, drawn from fixed maps and a stub model (conftest), so that they depend
on the renderer and the layout alone, not on the CPU or the torch version.

Regenerate after an intended change with `pytest tests/test_snapshots.py --snapshot-update`,
and look at the SVGs before committing them. Textual's screenshots are always
truecolor: the other colour modes are covered by test_render.py and test_app.py.
"""

from __future__ import annotations

import pytest
from conftest import sample_validation_images, stub_model

from tui_ae.tui import explore_view
from tui_ae.tui.app import ExplorerApp

SIZE = (100, 32)


@pytest.fixture
def explorer(fixed_checkpoints, monkeypatch):
    # Compare mode reads the embedded sample, and names the data folder in its info column: a fixed one.
    monkeypatch.setenv("TUI_AE_DATA", "/nonexistent/tui-ae-data")
    return ExplorerApp(*fixed_checkpoints, seed=0, model_loader=stub_model, images_loader=sample_validation_images)


def settled_after(*keys: str):
    """A run_before that lets the models load, presses keys, and lets their workers finish and the keys rest too."""

    async def run_before(pilot) -> None:
        for group in ((), keys):
            await pilot.press(*group)
            for _ in range(3):
                await pilot.pause()
                await pilot.app.workers.wait_for_complete()
            await pilot.pause(2 * explore_view.REST)  # the thumbnails follow the cursor once the keys rest
            await pilot.pause()

    return run_before


def test_first_frame_while_the_models_load(snap_compare, fixed_checkpoints):
    app = ExplorerApp(*fixed_checkpoints, seed=0, model_loader=None, images_loader=None)
    assert snap_compare(app, terminal_size=SIZE)


def test_explore(snap_compare, explorer):
    assert snap_compare(explorer, terminal_size=SIZE, run_before=settled_after())


def test_explore_after_moves(snap_compare, explorer):
    keys = ("right", "right", "shift+up", "tab", "left", "down", "down")
    assert snap_compare(explorer, terminal_size=SIZE, run_before=settled_after(*keys))


def test_explore_linked(snap_compare, explorer):
    keys = ("shift+right", "space", "shift+down")
    assert snap_compare(explorer, terminal_size=SIZE, run_before=settled_after(*keys))


def test_compare(snap_compare, explorer):
    assert snap_compare(explorer, terminal_size=SIZE, run_before=settled_after("c", "n", "n"))


def test_interpolation(snap_compare, explorer):
    keys = ("c", "a", *["n"] * 6, "b", "right", "right")  # test images 1 (a 7) and 7 (a 4): far apart
    assert snap_compare(explorer, terminal_size=SIZE, run_before=settled_after(*keys))


def test_interpolation_small_terminal(snap_compare, explorer):
    keys = ("c", "a", *["n"] * 6, "b", "right")
    assert snap_compare(explorer, terminal_size=(80, 24), run_before=settled_after(*keys))


def test_grid(snap_compare, explorer):
    assert snap_compare(explorer, terminal_size=SIZE, run_before=settled_after("g"))


def test_help(snap_compare, explorer):
    assert snap_compare(explorer, terminal_size=SIZE, run_before=settled_after("question_mark"))


def test_small_terminal(snap_compare, explorer):
    assert snap_compare(explorer, terminal_size=(80, 24), run_before=settled_after())


def test_too_small(snap_compare, explorer):
    assert snap_compare(explorer, terminal_size=(40, 12), run_before=settled_after())
