"""Shared fixtures: a tiny MNIST-shaped data set written as real IDX files."""

from __future__ import annotations

import functools
import gzip
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest


def halves(cell):
    """(upper, lower) colours of one cell of a digit drawn with the upper half block: its foreground and
    background, or for a space (both halves black, render.digit_lines), its background twice."""
    if cell.text == " ":
        return cell.style.bgcolor, cell.style.bgcolor
    assert cell.text == "▀", cell
    return cell.style.color, cell.style.bgcolor


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write uint8 data in LeCun's IDX format (gzipped when the name ends in .gz)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wb") as f:
        f.write(header + array.tobytes())


def fake_digits(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Images whose content depends on their label: a bright bar at rows 2k..2k+5 for label k, plus noise."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 10
    images = rng.integers(0, 40, size=(n, 28, 28))
    for i, k in enumerate(labels):
        images[i, 2 * k + 4 : 2 * k + 10, 6:22] = 255
    return images.astype(np.uint8), labels.astype(np.uint8)


def write_fake_mnist(root: Path, n_train: int = 250, n_test: int = 60, gz: bool = False) -> Path:
    """A torchvision-style MNIST root (root/MNIST/raw/...); returns root."""
    write_fake_raw(root / "MNIST" / "raw", n_train, n_test, gz)
    return root


def write_fake_raw(raw: Path, n_train: int = 250, n_test: int = 60, gz: bool = False) -> None:
    raw.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if gz else ""
    for prefix, n, seed in (("train", n_train, 0), ("t10k", n_test, 1)):
        images, labels = fake_digits(n, seed)
        write_idx(raw / f"{prefix}-images-idx3-ubyte{suffix}", images)
        write_idx(raw / f"{prefix}-labels-idx1-ubyte{suffix}", labels)


@pytest.fixture
def tiny_mnist(tmp_path: Path) -> Path:
    """A folder laid out as torchvision's MNIST root, with 250 train and 60 test images."""
    return write_fake_mnist(tmp_path / "data")


@pytest.fixture(scope="session")
def test_cache(tmp_path_factory) -> Path:
    """One data cache for the whole session: MNIST is unpacked into it (55 MB) once, by the first test that reads it."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(autouse=True)
def no_user_cache(test_cache, monkeypatch):
    """Never read or write the user's real data cache from a test (a test that fills a cache gives its own)."""
    monkeypatch.setenv("TUI_AE_DATA", str(test_cache))


# -- A command in a process of its own, and the modules it imported --------------------------------------------

REPO = Path(__file__).parent.parent

# Runs `tui-ae ARGS` as the console script does, and at exit (sys.exit included) writes the names of
# every module imported to the file named by the first argument: what the command cost, module by module.
_RECORDING_MAIN = """
import atexit, json, sys
out, sys.argv = sys.argv[1], ["tui-ae", *sys.argv[2:]]
atexit.register(lambda: open(out, "w").write(json.dumps(sorted(sys.modules))))
from tui_ae.cli import main
main()
"""


@dataclass
class CommandRun:
    returncode: int
    stdout: str
    stderr: str
    modules: set[str]  # every module the process had imported when it exited

    def imported(self, name: str) -> bool:
        """Whether the package `name` (or any module inside it) was imported."""
        return any(module == name or module.startswith(name + ".") for module in self.modules)


def run_command(
    *args,
    cwd: Path,
    env: dict[str, str] | None = None,
    timeout: float = 300,
    stdout=subprocess.PIPE,
    stderr=subprocess.PIPE,
    terminal: Terminal | None = None,
) -> CommandRun:
    """`tui-ae ARGS` in a new Python process started in cwd, with this checkout's package first on its path.

    Its output is captured, unless stdout or stderr names another file (a descriptor or a file object) to write to.
    With a terminal, the process runs in a pseudo-terminal of its size, and is sent its keys once its
    output has shown what the terminal waits for (stdout then holds that output, stderr nothing).
    """
    record = Path(cwd) / ".modules.json"
    environment = {**os.environ, **(env or {})}
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), environment.get("PYTHONPATH")]))
    command = [sys.executable, "-c", _RECORDING_MAIN, str(record), *map(str, args)]
    if terminal is None:
        done = subprocess.run(
            command, stdout=stdout, stderr=stderr, text=True, env=environment, cwd=cwd, timeout=timeout
        )
        returncode, out, err = done.returncode, done.stdout or "", done.stderr or ""
    else:
        returncode, out, err = terminal.run(command, environment, cwd, timeout), terminal.output, ""
    modules = set(json.loads(record.read_text())) if record.exists() else set()
    record.unlink(missing_ok=True)
    return CommandRun(returncode, out, err, modules)


