"""The homework's figures for both models, and what a report on them needs, as files (`tui-ae figures`).

    reconstructions        the first test digit of each class over its AE and VAE reconstructions (Figure 3)
    latent-grid-ae         the AE's decodings over a grid of its latent map, in its codes' range (Figure 4)
    latent-grid-vae        the same for the VAE
    latent-grid-vae-prior  the VAE's decodings at evenly spaced quantiles of its prior, N(0, 1)
    latent-scatter         the test set's codes (the VAE's posterior means), coloured by digit
    losses                 train and validation loss per epoch, from the checkpoints' history

A latent space of more than 2 dimensions is shown, as the explorer shows it, on the principal
plane its checkpoint stores: the scatter draws the codes' projections, with the plane's axis
labels; the grids decode the plane plus the local depth (plane.codes_at, the cursor's rule),
and the prior's grid lies along the plane's two directions, every other direction at 0.

Drawn with matplotlib's object API, one Figure per file and no pyplot state, so nothing
needs a display. Every figure is computed and rendered in memory before the first file is
written, so a failure leaves the figures already in the folder as they were. Torch,
torchvision (seconds to import) and matplotlib are imported by the functions that use
them, so a mistyped option is refused at once.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from tui_ae import checkpoint
from tui_ae.config import CHECKPOINT_DIR, FIGURES_DIR
from tui_ae.errors import TuiAeError
from tui_ae.files import write_atomically, write_refusal
from tui_ae.latent import Bounds, grid_points, latent_bounds, quantile_points
from tui_ae.lookup import find_pair
from tui_ae.neighbours import GridIndex
from tui_ae.plane import LocalDepth, Plane, codes_at
from tui_ae.render import LABEL_COLORS

if TYPE_CHECKING:
    from matplotlib.figure import Figure

Format = Literal["png", "svg", "pdf"]
FORMATS: tuple[Format, ...] = ("png", "svg", "pdf")
GRID_MIN, GRID_MAX = 2, 30  # digits per side: 30 x 30 is 900 digits, already finer than a printed page shows
PADDING = 2  # white pixels around each digit of a mosaic
DPI = 150


@dataclass
class FiguresConfig:
    ae: Path | None = None  # None: checkpoints/ae.safetensors, left out if absent
    vae: Path | None = None  # None: checkpoints/vae.safetensors, left out if absent
    out: Path = FIGURES_DIR
    format: Format = "png"
    grid: int = 15  # digits per side of the latent grids
    data_dir: Path | None = None  # None: the test images are found as `tui-ae eval` finds them

    def validate(self) -> None:
        if self.format not in FORMATS:
            raise TuiAeError(f"--format must be one of {', '.join(FORMATS)}, got {self.format!r}")
        if not GRID_MIN <= self.grid <= GRID_MAX:
            raise TuiAeError(f"--grid must be between {GRID_MIN} and {GRID_MAX}, got {self.grid}")


@dataclass
class Report:
    written: list[Path] = field(default_factory=list)
    skipped: list[tuple[list[str], str]] = field(default_factory=list)  # file names left out, and why


@dataclass
class Model:
    """A loaded checkpoint and the test images it is drawn with."""

    net: object  # the torch module, in eval mode on the CPU
    header: checkpoint.Header
    stored: checkpoint.LatentCodes | None  # the validation codes the checkpoint holds, as the explorer maps them
    test_images: np.ndarray  # (N, 28, 28) in [0, 1]
    test_labels: np.ndarray  # (N,) int

    @property
    def plane(self) -> Plane:
        """What its maps show of its latent space: a 2-D model's own axes, else its codes' principal plane."""
        return self.stored.plane if self.stored is not None and self.stored.plane is not None else Plane.identity()


# -- Checks: everything a user can get wrong, before anything heavy is imported ---------------------------------


def check_out_dir(out: Path) -> None:
    """Fail now, not after the figures are drawn, if they cannot be written into out.

    The folder itself is made only when the figures are written; here a temporary file, made and
    removed in its nearest existing part (files.write_refusal), proves that it can be.
    """
    if out.exists() and not out.is_dir():
        raise TuiAeError(f"--out {out} is a file: give a folder for the figures")
    existing = out
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise TuiAeError(f"cannot make the folder {out}: {existing} is a file")
    if why := write_refusal(existing):
        raise TuiAeError(f"cannot write figures into {out}: {why}")


# -- The models' side: encode, decode, reconstruct (torch) -----------------------------------------------------


def load_models(found: dict[str, Path], data_dir: Path | None, notify: Callable[[str], None]) -> dict[str, Model]:
    from tui_ae import data  # imports torch

    models: dict[str, Model] = {}
    tests: dict[str, data.Digits] = {}  # one read per source
    for kind, path in found.items():
        net, header, _ = checkpoint.load(path, device="cpu", kind=kind)
        _, stored = checkpoint.read_codes(path)
        if checkpoint.needs_encoding(net.latent_dim, stored):  # an old file: its first two axes only
            from tui_ae.evaluation import validation_map

            stored = validation_map(net, path, header, data_dir)
        key = f"{header.meta.get('dataset')}:{header.meta.get('data_source')}"
        if key not in tests:
            tests[key] = data.read_test_digits(header.meta, data_dir, notify=notify)
        test = tests[key]
        images = test.images.numpy().astype(np.float32) / 255
        models[kind] = Model(net, header, stored, images, test.labels.numpy())
    datasets = {m.header.meta.get("dataset", "mnist") for m in models.values()}
    if len(datasets) > 1:
        raise TuiAeError(
            "the AE and the VAE were trained on different data sets "
            f"({', '.join(sorted(datasets))}): draw each one's figures alone, with --ae or --vae and its own --out"
        )
    return models


def decode(net, codes: np.ndarray) -> np.ndarray:
    """(N, latent_dim) codes -> (N, 28, 28) in [0, 1]."""
    import torch

    return net.decode(torch.from_numpy(np.asarray(codes, dtype=np.float32)))[:, 0].float().numpy()


def reconstruct(net, images: np.ndarray) -> np.ndarray:
    """Each image decoded from its whole code (the VAE's from its posterior mean, as eval measures it)."""
    import torch

    return net.reconstruct(torch.from_numpy(images).unsqueeze(1)).images[:, 0].float().numpy()


def map_codes(m: Model, xy: np.ndarray) -> np.ndarray:
    """(N, 2) points of a model's map -> (N, D) the codes the map decodes there, as the explorer's cursor does."""
    if m.stored is None or m.stored.plane is None:
        return m.plane.code(xy)  # a 2-D model: the points themselves
    residuals = m.stored.plane.residuals(m.stored.codes)
    return codes_at(m.plane, LocalDepth(GridIndex(m.stored.points, depths=residuals), residuals), xy)


def axis_names(plane: Plane, quantiles: bool = False) -> tuple[str, str]:
    """A map's axis labels, as matplotlib writes them: z₁ and z₂ as mathematics, else the principal components."""
    if plane.shares is None:
        names = ("$z_1$", "$z_2$")
        return tuple(f"{name} (at evenly spaced quantiles of N(0, 1))" for name in names) if quantiles else names
    names = plane.axis_labels()
    if quantiles:  # along the components' directions from the prior's mean, every other direction at 0
        return tuple(f"{name.split()[0]} direction, at N(0, 1)'s quantiles (other directions 0)" for name in names)
    return names


def mosaic(images: np.ndarray, per_row: int) -> np.ndarray:
    """(N, 28, 28) -> one (H, W) image, per_row digits a row, with white between them (torchvision's make_grid)."""
    import torch
    from torchvision.utils import make_grid

    tiles = torch.from_numpy(np.asarray(images, dtype=np.float32)).unsqueeze(1)  # (N, 1, 28, 28)
    return make_grid(tiles, nrow=per_row, padding=PADDING, pad_value=1.0)[0].numpy()


# -- The figures (matplotlib), from arrays ---------------------------------------------------------------------


def _tile_centres(count: int) -> np.ndarray:
    """Where imshow puts the centres of a mosaic's digits along one axis (pixel i spans i - 0.5 to i + 0.5)."""
    return PADDING + np.arange(count) * (28 + PADDING) + 13.5


def reconstruction_figure(originals: np.ndarray, labels: np.ndarray, rows: dict[str, np.ndarray]) -> Figure:
    """Originals on top, each model's reconstructions under them, a row's MSE per pixel in its label."""
    from matplotlib.figure import Figure

    n = len(originals)
    names = ["test image"] + [
        f"{kind.upper()}\nMSE {np.mean((recon - originals) ** 2):.4f}" for kind, recon in rows.items()
    ]
    image = mosaic(np.concatenate([originals, *rows.values()]), per_row=n)
    fig = Figure(figsize=(1.0 + 0.75 * n, 0.6 + 0.9 * len(names)), layout="constrained")
    ax = fig.add_subplot()
    ax.imshow(image, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks(_tile_centres(n), [str(k) for k in labels])
    ax.set_yticks(_tile_centres(len(names)), names)
    ax.tick_params(length=0)
    ax.set_title("The first test image of each digit and its reconstructions (MSE per pixel)")
    return fig


def _grid_extent(bounds: Bounds, n: int) -> tuple[float, float, float, float]:
    """imshow's (left, right, bottom, top) that puts each digit's centre on its grid point, padding and all.

    grid_points() puts n points a step apart, the first half a step inside the bounds;
    in the mosaic their digits' centres are 28 + PADDING pixels apart.
    """
    x_min, x_max, y_min, y_max = bounds
    pitch = 28 + PADDING
    first, size = PADDING + 14, n * pitch + PADDING  # the first digit's centre and the mosaic's side, in pixels
    dx, dy = (x_max - x_min) / n, (y_max - y_min) / n

    def at(pixel: int, first_value: float, step: float) -> float:
        return first_value + (pixel - first) / pitch * step

    left, right = at(0, x_min + dx / 2, dx), at(size, x_min + dx / 2, dx)
    top, bottom = at(0, y_max - dy / 2, -dy), at(size, y_max - dy / 2, -dy)  # rows run down from y_max
    return left, right, bottom, top


def grid_figure(
    image: np.ndarray, n: int, title: str, bounds: Bounds | None = None, labels: tuple[str, str] | None = None
) -> Figure:
    """An n x n mosaic of decodings; axes in latent units over bounds, or at N(0, 1)'s quantiles without them.

    labels: the axes' (axis_names); z₁ and z₂ by default."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 8.4), layout="constrained")
    ax = fig.add_subplot()
    if bounds is not None:
        extent = _grid_extent(bounds, n)
        # Square digits: the axes stay square whatever the two axes' latent ranges, each with its own scale.
        ax.imshow(image, cmap="gray", vmin=0, vmax=1, interpolation="nearest", extent=extent, aspect="auto")
        ax.set_box_aspect(1)
        xlabel, ylabel = labels or axis_names(Plane.identity())
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
    else:
        ax.imshow(image, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        quantiles = quantile_points(n, n)
        step = math.ceil(n / 8)  # at most 8 labels an axis, so they stay legible
        shown = np.arange(0, n, step)
        ax.set_xticks(_tile_centres(n)[shown], [f"{v:.2f}" for v in quantiles[:n, 0][shown]])
        ax.set_yticks(_tile_centres(n)[shown], [f"{v:.2f}" for v in quantiles[::n, 1][shown]])
        xlabel, ylabel = labels or axis_names(Plane.identity(), quantiles=True)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
    ax.set_title(title)
    return fig


def scatter_figure(
    codes: dict[str, tuple[np.ndarray, np.ndarray]], axes_named: dict[str, tuple[str, str]] | None = None
) -> Figure:
    """Side by side, each model's test codes on its map (N, 2) coloured by digit, with one legend.

    axes_named: each model's axis labels (axis_names); z₁ and z₂ by default."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(1.5 + 5.5 * len(codes), 6), layout="constrained")
    axes = fig.subplots(1, len(codes), squeeze=False)[0]
    for ax, (kind, (points, labels)) in zip(axes, codes.items()):
        for digit in range(10):
            mine = points[labels == digit]
            # rasterized: thousands of dots, kept as one bitmap inside an SVG or a PDF
            ax.scatter(*mine.T, s=2, lw=0, color=LABEL_COLORS[digit], alpha=0.6, label=str(digit), rasterized=True)
        x_min, x_max, y_min, y_max = latent_bounds(points)
        ax.set_xlim(x_min, x_max)
        ax.set_ylim(y_min, y_max)
        xlabel, ylabel = (axes_named or {}).get(kind) or axis_names(Plane.identity())
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        what = "posterior means" if kind == "vae" else "codes"
        ax.set_title(f"{kind.upper()}: {len(points):,} test images' {what}")
    fig.legend(
        *axes[0].get_legend_handles_labels(), loc="outside right center", title="digit", markerscale=5, frameon=False
    )
    return fig


def losses_figure(histories: dict[str, list[dict]]) -> Figure:
    """Per model, the train and validation loss of every epoch, in the model's own units."""
    from matplotlib.figure import Figure

    units = {"ae": "MSE per pixel", "vae": "−ELBO, nats per image"}
    fig = Figure(figsize=(1 + 5 * len(histories), 4.2), layout="constrained")
    axes = fig.subplots(1, len(histories), squeeze=False)[0]
    for ax, (kind, history) in zip(axes, histories.items()):
        epochs = [h["epoch"] for h in history]
        for split in ("train", "val"):
            # The VAE's training loss weights its KL by --beta and any warm-up: recon + KL is its true -ELBO.
            values = [h[split]["recon"] + h[split]["kl"] if kind == "vae" else h[split]["loss"] for h in history]
            name = "train" if split == "train" else "validation"
            ax.plot(epochs, values, marker="o", ms=3, label=f"{name} (last {values[-1]:.4g})")
        ax.set_xlabel("epoch")
        ax.set_ylabel(units[kind])
        ax.set_title(f"{kind.upper()} loss")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.grid(alpha=0.3)
        ax.legend()
    return fig


def render(fig: Figure, fmt: Format) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, dpi=DPI)
    return buffer.getvalue()


# -- The command ----------------------------------------------------------------------------------------------


def draw(models: dict[str, Model], grid: int) -> tuple[dict[str, Figure], list[tuple[list[str], str]]]:
    """(file stem -> figure, figures left out and why) for the models at hand."""
    from tui_ae.data import first_of_each_class  # data imports torch: here, once the models have
    from tui_ae.evaluation import encode_images

    figures: dict[str, Figure] = {}
    first = next(iter(models.values()))
    chosen = first_of_each_class(first.test_labels)
    originals = first.test_images[chosen]
    rows = {kind: reconstruct(m.net, originals) for kind, m in models.items()}
    figures["reconstructions"] = reconstruction_figure(originals, first.test_labels[chosen], rows)
    codes = {kind: (m.plane.project(encode_images(m.net, m.test_images)), m.test_labels) for kind, m in models.items()}
    for kind, m in models.items():
        # The explorer's bounds: those of the validation codes the checkpoint stores (else of the test codes).
        where, points = ("validation", m.stored.points) if m.stored is not None else ("test", codes[kind][0])
        bounds = latent_bounds(points)
        image = mosaic(decode(m.net, map_codes(m, grid_points(grid, grid, bounds))), per_row=grid)
        on = "" if m.plane.shares is None else " (plane + local depth)"
        title = f"{kind.upper()}: decodings over the range of its {where} codes{on}"
        figures[f"latent-grid-{kind}"] = grid_figure(image, grid, title, bounds, axis_names(m.plane))
        if kind == "vae":
            image = mosaic(decode(m.net, m.plane.directions(quantile_points(grid, grid))), per_row=grid)
            title, labels = "VAE: decodings at the prior's quantiles", axis_names(m.plane, quantiles=True)
            figures["latent-grid-vae-prior"] = grid_figure(image, grid, title, labels=labels)
    figures["latent-scatter"] = scatter_figure(codes, {kind: axis_names(m.plane) for kind, m in models.items()})
    histories = {kind: m.header.meta.get("history") or [] for kind, m in models.items()}
    skipped = []
    if any(histories.values()):
        figures["losses"] = losses_figure({kind: h for kind, h in histories.items() if h})
    else:
        skipped.append((["losses"], "the checkpoints hold no training history"))
    return figures, skipped


def write_files(files: dict[str, bytes], out: Path) -> list[Path]:
    """Each file replaced atomically (a temporary file, then a rename): old or new, never half written."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise TuiAeError(f"cannot make the folder {out}: {e.strerror or e}") from None
    written = []
    for name, content in files.items():
        write_atomically(out / name, content)
        written.append(out / name)
    return written


def make_figures(config: FiguresConfig, notify: Callable[[str], None] = print) -> Report:
    """Check everything, draw every figure the checkpoints allow, then write them into config.out."""
    config.validate()
    found = find_pair(config.ae, config.vae)
    check_out_dir(config.out)
    models = load_models({kind: path for kind, path in found.items() if path}, config.data_dir, notify)
    figures, skipped = draw(models, config.grid)
    for kind in (kind for kind, path in found.items() if path is None):
        names = [f"latent-grid-{kind}"] + (["latent-grid-vae-prior"] if kind == "vae" else [])
        alone, default = next(iter(models)).upper(), CHECKPOINT_DIR / f"{kind}.safetensors"
        why = f"no {kind.upper()} checkpoint at {default} (the other figures show the {alone} alone)"
        skipped.insert(0, (names, why))
    files = {f"{stem}.{config.format}": render(fig, config.format) for stem, fig in figures.items()}
    report = Report(written=write_files(files, config.out))
    report.skipped = [([f"{stem}.{config.format}" for stem in stems], why) for stems, why in skipped]
    return report
