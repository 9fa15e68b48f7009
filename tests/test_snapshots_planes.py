"""Pictures of the explorer on 8-D models (issue 18), from conftest's fixed 8-D maps and stub models: each map on
its plane with its axes named, the readout's third line, compare's σ along the plane's axes, the interpolation's
projected path and the grids by the cursor's rule. The 2-D pictures (test_snapshots*.py) do not change.

Regenerate with `pytest tests/test_snapshots_planes.py --snapshot-update`, and look at the SVGs first.
"""

from __future__ import annotations

import pytest
from conftest import SNAPSHOT_SIZE as SIZE
from conftest import sample_validation_images, settled_after, stub_model_8d

from tui_ae.tui.app import ExplorerApp


@pytest.fixture
def explorer_8d(fixed_checkpoints_8d, monkeypatch):
    monkeypatch.setenv("TUI_AE_DATA", "/nonexistent/tui-ae-data")  # compare mode's images: the embedded sample
    return ExplorerApp(
        *fixed_checkpoints_8d, seed=0, model_loader=stub_model_8d, images_loader=sample_validation_images
    )


def test_explore_8d(snap_compare, explorer_8d):
    keys = ("right", "right", "shift+up", "tab", "3")
    assert snap_compare(explorer_8d, terminal_size=SIZE, run_before=settled_after(*keys))


def test_explore_8d_at_120_columns(snap_compare, explorer_8d):
    assert snap_compare(explorer_8d, terminal_size=(120, 40), run_before=settled_after("left", "down"))


def test_compare_8d(snap_compare, explorer_8d):
    assert snap_compare(explorer_8d, terminal_size=SIZE, run_before=settled_after("c", "n", "n"))


def test_interpolation_8d(snap_compare, explorer_8d):
    keys = ("c", "a", *["n"] * 6, "b", "right", "right")
    assert snap_compare(explorer_8d, terminal_size=SIZE, run_before=settled_after(*keys))


def test_grid_8d(snap_compare, explorer_8d):
    assert snap_compare(explorer_8d, terminal_size=SIZE, run_before=settled_after("g"))