ESCAPES = re.compile(rb"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[PX^_][^\x1b]*\x1b\\|[@-Z\\-_])")


@dataclass
class Terminal:
    """A pseudo-terminal for run_command: when `wait_for` shows in the output (escape sequences left out), it
    types `keys`."""

    wait_for: bytes
    keys: bytes
    size: tuple[int, int] = (120, 40)  # columns, rows
    output: str = ""  # what the program wrote, escape sequences left out

    def run(self, command: list[str], env: dict[str, str], cwd: Path, timeout: float) -> int:
        """The exit code; TimeoutError (the process killed) when `wait_for` or the exit does not come in time."""
        import fcntl
        import pty
        import select
        import struct
        import termios
        import time

        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", self.size[1], self.size[0], 0, 0))
        env = {**env, "TERM": "xterm-256color"}
        process = subprocess.Popen(command, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=cwd)
        os.close(slave)
        deadline, raw, sent = time.monotonic() + timeout, b"", False
        try:
            while process.poll() is None or select.select([master], [], [], 0)[0]:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no {self.wait_for!r} and no exit in {timeout} s: {raw[-500:]!r}")
                if select.select([master], [], [], 0.05)[0]:
                    try:
                        raw += os.read(master, 1 << 16)
                    except OSError:  # the program closed the terminal: it has ended
                        break
                if not sent and self.wait_for in ESCAPES.sub(b"", raw):
                    os.write(master, self.keys)
                    sent = True
            return process.wait(timeout=max(1.0, deadline - time.monotonic()))
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            os.close(master)
            self.output = ESCAPES.sub(b"", raw).decode(errors="replace")


# -- The training display's tests (test_strip_above.py, test_progress.py) -------------------------------------


class Screen:
    """What a terminal shows after the bytes Rich writes to it: the screen's rows and the lines scrolled off.

    The subset of VT100 that Rich's Live and print use: text (wrapping at the right edge),
    "\\n" as a tty sends it (carriage return and line feed: the screen scrolls at the bottom),
    "\\r", cursor up and down, erase in line, and SGR and cursor-visibility sequences, which
    change no text. Any other escape sequence fails the test: the display wrote something unexpected.
    """

    ESCAPE = re.compile(r"\x1b\[([?0-9;]*)([A-Za-z])")

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.rows = [[" "] * width for _ in range(height)]
        self.scrollback: list[str] = []
        self.row = self.col = 0

    def feed(self, data: str) -> Screen:
        position = 0
        while position < len(data):
            escape = self.ESCAPE.match(data, position)
            if escape:
                self._control(*escape.groups())
                position = escape.end()
                continue
            char = data[position]
            position += 1
            assert char != "\x1b", f"an unexpected escape sequence: {data[position - 1 : position + 8]!r}"
            if char == "\n":
                self.col = 0
                self._line_feed()
            elif char == "\r":
                self.col = 0
            else:
                if self.col == self.width:  # the cursor waits at the edge; the next character wraps
                    self.col = 0
                    self._line_feed()
                self.rows[self.row][self.col] = char
                self.col += 1
        return self

    def _line_feed(self) -> None:
        if self.row == self.height - 1:
            self.scrollback.append("".join(self.rows.pop(0)).rstrip())
            self.rows.append([" "] * self.width)
        else:
            self.row += 1

    def _control(self, parameters: str, command: str) -> None:
        count = int(parameters) if parameters.isdigit() else 1
        if command == "A":
            self.row = max(0, self.row - count)
        elif command == "B":
            self.row = min(self.height - 1, self.row + count)
        elif command == "K":
            start = {"": self.col, "0": self.col, "1": 0, "2": 0}[parameters]
            end = self.col + 1 if parameters == "1" else self.width
            self.rows[self.row][start:end] = [" "] * (end - start)
        else:
            assert command in "mhl", f"an unexpected escape sequence: {parameters!r} {command!r}"

    def lines(self) -> list[str]:
        """The screen's rows, as text, trailing spaces and empty rows at the bottom dropped."""
        rows = ["".join(row).rstrip() for row in self.rows]
        while rows and not rows[-1]:
            rows.pop()
        return rows

    def history(self) -> list[str]:
        """All the lines written: those scrolled off, then the screen's."""
        return self.scrollback + self.lines()


# -- The explorer's tests (test_app.py): two small models, trained here ---------------------------------------


def explorer_meta(**changes) -> dict:
    """A checkpoint's metadata as train writes it, for models made in the tests."""
    meta = {
        "dataset": "mnist",
        "data_source": "fake",
        "epochs_done": 1,
        "best_val_loss": 1.0,
        "history": [],
        "config": {},
        "versions": {},
        "date": "",
    }
    return {**meta, **changes}


