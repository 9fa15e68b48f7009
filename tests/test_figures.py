"""`tui-ae figures`: the files read back as images, bad inputs as one-line errors, old figures kept on failure."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import write_fake_mnist
from matplotlib.image import imread
from typer.testing import CliRunner

from tui_ae import figures, files
from tui_ae.cli import app
from tui_ae.config import TrainConfig
from tui_ae.errors import TuiAeError
from tui_ae.latent import grid_points
from tui_ae.render import LABEL_COLORS
from tui_ae.train import train

runner = CliRunner()
STEMS = ("reconstructions", "latent-grid-ae", "latent-grid-vae", "latent-grid-vae-prior", "latent-scatter", "losses")


def train_pair(root: Path, latent_dim: int = 2) -> dict[str, Path]:
    """A tiny AE and VAE trained for two epochs by train() on fake MNIST in root/data, as a user's checkpoints are."""
    data = write_fake_mnist(root / "data")
    paths = {}
    for kind in ("ae", "vae"):
        paths[kind] = root / f"{kind}.safetensors"
        config = TrainConfig(model=kind, epochs=2, batch_size=32, lr=3e-3, data_dir=data, device="cpu",
                             out=paths[kind], latent_dim=latent_dim)  # fmt: skip
        for _ in train(config, notify=pytest.fail):
            pass
    return paths


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> dict[str, Path]:
    return train_pair(tmp_path_factory.mktemp("figures"))


@pytest.fixture(scope="module")
def trained_8d(tmp_path_factory) -> dict[str, Path]:
    return train_pair(tmp_path_factory.mktemp("figures-8d"), latent_dim=8)


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


# -- Reading a figure back: digit tiles are squares of grey between white lines -----------------------------------


def _long_runs(line: np.ndarray, min_len: int = 20) -> np.ndarray:
    padded = np.concatenate([[False], line, [False]])
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    lengths = edges[1::2] - edges[::2]
    return lengths[lengths >= min_len]


def _most_common_layout(grey: np.ndarray) -> tuple[int, int]:
    """(tiles across, tile size in pixels) from the pixel rows whose long runs of grey are all of one length.

    A digit's border rows are all background (far from white), so such a row crosses each tile of a
    tile row in one run; text gives short runs, the axes' frame a single run of another length.
    """
    layouts: Counter[tuple[int, int]] = Counter()
    for line in grey:
        runs = _long_runs(line)
        if len(runs) and runs.max() - runs.min() <= 3:
            layouts[len(runs), int(np.median(runs))] += 1
    return layouts.most_common(1)[0][0]


def tile_layout(path: Path) -> tuple[int, int]:
    """(rows, columns) of square digit tiles in a PNG figure."""
    grey = imread(path)[..., :3].mean(axis=2) < 0.9
    (cols, width), (rows, height) = _most_common_layout(grey), _most_common_layout(grey.T)
    assert abs(width - height) <= 3, f"tiles of {width}x{height} pixels are not square"
    return rows, cols


def assert_a_picture(path: Path, min_size: tuple[int, int] = (400, 300)) -> np.ndarray:
    pixels = imread(path)[..., :3]
    height, width = pixels.shape[:2]
    assert width >= min_size[0] and height >= min_size[1], (width, height)
    assert (pixels.mean(axis=2) < 0.9).mean() > 0.01, f"{path.name} is blank"
    return pixels


def has_colour(pixels: np.ndarray, hex_colour: str, alpha: float = 1.0) -> bool:
    """Whether some pixel shows the colour, drawn with alpha over white."""
    rgb = np.array([int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)])
    return bool((np.abs(pixels - (alpha * rgb + 1 - alpha)).max(axis=2) < 0.02).any())


# -- The figures ---------------------------------------------------------------------------------------------------


