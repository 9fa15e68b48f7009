"""The interpolation marker's large decodings between the maps: hidden, each knows the size it will be laid out at."""

from __future__ import annotations

import pytest
from conftest import settle

from tui_ae.tui.app import ExplorerApp


@pytest.mark.parametrize("size", [(120, 40), (100, 32), (80, 24), (64, 24), (200, 66)])
async def test_a_hidden_marker_knows_the_size_the_layout_gives_it_once_shown(explorer_checkpoints, size):
    """Each size class (normal, compact, big), a maps' row lower than the view's own height (100x32), and a
    compact width whose share of the row is less than the view's min-width (64x24)."""
    app = ExplorerApp(*explorer_checkpoints, seed=0)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        for marker in app.markers.values():
            assert not marker.display and marker.size.area == 0  # hidden: Textual has not laid it out
            expected = marker.size_when_shown()
            marker.display = True
            await settle(pilot)
            assert marker.size == expected and expected.area > 0
            marker.display = False
            await settle(pilot)