def train_tiny(kind: str, path: Path, steps: int = 120, seed: int = 0) -> Path:
    """A seeded AE or VAE, a few Adam steps on fake_digits, saved with its latent map; deterministic on one machine."""
    import torch

    from tui_ae.checkpoint import LatentCodes, save
    from tui_ae.models import build_model

    images, labels = fake_digits(600, seed=2)
    x = torch.from_numpy(images).float().div(255).unsqueeze(1)  # (600, 1, 28, 28)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one thread: the same sums in the same order on every run
    try:
        torch.manual_seed(seed)
        model = build_model(kind, latent_dim=2)
        optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
        generator = torch.Generator().manual_seed(seed)
        for _ in range(steps):
            batch = x[torch.randint(len(x), (64,), generator=generator)]
            _, losses = model(batch)
            optimizer.zero_grad()
            losses["loss"].backward()
            optimizer.step()
        model.eval()
        with torch.inference_mode():
            points = model.encode(x).numpy()
    finally:
        torch.set_num_threads(threads)
    save(path, model, explorer_meta(best_val_loss=float(losses["loss"].detach())), codes=LatentCodes(points, labels))
    return path


@pytest.fixture(scope="session")
def explorer_checkpoints(tmp_path_factory) -> tuple[Path, Path]:
    """(ae_path, vae_path): the two small models the explorer's tests open."""
    folder = tmp_path_factory.mktemp("explorer")
    return train_tiny("ae", folder / "ae.safetensors"), train_tiny("vae", folder / "vae.safetensors")


# -- The explorer's snapshots (test_snapshots.py): fixed maps and a stub model, the same pictures on any machine --
# Only +, -, *, / and sqrt below, which IEEE 754 rounds exactly, and uniform draws from a seeded generator
# (integers scaled to floats): no trigonometry or exp (libm differs), no matrix products (BLAS orders sums by CPU).

CLUSTERS = {  # where each label's points gather on the snapshots' maps, placed by hand
    "ae": ((-6, 4), (5, 5), (0, -6), (-4, -3), (6, -2), (2, 1), (-7, -7), (7, 8), (-2, 7), (3, -9)),
    "vae": ((-1.5, 1), (1.2, 1.4), (0, -1.6), (-1, -0.7), (1.6, -0.5),
            (0.4, 0.2), (-1.8, -1.9), (1.9, 2.1), (-0.5, 1.9), (0.8, -2.2)),
}  # fmt: skip


def fixed_codes(kind: str, n: int = 2000):
    """A latent map: n points around CLUSTERS, labels 0-9 in turn."""
    from tui_ae.checkpoint import LatentCodes

    rng = np.random.default_rng(7)
    labels = np.arange(n) % 10
    centres = np.array(CLUSTERS[kind], dtype=np.float64)[labels]  # (n, 2)
    offsets = rng.random((n, 2)) + rng.random((n, 2)) - 1.0  # triangular on (-1, 1)
    spread = 0.12 * (centres.max() - centres.min())
    return LatentCodes((centres + spread * offsets).astype(np.float32), labels.astype(np.uint8))


class StubModel:
    """Stands in for a trained model: decode draws a ring whose place and shape follow z; encode finds the ink."""

    def __init__(self, latent_dim: int = 2, spread: float = 1.0) -> None:
        self.latent_dim = latent_dim
        self.spread = spread  # MNIST's ink is centred: codes lie within ±0.5 before this factor

    def decode(self, z):
        """(B, latent_dim) -> (B, 1, 28, 28) in [0, 1]."""
        import torch

        zz = z.numpy().astype(np.float64)
        u, v = (zz[:, [i], None] / (1 + np.abs(zz[:, [i], None])) for i in (0, 1))  # (B, 1, 1) in (-1, 1)
        rows, cols = np.mgrid[0:28, 0:28] + 0.5
        dx = (cols - (14 + 5 * u)) / (5 + 2 * v)
        dy = (rows - (14 - 5 * v)) / (8 - 2 * u)
        ring = np.abs(np.sqrt(dx * dx + dy * dy) - 1)
        if zz.shape[1] > 2:  # a third axis thickens or thins the ring: what a plane's local depth changes
            w = zz[:, [2], None] / (1 + np.abs(zz[:, [2], None]))
            ring = ring / (1 + 0.6 * w)
        images = np.clip(1.2 - 5 * ring, 0, 1)  # (B, 28, 28)
        return torch.from_numpy(images.astype(np.float32))[:, None]

    def encode(self, x):
        """(B, 1, 28, 28) -> (B, latent_dim): the centre of the ink, from the image's own integers (exact sums)."""
        import torch

        ink = np.rint(x.numpy()[:, 0].astype(np.float64) * 255)  # (B, 28, 28)
        rows, cols = np.mgrid[0:28, 0:28]
        total = ink.sum(axis=(1, 2)) + 1
        z = np.zeros((len(ink), self.latent_dim))
        z[:, 0] = ((ink * cols).sum(axis=(1, 2)) / total - 13.5) / 2 * self.spread
        z[:, 1] = (13.5 - (ink * rows).sum(axis=(1, 2)) / total) / 2 * self.spread
        return torch.from_numpy(z.astype(np.float32))

    def reconstruct(self, x):
        """As the models' reconstruct(): the code, its decoding, and no posterior."""
        from tui_ae.models import Reconstruction

        codes = self.encode(x)
        return Reconstruction(codes, self.decode(codes), None)


