"""Grid mode's sizes (square grids, digits as large as fit), + and - (from 2x2 to 12x12) and tab (one model alone)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import settle

from tui_ae.latent import grid_points
from tui_ae.render import resample
from tui_ae.tui.app import ExplorerApp
from tui_ae.tui.grid_screen import GridScreen
from tui_ae.tui.grid_view import GridView, grid_shape, mosaic, next_side

SIZE = (120, 40)


@pytest.fixture
def make_app(explorer_checkpoints):
    return lambda: ExplorerApp(*explorer_checkpoints, seed=0)


def views(app: ExplorerApp) -> dict[str, GridView]:
    return {kind: app.screen.query_one(f"#{kind}-grid", GridView) for kind in ("ae", "vae")}


def expected(app: ExplorerApp, kind: str, cols: int, rows: int, pixels: int) -> np.ndarray:
    """The grid decoded apart from the app: the model's own decodings, tiled and resampled."""
    slot = app.slots[kind]
    z = torch.from_numpy(grid_points(cols, rows, slot.bounds).astype(np.float32))
    with torch.inference_mode():
        images = slot.model.decode(z)[:, 0].numpy()
    return mosaic(images, cols, rows, pixels)


def test_grid_shapes():
    # By default the square grid with the most digits that fit at 12x12 pixels or more, up to 12x12:
    assert grid_shape(58, 36) == (4, 4, 14)  # 58 // 4 = 14 columns a digit; 5 would be 11
    assert grid_shape(118, 37) == (6, 6, 12)  # 120x40 full-screen: 74 pixel rows // 6 = 12
    assert grid_shape(38, 21) == (3, 3, 12)  # 80x24: 38 // 3 = 12 columns a digit
    assert grid_shape(48, 28) == (4, 4, 12) and grid_shape(28, 16) == (2, 2, 14)
    # A side asked for: its digits as large as fit, from 5x5 pixels to 28x28, then doubled.
    assert grid_shape(118, 37, 6) == (6, 6, 12)  # 118 // 6 = 19 columns, 74 // 6 = 12 pixel rows
    assert grid_shape(58, 36, 2) == (2, 2, 28) and grid_shape(198, 62, 2) == (2, 2, 56)
    assert grid_shape(58, 36, 11) == (11, 11, 5) and grid_shape(58, 36, 12) is None  # 12 digits of 5 need 60
    assert [next_side(4, 1), next_side(4, -1), next_side(2, -1), next_side(12, 1)] == [5, 3, 2, 12]


def test_a_mosaic_tiles_the_resampled_digits_row_by_row():
    images = np.random.default_rng(0).random((6, 28, 28))
    tiles = mosaic(images, 3, 2, 12)
    assert tiles.shape == (24, 36)
    for i, image in enumerate(images):  # row i // 3, column i % 3
        row, col = divmod(i, 3)
        np.testing.assert_array_equal(tiles[row * 12 : (row + 1) * 12, col * 12 : (col + 1) * 12], resample(image, 12))


def test_a_mosaic_of_an_odd_number_of_pixel_rows_gets_a_blank_row():
    images = np.random.default_rng(0).random((15, 28, 28))
    tiles = mosaic(images, 5, 3, 7)
    assert tiles.shape == (22, 35) and not tiles[-1].any()  # 3 x 7 pixel rows, and one to make them even
    np.testing.assert_allclose(tiles[:7, :7], images[0].reshape(7, 4, 7, 4).mean(axis=(1, 3)))


async def test_plus_and_minus_step_through_square_grids_with_digits_as_large_as_fit(make_app, monkeypatch):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("g")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, GridScreen)
        assert {view.content_size.width for view in views(app).values()} == {58}
        assert {str(v.border_subtitle) for v in views(app).values()} == {"4×4, shrunk to 14×14"}  # square
        await pilot.press("plus")
        await settle(pilot)
        for kind, view in views(app).items():
            assert view.border_subtitle == "5×5, shrunk to 11×11"  # 58 // 5 columns a digit
            np.testing.assert_allclose(view.image, expected(app, kind, 5, 5, 11), atol=1e-6)
        await pilot.press("minus")
        await settle(pilot)
        assert {str(v.border_subtitle) for v in views(app).values()} == {"4×4, shrunk to 14×14"}
        await pilot.press("minus", "minus", "minus")
        await settle(pilot)
        for kind, view in views(app).items():
            assert view.border_subtitle == "2×2"  # 2x2 digits fit whole
            np.testing.assert_allclose(view.image, expected(app, kind, 2, 2, 28), atol=1e-6)
        notes: list[str] = []
        monkeypatch.setattr(screen, "notify", lambda message, **kwargs: notes.append(message))
        await pilot.press(*["equals_sign"] * 12)  # + without shift
        await settle(pilot)
        assert {str(v.border_subtitle) for v in views(app).values()} == {"11×11, shrunk to 5×5"}  # the most that fit
        assert notes and notes[-1] == "12×12 does not fit here: 11×11 at most."


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
        assert grids["ae"].content_size == (118, 37)
        assert grids["ae"].border_subtitle == "6×6, shrunk to 12×12" and grids["ae"].image.shape == (72, 72)
        np.testing.assert_allclose(grids["ae"].image, expected(app, "ae", 6, 6, 12), atol=1e-6)
        await pilot.press("plus")  # sizes apply to the grid shown: 7x7 fill its height at 10x10 pixels
        await settle(pilot)
        side = 7
        assert grids["ae"].border_subtitle == "7×7, shrunk to 10×10" and grids["ae"].image.shape == (70, 70)
        np.testing.assert_allclose(grids["ae"].image, expected(app, "ae", 7, 7, 10), atol=1e-6)
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
