"""The eval table: at 80 and at 120 columns, every column and every value shows whole."""

import io
import re
from collections import Counter
from pathlib import Path

import pytest
from rich.console import Console

from tui_ae.checkpoint import Header
from tui_ae.eval_table import CAPTION, COLUMNS, TITLE, EvalTable, Row, make_row, short_names

AE_METRICS = {"images": 10_000, "mse": 0.0123456, "knn": 0.91234}
VAE_METRICS = {**AE_METRICS, "loss": 140.2345, "recon": 135.0, "kl": 5.2345, "active_units": 1}


def _header(kind: str, source: str, epochs: int, **meta) -> Header:
    return Header(kind, {"latent_dim": 2}, {"data_source": source, "epochs_done": epochs, **meta}, None)


def _rows(count: int = 3) -> list[Row]:
    headers = [
        _header("ae", "mnist:/home/me/data/MNIST/raw", 10, recipe="seed"),
        _header("vae", "fashion-mnist:/usr/share/datasets/fashion-mnist", 100, recipe="best"),
        _header("vae", "mnist-sample", 3),  # written before recipes were recorded
    ]
    names = ["checkpoints/ae.safetensors", "runs/vae-fashion.safetensors", "sample-vae.safetensors"]
    if count > len(names):
        names = [f"{i // 3}-{names[i % 3]}" for i in range(count)]
    return [_row(names[i], headers[i % 3]) for i in range(count)]


def _row(name: str, header: Header) -> Row:
    return make_row(name, header, VAE_METRICS if header.kind == "vae" else AE_METRICS)


def _default_rows() -> list[Row]:
    """What `tui-ae eval` shows after `tui-ae train --model ae` and `--model vae`."""
    return [
        _row(f"checkpoints/{kind}.safetensors", _header(kind, "mnist:/home/me/data/MNIST/raw", 10, recipe="seed"))
        for kind in ("ae", "vae")
    ]


def _render(rows: list[Row], width: int) -> list[str]:
    console = Console(width=width, file=io.StringIO(), color_system=None)
    console.print(EvalTable(rows))
    lines = console.file.getvalue().splitlines()
    assert max(len(line) for line in lines) <= width
    return lines


def _missing(lines: list[str], rows: list[Row]) -> Counter:
    """What the table should show, word by word, and does not (a folded value counts as missing)."""
    text = re.sub(r"\s+", " ", "\n".join(lines))
    assert CAPTION in text
    words = Counter(text.replace(CAPTION, "").split())
    expected = Counter([*TITLE.split(), "checkpoint", *COLUMNS])
    for row in rows:
        expected.update([row.name, *row.values.values()])
    return expected - words


def _line_of(lines: list[str], *cells: str) -> bool:
    pattern = r"\s*" + r"\s+".join(re.escape(cell) for cell in cells) + r"\s*"
    return any(re.fullmatch(pattern, line) for line in lines)


def test_the_rows_hold_what_eval_reports():
    ae, vae, sample = _rows()
    assert ae.values == {
        "model": "AE",
        "recipe": "seed",
        "data": "mnist",
        "epochs": "10",
        "images": "10,000",
        "MSE": "0.012346",
        "-ELBO": "-",
        "recon": "-",
        "KL": "-",
        "kNN": "91.2%",
        "active": "-",
    }
    assert [vae.values[c] for c in ("model", "recipe", "data", "-ELBO", "recon", "KL", "kNN", "active")] == [
        "VAE",
        "best",
        "fashion-mnist",
        "140.23",
        "135.00",
        "5.23",
        "91.2%",
        "1/2",
    ]
    assert (sample.values["recipe"], sample.values["data"]) == ("seed", "sample")


def test_at_120_columns_one_row_per_checkpoint():
    rows = _default_rows()
    lines = _render(rows, 120)
    assert not _missing(lines, rows)
    assert _line_of(lines, "checkpoint", *COLUMNS)
    for row in rows:
        assert _line_of(lines, row.name, *row.values.values())


@pytest.mark.parametrize(
    ("count", "width"),
    [
        pytest.param(3, 120, id="120-rows-too-wide-to-fit"),  # longer names and data sets than the default's
        pytest.param(2, 80, id="80-an-ae-and-a-vae-side-by-side"),
    ],
)
def test_one_row_per_metric(count, width):
    rows = _rows(count)
    lines = _render(rows, width)
    assert not _missing(lines, rows)
    assert _line_of(lines, "checkpoint", *(row.name for row in rows))
    for column in COLUMNS:
        assert _line_of(lines, column, *(row.values[column] for row in rows))


@pytest.mark.parametrize("width", [80, 60])
def test_more_checkpoints_than_fit_side_by_side_go_on_in_further_tables(width):
    rows = _rows(7)
    lines = _render(rows, width)
    assert not _missing(lines, rows)
    assert sum(bool(re.match(r"\s*checkpoint\s", line)) for line in lines) > 1


@pytest.mark.parametrize("width", [80, 120])
def test_a_name_with_brackets_shows_as_it_is(width):
    rows = [_row("runs/[b]/ae.safetensors", _header("ae", "mnist:/data", 10))]
    assert any("runs/[b]/ae.safetensors" in line for line in _render(rows, width))


def test_checkpoints_are_named_from_here_or_by_what_tells_them_apart(tmp_path):
    here = tmp_path / "project"
    paths = [
        Path("checkpoints/ae.safetensors"),
        here / "runs" / "vae.safetensors",
        tmp_path / "elsewhere" / "a" / "vae.safetensors",
        tmp_path / "elsewhere" / "b" / "vae.safetensors",
        tmp_path / "other" / "ae-best.safetensors",
    ]
    assert short_names(paths, cwd=here) == [
        "checkpoints/ae.safetensors",
        "runs/vae.safetensors",
        "a/vae.safetensors",
        "b/vae.safetensors",
        "ae-best.safetensors",
    ]
