"""Compare mode's side panel, and the VAE's posterior: its 1σ and 2σ outlines on the map, σ's values."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from conftest import info_text, settle, write_fake_raw

from tui_ae.models import Reconstruction
from tui_ae.render import cell_of
from tui_ae.tui.app import ExplorerApp
from tui_ae.tui.latent_map import LatentMap
from tui_ae.tui.loading import checkpoint_model
from tui_ae.tui.slot import Slot


def map_text(latent_map: LatentMap, row: int) -> str:
    return "".join(segment.text for segment in latent_map.render_line(row))


# -- the VAE's posterior in compare mode ----------------------------------------------------------------------


class HandMadeVAE:
    """A VAE whose posterior is given: every image encodes to N(mu, diag(sigma²)); it decodes to black."""

    latent_dim = 2

    def __init__(self, mu: tuple[float, float], sigma: tuple[float, float]) -> None:
        self.mu, self.sigma = mu, sigma

    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu = torch.tensor([self.mu], dtype=torch.float64).repeat(len(x), 1)
        return mu, 2 * torch.log(torch.tensor([self.sigma], dtype=torch.float64)).repeat(len(x), 1)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.posterior(x)[0]

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return torch.zeros(len(z), 1, 28, 28)

    def reconstruct(self, x: torch.Tensor) -> Reconstruction:
        mu, log_var = self.posterior(x)
        return Reconstruction(mu, self.decode(mu), torch.exp(log_var / 2))


@pytest.mark.parametrize("mode", ["truecolor", "mono"])
async def test_compare_mode_outlines_the_vae_posterior_at_1_and_2_sigma_and_gives_sigma(
    explorer_checkpoints, tiny_mnist, mode
):
    ae_path, vae_path = explorer_checkpoints
    x_min, x_max, y_min, y_max = Slot.open("vae", vae_path).bounds
    mu = (x_min + 0.513 * (x_max - x_min), y_min + 0.487 * (y_max - y_min))
    sigma = (0.1037 * (x_max - x_min), 0.1511 * (y_max - y_min))  # outlines well inside the map
    vae = HandMadeVAE(mu, sigma)

    def loader(path: Path, kind: str):
        return vae if kind == "vae" else checkpoint_model(path, kind)

    app = ExplorerApp(ae_path, vae_path, color_mode=mode, data_dir=tiny_mnist, seed=0, model_loader=loader)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        vae_map, ae_map = app.maps["vae"], app.maps["ae"]
        assert vae_map.mark_point == pytest.approx(mu)
        grid = (vae_map.bounds, *vae_map.grid)
        drawn = {}
        for name, k in (("1σ", 1), ("2σ", 2)):
            shape = vae_map.overlays[name].shape
            assert shape.centre == pytest.approx(mu) and shape.radii == pytest.approx((k * sigma[0], k * sigma[1]))
            cells = drawn[name] = vae_map.overlay_cells(name)
            cols, rows = {col for col, _ in cells}, {row for _, row in cells}
            left, right = (cell_of(mu[0] + s * k * sigma[0], mu[1], *grid)[0] for s in (-1, 1))
            top, bottom = (cell_of(mu[0], mu[1] + s * k * sigma[1], *grid)[1] for s in (1, -1))
            assert (min(cols), max(cols), min(rows), max(rows)) == (left, right, top, bottom)
            assert ae_map.overlay_cells(name) == []  # the AE has no posterior
        mark = vae_map.cell(vae_map.mark_point)
        for name, glyph in (("1σ", "•"), ("2σ", "·")):  # 2σ behind 1σ, both behind the ◆
            hidden = {mark} | (set(drawn["1σ"]) if name == "2σ" else set())
            for col, row in set(drawn[name]) - hidden:
                assert map_text(vae_map, row)[col] == glyph, (name, col, row)
        info = info_text(app)
        assert f"σ ({sigma[0]:.3f}, {sigma[1]:.3f})" in info and "• 1σ · 2σ" in info

        await pilot.press("escape")
        assert vae_map.overlay_cells("1σ") == [] and vae_map.overlay_cells("2σ") == []
        assert "•" not in "".join(map_text(vae_map, row) for row in range(vae_map.grid[1]))


async def test_an_outline_inside_the_marks_cell_is_said_in_the_side_panel(explorer_checkpoints, tiny_mnist):
    ae_path, vae_path = explorer_checkpoints
    x_min, x_max, y_min, y_max = Slot.open("vae", vae_path).bounds
    mu = (x_min + 0.5003 * (x_max - x_min), y_min + 0.5003 * (y_max - y_min))
    vae = HandMadeVAE(mu, (1e-4 * (x_max - x_min), 1e-4 * (y_max - y_min)))

    app = ExplorerApp(ae_path, vae_path, data_dir=tiny_mnist, seed=0, model_loader=lambda path, kind: vae)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        vae_map = app.maps["vae"]
        assert vae_map.overlay_cells("2σ") == [vae_map.cell(mu)]
        assert "2σ inside ◆'s cell" in info_text(app)


async def test_the_side_panel_wraps_the_data_folder_at_its_slashes(explorer_checkpoints, tmp_path):
    data = tmp_path / "a-data-folder-of-some-length" / "with-a-long-name"
    write_fake_raw(data / "MNIST" / "raw", n_test=20)
    app = ExplorerApp(*explorer_checkpoints, data_dir=data, seed=0)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        width = app.compare.query_one("#compare-info").content_size.width
        folder = str(data / "MNIST" / "raw")
        assert len(folder) > width
        lines = [line.rstrip() for line in info_text(app).splitlines()]
        start = next(i for i, line in enumerate(lines) if folder.startswith(line) and line.startswith("/"))
        end = next(i for i in range(start, len(lines)) if lines[i].endswith("/raw"))
        assert "".join(lines[start : end + 1]) == folder  # whole,
        for line in lines[start:end]:  # broken after a '/', or inside a name only where it alone is too wide
            assert line.endswith("/") or ("/" not in line and len(line) == width), line
        assert any("/MNIST/" in line or line.startswith("MNIST/") for line in lines[start : end + 1])  # no "MN" / "IST"