class StubVAE(StubModel):
    """The stub with a VAE's posterior: the ink's centre as its mean, a fixed σ per axis."""

    SIGMA = (0.25, 0.125)

    def posterior(self, x):
        """(B, 1, 28, 28) -> (mu, log_var), (B, latent_dim) each."""
        import torch

        mu = self.encode(x)
        log_var = np.zeros(mu.shape)
        log_var[:, :2] = 2 * np.log(self.SIGMA)
        return mu, torch.from_numpy(log_var.astype(np.float32))

    def reconstruct(self, x):
        import torch

        from tui_ae.models import Reconstruction

        mu, log_var = self.posterior(x)
        return Reconstruction(mu, self.decode(mu), torch.exp(log_var / 2))


def stub_model(path: Path, kind: str) -> StubModel:
    """A model loader for ExplorerApp that ignores the weights; codes spread over each map (CLUSTERS)."""
    return StubVAE(spread=4) if kind == "vae" else StubModel(spread=16)


def _fixed_pair(folder: Path, latent_dim: int, val_losses: dict[str, float], codes_of) -> tuple[Path, Path]:
    """(ae_path, vae_path): checkpoints whose maps are codes_of(kind), in folder; their weights are never read."""
    import torch

    from tui_ae.checkpoint import save
    from tui_ae.models import build_model

    paths = []
    for kind, val_loss in val_losses.items():
        torch.manual_seed(0)
        meta = explorer_meta(epochs_done=10, history=[{"epoch": 10, "val": {"loss": val_loss}}])
        save(folder / f"{kind}.safetensors", build_model(kind, latent_dim=latent_dim), meta, codes=codes_of(kind))
        paths.append(folder / f"{kind}.safetensors")
    return paths[0], paths[1]


@pytest.fixture(scope="session")
def fixed_checkpoints(tmp_path_factory) -> tuple[Path, Path]:
    """(ae_path, vae_path): checkpoints whose maps are fixed_codes; their weights are never read (stub_model)."""
    return _fixed_pair(tmp_path_factory.mktemp("fixed"), 2, {"ae": 0.0312, "vae": 151.2}, fixed_codes)


@functools.cache
def mnist_sample() -> tuple[np.ndarray, np.ndarray]:
    """(images, labels) of the sample earlier versions shipped, MNIST's first 10,000 training images: read once."""
    from tui_ae.data import MNIST_DIR, SAMPLE_SOURCE, read_split

    sample = read_split(MNIST_DIR, "train", SAMPLE_SOURCE)
    return sample.images.numpy(), sample.labels.numpy()


def fixed_codes_8d(kind: str, n: int = 2000):
    """An 8-D map: fixed_codes' points as the first two axes and six more of label-dependent offsets, on the plane
    of the first two axes (by hand, with shares given: no SVD, whose last bits depend on the machine's LAPACK), and
    the codes' spacing worked out with exact arithmetic alone (not BLAS), so the pictures are the same anywhere."""
    from tui_ae.checkpoint import LatentCodes
    from tui_ae.neighbours import Spacing
    from tui_ae.plane import Plane

    flat = fixed_codes(kind, n)
    labels = flat.labels.astype(np.int64)
    spread = 0.12 * (np.array(CLUSTERS[kind]).max() - np.array(CLUSTERS[kind]).min())
    rng = np.random.default_rng(8)
    codes = np.zeros((n, 8))
    codes[:, :2] = flat.points
    for axis in range(2, 8):
        codes[:, axis] = spread * (((labels * axis) % 5 - 2) * 0.3 + (rng.random(n) - 0.5) * 0.4)
    codes = codes.astype(np.float32)
    d2 = np.zeros((n, n))
    for axis in range(8):  # each axis's squares added in turn: the same sums on every machine
        d2 += (codes[:, None, axis].astype(np.float64) - codes[None, :, axis]) ** 2
    np.fill_diagonal(d2, np.inf)
    spacing = Spacing.of_distances(np.sqrt(d2.min(axis=1)))
    plane = Plane(np.zeros(8), np.eye(8)[:, :2], (0.58, 0.27))
    return LatentCodes(codes[:, :2].copy(), flat.labels, codes, plane, spacing)


