"""Grid mode's + and - (square grids from 2x2 to 12x12, digits shrunk as they need) and tab (one model alone)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import settle

from tui_ae.latent import grid_points
from tui_ae.tui.app import ExplorerApp
from tui_ae.tui.grid_screen import GridScreen
from tui_ae.tui.grid_view import GridView, grid_shape, mosaic, next_side

SIZE = (120, 40)


@pytest.fixture
def make_app(explorer_checkpoints):
    return lambda: ExplorerApp(*explorer_checkpoints, seed=0)


def views(app: ExplorerApp) -> dict[str, GridView]:
    return {kind: app.screen.query_one(f"#{kind}-grid", GridView) for kind in ("ae", "vae")}


def expected(app: ExplorerApp, kind: str, cols: int, rows: int, scale: int) -> np.ndarray:
    """The grid decoded apart from the app: the model's own decodings, tiled and shrunk."""
    slot = app.slots[kind]
    z = torch.from_numpy(grid_points(cols, rows, slot.bounds).astype(np.float32))
    with torch.inference_mode():
        images = slot.model.decode(z)[:, 0].numpy()
    return mosaic(images, cols, rows, scale)


def test_grid_shapes():
    assert grid_shape(58, 36) == (4, 5, 2)  # the default, as before: the largest that fits, halved
    assert grid_shape(150, 80) == (5, 5, 1)
    assert grid_shape(58, 36, 2) == (2, 2, 1) and grid_shape(58, 36, 4) == (4, 4, 2)
    assert grid_shape(58, 36, 8) == (8, 8, 4) and grid_shape(58, 36, 9) is None  # 63 columns of 7x7 digits
    assert grid_shape(84, 42, 12) == (12, 12, 4) and grid_shape(84, 41, 12) is None
    assert [next_side(4, 5, 1), next_side(4, 5, -1), next_side(6, 6, 1), next_side(2, 2, -1)] == [5, 4, 7, 2]
    assert next_side(12, 12, 1) == 12 and next_side(8, 5, -1) == 5 and next_side(20, 14, -1) == 12


def test_a_quartered_mosaic_of_an_odd_number_of_rows_gets_a_blank_row():
    images = np.random.default_rng(0).random((15, 28, 28))
    tiles = mosaic(images, 5, 3, 4)
    assert tiles.shape == (22, 35) and not tiles[-1].any()  # 3 x 7 pixel rows, and one to make them even
    np.testing.assert_allclose(tiles[:7, :7], images[0].reshape(7, 4, 7, 4).mean(axis=(1, 3)))


async def test_plus_and_minus_step_through_square_grids_shrinking_the_digits(make_app, monkeypatch):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("g")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, GridScreen)
        assert {str(v.border_subtitle) for v in views(app).values()} == {"4×5, shrunk to 14×14"}  # as before
        await pilot.press("plus")
        await settle(pilot)
        for kind, view in views(app).items():
            assert view.border_subtitle == "5×5, shrunk to 7×7"  # 5 digits of 14 columns do not fit 58
            np.testing.assert_allclose(view.image, expected(app, kind, 5, 5, 4), atol=1e-6)
        await pilot.press("minus")
        await settle(pilot)
        assert {str(v.border_subtitle) for v in views(app).values()} == {"4×4, shrunk to 14×14"}
        await pilot.press("minus", "minus", "minus")
        await settle(pilot)
        for kind, view in views(app).items():
            assert view.border_subtitle == "2×2"  # 2x2 digits fit whole
            np.testing.assert_allclose(view.image, expected(app, kind, 2, 2, 1), atol=1e-6)
        notes: list[str] = []
        monkeypatch.setattr(screen, "notify", lambda message, **kwargs: notes.append(message))
        await pilot.press(*["equals_sign"] * 12)  # + without shift
        await settle(pilot)
        assert {str(v.border_subtitle) for v in views(app).values()} == {"8×8, shrunk to 7×7"}  # the most that fit
        assert notes and notes[-1] == "9×9 does not fit here: 8×8 at most."


async def test_tab_shows_one_models_grid_full_screen_then_the_other_then_both(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("g")
        await settle(pilot)
        grids = views(app)
        both_width = grids["ae"].content_size.width
        await pilot.press("tab")
        await settle(pilot)
        assert grids["ae"].display and not grids["vae"].display
        assert grids["ae"].content_size.width > 2 * both_width - 4
        cols, rows, scale = grid_shape(*grids["ae"].content_size)
        assert grids["ae"].border_subtitle.startswith(f"{cols}×{rows}") and cols > 4
        np.testing.assert_allclose(grids["ae"].image, expected(app, "ae", cols, rows, scale), atol=1e-6)
        await pilot.press("plus")  # sizes apply to the grid shown
        await settle(pilot)
        side = next_side(cols, rows, 1)
        assert grids["ae"].border_subtitle.startswith(f"{side}×{side}")
        await pilot.press("tab")
        await settle(pilot)
        assert grids["vae"].display and not grids["ae"].display
        assert grids["vae"].border_subtitle.startswith(f"{side}×{side}")
        await pilot.press("tab")
        await settle(pilot)
        assert grids["ae"].display and grids["vae"].display
        assert grids["ae"].content_size.width == both_width


async def test_tab_keeps_both_when_one_model_is_missing(explorer_checkpoints):
    app = ExplorerApp(explorer_checkpoints[0], None, seed=0)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("g", "tab")
        await settle(pilot)
        assert all(view.display for view in views(app).values())
