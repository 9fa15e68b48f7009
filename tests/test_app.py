"""The explorer through Textual's Pilot, over two small models trained in conftest, and its CLI entry."""

from __future__ import annotations

import io
import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import info_text, settle, write_fake_raw
from rich.console import Console
from textual import events
from textual.geometry import Region, Size
from textual.widgets import Static
from typer.testing import CliRunner

from tui_ae.cli import app as cli_app
from tui_ae.render import point_of
from tui_ae.tui import messages, quiet_gc
from tui_ae.tui.app import ExplorerApp
from tui_ae.tui.grid_screen import GridScreen
from tui_ae.tui.grid_view import GridView, grid_shape
from tui_ae.tui.help_screen import HelpScreen
from tui_ae.tui.keys import KEYS, TITLES, bindings, markdown_table
from tui_ae.tui.latent_map import LatentMap
from tui_ae.tui.quiet_gc import QuietCollector
from tui_ae.tui.sizes import MIN_SIZE
from tui_ae.tui.too_small import TooSmallScreen

SIZE = (100, 32)
README = Path(__file__).parent.parent / "README.md"


@pytest.fixture
def make_app(explorer_checkpoints):
    ae, vae = explorer_checkpoints

    def make(**kwargs) -> ExplorerApp:
        paths = {"ae_path": ae, "vae_path": vae}
        paths.update({k: kwargs.pop(k) for k in list(kwargs) if k.endswith("_path")})
        return ExplorerApp(paths["ae_path"], paths["vae_path"], seed=0, **kwargs)

    return make


def shown(app: ExplorerApp, kind: str) -> np.ndarray:
    return app.explorer.digit_views[kind].image.copy()


def cell_size(app: ExplorerApp, kind: str) -> tuple[float, float]:
    """One cell of a map, in latent units (x, y)."""
    width, height = app.maps[kind].grid
    x_min, x_max, y_min, y_max = app.slots[kind].bounds
    return (x_max - x_min) / width, (y_max - y_min) / height


def decoded(slot, x: float, y: float) -> np.ndarray:
    """The slot's model's own decoding of (x, y), apart from the app."""
    with torch.inference_mode():
        z = torch.zeros(1, slot.latent_dim)
        z[0, :2] = torch.tensor([x, y])
        return slot.model.decode(z)[0, 0].numpy()


def map_titles(app: ExplorerApp) -> dict[str, str]:
    return {kind: str(panel.border_title) for kind, panel in app.map_panels.items()}


# -- explore mode ---------------------------------------------------------------------------------------------


