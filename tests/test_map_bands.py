"""A map is drawn by bands side by side (latent_map.MapBand), so that a repainted column costs its band's width
a row, not the map's: the bands must show exactly the map's lines, and a move must repaint only the bands it crosses."""

from __future__ import annotations

import pytest
from conftest import settle
from textual.geometry import Region

from tui_ae.tui.app import ExplorerApp
from tui_ae.tui.latent_map import MapBand


def shown(latent_map) -> list[str]:
    """The map's rows as its bands show them, side by side."""
    bands = list(latent_map.query(MapBand))
    return ["".join(band.render_line(y).text for band in bands) for y in range(latent_map.grid[1])]


def drawn(latent_map) -> list[str]:
    """The map's rows as it draws them now, from scratch."""
    return [latent_map.map_line(y).text for y in range(latent_map.grid[1])]


@pytest.mark.parametrize("size", [(120, 40), (80, 24), (200, 60)])
async def test_the_bands_show_the_map_and_follow_its_cursor(explorer_checkpoints, size):
    app = ExplorerApp(*explorer_checkpoints, seed=0)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        latent_map = app.maps["ae"]
        assert sum(band.size.width for band in latent_map.query(MapBand)) == latent_map.grid[0]
        assert shown(latent_map) == drawn(latent_map)
        await pilot.press("right", "right", "up", "shift+left")
        assert shown(latent_map) == drawn(latent_map)  # no band kept a stale row


async def test_a_sideways_move_repaints_the_crosshairs_row_and_only_the_bands_its_columns_lie_in(
    explorer_checkpoints, monkeypatch
):
    app = ExplorerApp(*explorer_checkpoints, seed=0)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        latent_map = app.maps["ae"]
        bands = list(latent_map.query(MapBand))
        calls: list[tuple[MapBand, tuple[Region, ...]]] = []
        original = MapBand.refresh

        def spy(self, *regions, **kwargs):
            calls.append((self, regions))
            return original(self, *regions, **kwargs)

        monkeypatch.setattr(MapBand, "refresh", spy)
        col, row = latent_map.cell(latent_map.cursor_point)
        await pilot.press("right")
        assert calls and all(regions for _, regions in calls), "a whole band was repainted"
        columns = {band for band, regions in calls for region in regions if region.height > 1}
        owners = {band for band in bands for c in (col, col + 1) if band.start <= c < band.start + band.size.width}
        assert columns == owners  # the old and the new column's bands, no others
        for _, regions in calls:
            for region in regions:
                assert region.width == 1 or (region.height == 1 and region.y == row)  # a column, or the cursor's row
