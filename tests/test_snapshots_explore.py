"""Pictures of issue 11's views in explore and grid mode, from the fixed maps and stub model of conftest.py.

The validation images beside each digit are MNIST's first training images (conftest.sample_validation_images).
Regenerate with `pytest tests/test_snapshots_explore.py --snapshot-update`, and look at the SVGs first.
"""

from __future__ import annotations

from pathlib import Path

from conftest import SNAPSHOT_SIZE as SIZE
from conftest import sample_validation_images, settled_after, stub_model

from tui_ae.tui.app import ExplorerApp


def test_explore_medoids(snap_compare, explorer):
    assert snap_compare(explorer, terminal_size=SIZE, run_before=settled_after("3", "tab", "8"))


def test_explore_off_the_data(snap_compare, explorer):
    keys = ("shift+up",) * 4 + ("shift+left",) * 4
    assert snap_compare(explorer, terminal_size=SIZE, run_before=settled_after(*keys))


def test_explore_at_120_columns(snap_compare, explorer):
    assert snap_compare(explorer, terminal_size=(120, 40), run_before=settled_after("right", "up"))


def test_grid_more_digits(snap_compare, explorer):
    assert snap_compare(explorer, terminal_size=SIZE, run_before=settled_after("g", "plus", "plus"))


def test_grid_one_model_alone(snap_compare, explorer):
    assert snap_compare(explorer, terminal_size=SIZE, run_before=settled_after("g", "tab", "tab"))


def test_explore_watch_waiting_for_a_checkpoint(snap_compare, fixed_checkpoints, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a relative path: the picture names it the same on any machine
    monkeypatch.setenv("TUI_AE_DATA", "/nonexistent/tui-ae-data")
    app = ExplorerApp(
        fixed_checkpoints[0],
        Path("vae.safetensors"),
        seed=0,
        model_loader=stub_model,
        images_loader=sample_validation_images,
        watch=True,
    )
    assert snap_compare(app, terminal_size=SIZE, run_before=settled_after())
