"""The widgets that keep their lines (the maps, the info panels, the pictures) make them anew when their style does."""

from __future__ import annotations

from conftest import settle
from rich.color import Color
from textual.geometry import Region
from textual.widget import Widget

from tui_ae.tui.app import ExplorerApp
from tui_ae.tui.latent_map import MapBand


def backgrounds(widget: Widget) -> set[Color | None]:
    """The background colours of the blank cells of a widget's lines, as the screen would be given them now."""
    strips = widget.render_lines(Region(0, 0, *widget.outer_size))
    blanks = [segment for strip in strips for segment in strip if segment.style and not segment.text.strip()]
    return {segment.style.bgcolor for segment in blanks}


async def test_a_new_theme_draws_every_kept_line_in_its_colours(explorer_checkpoints):
    app = ExplorerApp(*explorer_checkpoints, seed=0, model_loader=None)  # the digit panels: a message, centred
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        latent_map, info, digit = app.maps["ae"], app.explorer.info["ae"], app.explorer.digit_views["ae"]
        owners = {**{band: latent_map for band in latent_map.query(MapBand)}, info: info, digit: digit}
        before = {widget: backgrounds(widget) for widget in owners}
        assert all(len(colours) == 1 for colours in before.values())
        app.theme = "textual-light" if app.theme != "textual-light" else "textual-dark"
        await settle(pilot)
        for widget, owner in owners.items():
            assert backgrounds(widget) == {owner.rich_style.bgcolor} != before[widget], widget


async def test_a_class_that_changes_the_maps_background_alone_redraws_its_bands(explorer_checkpoints):
    """The bands' own styles do not change: only the map, which draws their lines, can tell them to repaint."""
    app = ExplorerApp(*explorer_checkpoints, seed=0)
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        app.stylesheet.add_source("LatentMap.-tinted { background: #203040; }", read_from=("test", "tinted"))
        app.stylesheet.parse()
        latent_map = app.maps["ae"]
        latent_map.add_class("-tinted")
        await settle(pilot)
        assert latent_map.rich_style.bgcolor == Color.parse("#203040")
        for band in latent_map.query(MapBand):
            assert backgrounds(band) == {Color.parse("#203040")}
