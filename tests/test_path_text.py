"""A folder's path in a narrow column: broken after a '/', never mid-name where the name fits a line."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from tui_ae.tui.path_text import PathText, home_relative, wrap_path


@pytest.mark.parametrize("width", [9, 12, 17, 29])
def test_a_path_wraps_after_its_slashes(width):
    path = "/work/shared/data/MNIST/raw"
    lines = wrap_path(path, width)
    assert "".join(lines) == path and all(len(line) <= width for line in lines)
    assert all(line.endswith("/") for line in lines[:-1])  # MNIST stays whole: no "MN" / "IST"


def test_words_wrap_at_spaces_and_a_name_wider_than_the_column_is_cut():
    text = "put MNIST in ~/.cache/tui-ae/data"
    assert wrap_path(text, 20) == ["put MNIST in", "~/.cache/tui-ae/data"]
    assert wrap_path(text, 13) == ["put MNIST in", "~/.cache/", "tui-ae/data"]
    assert wrap_path("/a/averyveryverylongname/b", 8) == ["/a/", "averyver", "yverylon", "gname/b"]


def test_the_renderable_wraps_at_the_width_it_is_given():
    console = Console(width=12, file=io.StringIO(), record=True, color_system=None)
    console.print(PathText("/work/shared/data/MNIST/raw"))
    assert console.export_text().splitlines() == ["/work/", "shared/data/", "MNIST/raw"]


def test_a_folder_under_home_is_written_from_tilde():
    home = str(Path.home())
    assert home_relative(f"{home}/.cache/tui-ae/data") == "~/.cache/tui-ae/data"
    assert home_relative("/srv/data/MNIST/raw") == "/srv/data/MNIST/raw"
    assert home_relative(home + "x/data") == home + "x/data"  # a sibling of home, not under it
