"""The explorer through Textual's Pilot, over two small models trained in conftest, and its CLI entry."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from textual.geometry import Region
from typer.testing import CliRunner

from tui_ae.cli import app as cli_app
from tui_ae.render import point_of
from tui_ae.tui.app import MIN_SIZE, ExplorerApp
from tui_ae.tui.grid_screen import GridScreen
from tui_ae.tui.grid_view import GridView, grid_shape
from tui_ae.tui.help_screen import HelpScreen
from tui_ae.tui.latent_map import LatentMap
from tui_ae.tui.too_small import TooSmallScreen

SIZE = (100, 32)


async def settle(pilot) -> None:
    """Let workers start, finish, and their messages land."""
    for _ in range(3):
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
    await pilot.pause()


@pytest.fixture
def make_app(explorer_checkpoints):
    ae, vae = explorer_checkpoints

    def make(**kwargs) -> ExplorerApp:
        paths = {"ae_path": ae, "vae_path": vae}
        paths.update({k: kwargs.pop(k) for k in list(kwargs) if k.endswith("_path")})
        return ExplorerApp(paths["ae_path"], paths["vae_path"], seed=0, **kwargs)

    return make


def shown(app: ExplorerApp, kind: str) -> np.ndarray:
    return app.digit_views[kind].image.copy()


async def test_arrows_move_the_cursor_one_cell_and_redecode(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        slot, latent_map = app.slots["ae"], app.maps["ae"]
        step_x, step_y = latent_map.step()
        width, height = latent_map.grid
        x_min, x_max, y_min, y_max = slot.bounds
        assert step_x == pytest.approx((x_max - x_min) / width) and step_y == pytest.approx((y_max - y_min) / height)
        x0, y0, image0 = slot.x, slot.y, shown(app, "ae")
        vae_before = (app.slots["vae"].x, app.slots["vae"].y)

        await pilot.press("right")
        assert slot.x == pytest.approx(x0 + step_x) and slot.y == pytest.approx(y0)
        await pilot.press("up", "up")
        assert slot.y == pytest.approx(y0 + 2 * step_y)
        assert not np.allclose(shown(app, "ae"), image0)
        expected = app.slots["ae"].decode(np.array([[slot.x, slot.y]]))[0]
        np.testing.assert_allclose(shown(app, "ae"), expected)
        assert f"({slot.x:.2f}, {slot.y:.2f})" in str(app.digit_views["ae"].border_title)

        await pilot.press("h", "j", "j")  # vi keys: back to the start
        assert (slot.x, slot.y) == (pytest.approx(x0), pytest.approx(y0))
        assert (app.slots["vae"].x, app.slots["vae"].y) == vae_before  # the inactive cursor stays


async def test_shift_moves_five_cells_and_stops_at_the_bounds(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        slot = app.slots["ae"]
        step_x, _ = app.maps["ae"].step()
        x0 = slot.x
        await pilot.press("shift+right")
        assert slot.x == pytest.approx(x0 + 5 * step_x)
        await pilot.press("L")
        assert slot.x == pytest.approx(x0 + 10 * step_x)
        await pilot.press(*["shift+left"] * 40)
        assert app.maps["ae"].cell((slot.x, slot.y))[0] == 0
        assert slot.x == pytest.approx(slot.bounds[0] + step_x / 2)  # the centre of the first column


async def test_a_move_repaints_only_the_crosshairs_rows_and_columns(make_app, monkeypatch):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        calls: list[tuple[Region, ...]] = []
        original = LatentMap.refresh

        def spy(self, *regions, **kwargs):
            calls.append(regions)
            return original(self, *regions, **kwargs)

        monkeypatch.setattr(LatentMap, "refresh", spy)
        await pilot.press("right")
        width, height = app.maps["ae"].grid
        assert calls and all(regions for regions in calls), "the whole map was repainted"
        for regions in calls:
            assert all(r.width == 1 or r.height == 1 for r in regions)


async def test_tab_switches_the_active_model(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.active == "ae" and app.panels["ae"].has_class("-active")
        ae_before = (app.slots["ae"].x, app.slots["ae"].y)
        vae_x, vae_image = app.slots["vae"].x, shown(app, "vae")
        await pilot.press("tab")
        assert app.active == "vae"
        assert app.panels["vae"].has_class("-active") and not app.panels["ae"].has_class("-active")
        await pilot.press("right")
        assert app.slots["vae"].x == pytest.approx(vae_x + app.maps["vae"].step()[0])
        assert not np.allclose(shown(app, "vae"), vae_image)
        assert (app.slots["ae"].x, app.slots["ae"].y) == ae_before
        await pilot.press("tab")
        assert app.active == "ae"


async def test_link_moves_both_cursors_together_in_map_relative_coordinates(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        ae, vae = app.slots["ae"], app.slots["vae"]
        await pilot.press("right", "right", "up")  # the AE's cursor only
        assert ae.relative() != pytest.approx(vae.relative())
        await pilot.press("space")
        assert app.linked and "linked" in str(app.panels["vae"].border_title)
        assert vae.relative() == pytest.approx(ae.relative())
        vae_image = shown(app, "vae")
        await pilot.press("shift+down", "left")
        assert vae.relative() == pytest.approx(ae.relative())
        assert not np.allclose(shown(app, "vae"), vae_image)
        await pilot.press("space", "right")
        assert not app.linked and vae.relative() != pytest.approx(ae.relative())


async def test_a_click_jumps_to_the_cell_and_makes_its_map_active(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.click("#vae-map", offset=(8, 4))  # cell (7, 3): the panel's border is the first row and column
        latent_map, slot = app.maps["vae"], app.slots["vae"]
        assert app.active == "vae"
        assert (slot.x, slot.y) == pytest.approx(point_of(7, 3, slot.bounds, *latent_map.grid))
        assert latent_map.cell(latent_map.cursor_point) == (7, 3)
        expected = slot.decode(np.array([[slot.x, slot.y]]))[0]
        np.testing.assert_allclose(shown(app, "vae"), expected)


async def test_compare_mode_shows_a_test_image_its_reconstructions_and_their_mse(make_app, tiny_mnist):
    app = make_app(data_dir=tiny_mnist)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        assert app.comparing and app.query_one("#compare").display and not app.query_one("#digits").display
        test = app.test_images
        assert len(test.labels) == 60  # the fixture's test split, not the embedded sample

        def check_shown(index: int) -> None:
            assert app.test_index == index
            view = app.query_one("#compare")
            original = test.images[index].astype(np.float32) / 255
            np.testing.assert_array_equal(view.panel("original").image, original)
            for kind, slot in app.slots.items():
                with torch.inference_mode():
                    x = torch.from_numpy(original)[None, None]
                    z = slot.model.encode(x)
                    mse = torch.mean((slot.model.decode(z) - x) ** 2).item()
                assert f"MSE {mse:.4f}" in str(view.panel(kind).border_title)
                assert app.maps[kind].mark_point == pytest.approx(tuple(z[0, :2].tolist()))

        check_shown(0)
        await pilot.press("n", "n")
        check_shown(2)
        await pilot.press("p")
        check_shown(1)
        await pilot.press("p", "p")
        check_shown(len(test.labels) - 1)  # wraps around
        seen = set()
        for _ in range(4):
            await pilot.press("r")
            seen.add(app.test_index)
        check_shown(app.test_index)
        assert len(seen) > 1
        for digit in ("3", "7", "0"):
            await pilot.press(digit)
            assert int(test.labels[app.test_index]) == int(digit)
            check_shown(app.test_index)

        x_before = app.slots["ae"].x
        await pilot.press("right")  # moves are for exploring, not comparing
        assert app.slots["ae"].x == x_before
        await pilot.press("escape")
        assert not app.comparing and app.query_one("#digits").display
        assert all(m.mark_point is None for m in app.maps.values())


async def test_compare_mode_without_data_dir_uses_the_embedded_sample(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        assert len(app.test_images.labels) == 2000 and app.test_images.source == "mnist-sample"
        await pilot.press("c")
        assert not app.comparing


async def test_compare_mode_says_what_is_missing(make_app, tmp_path):
    app = make_app(data_dir=tmp_path / "empty")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        assert app.test_images is None
        assert "no mnist files in" in app.query_one("#compare").panel("original").message
        await pilot.press("n", "r", "5")  # nothing to show: no crash


async def test_grid_mode_decodes_a_grid_for_each_model(make_app):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("g")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, GridScreen)
        for kind in ("ae", "vae"):
            view = screen.query_one(f"#{kind}-grid", GridView)
            cols, rows, halved = grid_shape(*view.content_size)
            assert halved and cols * rows >= 16
            assert view.image.shape == (rows * 14, cols * 14)
        vae_view = screen.query_one("#vae-grid", GridView)
        bounds_grid = vae_view.image.copy()
        await pilot.press("b")
        await settle(pilot)
        assert "quantiles" in str(vae_view.border_title)
        assert not np.allclose(vae_view.image, bounds_grid)
        await pilot.press("escape")
        assert not isinstance(app.screen, GridScreen)
        await pilot.press("g", "g")
        assert not isinstance(app.screen, GridScreen)


async def test_help_screen_lists_the_keys(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        x0 = app.slots["ae"].x
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        on_screen = app.export_screenshot().replace("&#160;", " ")
        for key in ("h j k l", "tab", "space", "compare mode", "grid mode", "n / p", "0 – 9", "quit"):
            assert key in on_screen, key
        await pilot.press("right")  # not for the map underneath
        assert app.slots["ae"].x == x0
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_a_tiny_terminal_shows_the_size_needed_and_recovers(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.resize_terminal(40, 12)
        await pilot.pause()
        assert isinstance(app.screen, TooSmallScreen)
        message = str(app.screen.query_one("#too-small").render())
        assert f"Terminal too small: need at least {MIN_SIZE[0]}x{MIN_SIZE[1]} (now 40x12)" in message
        await pilot.press("right", "c", "g")  # ignored, no crash
        await pilot.resize_terminal(50, 30)
        await pilot.pause()
        assert "(now 50x30)" in str(app.screen.query_one("#too-small").render())
        await pilot.resize_terminal(*SIZE)
        await pilot.pause()
        assert len(app.screen_stack) == 1 and not app.comparing
        await pilot.press("right")
        assert app.digit_views["ae"].image is not None


async def test_a_small_terminal_halves_the_digits(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.has_class("-compact")
        view = app.digit_views["ae"]
        assert view.content_size == (14, 7)
        assert sum(1 for s in view._strips if s.text.strip()) == 7  # 14x14 pixels in 7 rows


async def test_one_model_only_says_how_to_train_the_other(make_app):
    app = make_app(vae_path=None)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "tui-ae train --model vae" in str(app.panels["vae"].render())
        assert "tui-ae train --model vae" in app.digit_views["vae"].message
        await pilot.press("right", "tab", "right", "space", "c")
        await settle(pilot)
        assert app.active == "ae" and not app.linked
        compare = app.query_one("#compare")
        assert "tui-ae train --model vae" in compare.panel("vae").message
        assert compare.panel("ae").image is not None
        await pilot.press("c", "g")
        await settle(pilot)
        assert "tui-ae train --model vae" in app.screen.query_one("#vae-grid").message


async def test_no_or_unreadable_checkpoints_do_not_crash_the_app(make_app, tmp_path):
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"not a checkpoint")
    app = make_app(ae_path=None, vae_path=broken)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "tui-ae train --model ae" in app.digit_views["ae"].message
        assert "not a readable tui-ae checkpoint" in app.digit_views["vae"].message
        await pilot.press("right", "tab", "space", "c", "n", "c", "g")
        await settle(pilot)


@pytest.mark.parametrize("mode", ["16", "mono"])
async def test_few_colours_draw_digits_as_map_markers(make_app, mode):
    app = make_app(color_mode=mode)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        text = "".join(app.maps["ae"].render_line(y).text for y in range(app.maps["ae"].grid[1]))
        assert set(text) & set("0123456789") and "●" not in text
        assert set(app.digit_views["ae"]._strips[3].text) <= set(" ░▒▓█")


async def test_a_latent_space_of_more_than_two_dimensions_is_walked_in_its_first_two(tmp_path):
    from tui_ae.checkpoint import LatentCodes, save
    from tui_ae.models import build_model

    torch.manual_seed(0)
    model = build_model("vae", latent_dim=3).eval()
    rng = np.random.default_rng(0)
    points = rng.normal(size=(300, 3)).astype(np.float32)
    path = tmp_path / "vae3.safetensors"
    save(
        path,
        model,
        {
            "dataset": "mnist",
            "data_source": "test",
            "epochs_done": 0,
            "best_val_loss": 1.0,
            "history": [],
            "config": {},
            "versions": {},
            "date": "",
        },
        codes=LatentCodes(points, (np.arange(300) % 10).astype(np.uint8)),
    )
    app = ExplorerApp(None, path, seed=0)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.active == "vae"
        await pilot.press("right", "up")
        slot = app.slots["vae"]
        with torch.inference_mode():
            expected = model.decode(torch.tensor([[slot.x, slot.y, 0.0]]))[0, 0].numpy()
        np.testing.assert_allclose(shown(app, "vae"), expected, atol=1e-6)


async def test_random_keys_and_resizes_never_crash(make_app, tiny_mnist):
    """A seeded monkey: every key the app binds, and sizes from tiny to large, in any order."""
    keys = [
        "left",
        "right",
        "up",
        "down",
        "shift+left",
        "shift+up",
        "H",
        "j",
        "tab",
        "space",
        "c",
        "g",
        "b",
        "n",
        "p",
        "r",
        "7",
        "escape",
        "question_mark",
        "escape",
    ]
    sizes = [(100, 32), (80, 24), (40, 12), (60, 20), (200, 66), (59, 30), (120, 19)]
    rng = np.random.default_rng(1)
    app = make_app(data_dir=tiny_mnist)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for step in range(60):
            if rng.random() < 0.1:
                await pilot.resize_terminal(*sizes[rng.integers(len(sizes))])
            else:
                await pilot.press(keys[rng.integers(len(keys))])
            if step % 20 == 0:
                await settle(pilot)
        await pilot.resize_terminal(*SIZE)
        await settle(pilot)
        assert not isinstance(app.screen, TooSmallScreen)


def test_importing_the_app_does_not_import_torch():
    code = "import sys, tui_ae.tui.app; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


# -- the CLI's explore command: errors before any screen opens ------------------------------------------------


@pytest.fixture
def no_screen(monkeypatch):
    def run(self, *args, **kwargs):
        raise AssertionError("the app was started")

    monkeypatch.setattr(ExplorerApp, "run", run)


def test_explore_with_a_missing_checkpoint_is_a_one_line_error(no_screen, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli_app, ["explore", "--ae", "/nonexistent"])
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0 and "/nonexistent" in result.output


def test_explore_without_checkpoints_is_a_one_line_error(no_screen, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli_app, ["explore"])
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0 and "tui-ae train --model ae" in result.output
