"""Explore mode's nearest validation images, distance readout and digit keys, on maps whose answers are known."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import explorer_meta, fake_digits, write_fake_mnist, write_fake_raw
from conftest import settle as settle_workers
from textual.geometry import Region

from tui_ae.checkpoint import LatentCodes, save
from tui_ae.data import split_indices
from tui_ae.models import build_model
from tui_ae.tui import explore_view
from tui_ae.tui.app import ExplorerApp
from tui_ae.tui.explore_view import coordinates
from tui_ae.tui.info_panel import InfoPanel

SIZE = (120, 40)


async def settle(pilot) -> None:
    """Let workers start, finish, and their messages land, and the thumbnails' rest pass."""
    await settle_workers(pilot, rest=2 * explore_view.REST)


def known_points() -> np.ndarray:
    """50 codes on two 5x5 grids of unit spacing, x 0..4 and x 20..24: code i at (i % 5, i // 5), or 20 to the right."""
    i = np.arange(50)
    x = np.where(i < 25, i % 5, 20 + (i - 25) % 5)
    return np.stack([x, (i % 25) // 5], axis=1).astype(np.float32)


def write_known(folder: Path, data_source: str, labels: np.ndarray) -> tuple[Path, Path]:
    paths = []
    for kind in ("ae", "vae"):
        torch.manual_seed(0)
        path = folder / f"{kind}.safetensors"
        meta = explorer_meta(data_source=data_source)
        save(path, build_model(kind, latent_dim=2), meta, codes=LatentCodes(known_points(), labels))
        paths.append(path)
    return paths[0], paths[1]


@pytest.fixture
def known(tmp_path) -> tuple[np.ndarray, Path, Path]:
    """(the validation images in the maps' order, ae_path, vae_path): checkpoints trained, as it were, on fake
    digits (conftest's 250 training images), their 50 validation codes placed at known_points()."""
    root = write_fake_mnist(tmp_path / "data")
    images, labels = fake_digits(250, seed=0)  # the training set write_fake_mnist wrote
    _, val = split_indices(250)
    rows = val.numpy()
    ae, vae = write_known(tmp_path, f"mnist:{root / 'MNIST' / 'raw'}", labels[rows])
    return images[rows], ae, vae


def neighbours(app: ExplorerApp, kind: str) -> list[int]:
    return [n.key for n in app.explorer.info[kind].neighbours]


async def test_the_three_nearest_validation_images_their_labels_and_distances(known):
    images, ae, vae = known
    app = ExplorerApp(ae, vae, seed=0)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.explorer.jump("ae", 3.2, 1.1)
        await settle(pilot)
        info, labels = app.explorer.info["ae"], app.slots["ae"].labels
        assert neighbours(app, "ae") == [8, 9, 13]  # the codes at (3, 1), (4, 1) and (3, 2)
        assert [n.label for n in info.neighbours] == labels[[8, 9, 13]].tolist()
        assert [n.distance for n in info.neighbours] == ["0.22×", "0.81×", "0.92×"]  # spacings: the grid's 1
        for shown in info.neighbours:  # the image the code is the encoding of, halved and in thirds of its centre
            pixels = images[shown.key].astype(np.float64)
            np.testing.assert_array_equal(shown.tiles[14], np.rint(pixels.reshape(14, 2, 14, 2).mean(axis=(1, 3))))
            np.testing.assert_array_equal(
                shown.tiles[8], np.rint(pixels[2:26, 2:26].reshape(8, 3, 8, 3).mean(axis=(1, 3)))
            )
        assert info.readout_shown[0] == "nearest code 0.22× spacing" and not info.off_the_data
        assert str(app.explorer.digit_views["ae"].border_subtitle) == f"nearest: {labels[8]}"
        text = "".join(info.render_line(y).text for y in range(info.content_size.height))
        assert "0.22×" in text and "▀" in text  # drawn: captions and thumbnails


async def test_the_readout_says_when_the_cursor_is_off_the_data(known):
    _, ae, vae = known
    app = ExplorerApp(ae, vae, seed=0)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.explorer.jump("ae", 12.0, 2.0)  # 8 from either grid, whose codes are 1 apart
        await settle(pilot)
        info = app.explorer.info["ae"]
        assert info.off_the_data and info.readout_shown[0] == "off the data: 8.00× spacing"
        app.explorer.jump("ae", 4.5, 2.0)  # half a spacing from the nearest: on the data
        await settle(pilot)
        assert not info.off_the_data and info.readout_shown[0] == "nearest code 0.50× spacing"


async def test_the_vae_readout_adds_the_log_density_under_its_prior(known):
    _, ae, vae = known
    app = ExplorerApp(ae, vae, seed=0)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.explorer.jump("vae", 1.0, 2.0)
        await settle(pilot)
        shown = app.explorer.info["vae"].readout_shown
        assert shown == ("nearest code 0.00× spacing", "log p(z) −4.34")  # -log 2π - 5/2
        assert app.explorer.info["ae"].readout_shown[1] == ""


async def test_thumbnails_wait_for_the_keys_to_rest_and_repaint_only_what_changed(known, monkeypatch):
    _, ae, vae = known
    app = ExplorerApp(ae, vae, seed=0)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.explorer.jump("ae", 3.2, 1.1)
        await settle(pilot)
        info = app.explorer.info["ae"]
        rows: list[int] = []
        original = InfoPanel.refresh

        def spy(self, *regions: Region, **kwargs):
            if self is info:
                assert regions, "the whole panel was repainted"
                rows.extend(y for region in regions for y in range(region.y, region.bottom))
            return original(self, *regions, **kwargs)

        monkeypatch.setattr(InfoPanel, "refresh", spy)
        monkeypatch.setattr(explore_view, "REST", 60.0)  # the keys never rest: show_neighbours() is the rest below
        await pilot.press("left", "left")
        await pilot.pause()
        assert neighbours(app, "ae") == [8, 9, 13]  # not yet
        assert set(rows) == {1}  # the readout's line, nothing else

        async def rest_at(x: float, y: float) -> None:
            rows.clear()
            app.explorer.jump("ae", x, y)
            app.explorer.show_neighbours()
            await pilot.pause()

        await rest_at(3.2, 1.1)  # back where the thumbnails were found
        assert neighbours(app, "ae") == [8, 9, 13]
        assert set(rows) == {1}  # the same images at the same distances: thumbnails and captions stay as they were
        await rest_at(3.3, 1.1)
        text = [info.render_line(y).text for y in range(info.content_size.height)]
        caption_row = next(y for y, line in enumerate(text) if "×" in line and "spacing" not in line)
        assert set(rows) == {1, caption_row}  # new distances under the same three images
        await rest_at(1.0, 3.9)
        assert neighbours(app, "ae") == [21, 16, 20]  # (1, 4), (1, 3), then (0, 4) before (2, 4): the lower index
        assert max(rows) == caption_row and len(set(rows)) > 2  # the thumbnails too, and nothing under them


async def test_without_matching_validation_images_the_readout_shows_alone_and_says_why(tmp_path):
    root = tmp_path / "data"
    write_fake_raw(root / "MNIST" / "raw", n_train=300)  # a split of 60 images: not the maps' 50
    ae, vae = write_known(tmp_path, f"mnist:{root / 'MNIST' / 'raw'}", (np.arange(50) % 10).astype(np.uint8))
    app = ExplorerApp(ae, vae, seed=0)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        info = app.explorer.info["ae"]
        assert info.neighbours == () and "split has 60 images, the map 50 codes" in info.note
        slot = app.slots["ae"]
        nearest = np.hypot(*(known_points() - (slot.x, slot.y)).T).min()  # in spacings: the grids' step is 1
        assert nearest > 5  # the cursor starts at the map's centre, between the grids
        assert info.readout_shown[0] == f"off the data: {nearest:.2f}× spacing"
    app = ExplorerApp(ae, vae, seed=0, data_dir=tmp_path / "nowhere")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "no mnist files in" in app.explorer.info["vae"].note


async def test_a_digit_key_jumps_to_that_digits_medoid_and_both_cursors_when_linked(known):
    _, ae, vae = known
    app = ExplorerApp(ae, vae, seed=0)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        points, labels = known_points(), app.slots["ae"].labels

        def medoid(digit: int) -> tuple[float, float]:
            mine = points[labels == digit].astype(np.float64)
            sums = np.sqrt(((mine[:, None] - mine[None]) ** 2).sum(axis=2)).sum(axis=1)
            return tuple(mine[np.argmin(sums)])

        vae_before = (app.slots["vae"].x, app.slots["vae"].y)
        await pilot.press("3")
        assert (app.slots["ae"].x, app.slots["ae"].y) == medoid(3)
        assert (app.slots["vae"].x, app.slots["vae"].y) == vae_before  # not linked: the active cursor only
        assert app.maps["ae"].cursor_point == medoid(3)
        await pilot.press("space", "5")
        for kind in ("ae", "vae"):
            assert (app.slots[kind].x, app.slots[kind].y) == medoid(5)
        await pilot.press("space", "tab", "7")
        assert (app.slots["vae"].x, app.slots["vae"].y) == medoid(7) and app.slots["ae"].x == medoid(5)[0]


def test_coordinates_never_show_a_negative_zero_and_keep_a_decimal_longest():
    assert coordinates("AE", -0.001, 2.5)[0] == "AE (0.00, 2.50)"
    assert coordinates("VAE", -0.3, -0.004) == (
        "VAE (-0.30, 0.00)",
        "VAE (-0.3, 0.0)",
        "(-0.30, 0.00)",
        "(-0.3, 0.0)",
        "-0.3, 0.0",  # the parentheses go before the decimal does
        "(0, 0)",
    )
