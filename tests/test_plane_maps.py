"""The explorer on latent spaces of more than two dimensions, with stub models whose encoder and decoder are known
linear maps: the plane, the projections, the local depth, each decoding, the distances and the VAE's projected
ellipse all have exact expected values, worked out here by brute force apart from the package's code."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import explorer_meta, info_text, sample_validation_images, settle

from tui_ae.checkpoint import LatentCodes, save
from tui_ae.latent import grid_points, quantile_points
from tui_ae.models import Reconstruction, build_model
from tui_ae.tui.app import ExplorerApp
from tui_ae.tui.explore_view import REST
from tui_ae.tui.grid_screen import GridScreen
from tui_ae.tui.grid_view import GridView, grid_shape, mosaic
from tui_ae.tui.nearest import times

DIM = 8
SIZE = (120, 40)
RNG = np.random.default_rng(11)
DECODER = RNG.normal(size=(DIM, 784)) * 0.02  # image = clip(code @ DECODER + 0.5)
ENCODER = RNG.normal(size=(784, DIM)) * 0.05  # code = image @ ENCODER
SIGMA = np.array([0.9, 0.05, 0.4, 0.3, 0.02, 0.6, 0.1, 0.2])  # the stub VAE's posterior σ, for every image


def decoded(codes: np.ndarray) -> np.ndarray:
    """(B, D) -> (B, 28, 28): the stubs' decoder, in float64."""
    return np.clip(np.asarray(codes, dtype=np.float64) @ DECODER + 0.5, 0, 1).reshape(-1, 28, 28)


def encoded(images: np.ndarray) -> np.ndarray:
    """(B, 28, 28) -> (B, D): the stubs' encoder, as the stub computes it (its codes are float32)."""
    return (np.asarray(images, dtype=np.float64).reshape(len(images), -1) @ ENCODER).astype(np.float32)


class LinearAE:
    """A model of DIM latent dimensions whose encoder and decoder are the linear maps above."""

    latent_dim = DIM

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(decoded(z.numpy()).astype(np.float32))[:, None]

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(encoded(x.numpy()[:, 0]))

    def reconstruct(self, x: torch.Tensor) -> Reconstruction:
        codes = self.encode(x)
        return Reconstruction(codes, self.decode(codes), self.sigma(len(x)))

    def sigma(self, n: int) -> torch.Tensor | None:
        return None


class LinearVAE(LinearAE):
    def sigma(self, n: int) -> torch.Tensor:
        return torch.from_numpy(np.tile(SIGMA, (n, 1)).astype(np.float32))


def stub_loader(path: Path, kind: str) -> LinearAE:
    return LinearVAE() if kind == "vae" else LinearAE()


