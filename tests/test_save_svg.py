"""ctrl+s: the screen as an SVG file in the current folder, its full path shown."""

from __future__ import annotations

from tui_ae.tui.app import ExplorerApp


async def test_ctrl_s_saves_the_screen_as_svg_in_the_current_folder_and_says_where(
    explorer_checkpoints, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    app = ExplorerApp(*explorer_checkpoints, seed=0, model_loader=None)
    notes: list[str] = []
    monkeypatch.setattr(app, "notify", lambda message, **kwargs: notes.append(message))
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.pause()
        await pilot.press("g")  # from any screen
        await pilot.press("ctrl+s")
        await pilot.pause()
    saved = list(tmp_path.glob("*.svg"))
    assert len(saved) == 1 and saved[0].read_text().startswith("<svg")
    assert "latent&#160;bounds" in saved[0].read_text()  # the grid screen, as shown (SVG spaces are &#160;)
    assert notes == [f"Saved {saved[0].resolve()}"]


async def test_ctrl_s_in_a_folder_it_cannot_write_says_so(explorer_checkpoints, tmp_path, monkeypatch):
    folder = tmp_path / "gone"
    folder.mkdir()
    monkeypatch.chdir(folder)
    folder.rmdir()  # the current folder no longer exists
    app = ExplorerApp(*explorer_checkpoints, seed=0, model_loader=None)
    notes: list[str] = []
    monkeypatch.setattr(app, "notify", lambda message, **kwargs: notes.append(message))
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.press("ctrl+s")
        await pilot.pause()
    assert len(notes) == 1 and notes[0].startswith("Could not save the screen")