async def test_the_trained_checkpoints_load_and_decode(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for kind, slot in app.slots.items():
            assert slot.model is not None and slot.load_error is None
            image = shown(app, kind)
            assert image.shape == (28, 28) and 0 <= image.min() and image.max() <= 1
            np.testing.assert_allclose(image, decoded(slot, slot.x, slot.y), atol=1e-6)


async def test_arrows_move_the_cursor_one_cell_and_redecode(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        slot = app.slots["ae"]
        step_x, step_y = cell_size(app, "ae")
        x0, y0, image0 = slot.x, slot.y, shown(app, "ae")
        vae_before = (app.slots["vae"].x, app.slots["vae"].y)

        await pilot.press("right")
        assert slot.x == pytest.approx(x0 + step_x) and slot.y == pytest.approx(y0)
        await pilot.press("up", "up")
        assert slot.y == pytest.approx(y0 + 2 * step_y)
        assert not np.allclose(shown(app, "ae"), image0)
        np.testing.assert_allclose(shown(app, "ae"), decoded(slot, slot.x, slot.y), atol=1e-6)
        assert f"({slot.x:.2f}, {slot.y:.2f})" in str(app.explorer.digit_views["ae"].border_title)

        await pilot.press("h", "j", "j")  # vi keys: back to the start
        assert (slot.x, slot.y) == (pytest.approx(x0), pytest.approx(y0))
        assert (app.slots["vae"].x, app.slots["vae"].y) == vae_before  # the inactive cursor stays


async def test_shift_moves_five_cells_and_stops_at_the_bounds(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        slot = app.slots["ae"]
        step_x, _ = cell_size(app, "ae")
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
        original = LatentMap.repaint

        def spy(self, *regions):
            calls.append(regions)
            return original(self, *regions)

        monkeypatch.setattr(LatentMap, "repaint", spy)
        monkeypatch.setattr(LatentMap, "refresh", lambda *_, **__: pytest.fail("the map's whole region was repainted"))
        await pilot.press("right")
        assert calls and all(regions for regions in calls), "the whole map was repainted"
        for regions in calls:
            assert all(r.width == 1 or r.height == 1 for r in regions)


async def test_tab_switches_the_active_model(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        panels = app.map_panels
        assert app.explorer.active == "ae" and panels["ae"].has_class("-active")
        assert map_titles(app) == {"ae": "▶ AE latent space", "vae": "VAE latent space"}
        ae_before = (app.slots["ae"].x, app.slots["ae"].y)
        vae_x, vae_image = app.slots["vae"].x, shown(app, "vae")
        await pilot.press("tab")
        assert app.explorer.active == "vae"
        assert panels["vae"].has_class("-active") and not panels["ae"].has_class("-active")
        assert map_titles(app) == {"ae": "AE latent space", "vae": "▶ VAE latent space"}
        await pilot.press("right")
        assert app.slots["vae"].x == pytest.approx(vae_x + cell_size(app, "vae")[0])
        assert not np.allclose(shown(app, "vae"), vae_image)
        assert (app.slots["ae"].x, app.slots["ae"].y) == ae_before
        await pilot.press("tab")
        assert app.explorer.active == "ae"


async def test_link_moves_both_cursors_together_in_map_relative_coordinates(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        ae, vae = app.slots["ae"], app.slots["vae"]
        await pilot.press("right", "right", "up")  # the AE's cursor only
        assert ae.relative() != pytest.approx(vae.relative())
        await pilot.press("space")
        assert app.explorer.linked
        assert map_titles(app) == {"ae": "▶ AE latent space · linked", "vae": "VAE latent space · linked"}
        assert vae.relative() == pytest.approx(ae.relative())
        vae_image = shown(app, "vae")
        await pilot.press("shift+down", "left")
        assert vae.relative() == pytest.approx(ae.relative())
        assert not np.allclose(shown(app, "vae"), vae_image)
        await pilot.press("space", "right")
        assert not app.explorer.linked and vae.relative() != pytest.approx(ae.relative())
        assert "linked" not in "".join(map_titles(app).values())


async def test_a_click_jumps_to_the_cell_and_makes_its_map_active(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.click("#vae-map", offset=(8, 4))  # cell (7, 3): the panel's border is the first row and column
        latent_map, slot = app.maps["vae"], app.slots["vae"]
        assert app.explorer.active == "vae"
        assert (slot.x, slot.y) == pytest.approx(point_of(7, 3, slot.bounds, *latent_map.grid))
        assert latent_map.cell(latent_map.cursor_point) == (7, 3)
        np.testing.assert_allclose(shown(app, "vae"), decoded(slot, slot.x, slot.y), atol=1e-6)
        await pilot.press("left")  # the keys still move a cursor: the click left the focus where it was
        assert latent_map.cell(latent_map.cursor_point) == (6, 3)


# -- the keys: one table, routed to the mode that has the focus ---------------------------------------------


def keys_by_owner(app: ExplorerApp) -> dict[object, set[str]]:
    """The keys that act now, by the object whose bindings they are."""
    owners: dict[object, set[str]] = {}
    for key, active in app.screen.active_bindings.items():
        owners.setdefault(active.node, set()).add(key)
    return owners


def keys_of(mode: str) -> set[str]:
    return {key for binding in bindings(mode) for key in binding.key.split(",")}


async def test_each_mode_answers_its_own_keys_and_no_others(make_app, tiny_mnist):
    app = make_app(data_dir=tiny_mnist)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        owners = keys_by_owner(app)
        assert owners[app.explorer] == keys_of("explore") and app.compare not in owners
        assert keys_of("anywhere") <= owners[app]
        await pilot.press("c")
        await settle(pilot)
        owners = keys_by_owner(app)
        assert owners[app.compare] == keys_of("compare") and app.explorer not in owners
        assert keys_of("anywhere") <= owners[app]
        await pilot.press("escape")
        assert keys_by_owner(app)[app.explorer] == keys_of("explore")
        await pilot.press("g")
        await settle(pilot)
        owners = keys_by_owner(app)
        assert keys_of("grid") <= owners[app.screen] and keys_of("anywhere") <= owners[app]
        assert not {app.explorer, app.compare} & set(owners)
        await pilot.press("question_mark")
        owners = keys_by_owner(app)
        assert keys_of("help") <= owners[app.screen] and app not in owners  # a modal screen: the app's keys wait


async def test_keys_typed_in_one_burst_each_reach_the_mode_they_lead_to(make_app, tiny_mnist):
    app = make_app(data_dir=tiny_mnist)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("c")
        await settle(pilot)  # the test images are in
        await pilot.press("c")
        for key in ("c", "n", "n", "c", "g"):  # as a terminal delivers a paste, or a fast typist: no frame between
            app.post_message(events.Key(key, key))
        await settle(pilot)
        assert app.compare.index == 2 and not app.comparing and isinstance(app.screen, GridScreen)


def test_readme_key_table_is_the_key_table():
    lines = README.read_text().splitlines()
    table = markdown_table()
    start = lines.index(table[0])
    end = next((i for i in range(start, len(lines)) if not lines[i].startswith("|")), len(lines))
    assert lines[start:end] == table


async def test_help_screen_lists_every_key_of_the_table(make_app):
    app = make_app()
    async with app.run_test(size=(120, 50)) as pilot:
        await settle(pilot)
        x0 = app.slots["ae"].x
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        console = Console(width=84, file=io.StringIO(), record=True)
        console.print(app.screen.query_one(Static).content)
        shown_text = " ".join(console.export_text().split())
        for mode, rows in KEYS.items():
            assert TITLES[mode] in shown_text
            for row in rows:
                assert f"{row.keys} {row.does[:24]}" in shown_text, row
        await pilot.press("right")  # not for the map underneath
        assert app.slots["ae"].x == x0
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


# -- compare mode ---------------------------------------------------------------------------------------------


def compare_panel(app: ExplorerApp, name: str):
    return app.compare.panel(name)


async def test_compare_mode_shows_a_test_image_its_reconstructions_and_their_mse(make_app, tiny_mnist):
    app = make_app(data_dir=tiny_mnist)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        assert app.comparing and app.compare.display and not app.explorer.display
        test = app.compare.tests["mnist"]
        assert len(test.labels) == 60  # the fixture's test split, not the MNIST tui-ae ships

        def check_shown(index: int) -> None:
            assert app.compare.index == index
            original = test.images[index].astype(np.float32) / 255
            np.testing.assert_array_equal(compare_panel(app, "original").image, original)
            for kind, slot in app.slots.items():
                with torch.inference_mode():
                    x = torch.from_numpy(original)[None, None]
                    z = slot.model.encode(x)
                    mse = torch.mean((slot.model.decode(z) - x) ** 2).item()
                assert f"MSE {mse:.4f}" in str(compare_panel(app, kind).border_title)
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
            seen.add(app.compare.index)
        check_shown(app.compare.index)
        assert len(seen) > 1
        for digit in ("3", "7", "0"):
            await pilot.press(digit)
            assert int(test.labels[app.compare.index]) == int(digit)
            check_shown(app.compare.index)

        x_before = app.slots["ae"].x
        await pilot.press("right")  # moves are for exploring, not comparing
        assert app.slots["ae"].x == x_before
        await pilot.click("#ae-map", offset=(8, 4))  # and so are clicks
        assert app.slots["ae"].x == x_before
        await pilot.press("escape")
        assert not app.comparing and app.explorer.display
        assert all(m.mark_point is None for m in app.maps.values())


async def test_compare_mode_without_data_dir_reads_the_mnist_tui_ae_ships_and_says_so(make_app):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        test = app.compare.tests["mnist"]
        assert len(test.labels) == 10_000 and test.source == "mnist"
        assert "MNIST, as tui-ae ships it" in " ".join(line.strip() for line in info_text(app).splitlines())
        await pilot.press("c")
        assert not app.comparing


async def test_compare_mode_says_what_is_missing(make_app, tmp_path):
    app = make_app(data_dir=tmp_path / "empty")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        assert isinstance(app.compare.tests["mnist"], messages.TestImagesFailed)
        assert "no mnist files in" in compare_panel(app, "original").message
        await pilot.press("n", "r", "5")
        assert app.compare.index == 0 and "no mnist files in" in compare_panel(app, "original").message


async def test_compare_mode_reconstructs_on_the_data_set_each_model_was_trained_on(make_app, fashion_vae, tmp_path):
    data = tmp_path / "data"
    write_fake_raw(data / "MNIST" / "raw", n_test=60)
    write_fake_raw(data / "FashionMNIST" / "raw", n_test=40)
    app = make_app(vae_path=fashion_vae, data_dir=data)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("c")  # the AE is active: MNIST's test images
        await settle(pilot)
        assert app.compare.dataset == "mnist" and len(app.compare.tests["mnist"].labels) == 60
        assert "MSE" in str(compare_panel(app, "ae").border_title)
        assert "trained on Fashion-MNIST, not MNIST" in compare_panel(app, "vae").message
        assert app.maps["vae"].mark_point is None and app.maps["ae"].mark_point is not None
        await pilot.press("c", "tab", "c")  # the VAE active: Fashion-MNIST's
        await settle(pilot)
        assert app.compare.dataset == "fashion-mnist" and len(app.compare.tests["fashion-mnist"].labels) == 40
        assert "MSE" in str(compare_panel(app, "vae").border_title)
        assert "trained on MNIST, not Fashion-MNIST" in compare_panel(app, "ae").message
        assert app.maps["ae"].mark_point is None and app.maps["vae"].mark_point is not None


# -- grid mode, help, sizes -----------------------------------------------------------------------------------


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
            assert grid_shape(*view.content_size) == (4, 4, 14)  # 58 columns: four digits of 14 pixels
            assert view.image.shape == (4 * 14, 4 * 14)
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


async def test_grid_mode_at_the_smallest_size_shows_two_by_two_digits(make_app):
    app = make_app()
    async with app.run_test(size=MIN_SIZE) as pilot:
        await settle(pilot)
        await pilot.press("g")
        await settle(pilot)
        for kind in ("ae", "vae"):
            view = app.screen.query_one(f"#{kind}-grid", GridView)
            assert view.border_subtitle == "2×2, shrunk to 14×14" and view.image.shape == (28, 28)


async def test_a_tiny_terminal_shows_the_size_needed_and_recovers(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.resize_terminal(40, 12)
        await pilot.pause()
        assert isinstance(app.screen, TooSmallScreen)
        message = str(app.screen.query_one("#too-small").render())
        assert f"Terminal too small: need at least {MIN_SIZE[0]}x{MIN_SIZE[1]} (now 40x12)" in message
        x0 = app.slots["ae"].x
        await pilot.press("right", "c", "g", "question_mark")  # ignored
        assert isinstance(app.screen, TooSmallScreen) and len(app.screen_stack) == 2 and app.slots["ae"].x == x0
        await pilot.resize_terminal(50, 30)
        await pilot.pause()
        assert "(now 50x30)" in str(app.screen.query_one("#too-small").render())
        await pilot.resize_terminal(*SIZE)
        await pilot.pause()
        assert len(app.screen_stack) == 1 and not app.comparing
        await pilot.press("right")
        assert app.slots["ae"].x > x0


async def test_a_small_terminal_halves_the_digits(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.has_class("-compact")
        view = app.explorer.digit_views["ae"]
        assert view.content_size == (18, 7)  # a quarter of 80 columns, less the border
        assert view.image.shape == (28, 28) and view.fit(view.image, view.content_size)[0].shape == (14, 14)
        assert [len(view.render_line(y).text.strip()) for y in range(7)] == [14] * 7  # 14x14 pixels in 7 rows


# -- missing and unusual checkpoints --------------------------------------------------------------------------


async def test_one_model_only_says_how_to_train_the_other(make_app):
    app = make_app(vae_path=None)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "tui-ae train --model vae" in str(app.map_panels["vae"].render())
        assert "tui-ae train --model vae" in app.explorer.digit_views["vae"].message
        await pilot.press("right", "tab", "right", "space", "c")
        await settle(pilot)
        assert app.explorer.active == "ae" and not app.explorer.linked
        assert "tui-ae train --model vae" in compare_panel(app, "vae").message
        assert compare_panel(app, "ae").image is not None
        await pilot.press("c", "g")
        await settle(pilot)
        assert "tui-ae train --model vae" in app.screen.query_one("#vae-grid").message


async def test_no_or_unreadable_checkpoints_leave_a_working_app_that_says_why(make_app, tmp_path, monkeypatch):
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"not a checkpoint")
    app = make_app(ae_path=None, vae_path=broken)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        why = {"ae": "tui-ae train --model ae", "vae": "not a readable tui-ae checkpoint"}
        for kind, reason in why.items():
            assert reason in str(app.map_panels[kind].render())
            assert reason in app.explorer.digit_views[kind].message
            assert app.slots[kind].model is None
        notes: list[str] = []
        monkeypatch.setattr(app, "notify", lambda message, **kwargs: notes.append(message))
        await pilot.press("right", "tab", "space")
        assert app.explorer.active == "ae" and not app.explorer.linked and notes == ["Linking needs both models."]
        await pilot.press("c", "n")
        await settle(pilot)
        assert app.comparing
        for kind, reason in why.items():
            assert reason in compare_panel(app, kind).message
        await pilot.press("c", "g")
        await settle(pilot)
        assert isinstance(app.screen, GridScreen)
        for kind, reason in why.items():
            assert reason in app.screen.query_one(f"#{kind}-grid", GridView).message


@pytest.mark.parametrize("mode", ["16", "mono"])
async def test_few_colours_draw_digits_as_map_markers(make_app, mode):
    app = make_app(color_mode=mode)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        latent_map = app.maps["ae"]
        text = "".join(latent_map.render_line(y).text for y in range(latent_map.grid[1]))
        assert set(text) & set("0123456789") and "●" not in text
        view = app.explorer.digit_views["ae"]
        assert set(view.render_line(3).text) <= set(" ░▒▓█")


@pytest.mark.parametrize("sizes", [((64, 24),), ((40, 12), (64, 24))], ids=["directly", "through too-small"])
async def test_after_a_resize_the_layout_cursor_title_and_readout_fit_the_new_size(make_app, sizes):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("right", "up")
        for size in sizes:  # to a compact layout
            await pilot.resize_terminal(*size)
            await settle(pilot)
        assert app.has_class("-compact") and len(app.screen_stack) == 1
        for kind, latent_map in app.maps.items():
            view, info, slot = app.explorer.digit_views[kind], app.explorer.info[kind], app.slots[kind]
            assert view.size == Size(14, 7)  # inside the border of app.tcss's -compact DigitView (16x9)
            assert (slot.x, slot.y) == point_of(*latent_map.cell((slot.x, slot.y)), slot.bounds, *latent_map.grid)
            assert len(view.border_title) <= view.size.width - 4  # the coordinates in a form that fits
            width = info.content_size.width
            assert all(len(line) <= width for line in info.readout_shown)
            assert info.readout_shown[0] == next(f for f in info.readout[0] if len(f) <= width)  # the longest


# -- state that holds whatever the user does ------------------------------------------------------------------


def assert_consistent(app: ExplorerApp) -> None:
    """What must hold after any key or resize."""
    too_small = app.size.width < MIN_SIZE[0] or app.size.height < MIN_SIZE[1]
    assert isinstance(app.screen, TooSmallScreen) == too_small
    assert sum(isinstance(s, TooSmallScreen) for s in app.screen_stack) == too_small
    main = app.screen_stack[0]
    owner = app.interpolation if app.interpolating else app.compare if app.comparing else app.explorer
    assert main.focused is owner, f"{main.focused} has the keys, not {owner}"
    assert app.compare.display == (app.comparing and not app.interpolating)
    assert app.interpolation.display == app.interpolating and app.explorer.display != app.comparing
    for kind, latent_map in app.maps.items():
        slot = app.slots[kind]
        x_min, x_max, y_min, y_max = slot.bounds
        assert x_min <= slot.x <= x_max and y_min <= slot.y <= y_max
        if not app.comparing:
            assert latent_map.mark_point is None
            assert not any(latent_map.overlay_cells(name) for name in latent_map.overlays)
        if app.interpolating:
            assert latent_map.mark_point is None and not latent_map.overlay_cells("1σ")
        assert latent_map.cursor_point == (slot.x, slot.y)
    if not app.comparing and app.screen is main:
        for kind, slot in app.slots.items():
            np.testing.assert_allclose(shown(app, kind), decoded(slot, slot.x, slot.y), atol=1e-6)


async def test_random_keys_and_resizes_keep_the_app_consistent(make_app, tiny_mnist):
    """A seeded monkey: every key the app binds, and sizes from tiny to large, in any order."""
    keys = [
        *("left", "right", "up", "down", "shift+left", "shift+up", "H", "j"),
        *("tab", "space", "c", "g", "b", "n", "p", "r", "7", "a", "b", "escape", "question_mark", "escape"),
    ]
    sizes = [(100, 32), (80, 24), (40, 12), (60, 20), (200, 66), (59, 30), (120, 19)]
    rng = np.random.default_rng(1)
    app = make_app(data_dir=tiny_mnist)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for _ in range(60):
            if rng.random() < 0.1:
                await pilot.resize_terminal(*sizes[rng.integers(len(sizes))])
            else:
                await pilot.press(keys[rng.integers(len(keys))])
            await settle(pilot)
            assert_consistent(app)
        await pilot.resize_terminal(*SIZE)
        await settle(pilot)
        while len(app.screen_stack) > 1:
            await pilot.press("escape")
        if app.interpolating:
            await pilot.press("escape")
        if app.comparing:
            await pilot.press("c")
        latent_map, slot = app.maps[app.explorer.active], app.slots[app.explorer.active]
        col, row = latent_map.cell((slot.x, slot.y))
        await pilot.press("right")  # still exploring, one cell at a time
        assert latent_map.cell((slot.x, slot.y)) == (min(col + 1, latent_map.grid[0] - 1), row)
        assert_consistent(app)


# -- the UI thread's torch threads, and the app's imports -----------------------------------------------------


async def test_decoding_on_the_ui_thread_uses_one_torch_thread_and_gives_the_count_back(make_app):
    threads = torch.get_num_threads()
    torch.set_num_threads(2)  # this thread has run torch before the app starts, as a test process has
    try:
        app = make_app()
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            assert all(slot.model is not None for slot in app.slots.values())
            assert torch.get_num_threads() == 1  # this thread is the app's: the keys decode here
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(threads)


def test_the_collector_runs_once_a_burst_of_input_has_rested(monkeypatch):
    now, collected = [100.0], []
    monkeypatch.setattr(quiet_gc.time, "monotonic", lambda: now[0])
    monkeypatch.setattr(quiet_gc.gc, "collect", lambda: collected.append(now[0]))
    collector = QuietCollector()
    collector.collect_if_rested()
    assert not collected  # no input, nothing to collect
    collector.note_input()
    now[0] += quiet_gc.REST / 2
    collector.collect_if_rested()
    assert not collected  # the burst may go on
    now[0] += quiet_gc.REST
    collector.collect_if_rested()
    now[0] += 10 * quiet_gc.REST
    collector.collect_if_rested()
    assert collected == [100 + 1.5 * quiet_gc.REST]  # once, after the rest


async def test_keys_and_clicks_count_as_input(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.quiet_gc.frozen
        app.quiet_gc.inputs = 0
        await pilot.press("right", "c", "c")
        await pilot.click("#ae-map", offset=(3, 3))
        assert app.quiet_gc.inputs == 4


def test_importing_the_app_does_not_import_torch():
    code = "import sys, tui_ae.tui.app; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


# -- the CLI's explore command --------------------------------------------------------------------------------


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


COLOURS = re.compile(rb"\x1b\[([0-9;]*)m")


def colour_codes(output: bytes) -> set[str]:
    """The colours the output sets, as SGR parameters: "38;5;236", "48;2;9;9;9", "31", "39", ..."""
    found: set[str] = set()
    for match in COLOURS.finditer(output):
        params = match.group(1).decode().split(";")
        i = 0
        while i < len(params):
            if params[i] in ("38", "48"):
                n = 3 if params[i + 1] == "5" else 5
                found.add(";".join(params[i : i + n]))
                i += n
            else:
                if params[i] and (30 <= int(params[i]) <= 49 or 90 <= int(params[i]) <= 107):
                    found.add(params[i])
                i += 1
    return found


def explore_output(checkpoints: tuple[Path, Path], color: str) -> bytes:
    """What `python -m tui_ae explore --color ...` writes to a 120x40 truecolor terminal until its first frame."""
    master, slave = pty.openpty()
    os.set_blocking(master, False)
    env = {**os.environ, "TERM": "xterm-256color", "COLORTERM": "truecolor", "COLUMNS": "120", "LINES": "40"}
    env.pop("TEXTUAL_COLOR_SYSTEM", None)
    argv = [sys.executable, "-m", "tui_ae", "explore", "--ae", str(checkpoints[0]), "--vae", str(checkpoints[1])]
    process = subprocess.Popen(
        [*argv, "--color", color], stdin=slave, stdout=slave, stderr=slave, env=env, cwd=README.parent
    )
    os.close(slave)
    output = b""
    deadline = time.monotonic() + 60  # against a hang only; it takes a second or two
    try:
        while b"Quit" not in output and time.monotonic() < deadline and process.poll() is None:
            if select.select([master], [], [], 0.1)[0]:
                output += os.read(master, 1 << 16)
        os.write(master, b"q")
        process.wait(timeout=30)
    finally:
        process.kill()
        os.close(master)
    assert b"Quit" in output, output[-2000:]
    return output


@pytest.mark.parametrize(
    "color, allowed",
    [
        ("256", re.compile(r"[34]8;5;\d+")),
        ("16", re.compile(r"(3|4|9|10)[0-7]")),
        ("mono", re.compile(r"[34]8;2;(\d+);\1;\1")),  # greys only
    ],
)
def test_explore_writes_the_colours_color_asks_for_whatever_the_terminal_says(explorer_checkpoints, color, allowed):
    colours = colour_codes(explore_output(explorer_checkpoints, color)) - {"39", "49"}  # the terminal's own
    assert colours and all(allowed.fullmatch(c) for c in colours), sorted(colours)