def test_all_figures_from_both_checkpoints(trained, tmp_path):
    out = tmp_path / "figs"
    out.mkdir()
    (out / "reconstructions.png").write_bytes(b"an old figure")
    result = invoke("figures", "--ae", trained["ae"], "--vae", trained["vae"], "--out", out, "--grid", 4)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [f"wrote {out / stem}.png" for stem in STEMS]
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{stem}.png" for stem in STEMS)  # no temporary files

    assert_a_picture(out / "reconstructions.png")  # replaced: the old bytes are no PNG
    assert tile_layout(out / "reconstructions.png") == (3, 10)  # test images, AE, VAE; one of each digit
    for stem in ("latent-grid-ae", "latent-grid-vae", "latent-grid-vae-prior"):
        assert_a_picture(out / f"{stem}.png")
        assert tile_layout(out / f"{stem}.png") == (4, 4), stem
    scatter = assert_a_picture(out / "latent-scatter.png")
    assert all(has_colour(scatter, colour, alpha=0.6) for colour in LABEL_COLORS), "a digit's colour is missing"
    losses = assert_a_picture(out / "losses.png")
    assert has_colour(losses, "#1f77b4") and has_colour(losses, "#ff7f0e")  # the train and validation curves


def test_one_model_alone_writes_its_figures_and_names_those_skipped(trained, in_tmp):
    result = invoke("figures", "--ae", trained["ae"], "--grid", 3)
    assert result.exit_code == 0, result.output
    stems = ["reconstructions", "latent-grid-ae", "latent-scatter", "losses"]
    assert result.stdout.splitlines()[:4] == [f"wrote figures/{stem}.png" for stem in stems]
    assert result.stdout.splitlines()[4:] == [
        "skipped latent-grid-vae.png and latent-grid-vae-prior.png: no VAE checkpoint at "
        "checkpoints/vae.safetensors (the other figures show the AE alone)"
    ]
    assert sorted(p.stem for p in (in_tmp / "figures").iterdir()) == sorted(stems)
    assert tile_layout(in_tmp / "figures" / "reconstructions.png") == (2, 10)
    assert tile_layout(in_tmp / "figures" / "latent-grid-ae.png") == (3, 3)


def test_the_default_checkpoints_and_the_test_images_found_as_eval_finds_them(trained, in_tmp):
    (in_tmp / "checkpoints").mkdir()
    (in_tmp / "checkpoints" / "vae.safetensors").write_bytes(trained["vae"].read_bytes())
    result = invoke("figures", "--grid", 2)  # no --data-dir: the folder the VAE's training read
    assert result.exit_code == 0, result.output
    assert "skipped latent-grid-ae.png: no AE checkpoint" in result.stdout
    assert tile_layout(in_tmp / "figures" / "latent-grid-vae-prior.png") == (2, 2)


@pytest.mark.parametrize("fmt, magic", [("svg", b"<?xml"), ("pdf", b"%PDF-"), ("PNG", b"\x89PNG"), ("Svg", b"<?xml")])
def test_svg_and_pdf_and_any_case(trained, tmp_path, in_tmp, fmt, magic):  # in_tmp: no checkpoints/ of the user's
    result = invoke("figures", "--vae", trained["vae"], "--out", tmp_path, "--format", fmt, "--grid", 2)
    assert result.exit_code == 0, result.output
    written = sorted(tmp_path.iterdir())
    assert [p.name for p in written] == sorted(f"{stem}.{fmt.lower()}" for stem in STEMS if stem != "latent-grid-ae")
    assert all(p.read_bytes().startswith(magic) for p in written)


def test_a_failure_while_drawing_leaves_the_old_figures_intact(trained, tmp_path, monkeypatch):
    for stem in STEMS:
        (tmp_path / f"{stem}.png").write_bytes(b"old")
    real_render = figures.render

    def render_then_fail_at_the_last(fig, fmt):
        if fig.axes[-1].get_title() == "VAE loss":  # the last figure drawn
            raise TuiAeError("out of memory")
        return real_render(fig, fmt)

    monkeypatch.setattr(figures, "render", render_then_fail_at_the_last)
    config = figures.FiguresConfig(ae=trained["ae"], vae=trained["vae"], out=tmp_path, grid=2)
    with pytest.raises(TuiAeError, match="out of memory"):
        figures.make_figures(config)
    assert all((tmp_path / f"{stem}.png").read_bytes() == b"old" for stem in STEMS)


