"""Pictures of the explorer's screens, drawn from fixed maps and a stub model (conftest), so that they depend
on the renderer and the layout alone, not on the CPU or the torch version.

Regenerate after an intended change with `pytest tests/test_snapshots.py --snapshot-update`,
and look at the SVGs before committing them. Textual's screenshots are always
truecolor: the other colour modes are covered by test_render.py and test_app.py.
"""

from __future__ import annotations

from conftest import SNAPSHOT_SIZE, settled_after

from tui_ae.tui.app import ExplorerApp

SIZE = SNAPSHOT_SIZE
SMALL = (80, 24)  # a fresh terminal's size, and a default SSH client's


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
    assert snap_compare(explorer, terminal_size=SMALL, run_before=settled_after(*keys))


def test_grid(snap_compare, explorer):
    assert snap_compare(explorer, terminal_size=SIZE, run_before=settled_after("g"))


def test_help(snap_compare, explorer):
    assert snap_compare(explorer, terminal_size=SIZE, run_before=settled_after("question_mark"))


def test_small_terminal(snap_compare, explorer):
    """80x24: the cursors' coordinates with a decimal, the readouts and every key whole."""
    assert snap_compare(explorer, terminal_size=SMALL, run_before=settled_after("right", "up", "tab", "left"))


def test_compare_small_terminal(snap_compare, explorer):
    """80x24: the MSEs with four decimals, where each code is, and the side panel down to its last line."""
    assert snap_compare(explorer, terminal_size=SMALL, run_before=settled_after("c", "a", "n", "n"))


def test_grid_small_terminal(snap_compare, explorer):
    assert snap_compare(explorer, terminal_size=SMALL, run_before=settled_after("g"))


def test_help_small_terminal(snap_compare, explorer):
    """80x24: the keys that work anywhere first, and the border saying that the box scrolls."""
    assert snap_compare(explorer, terminal_size=SMALL, run_before=settled_after("question_mark"))


def test_too_small(snap_compare, explorer):
    assert snap_compare(explorer, terminal_size=(40, 12), run_before=settled_after())
