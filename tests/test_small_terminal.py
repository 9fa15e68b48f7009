"""At 80x24, what a fresh terminal or a default SSH client opens at, every mode shows its numbers whole
(issue 15): each test reads the screen as drawn, as a user would, not the widgets' attributes."""

from __future__ import annotations

import re

import numpy as np
import pytest
from conftest import screen_rows, settle, write_fake_raw
from textual.widgets._footer import FooterKey

from tui_ae.tui.app import ExplorerApp
from tui_ae.tui.path_text import wrap_path

SIZE = (80, 24)
POINT = re.compile(r"(-?\d+\.(\d+)), (-?\d+\.\d+)")  # "1.2, -3.4", in or out of parentheses


@pytest.fixture
def make_app(explorer_checkpoints):
    return lambda **kwargs: ExplorerApp(*explorer_checkpoints, seed=0, **kwargs)


def border_rows(app: ExplorerApp, widget) -> tuple[str, str]:
    """A widget's top and bottom border rows as drawn: its title's and its subtitle's."""
    rows = screen_rows(app, widget.region)
    return rows[0], rows[-1]


def assert_point(text: str, x: float, y: float) -> None:
    """text shows (x, y) with at least one decimal, rounded as printed."""
    found = POINT.search(text)
    assert found, f"no coordinates with a decimal in {text!r}"
    half_unit = 0.5 * 10 ** -len(found.group(2))
    assert abs(float(found.group(1)) - x) <= half_unit + 1e-9 and abs(float(found.group(3)) - y) <= half_unit + 1e-9


def assert_footer_whole(app: ExplorerApp) -> None:
    """Every key the footer shows, with its description, whole on the screen's last row."""
    footer = screen_rows(app)[-1]
    keys = list(app.screen.query(FooterKey))
    assert keys
    for key in keys:
        assert f"{key.key_display} {key.description}" in footer, footer


async def test_explore_shows_each_cursors_coordinates_with_a_decimal_and_every_key(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("right", "up", "tab", "left")  # both cursors off their start, the VAE's near its centre
        await settle(pilot)
        for kind, view in app.explorer.digit_views.items():
            title, subtitle = border_rows(app, view)
            assert_point(title, app.slots[kind].x, app.slots[kind].y)
            assert re.search(r"nearest: \d", subtitle)
        assert_footer_whole(app)


async def test_compare_shows_each_mse_with_four_decimals_and_where_each_code_is(make_app, tiny_mnist):
    app = make_app(data_dir=tiny_mnist)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("c", "n")
        await settle(pilot)
        image = app.compare.tests["mnist"].images[1].astype(np.float32) / 255
        title, _ = border_rows(app, app.compare.panel("original"))
        assert f"a {app.compare.tests['mnist'].labels[1]}" in title
        for kind, slot in app.slots.items():
            z, _, mse, _ = slot.reconstruct(image)
            title, subtitle = border_rows(app, app.compare.panel(kind))
            assert f"{kind.upper()} MSE {mse:.4f}" in title or f"{kind.upper()} · MSE {mse:.4f}" in title, title
            assert_point(subtitle, float(z[0]), float(z[1]))
        assert_footer_whole(app)


async def test_the_compare_side_panel_keeps_its_figures_and_its_last_line(make_app, tmp_path, monkeypatch):
    """Where all does not fit, the spacing and legends go first: the figures stay, and the source to its end."""
    monkeypatch.setenv("HOME", str(tmp_path))  # folders read ~/...: as short as a user's
    data_dir = tmp_path / "courses" / "deep-learning" / "mnist"  # a folder on three lines
    write_fake_raw(data_dir / "MNIST" / "raw", n_test=20)
    app = make_app(data_dir=data_dir)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("c", "a", "n", "n")  # A marked: the panel's longest
        await settle(pilot)
        info = app.compare.query_one("#compare-info")
        drawn = [row.rstrip() for row in screen_rows(app, info.content_region)]
        test = app.compare.tests["mnist"]
        source = wrap_path(test.where, info.content_size.width)
        assert len(source) >= 3  # a source of several lines, and more lines in all than the panel has rows
        assert drawn[-len(source) :] == source  # its last line, whole, on the panel's last row
        assert drawn[0] == f"3 of {len(test.labels):,}"
        assert any(row.startswith("σ (") for row in drawn) and f"A: 1, a {test.labels[0]}" in drawn
        assert "" not in drawn  # the blank line above the source made way first


async def test_interpolation_shows_where_the_marker_is_with_a_decimal(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("c", "a", "n", "n", "b", "right", "right")
        await settle(pilot)
        view = app.interpolation
        assert app.interpolating and view.marker == 2
        for kind, marker in app.markers.items():
            assert marker.display
            title, subtitle = border_rows(app, marker)
            assert re.search(rf"{kind.upper()}( · 3 of | 3/){view.steps}\b", title), title
            assert_point(subtitle, *view.paths[kind][2].tolist())
        assert_footer_whole(app)


async def test_grid_says_its_size_and_every_key(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("g")
        await settle(pilot)
        for kind in app.slots:
            _, subtitle = border_rows(app, app.screen.query_one(f"#{kind}-grid"))
            assert "3×3, shrunk to 12×12" in subtitle  # 38 columns: three digits of 12
        assert_footer_whole(app)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_help_shows_the_keys_that_work_anywhere_and_says_that_it_scrolls(make_app, size):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        box = app.screen.query_one("#help-box")
        rows = screen_rows(app, box.region)
        shown = " ".join(" ".join(row.split()) for row in rows)
        assert "q quit" in shown and "ctrl+s save the screen" in shown and "? this help" in shown
        assert "↑↓ scroll · escape / ? closes" in rows[-1]  # there is more below


async def test_help_says_nothing_of_scrolling_where_it_all_fits(make_app):
    app = make_app()
    async with app.run_test(size=(200, 66)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        rows = screen_rows(app, app.screen.query_one("#help-box").region)
        assert "escape / ? closes" in rows[-1] and "scroll" not in rows[-1]
        assert any("close this help" in row for row in rows)  # the last line of the table