def test_an_8d_pair_writes_every_figure_on_its_principal_plane_with_its_axis_labels(trained_8d, tmp_path):
    out = tmp_path / "figs"
    result = invoke("figures", "--ae", trained_8d["ae"], "--vae", trained_8d["vae"], "--out", out, "--grid", 4)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{stem}.png" for stem in STEMS)
    for stem in ("latent-grid-ae", "latent-grid-vae", "latent-grid-vae-prior"):
        assert tile_layout(out / f"{stem}.png") == (4, 4), stem
    config = figures.FiguresConfig(ae=trained_8d["ae"], vae=trained_8d["vae"])
    models = figures.load_models(dict(zip(("ae", "vae"), (config.ae, config.vae))), None, pytest.fail)
    drawn, _ = figures.draw(models, 4)
    scatter = dict(zip(("ae", "vae"), drawn["latent-scatter"].axes))
    for kind, m in models.items():
        plane = m.stored.plane
        pc1 = f"PC1 ({plane.shares[0]:.0%} of variance)"
        pc2 = f"PC2 ({plane.shares[1]:.0%})"
        grid_axes = drawn[f"latent-grid-{kind}"].axes[0]
        assert (grid_axes.get_xlabel(), grid_axes.get_ylabel()) == (pc1, pc2)
        assert (scatter[kind].get_xlabel(), scatter[kind].get_ylabel()) == (pc1, pc2)
        codes = m.net.encode(torch.from_numpy(m.test_images)[:, None]).double().numpy()
        projected = (codes - plane.mean) @ plane.axes  # the test codes as the map draws them
        drawn_points = np.concatenate([c.get_offsets() for c in scatter[kind].collections])
        order = np.concatenate([np.flatnonzero(m.test_labels == d) for d in range(10)])  # drawn digit by digit
        np.testing.assert_allclose(drawn_points, projected[order], atol=1e-4)
    prior = drawn["latent-grid-vae-prior"].axes[0]
    assert prior.get_xlabel().startswith("PC1 direction, at N(0, 1)'s quantiles")


def test_an_old_8d_checkpoint_is_mapped_from_its_validation_images_or_refused_naming_them(trained_8d, tmp_path):
    from tui_ae import checkpoint

    model, header, _ = checkpoint.load(trained_8d["ae"])
    _, stored = checkpoint.read_codes(trained_8d["ae"])
    old = tmp_path / "old.safetensors"  # as written before the plane: the codes' first two axes only
    checkpoint.save(old, model, header.meta, codes=checkpoint.LatentCodes(stored.codes[:, :2], stored.labels))
    before = old.read_bytes()
    models = figures.load_models({"ae": old}, None, pytest.fail)  # its training's data folder is still there
    np.testing.assert_allclose(models["ae"].stored.codes, stored.codes, atol=1e-5)
    np.testing.assert_allclose(models["ae"].stored.points, stored.points, atol=1e-4)
    assert old.read_bytes() == before
    empty = tmp_path / "empty"
    empty.mkdir()
    assert_one_line_error(
        invoke("figures", "--ae", old, "--out", tmp_path / "figs", "--data-dir", empty),
        r"old.safetensors stores only 2 of its 8 latent axes .* in mnist's train-images-idx3-ubyte and "
        r"train-labels-idx1-ubyte: no mnist files in .*empty",
    )


def test_above_64_dimensions_figures_and_explore_refuse_and_say_why(tmp_path, in_tmp, monkeypatch):
    from conftest import explorer_meta

    from tui_ae import checkpoint
    from tui_ae.models import build_model
    from tui_ae.tui.app import ExplorerApp

    path = tmp_path / "wide.safetensors"
    checkpoint.save(path, build_model("ae", latent_dim=65), explorer_meta())
    monkeypatch.setattr(ExplorerApp, "run", lambda self: pytest.fail("the app was started"))
    for command in ("figures", "explore"):
        assert_one_line_error(
            invoke(command, "--ae", path),
            r"wide.safetensors has 65 latent dimensions: explore and figures show up to 64 dimensions .*tui-ae eval",
        )


