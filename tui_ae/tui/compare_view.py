"""Compare mode (the homework's Figure 3): a test image, its AE and VAE reconstructions, their encodings ◆ on the maps.

The mode's owner: its test images (read in a thread worker, once per data set), which
one is shown, and its keys, live while it has the focus. A model reconstructs only
images of the data set it was trained on: the test images are those of the active
model's data set, and a model trained on another one says so in its panel.

The ◆ is the image's code as its map shows it: on a principal plane, the projection of the
full code (the reconstruction decodes the full code). The VAE encodes an image as a
distribution, N(mu, diag(σ²)): its 1σ and 2σ outlines are drawn around the ◆ on the VAE's
map (on a plane, the posterior projected on it: a turned ellipse), and σ along the map's
axes is given in the side panel, with how many of the latent dimensions are active. The
maps are the app's: this view posts where each ◆ and outline goes (messages.py), and the
app draws them. `a` marks the shown image as A, `b` the shown one as B, and asks the app
for the interpolation view.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message

from tui_ae.config import KINDS, MNIST_SOURCE, SAMPLE_SOURCE
from tui_ae.errors import TuiAeError
from tui_ae.render import ColorMode, Glyph
from tui_ae.tui.digit_view import DigitView
from tui_ae.tui.fitted_lines import FittedLines, Line
from tui_ae.tui.formatting import mark_forms
from tui_ae.tui.keys import bindings
from tui_ae.tui.map_shapes import Ellipse, Grid, Overlay, cell_at
from tui_ae.tui.messages import MarkMoved, OverlaysChanged, TestImagesFailed, TestImagesLoaded
from tui_ae.tui.path_text import PathText, home_relative
from tui_ae.tui.slot import Slot

PANELS = ("original", *KINDS)
DATASET_NAMES = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST"}
SIGMAS = (("2σ", 2, "·", "dim"), ("1σ", 1, "•", "bright"))  # overlay, σ's multiple, glyph, look; 1σ over 2σ
NOTE, LABEL, LEGEND, SPACING = 1, 2, 3, 4  # the side panel's dispensable lines: the highest go first


Posterior = tuple[tuple[float, float], np.ndarray]  # a test image's code on the map (its posterior mean), σ (D,)


def outlines(point: tuple[float, float], radii: tuple[float, float], angle: float = 0.0) -> dict[str, Overlay]:
    """The outlines of a 1σ ellipse's multiples (plane.ellipse) around a code, by name, as the VAE's map draws them."""
    return {
        name: Overlay(Ellipse(point, (k * radii[0], k * radii[1]), angle), glyph, look)
        for name, k, glyph, look in SIGMAS
    }


def posterior_outlines(slot: Slot, point: tuple[float, float], sigma: np.ndarray) -> dict[str, Overlay]:
    """The outlines of the posterior N(code, diag(σ²)) projected on the slot's map."""
    return outlines(point, *slot.plane.ellipse(sigma))


def sigma_lines(slot: Slot, sigma: np.ndarray) -> list[Line]:
    """σ along the map's axes; on a plane, also how many latent dimensions are active (evaluation.active_units)."""
    along = slot.plane.sigma_along_axes(sigma)
    lines = [Line(Text(f"σ ({along[0]:.3f}, {along[1]:.3f})"))]
    if slot.plane.shares is None:
        return lines
    import torch  # the model is in: torch is loaded

    from tui_ae.evaluation import active_units

    active = active_units(torch.from_numpy(np.asarray(slot.codes)))
    return lines + [Line(Text("along PC1, PC2"), LEGEND), Line(Text(f"{active} of {slot.latent_dim} dims active"))]


def dataset_of(slot: Slot) -> str:
    """The data set a slot's model was trained on (MNIST for a checkpoint that does not say)."""
    return slot.header.meta.get("dataset", "mnist") if slot.header else "mnist"


def dataset_name(dataset: str) -> str:
    return DATASET_NAMES.get(dataset, dataset)


def describe_source(source: str, cache: Path) -> str:
    """Where the test images came from, for the info column; for the old sample, how to see them all."""
    if source == SAMPLE_SOURCE:
        return f"the MNIST sample the model was trained on: for all 10,000, pass --data-dir {home_relative(str(cache))}"
    if source == MNIST_SOURCE:
        return "MNIST, as tui-ae ships it"
    return home_relative(source.split(":", 1)[-1])


