"""explore --watch: checkpoint files rewritten while the app runs: replaced by rename, cut short, not there yet."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import explorer_meta, settle
from typer.testing import CliRunner

from tui_ae.checkpoint import LatentCodes, read_codes, save
from tui_ae.cli import app as cli_app
from tui_ae.latent import latent_bounds
from tui_ae.models import build_model
from tui_ae.tui.app import ExplorerApp
from tui_ae.tui.latent_map import LatentMap
from tui_ae.tui.watch import CheckpointWatch

SIZE = (120, 40)


@pytest.fixture(autouse=True)
def fast_polls(monkeypatch):
    monkeypatch.setattr(CheckpointWatch, "interval", 0.05)


async def until(pilot, condition, polls: int = 200) -> None:
    """Let the app poll until condition() holds (it must, long before 200 polls)."""
    for _ in range(polls):
        if condition():
            return
        await pilot.pause(0.05)
        await pilot.app.workers.wait_for_complete()
    raise AssertionError("the app did not get there")


def next_epoch(path: Path, kind: str, epochs: int, scale: float, seed: int = 5, latent_dim: int = 2) -> bytes:
    """Write the checkpoint of a later epoch at path (atomically, as train does): new weights, a map scaled by
    `scale`, a new history; return its bytes."""
    _, codes = read_codes(path)
    torch.manual_seed(seed)
    model = build_model(kind, latent_dim=latent_dim)
    meta = explorer_meta(epochs_done=epochs, history=[{"epoch": epochs, "val": {"loss": 0.123}}])
    full = np.random.default_rng(seed).normal(size=(len(codes.points), latent_dim)) * 0.1  # small other axes
    full[:, :2] = codes.points * scale
    save(path, model, meta, codes=LatentCodes.of(full, codes.labels))  # above 2-D, on its plane, as train writes it
    return path.read_bytes()


def decoded(model, x: float, y: float) -> np.ndarray:
    with torch.inference_mode():
        return model.decode(torch.tensor([[x, y]], dtype=torch.float32))[0, 0].numpy()


@pytest.fixture
def watched(explorer_checkpoints, tmp_path) -> tuple[Path, Path]:
    folder = tmp_path / "run"
    folder.mkdir()
    paths = []
    for source in explorer_checkpoints:
        shutil.copy(source, folder / source.name)
        paths.append(folder / source.name)
    return paths[0], paths[1]


async def test_a_rewritten_checkpoint_brings_its_map_model_and_epochs_and_the_cursor_stays(watched):
    ae, vae = watched
    app = ExplorerApp(ae, vae, seed=0, watch=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        slot, latent_map, old_model = app.slots["ae"], app.maps["ae"], app.slots["ae"].model
        await pilot.press("right", "right", "up")
        kept = (slot.x, slot.y)
        next_epoch(ae, "ae", epochs=7, scale=1.5)  # a wider map: the cursor keeps its place
        await until(pilot, lambda: slot.model is not old_model)
        await settle(pilot)
        new_points = read_codes(ae)[1].points
        np.testing.assert_array_equal(slot.points, new_points)
        assert slot.bounds == latent_bounds(new_points) and latent_map.bounds == slot.bounds
        assert latent_map.points is slot.points and latent_map.cursor_point == kept == (slot.x, slot.y)
        header = app.explorer.info["ae"].header.plain
        assert "7 epochs" in header and "val 0.123" in header
        np.testing.assert_allclose(app.explorer.digit_views["ae"].image, decoded(slot.model, *kept), atol=1e-6)
        assert app.explorer.info["ae"].readout_shown[0].startswith(("nearest code", "off the data"))

        await pilot.press(*["shift+right"] * 30, *["shift+up"] * 30)  # to the corner of the map
        before, old_model = (slot.x, slot.y), slot.model
        next_epoch(ae, "ae", epochs=8, scale=0.25, seed=6)  # a smaller map: the cursor is clamped into it
        await until(pilot, lambda: slot.model is not old_model)
        await settle(pilot)
        x_min, x_max, y_min, y_max = slot.bounds
        clamped = (min(max(before[0], x_min), x_max), min(max(before[1], y_min), y_max))
        assert clamped != before and (slot.x, slot.y) == clamped and latent_map.cursor_point == clamped
        assert "8 epochs" in app.explorer.info["ae"].header.plain


async def test_a_cut_short_file_is_skipped_until_the_next_change(watched, tmp_path):
    ae, vae = watched
    shutil.copy(ae, tmp_path / "later.safetensors")
    whole = next_epoch(tmp_path / "later.safetensors", "ae", epochs=3, scale=2.0)
    app = ExplorerApp(ae, vae, seed=0, watch=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        slot = app.slots["ae"]
        points, model = slot.points, slot.model
        with open(ae, "wb") as f:  # written in place, and only half of it: a writer that is not atomic, cut off
            f.write(whole[: len(whole) // 2])
        stamp = app.checkpoint_watch.stamps["ae"]
        await until(pilot, lambda: app.checkpoint_watch.stamps["ae"] != stamp)  # seen
        for _ in range(5):
            await pilot.pause(0.05)
        assert slot.points is points and slot.model is model and slot.usable  # what was shown stays
        assert app.explorer.info["ae"].header.plain.startswith("AE · 1 epoch")
        ae.write_bytes(whole)  # the rest arrives
        await until(pilot, lambda: slot.model is not model)
        assert "3 epochs" in app.explorer.info["ae"].header.plain and len(slot.points) == len(points)


async def test_a_checkpoint_not_there_yet_is_waited_for(watched, explorer_checkpoints):
    ae, vae = watched
    vae.unlink()
    app = ExplorerApp(ae, vae, seed=0, watch=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        slot, panel = app.slots["vae"], app.map_panels["vae"]
        assert isinstance(panel, LatentMap) and not slot.usable
        assert str(panel.border_subtitle) == f"waiting for {vae}"
        assert f"waiting for {vae}" in app.explorer.digit_views["vae"].message
        await pilot.press("tab")
        assert app.explorer.active == "ae"  # nothing to move there yet
        (vae.parent / ".vae.safetensors.4242.tmp").write_bytes(b"half a checkpoint")  # train's temporary file
        for _ in range(5):
            await pilot.pause(0.05)
        assert not slot.usable and app.checkpoint_watch.stamps["vae"] is None
        shutil.copy(explorer_checkpoints[1], vae)
        await until(pilot, lambda: slot.model is not None)
        await settle(pilot)
        assert slot.usable and str(panel.border_subtitle) == f"{len(slot.points):,} validation points"
        shown = app.explorer.digit_views["vae"].image
        np.testing.assert_allclose(shown, decoded(slot.model, slot.x, slot.y), atol=1e-6)
        await pilot.press("tab", "right")
        assert app.explorer.active == "vae" and app.maps["vae"].cursor_point == (slot.x, slot.y)


async def test_without_watch_nothing_is_polled(watched):
    ae, vae = watched
    app = ExplorerApp(ae, vae, seed=0)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        points = app.slots["ae"].points
        next_epoch(ae, "ae", epochs=7, scale=1.5)
        for _ in range(5):
            await pilot.pause(0.05)
        assert app.checkpoint_watch is None and app.slots["ae"].points is points


@pytest.fixture
def started(monkeypatch) -> list[ExplorerApp]:
    apps: list[ExplorerApp] = []
    monkeypatch.setattr(ExplorerApp, "run", lambda self, *args, **kwargs: apps.append(self))
    return apps


def test_explore_watch_waits_for_missing_or_unreadable_checkpoints(started, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli_app, ["explore", "--watch"])  # beside a train that has written nothing yet
    assert result.exit_code == 0, result.output
    assert started[-1].watch is not None
    assert {kind: slot.path for kind, slot in started[-1].slots.items()} == {
        "ae": Path("checkpoints/ae.safetensors"),
        "vae": Path("checkpoints/vae.safetensors"),
    }
    (tmp_path / "cut.safetensors").write_bytes(b"\x00" * 10)
    result = CliRunner().invoke(cli_app, ["explore", "--watch", "--ae", "cut.safetensors"])
    assert result.exit_code == 0, result.output
    assert "waiting for cut.safetensors" in started[-1].slots["ae"].error
    result = CliRunner().invoke(cli_app, ["explore", "--ae", "cut.safetensors"])  # without --watch: an error
    assert result.exit_code == 2 and len(started) == 2


async def test_a_checkpoint_retrained_with_another_latent_dim_is_not_decoded_by_the_old_model(watched):
    ae, vae = watched
    app = ExplorerApp(ae, vae, seed=0, watch=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        slot, old_model = app.slots["ae"], app.slots["ae"].model
        next_epoch(ae, "ae", epochs=4, scale=1.0, latent_dim=4)  # the user started over with --latent-dim 4
        await until(pilot, lambda: slot.latent_dim == 4)
        await pilot.press("right")  # a key between the map's reload and the model's: nothing to decode with yet
        await until(pilot, lambda: slot.model is not None)
        await settle(pilot)
        assert slot.model is not old_model and slot.model.latent_dim == 4
        shown = app.explorer.digit_views["ae"].image
        assert np.allclose(shown, slot.decode_codes(slot.code_at(np.array([[slot.x, slot.y]])))[0])
