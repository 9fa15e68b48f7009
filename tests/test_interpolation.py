"""The interpolation view (compare mode's a, then b): the path on each map, the strips, the marker, through Pilot."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import info_text, settle
from textual.geometry import Region

from tui_ae.render import halve, resample
from tui_ae.tui.app import ExplorerApp
from tui_ae.tui.interpolation_view import path_points
from tui_ae.tui.latent_map import LatentMap
from tui_ae.tui.slot import Slot
from tui_ae.tui.strip_view import StripView

# -- interpolation --------------------------------------------------------------------------------------------


@pytest.fixture
def make_app(explorer_checkpoints, tiny_mnist):
    def make(**kwargs) -> ExplorerApp:
        paths = {"ae_path": explorer_checkpoints[0], "vae_path": explorer_checkpoints[1], "data_dir": tiny_mnist}
        paths.update(kwargs)
        return ExplorerApp(paths.pop("ae_path"), paths.pop("vae_path"), seed=0, **paths)

    return make


async def open_interpolation(pilot, a: int, b: int) -> None:
    """Compare mode, test image a marked A, then b marked B."""
    await settle(pilot)
    await pilot.press("c")
    await settle(pilot)
    await pilot.press("a", *["n"] * (b - a), "b")
    await settle(pilot)


def encoded(slot: Slot, images: np.ndarray) -> np.ndarray:
    """(2, 2): the model's own codes of A and B, apart from the app."""
    with torch.inference_mode():
        return slot.model.encode(torch.from_numpy(images)[:, None])[:, :2].numpy()


def decoded(slot: Slot, points: np.ndarray) -> np.ndarray:
    with torch.inference_mode():
        return slot.model.decode(torch.from_numpy(points.astype(np.float32)))[:, 0].numpy()


async def test_a_then_b_shows_the_path_between_their_codes_and_the_decodings_along_it(make_app):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_interpolation(pilot, 0, 3)
        view = app.interpolation
        assert app.interpolating and app.screen.focused is view
        assert view.display and not app.compare.display and all(m.display for m in app.markers.values())
        test = app.compare.tests["mnist"]
        images = test.images[[0, 3]].astype(np.float32) / 255
        assert view.border_title == f"{test.labels[0]} → {test.labels[3]}"
        steps = view.steps
        assert steps >= 6  # at 120 columns
        for kind, slot in app.slots.items():
            latent_map = app.maps[kind]
            a, b = encoded(slot, images)
            path = latent_map.overlays["path"].shape
            assert path.start == pytest.approx(tuple(a), abs=1e-5) and path.end == pytest.approx(tuple(b), abs=1e-5)
            assert (latent_map.overlays["A"].shape.x, latent_map.overlays["A"].shape.y) == pytest.approx(tuple(a))
            assert (latent_map.overlays["B"].shape.x, latent_map.overlays["B"].shape.y) == pytest.approx(tuple(b))
            assert latent_map.overlay_cells("path")[0] == latent_map.cell(tuple(a))
            assert latent_map.overlay_cells("path")[-1] == latent_map.cell(tuple(b))
            points = path_points(a, b, steps)
            np.testing.assert_allclose(view.decodings[kind], decoded(slot, points), atol=1e-5)
            strip = view.strip(kind).image  # A, a grey column, the decodings, a grey column, B; at 14x14 in 7 rows
            assert strip.shape == (14, 14 * (steps + 2) + 2)
            np.testing.assert_allclose(strip[:, :14], halve(images[0]), atol=1e-6)
            np.testing.assert_allclose(strip[:, -14:], halve(images[1]), atol=1e-6)
            np.testing.assert_allclose(strip[1:-1, 30:42], halve(view.decodings[kind][1])[1:-1, 1:-1], atol=1e-6)

        def check_marker(step: int) -> None:
            assert view.marker == step
            for kind in app.slots:
                point = view.paths[kind][step]
                marker = app.maps[kind].overlays["marker"].shape
                assert (marker.x, marker.y) == pytest.approx(tuple(point))
                np.testing.assert_allclose(app.markers[kind].image, view.decodings[kind][step], atol=1e-6)
                assert view.strip(kind).marker == step
                assert f"{step + 1} of {steps}" in str(app.markers[kind].border_title)

        check_marker(0)
        await pilot.press("right")
        check_marker(1)
        await pilot.press("l", "l")
        check_marker(3)
        await pilot.press("left", "h", "left", "left")  # stops at A
        check_marker(0)
        await pilot.press(*["right"] * (steps + 3))  # and at B
        check_marker(steps - 1)

        await pilot.press("escape")  # back to comparing B, the image shown
        assert not app.interpolating and app.comparing and app.screen.focused is app.compare
        assert app.compare.index == 3 and app.compare.display and not view.display
        for kind, slot in app.slots.items():
            latent_map = app.maps[kind]
            assert all(latent_map.overlay_cells(name) == [] for name in ("path", "marker", "A", "B"))
            assert latent_map.mark_point == pytest.approx(tuple(encoded(slot, images)[1]))
        await pilot.press("n", "b")  # A is kept: a new B opens it again
        await settle(pilot)
        assert app.interpolating and view.ends.indices == (0, 4)