def test_the_grid_axes_put_each_digit_on_its_latent_point():
    n, bounds = 5, (-3.0, 1.0, 2.0, 10.0)
    left, right, bottom, top = figures._grid_extent(bounds, n)
    side = n * (28 + figures.PADDING) + figures.PADDING
    centres = figures.PADDING + np.arange(n) * (28 + figures.PADDING) + 14  # from the image's left or top edge
    xs = left + centres / side * (right - left)
    ys = top - centres / side * (top - bottom)
    points = grid_points(n, n, bounds).reshape(n, n, 2)
    np.testing.assert_allclose(xs, points[0, :, 0])
    np.testing.assert_allclose(ys, points[:, 0, 1])


# -- Bad inputs: one line, exit 2, nothing written ----------------------------------------------------------------


def assert_one_line_error(result, pattern: str):
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and re.search(pattern, lines[0]), result.stderr
    assert "Traceback" not in result.output


def test_bad_inputs_are_one_line_errors(trained, in_tmp):
    junk = in_tmp / "junk.safetensors"
    junk.write_bytes(b"not a checkpoint")
    a_file = in_tmp / "a-file"
    a_file.write_text("")
    ae, vae = trained["ae"], trained["vae"]
    cases = [
        (["--ae", in_tmp / "missing.safetensors"], "no checkpoint at .*missing.safetensors"),
        (["--vae", junk], "not a readable tui-ae checkpoint"),
        (["--ae", vae], "holds the VAE model; pass it with --vae"),
        (["--vae", ae], "holds the AE model; pass it with --ae"),
        (["--ae", ae, "--out", a_file], "--out .*a-file is a file"),
        (["--ae", ae, "--out", a_file / "figs"], "a-file is a file"),
        (["--ae", ae, "--out", "/proc/nope/figs"], "cannot write figures into /proc/nope/figs"),  # even as root
        (["--ae", ae, "--format", "gif"], "'gif' is not one of 'png', 'svg', 'pdf'"),
        (["--ae", ae, "--grid", "1"], "--grid must be between 2 and 30, got 1"),
        (["--ae", ae, "--grid", "31"], "--grid must be between 2 and 30, got 31"),
        (["--ae", ae, "--data-dir", in_tmp], "no mnist files in"),
        ([], "no checkpoints in checkpoints/: train them first"),
    ]
    for args, pattern in cases:
        assert_one_line_error(invoke("figures", *args), pattern)
    assert not (in_tmp / "figures").exists()


def test_an_unwritable_folder_is_refused_before_drawing(trained, tmp_path, monkeypatch):
    out = tmp_path / "locked"
    out.mkdir()

    def denied(*args, dir=None, **kwargs):  # as if chmod -w: root would write anyway
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(files.tempfile, "TemporaryFile", denied)  # the try that files.write_refusal makes
    monkeypatch.setattr(figures, "load_models", lambda *a: pytest.fail("drew before checking --out"))
    assert_one_line_error(
        invoke("figures", "--ae", trained["ae"], "--out", out), "cannot write figures into .*locked: Permission denied"
    )


def test_checks_import_neither_torch_nor_matplotlib_and_drawing_never_imports_textual(trained, tmp_path):
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from tui_ae import cli, figures\n"
        "assert not {'torch', 'matplotlib'} & set(sys.modules), 'imported before drawing'\n"
        f"config = figures.FiguresConfig(ae=Path({str(trained['ae'])!r}), out=Path({str(tmp_path)!r}), grid=2)\n"
        "figures.make_figures(config)\n"
        "assert 'matplotlib' in sys.modules and 'textual' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parent.parent)
