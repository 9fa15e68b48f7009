"""explore asks Textual for up to 240 frames a second (a key's frame waits less for its tick); a user's setting wins."""

from __future__ import annotations

import os

from typer.testing import CliRunner

from tui_ae.cli import app as cli_app
from tui_ae.tui.app import ExplorerApp
from tui_ae.tui.frame_rate import FPS, VARIABLE, use_frame_rate


def test_use_frame_rate_sets_textuals_setting_unless_the_user_did(monkeypatch):
    monkeypatch.delenv(VARIABLE, raising=False)
    use_frame_rate()
    assert os.environ[VARIABLE] == str(FPS)
    monkeypatch.setenv(VARIABLE, "30")
    use_frame_rate()
    assert os.environ[VARIABLE] == "30"


def test_explore_sets_the_frame_rate_before_the_app_starts(explorer_checkpoints, monkeypatch):
    monkeypatch.delenv(VARIABLE, raising=False)
    seen: list[str | None] = []
    monkeypatch.setattr(ExplorerApp, "run", lambda self, *a, **k: seen.append(os.environ.get(VARIABLE)))
    ae, vae = explorer_checkpoints
    result = CliRunner().invoke(cli_app, ["explore", "--ae", str(ae), "--vae", str(vae)])
    assert result.exit_code == 0, result.output
    assert seen == [str(FPS)]