def stub_model_8d(path: Path, kind: str) -> StubModel:
    """stub_model with eight latent dimensions (the third shapes the ring)."""
    return StubVAE(latent_dim=8, spread=4) if kind == "vae" else StubModel(latent_dim=8, spread=16)


@pytest.fixture(scope="session")
def fixed_checkpoints_8d(tmp_path_factory) -> tuple[Path, Path]:
    """(ae_path, vae_path): 8-D checkpoints whose maps are fixed_codes_8d; their weights are never read."""
    return _fixed_pair(tmp_path_factory.mktemp("fixed-8d"), 8, {"ae": 0.0171, "vae": 112.4}, fixed_codes_8d)


def sample_validation_images(slot, data_dir):
    """An images loader for ExplorerApp that needs no data set: for each code, a digit of its label from MNIST's
    first 10,000 training images (the k-th code of a label gets the k-th image of it), so thumbnails are real digits."""
    from tui_ae.tui.nearest import ValidationImages

    images, labels = mnist_sample()
    by_label = {label: np.flatnonzero(labels == label) for label in range(10)}
    rank = np.zeros(len(slot.labels), np.int64)
    for label in range(10):
        mine = slot.labels == label
        rank[mine] = np.arange(mine.sum())
    chosen = np.array([by_label[int(label)][r % len(by_label[int(label)])] for label, r in zip(slot.labels, rank)])
    return ValidationImages.of(images[chosen], slot.labels.copy())


SNAPSHOT_SIZE = (100, 32)


@pytest.fixture
def explorer(fixed_checkpoints):
    """The app the snapshots draw: fixed maps, the stub model, the sample's digits beside each cursor."""
    from tui_ae import data
    from tui_ae.tui.app import ExplorerApp

    # Compare mode reads the MNIST tui-ae ships (the checkpoints name no other data), and says so. Unpacked
    # beforehand, so that its test images arrive as fast in every test: the keys pressed after `c` need them.
    data.mnist_dir(notify=lambda _: None)
    return ExplorerApp(*fixed_checkpoints, seed=0, model_loader=stub_model, images_loader=sample_validation_images)


def settled_after(*keys: str):
    """A run_before that lets the models load, presses keys, and lets their workers finish and the keys rest too."""
    from tui_ae.tui import explore_view

    async def run_before(pilot) -> None:
        for group in ((), keys):
            await pilot.press(*group)
            await settle(pilot, rest=2 * explore_view.REST)  # the thumbnails follow the cursor once the keys rest

    return run_before


# -- the explorer's Pilot tests ---------------------------------------------------------------------------------


async def settle(pilot, rest: float = 0.0) -> None:
    """Let workers start, finish, and their messages land (and, given rest, timers that wait for the keys to rest)."""
    for _ in range(3):
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
    if rest:
        await pilot.pause(rest)
    await pilot.pause()


def screen_rows(app, region=None) -> list[str]:
    """The screen as a user reads it, row by row, rendered as App.export_screenshot renders it; or a region of it."""
    import io

    from rich.console import Console

    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), record=True, color_system=None, safe_box=False)
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    rows = [row.ljust(width) for row in console.export_text().splitlines()]
    if region is None:
        return rows
    return [row[region.x : region.right] for row in rows[region.y : region.bottom]]


def info_text(app) -> str:
    """The compare mode's side panel as drawn at its size."""
    import io

    from rich.console import Console

    info = app.compare.query_one("#compare-info")
    console = Console(width=info.content_size.width, file=io.StringIO(), record=True, color_system=None)
    console.print(info.render())
    return console.export_text()


@pytest.fixture
def fashion_vae(explorer_checkpoints, tmp_path) -> Path:
    """The small VAE, as if it had been trained on Fashion-MNIST."""
    from tui_ae.checkpoint import load, read_codes, save

    model, _, _ = load(explorer_checkpoints[1])
    _, codes = read_codes(explorer_checkpoints[1])
    path = tmp_path / "fashion-vae.safetensors"
    save(path, model, explorer_meta(dataset="fashion-mnist"), codes=codes)
    return path