def map_codes(n: int = 1000, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """(codes (n, DIM) float32, labels): ten clusters spread mostly along two random directions, some along the rest."""
    rng = np.random.default_rng(seed)
    basis, _ = np.linalg.qr(rng.normal(size=(DIM, DIM)))
    labels = np.arange(n) % 10
    centres = rng.normal(size=(10, DIM)) * np.array([6.0, 3.0, 1.0, 0.8, 0.5, 0.5, 0.3, 0.2])
    codes = (centres[labels] + rng.normal(size=(n, DIM)) * 0.4) @ basis.T + 1.5
    return codes.astype(np.float32), labels.astype(np.uint8)


@pytest.fixture(scope="module")
def pair(tmp_path_factory) -> tuple[Path, Path]:
    """(ae, vae): checkpoints of DIM dimensions whose maps are map_codes(), as training writes them."""
    folder = tmp_path_factory.mktemp("planes")
    paths = []
    for kind, seed in (("ae", 3), ("vae", 4)):
        codes, labels = map_codes(seed=seed)
        torch.manual_seed(0)
        save(folder / f"{kind}.safetensors", build_model(kind, latent_dim=DIM), explorer_meta(),
             codes=LatentCodes.of(codes, labels))  # fmt: skip
        paths.append(folder / f"{kind}.safetensors")
    return paths[0], paths[1]


def make_app(pair, **kwargs) -> ExplorerApp:
    return ExplorerApp(*pair, seed=0, model_loader=stub_loader, images_loader=sample_validation_images, **kwargs)


class Expected:
    """What one model's map should be, worked out from its codes by brute force."""

    def __init__(self, codes: np.ndarray) -> None:
        self.codes = codes.astype(np.float64)
        self.mean = self.codes.mean(axis=0)
        centred = self.codes - self.mean
        values, vectors = np.linalg.eigh(centred.T @ centred / len(centred))  # ascending
        axes = vectors[:, ::-1][:, :2].copy()
        for axis in range(2):  # the largest loading positive
            axes[:, axis] *= np.sign(axes[np.argmax(np.abs(axes[:, axis])), axis])
        self.axes, self.shares = axes, values[::-1][:2] / values.sum()
        self.projections = centred @ axes
        self.residuals = centred - self.projections @ axes.T
        plane_nearest = nearest_distances(self.projections)
        self.bandwidth = float(np.median(plane_nearest))
        self.fade = 10 * float(np.percentile(plane_nearest, 99))
        full_nearest = nearest_distances(self.codes)
        self.spacing = float(np.median(full_nearest)), float(np.percentile(full_nearest, 99))

    def depth(self, x: float, y: float) -> np.ndarray:
        """r(c): the Gaussian-weighted mean of the residuals of the 16 nearest projections, faded with the nearest."""
        d = np.sqrt(((self.projections - (x, y)) ** 2).sum(axis=1))
        nearest = np.lexsort((np.arange(len(d)), d))[:16]
        weights = np.exp(-0.5 * (d[nearest] ** 2 - d[nearest[0]] ** 2) / self.bandwidth**2)  # ∝ exp(-d²/2h²)
        mean = weights @ self.residuals[nearest] / weights.sum()
        return mean * math.exp(-0.5 * (d[nearest[0]] / self.fade) ** 2)

    def code(self, x: float, y: float) -> np.ndarray:
        return self.mean + x * self.axes[:, 0] + y * self.axes[:, 1] + self.depth(x, y)

    def distances(self, code: np.ndarray) -> np.ndarray:
        return np.sqrt(((self.codes - code) ** 2).sum(axis=1))


def nearest_distances(points: np.ndarray) -> np.ndarray:
    d2 = ((points[:, None, :] - points[None, :, :]) ** 2).sum(axis=2)
    np.fill_diagonal(d2, np.inf)
    return np.sqrt(d2.min(axis=1))


@pytest.fixture(scope="module")
def expected(pair) -> dict[str, Expected]:
    return {"ae": Expected(map_codes(seed=3)[0]), "vae": Expected(map_codes(seed=4)[0])}


def same_line(a: np.ndarray, b: np.ndarray) -> bool:
    return abs(abs(float(a @ b)) - 1) < 1e-6


# -- the map ---------------------------------------------------------------------------------------------------


async def test_the_map_is_the_codes_principal_plane_with_its_axes_named(pair, expected):
    app = make_app(pair)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for kind, want in expected.items():
            slot = app.slots[kind]
            np.testing.assert_allclose(slot.plane.mean, want.mean, atol=1e-5)
            np.testing.assert_allclose(slot.plane.axes, want.axes, atol=1e-5)  # signs included
            np.testing.assert_allclose(slot.points, want.projections, atol=1e-4)  # where each code is drawn
            first, second = (round(100 * share) for share in want.shares)
            assert str(app.maps[kind].border_subtitle) == f"x PC1 ({first}% of variance) · y PC2 ({second}%)"


async def test_at_80_columns_the_axes_keep_their_shares_and_drop_their_words(pair, expected):
    app = make_app(pair)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for kind, want in expected.items():
            first, second = (round(100 * share) for share in want.shares)
            assert str(app.maps[kind].border_subtitle) == f"x PC1 ({first}%) · y PC2 ({second}%)"
        first, second = (round(100 * share) for share in expected["ae"].shares)
        await pilot.press("c", "a", "n", "b")  # interpolation: four columns, maps of 22
        await settle(pilot)
        assert str(app.maps["ae"].border_subtitle) == "PC1 · PC2"
        await pilot.press("escape", "escape")  # back to exploring: maps of half the screen
        await pilot.resize_terminal(120, 40)
        await settle(pilot)
        assert str(app.maps["ae"].border_subtitle) == f"x PC1 ({first}% of variance) · y PC2 ({second}%)"


async def test_the_cursor_decodes_the_plane_plus_the_local_depth_and_says_so(pair, expected):
    app = make_app(pair)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        deep = 0
        for keys in ((), ("right", "right", "up"), ("shift+left", "down"), ("shift+up",) * 6):
            await pilot.press(*keys)
            for kind in ("ae", "vae"):
                slot = app.slots[kind]
                code = expected[kind].code(slot.x, slot.y)
                deep += np.abs(expected[kind].depth(slot.x, slot.y)).max() > 0.05  # where the depth counts
                np.testing.assert_allclose(app.explorer.digit_views[kind].image, decoded(code[None])[0], atol=1e-5)
        assert deep >= 4
        assert app.explorer.info["ae"].readout_shown[1] == "decodes plane + local depth"
        assert app.explorer.info["vae"].readout_shown[2] == "decodes plane + local depth"


async def test_the_readout_and_the_nearest_images_measure_in_every_dimension(pair, expected):
    app = make_app(pair)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for kind, want in expected.items():
            for step in range(6):
                slot = app.slots[kind]
                x, y = want.projections[37 * step + 5] + (0.3, -0.2)  # near a code, off it
                app.explorer.jump(kind, x, y)
                await settle(pilot, rest=2 * REST)
                code = want.code(slot.x, slot.y)
                distances = want.distances(code)
                nearest = np.argsort(distances, kind="stable")[:3]
                info = app.explorer.info[kind]
                assert [n.key for n in info.neighbours] == nearest.tolist()
                units = distances[nearest[0]] / want.spacing[0]
                off = distances[nearest[0]] > want.spacing[1]
                assert info.off_the_data == off
                text = f"off the data: {times(units)} spacing" if off else f"nearest code {times(units)} spacing"
                assert info.readout_shown[0] == text
                assert [n.distance for n in info.neighbours] == [times(d / want.spacing[0]) for d in distances[nearest]]
                if kind == "vae":  # the prior's log-density over all eight dimensions
                    log_p = -0.5 * (DIM * math.log(2 * math.pi) + code @ code)
                    assert info.readout_shown[1] == f"log p(z) {log_p:.2f}".replace("-", "−")
        app.explorer.jump("ae", *app.slots["ae"].bounds[1::2])  # the map's far corner: no code near
        await settle(pilot)
        assert app.explorer.info["ae"].off_the_data


def medoid(points: np.ndarray, labels: np.ndarray, digit: int) -> int:
    members = np.flatnonzero(labels == digit)
    mine = points[members]
    return int(members[np.argmin(np.sqrt(((mine[:, None] - mine[None]) ** 2).sum(axis=2)).sum(axis=1))])


async def test_a_digit_key_goes_to_the_medoid_in_full_dimensions_drawn_at_its_projection(pair, expected):
    app = make_app(pair)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        want, slot = expected["ae"], app.slots["ae"]
        full = {digit: medoid(want.codes, slot.labels, digit) for digit in range(10)}
        differ = [digit for digit in range(10) if medoid(want.projections, slot.labels, digit) != full[digit]]
        assert differ  # where the plane alone would choose another code
        for digit in (*differ, 0):
            await pilot.press(str(digit))
            assert (slot.x, slot.y) == tuple(slot.points[full[digit]].tolist())


# -- compare, interpolation, grid --------------------------------------------------------------------------------


async def test_compare_marks_the_projected_code_and_the_projected_posterior(pair, expected, tiny_mnist):
    app = make_app(pair, data_dir=tiny_mnist)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("c", "n")
        await settle(pilot)
        test = app.compare.tests["mnist"]
        image = test.images[1].astype(np.float32) / 255
        code = encoded(image[None])[0].astype(np.float64)
        for kind, want in expected.items():
            point = (code - want.mean) @ want.axes
            assert app.maps[kind].mark_point == pytest.approx(tuple(point), abs=1e-5)
            np.testing.assert_allclose(app.compare.panel(kind).image, decoded(code[None])[0], atol=1e-5)
        vae, want = app.maps["vae"], expected["vae"]
        covariance = want.axes.T @ np.diag(SIGMA**2) @ want.axes
        values, vectors = np.linalg.eigh(covariance)
        for name, k in (("1σ", 1), ("2σ", 2)):
            shape = vae.overlays[name].shape
            assert shape.radii == pytest.approx((k * math.sqrt(values[1]), k * math.sqrt(values[0])), rel=1e-5)
            assert same_line(np.array([math.cos(shape.angle), math.sin(shape.angle)]), vectors[:, 1])
        along = np.sqrt(np.diag(covariance))
        active = int((want.codes.var(axis=0) > 0.01).sum())
        text = " ".join(info_text(app).split())
        assert f"σ ({along[0]:.3f}, {along[1]:.3f}) along PC1, PC2 {active} of 8 dims active" in text


async def test_interpolation_runs_in_the_full_space_and_draws_its_projection(pair, expected, tiny_mnist):
    app = make_app(pair, data_dir=tiny_mnist)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        await pilot.press("a", "n", "n", "b")
        await settle(pilot)
        view = app.interpolation
        test = app.compare.tests["mnist"]
        a, b = encoded(test.images[[0, 2]].astype(np.float32) / 255).astype(np.float64)
        t = np.linspace(0, 1, view.steps)[:, None]
        for kind, want in expected.items():
            np.testing.assert_allclose(view.decodings[kind], decoded(a + t * (b - a)), atol=1e-5)
            path = app.maps[kind].overlays["path"].shape
            assert path.start == pytest.approx(tuple((a - want.mean) @ want.axes), abs=1e-5)
            assert path.end == pytest.approx(tuple((b - want.mean) @ want.axes), abs=1e-5)
        await pilot.press("right", "right")
        for kind, want in expected.items():
            marker = app.maps[kind].overlays["marker"].shape
            assert (marker.x, marker.y) == pytest.approx(tuple((a + t[2] * (b - a) - want.mean) @ want.axes), abs=1e-5)


async def test_grid_mode_decodes_the_plane_by_the_cursors_rule_and_the_prior_along_its_directions(pair, expected):
    app = make_app(pair)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("g")
        await settle(pilot)
        assert isinstance(app.screen, GridScreen)
        for kind, want in expected.items():
            view = app.screen.query_one(f"#{kind}-grid", GridView)
            cols, rows, scale = grid_shape(*view.content_size)
            points = grid_points(cols, rows, app.slots[kind].bounds)
            images = decoded(np.stack([want.code(x, y) for x, y in points]))
            np.testing.assert_allclose(view.image, mosaic(images, cols, rows, scale), atol=1e-5)
        await pilot.press("b")
        await settle(pilot)
        view, want = app.screen.query_one("#vae-grid", GridView), expected["vae"]
        cols, rows, scale = grid_shape(*view.content_size)
        codes = quantile_points(cols, rows) @ want.axes.T  # through 0, every other direction at 0
        np.testing.assert_allclose(view.image, mosaic(decoded(codes), cols, rows, scale), atol=1e-5)


async def test_before_the_map_is_indexed_the_plane_alone_is_decoded_and_said(pair, expected):
    app = ExplorerApp(*pair, seed=0, model_loader=stub_loader, images_loader=None)  # nothing indexes the maps
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        slot, want = app.slots["ae"], expected["ae"]
        plane_point = want.mean + slot.x * want.axes[:, 0] + slot.y * want.axes[:, 1]
        np.testing.assert_allclose(app.explorer.digit_views["ae"].image, decoded(plane_point[None])[0], atol=1e-5)
        assert app.explorer.info["ae"].readout_shown[1] == "decodes the plane alone"


# -- an old checkpoint: two stored axes of eight -------------------------------------------------------------------


@pytest.fixture
def old_pair(tmp_path, tiny_mnist) -> tuple[Path, Path, np.ndarray]:
    """(ae, a folder without data, the validation images' labels): an 8-D AE saved as tui-ae did before the plane,
    its map the first two axes of its codes; trained, as it were, on tiny_mnist."""
    from tui_ae import data

    raw = data.find_raw_dir("mnist", tiny_mnist)
    _, val = data.train_val_split(data.read_split(raw, "train", "x"))
    torch.manual_seed(0)
    model = build_model("ae", latent_dim=8).eval()
    codes = model.encode(val.images[:, None].float() / 255).numpy()
    path = tmp_path / "old-ae.safetensors"
    meta = explorer_meta(data_source=f"mnist:{raw}")
    save(path, model, meta, codes=LatentCodes(codes[:, :2], val.labels.numpy().astype(np.uint8)))
    return path, codes


async def test_an_old_8d_checkpoint_gets_its_map_from_its_validation_images_in_memory(old_pair):
    path, codes = old_pair
    before = path.read_bytes()
    app = ExplorerApp(path, None, seed=0)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await settle(pilot)
        slot = app.slots["ae"]
        assert slot.model is not None and slot.load_error is None and slot.plane.shares is not None
        want = Expected(codes)
        np.testing.assert_allclose(slot.codes, codes, atol=1e-5)
        np.testing.assert_allclose(slot.points, want.projections, atol=1e-4)
        assert str(app.maps["ae"].border_subtitle).startswith("x PC1 (")
        await pilot.press("right", "up")
        with torch.no_grad():
            shown = slot.model.decode(torch.tensor(want.code(slot.x, slot.y)[None], dtype=torch.float32))
        np.testing.assert_allclose(app.explorer.digit_views["ae"].image, shown[0, 0].numpy(), atol=1e-5)
    assert path.read_bytes() == before  # nothing written back


async def test_an_old_8d_checkpoint_without_its_data_says_which_data_it_needs(old_pair, tmp_path, monkeypatch):
    path, _ = old_pair
    moved = tmp_path / "elsewhere.safetensors"
    monkeypatch.chdir(tmp_path)
    import shutil

    shutil.copy(path, moved)
    shutil.rmtree(tmp_path / "data")  # the folder its training read is gone; no MNIST in the cache either
    app = ExplorerApp(moved, None, seed=0)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        slot = app.slots["ae"]
        assert slot.model is None and "\n" not in slot.load_error
        assert "stores only 2 of its 8 latent axes" in slot.load_error
        assert "in mnist's train-images-idx3-ubyte and train-labels-idx1-ubyte" in slot.load_error
        assert slot.load_error.endswith("pass --data-dir")
        assert str(app.maps["ae"].border_subtitle) == slot.load_error
        assert app.explorer.info["ae"].note == ""  # no map: nothing to find the nearest images of