class CompareView(Horizontal):
    DEFAULT_CSS = """
    CompareView { height: 16; }
    """
    BINDINGS = bindings("compare")
    can_focus = True

    @dataclass
    class Interpolate(Message):
        """The user marked A, then B: show the path between these two test images."""

        dataset: str
        indices: tuple[int, int]  # A's and B's, in the data set's test images
        labels: tuple[int, int]
        images: np.ndarray  # (2, 28, 28) in [0, 1]

    def __init__(
        self,
        slots: dict[str, Slot],
        *,
        mode: ColorMode,
        glyph: Glyph,
        data_dir: Path | None = None,
        seed: int | None = None,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.slots = slots
        self.grids: dict[str, Grid] = {}  # by kind: its map's (width, height) in cells as laid out; the app's to set
        self.mode, self.glyph, self.data_dir = mode, glyph, data_dir
        self.rng = np.random.default_rng(seed)
        self.tests: dict[str, TestImagesLoaded | TestImagesFailed] = {}  # by data set, once read
        self.asked: set[str] = set()  # data sets being read or read: each is read once
        self.dataset = "mnist"  # whose test images are shown
        self.index = 0
        self.showing = False
        self.a: tuple[str, int] | None = None  # the test image marked A: its data set and index

    def compose(self) -> ComposeResult:
        for name in PANELS:
            yield DigitView(mode=self.mode, glyph=self.glyph, id=f"compare-{name}")
        yield FittedLines(id="compare-info", classes="info")

    def panel(self, name: str) -> DigitView:
        return self.query_one(f"#compare-{name}", DigitView)

    # -- the mode ----------------------------------------------------------------------------
    def start(self, kind: str) -> None:
        """Compare on the test images of the data set that `kind`, the active model, was trained on."""
        self.showing = True
        self.dataset = dataset_of(self.slots[kind])
        if self.dataset not in self.asked:
            self.asked.add(self.dataset)
            header = self.slots[kind].header
            self._read_test_images(self.dataset, header.meta if header else {"dataset": self.dataset})
        self.redraw()

    def stop(self) -> None:
        self.showing = False
        for kind in self.slots:
            self._mark(kind, None)

    def models_changed(self) -> None:
        if self.showing:
            self.redraw()

    # -- keys --------------------------------------------------------------------------------
    def _test_images(self) -> TestImagesLoaded | None:
        test = self.tests.get(self.dataset)
        return test if isinstance(test, TestImagesLoaded) else None

    def action_next_image(self, delta: int) -> None:
        if test := self._test_images():
            self.index = (self.index + delta) % len(test.labels)
            self.redraw()

    def action_random_image(self) -> None:
        if test := self._test_images():
            self.index = int(self.rng.integers(len(test.labels)))
            self.redraw()

    def action_digit(self, digit: int) -> None:
        test = self._test_images()
        candidates = np.flatnonzero(test.labels == digit) if test else []
        if len(candidates):
            self.index = int(self.rng.choice(candidates))
            self.redraw()

    def action_mark_a(self) -> None:
        if self._test_images():
            self.a = (self.dataset, self.index)
            self.redraw()

    def action_mark_b(self) -> None:
        test = self._test_images()
        if test is None:
            return
        if self.a is None:
            self.notify("Mark A first: a marks the test image shown.", severity="warning")
        elif self.a[0] != self.dataset:
            self.notify(f"A is one of {dataset_name(self.a[0])}'s test images: mark A here again.", severity="warning")
        elif self.a[1] == self.index:
            self.notify("B is A: show another test image (n, p, r, 0-9), then b.", severity="warning")
        else:
            indices = (self.a[1], self.index)
            labels = (int(test.labels[indices[0]]), int(test.labels[indices[1]]))
            images = test.images[list(indices)].astype(np.float32) / 255  # (2, 28, 28)
            self.post_message(self.Interpolate(self.dataset, indices, labels, images))

    # -- test images -------------------------------------------------------------------------
    @work(thread=True, group="test-images")
    def _read_test_images(self, dataset: str, meta: dict) -> None:
        """The test images of the data set a model (meta, its header's) was trained on, found as eval finds them."""
        from tui_ae import data  # imports torch

        try:
            digits = data.read_test_digits(meta, self.data_dir, download=False, notify=lambda _: None)
        except TuiAeError as e:
            self.post_message(TestImagesFailed(dataset, str(e)))
        else:
            where = describe_source(digits.source, data.default_data_dir())
            self.post_message(
                TestImagesLoaded(dataset, digits.images.numpy(), digits.labels.numpy(), digits.source, where)
            )

    def on_test_images_loaded(self, message: TestImagesLoaded) -> None:
        self._arrived(message)

    def on_test_images_failed(self, message: TestImagesFailed) -> None:
        self._arrived(message)

    def _arrived(self, message: TestImagesLoaded | TestImagesFailed) -> None:
        message.stop()
        self.tests[message.dataset] = message
        if self.showing and message.dataset == self.dataset:
            self.redraw()

    # -- drawing -----------------------------------------------------------------------------
    def redraw(self) -> None:
        test = self.tests.get(self.dataset)
        if not isinstance(test, TestImagesLoaded):
            loading = f"loading the {dataset_name(self.dataset)} test images…"
            self._show("original", "Test image", message=test.error if test else loading)
            for kind in self.slots:
                self._show(kind, kind.upper(), message="")
                self._mark(kind, None)
            self.query_one("#compare-info", FittedLines).show(())
            return
        i = self.index = self.index % len(test.labels)
        label = int(test.labels[i])
        image = test.images[i].astype(np.float32) / 255  # (28, 28)
        self._show("original", (f"Test image · a {label}", f"Test · a {label}"), image)
        posteriors = {kind: found for kind in self.slots if (found := self._show_reconstruction(kind, image))}
        self._show_info(test, i, label, posteriors)

    def _show_info(self, test: TestImagesLoaded, i: int, label: int, posteriors: dict[str, Posterior]) -> None:
        """The side panel: which image, what ◆ and the outlines are, σ, A if marked, and where the images came from.

        Where the panel is too short for all of it (80x24), the spacing, the legends, the label
        (the title says it too) and the 2σ note make way, in that order (fitted_lines.py).
        """
        lines = [
            Line(Text(f"{i + 1:,} of {len(test.labels):,}")),
            Line(Text(f"label {label}"), LABEL),
            Line(Text("◆ its encodings"), LEGEND),
        ]
        if posteriors:  # only the VAE has one (the last, where test doubles give both models one)
            kind, (point, sigma) = list(posteriors.items())[-1]
            lines.append(Line(Text(f"• 1σ · 2σ {kind.upper()}"), LEGEND))
            lines += sigma_lines(self.slots[kind], sigma)
            if self._outlines_hidden(kind, point, sigma):
                lines.append(Line(Text("2σ inside ◆'s cell", style="dim"), NOTE))
        if self.a is not None and self.a[0] == self.dataset:
            lines.append(Line(Text(f"A: {self.a[1] + 1:,}, a {int(test.labels[self.a[1]])}", style="bold")))
        lines += [Line(Text(""), SPACING), Line(PathText(test.where))]
        self.query_one("#compare-info", FittedLines).show(lines)

    def _outlines_hidden(self, kind: str, point: tuple[float, float], sigma: np.ndarray) -> bool:
        """Whether a model's 2σ outline around point falls in the ◆'s own cell of its map, so the map shows none."""
        bounds, grid = self.slots[kind].bounds, self.grids.get(kind)
        cell = cell_at(point, bounds, grid)
        if cell is None:  # the map is not laid out yet
            return False
        outline = posterior_outlines(self.slots[kind], point, sigma)["2σ"].shape.cells(bounds, *grid)
        return bool(outline) and set(outline) <= {cell}

    def _show_reconstruction(self, kind: str, image: np.ndarray) -> Posterior | None:
        """A model's reconstruction in its panel and its code ◆ on its map; for a model with a posterior, (code, σ)."""
        slot, name = self.slots[kind], kind.upper()
        if not slot.usable or slot.model is None:
            self._show(kind, name, message=slot.why_no_model)
            self._mark(kind, None)
        elif (trained_on := dataset_of(slot)) != self.dataset:
            self._show(
                kind,
                name,
                message=f"trained on {dataset_name(trained_on)}, not {dataset_name(self.dataset)}: "
                "make it the active model (c, tab, c) to compare it",
            )
            self._mark(kind, None)
        else:
            code, recon, mse, sigma = slot.reconstruct(image)
            x, y = slot.plane.project(code[None])[0].tolist()  # a 2-D model's code itself
            mse_forms = (f"{name} · MSE {mse:.4f}", f"{name} MSE {mse:.4f}", f"{name} {mse:.4f}")
            self._show(kind, mse_forms, recon, subtitle=mark_forms(x, y))
            self._mark(kind, (x, y), sigma)
            return ((x, y), sigma) if sigma is not None else None
        return None

    def _mark(self, kind: str, point: tuple[float, float] | None, sigma: np.ndarray | None = None) -> None:
        """◆ at point on the model's map, and around it the outlines of σ's multiples where sigma is given."""
        shown = posterior_outlines(self.slots[kind], point, sigma) if point is not None and sigma is not None else {}
        self.app.post_message(OverlaysChanged(kind, {name: shown.get(name) for name, *_ in SIGMAS}))
        self.app.post_message(MarkMoved(kind, point))

    def _show(
        self,
        name: str,
        title: str | tuple[str, ...],
        image: np.ndarray | None = None,
        message: str = "",
        subtitle: tuple[str, ...] = ("",),
    ) -> None:
        """One panel: an image, or a message where there is none; its titles in forms, longest first (set_titles)."""
        view = self.panel(name)
        view.set_titles((title,) if isinstance(title, str) else title, subtitle)
        if image is not None:
            view.show_image(image)
        else:
            view.show_message(message)