async def test_b_without_a_or_with_a_itself_says_what_to_do_and_stays_in_compare_mode(make_app, monkeypatch):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        notes: list[str] = []
        monkeypatch.setattr(app.compare, "notify", lambda message, **_: notes.append(message))
        await pilot.press("c")
        await settle(pilot)
        await pilot.press("b")
        await settle(pilot)
        assert not app.interpolating and app.screen.focused is app.compare
        assert len(notes) == 1 and "Mark A first" in notes[0]
        await pilot.press("a", "b")
        await settle(pilot)
        assert not app.interpolating and len(notes) == 2 and "B is A" in notes[1]
        assert "A: 1, a" in info_text(app)


def spy_on(monkeypatch, cls: type, name: str) -> list[tuple[Region, ...]]:
    """The regions each call of the method cls.name is given from now on (it still runs)."""
    calls: list[tuple[Region, ...]] = []
    original = getattr(cls, name)

    def spy(self, *regions, **kwargs):
        calls.append(regions)
        return original(self, *regions, **kwargs)

    monkeypatch.setattr(cls, name, spy)
    return calls


async def test_a_marker_move_repaints_two_rows_of_each_strip_and_two_cells_of_each_map(make_app, monkeypatch):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_interpolation(pilot, 0, 2)
        # A map's cells are repainted by repaint(), a strip's region by refresh().
        calls = {
            LatentMap: spy_on(monkeypatch, LatentMap, "repaint"),
            StripView: spy_on(monkeypatch, StripView, "refresh"),
        }
        monkeypatch.setattr(LatentMap, "refresh", lambda *_, **__: pytest.fail("a map's whole region was repainted"))
        await pilot.press("right")
        assert calls[LatentMap] and all(regions for regions in calls[LatentMap]), "a whole map was repainted"
        assert all(r.area == 1 for regions in calls[LatentMap] for r in regions)
        assert sum(len(regions) for regions in calls[LatentMap]) <= 4  # the ◆'s old and new cell, per map
        strips = [r for regions in calls[StripView] for r in regions]
        assert all(calls[StripView]) and len(strips) == 8  # two tiles per strip, their first and last rows
        assert all((r.width, r.height) == (14, 1) for r in strips) and {r.y for r in strips} == {0, 6}


async def test_a_resize_keeps_the_marker_at_its_place_along_the_path(make_app):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_interpolation(pilot, 0, 1)
        view = app.interpolation

        def check_marker_near(at: float) -> None:
            assert abs(view.marker / (view.steps - 1) - at) <= 0.5 / (view.steps - 1)
            for kind in app.slots:
                assert len(view.decodings[kind]) == view.steps and view.strip(kind).marker == view.marker
                np.testing.assert_allclose(app.markers[kind].image, view.decodings[kind][view.marker], atol=1e-6)

        await pilot.press("right", "right", "right")
        at = view.marker / (view.steps - 1)
        await pilot.resize_terminal(100, 32)
        await settle(pilot)
        assert view.steps == 4 and view.strip("ae").image.shape[0] == 14  # halved tiles, fewer of them
        assert not any(m.display for m in app.markers.values())  # 14 rows of maps: no room to show them larger
        check_marker_near(at)
        await pilot.resize_terminal(80, 24)
        await settle(pilot)
        assert view.strip("ae").image.shape[0] == 8  # strips of 4 rows: tiles of 8x8 pixels
        np.testing.assert_allclose(view.strip("ae").image[:, :8], resample(app.interpolation.ends.images[0], 8))
        assert view.steps == (view.strip("ae").content_size.width - 2) // 8 - 2 and view.steps > 6
        assert all(m.display and m.image.shape == (28, 28) for m in app.markers.values())  # shown halved
        check_marker_near(at)

        await pilot.resize_terminal(120, 40)
        await settle(pilot)
        await pilot.press(*["right"] * view.steps)  # at B, then fewer steps: still at B
        await pilot.resize_terminal(100, 32)
        await settle(pilot)
        assert view.marker == view.steps - 1
        check_marker_near(1.0)


async def test_a_model_trained_on_another_data_set_says_so_in_its_strip(make_app, fashion_vae):
    app = make_app(vae_path=fashion_vae)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_interpolation(pilot, 0, 1)  # the AE active: MNIST's test images
        view = app.interpolation
        assert app.interpolating and view.strip("ae").image is not None
        assert "trained on Fashion-MNIST, not MNIST" in view.strip("vae").message
        assert app.markers["ae"].display and not app.markers["vae"].display  # said once, in the strip
        assert app.maps["vae"].overlay_cells("path") == []
        assert app.maps["ae"].overlay_cells("path") != []
        await pilot.press("right")
        assert view.marker == 1 and "vae" not in view.paths
