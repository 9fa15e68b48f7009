"""MNIST and Fashion-MNIST as uint8 tensors, and a loader that keeps a split on the device.

Every source goes through one reader, read_idx(): the MNIST this package ships
(tui_ae/mnist, unpacked into the cache on first use), a user's --data-dir, and the
Fashion-MNIST that torchvision downloads or Debian's dataset-fashion-mnist holds.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from tui_ae.config import MNIST_DIR, MNIST_SOURCE, SAMPLE_SOURCE, DatasetName
from tui_ae.errors import DataError
from tui_ae.files import replacing

Split = Literal["train", "test"]

FILES: dict[Split, tuple[str, str]] = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
TORCHVISION_CLASS = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST"}
# The sample earlier versions shipped instead of MNIST: its first images, which its checkpoints still read.
SAMPLE_SIZES: dict[Split, int] = {"train": 10_000, "test": 2_000}
IDX_UBYTE = 0x0800  # an IDX magic number: two zero bytes, 0x08 for unsigned bytes, then the number of dimensions
DEBIAN_FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
SPLIT_SEED = 42  # fixed, so every run validates on the same 12,000 images
VAL_FRACTION = 0.2  # 48,000 / 12,000, as in the homework


@dataclass
class Digits:
    images: torch.Tensor  # (N, 28, 28) uint8
    labels: torch.Tensor  # (N,) int64
    source: str  # where they came from; recorded in checkpoints

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, indices: torch.Tensor) -> Digits:
        return Digits(self.images[indices], self.labels[indices], self.source)


def default_data_dir() -> Path:
    return Path(os.environ.get("TUI_AE_DATA", Path.home() / ".cache" / "tui-ae" / "data"))


def read_idx(path: Path, ndim: int) -> np.ndarray:
    """An IDX file (LeCun's MNIST format) of unsigned bytes in ndim dimensions, plain or gzipped.

    torchvision reads only the uncompressed files; the Debian package and the MNIST
    this package ships are gzipped.
    """
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError) as e:
        raise DataError(f"cannot read {path}: {e}") from None
    _check_magic(path, data[:4], ndim)
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    offset = 4 + 4 * ndim
    if len(data) - offset != math.prod(shape):
        raise DataError(f"{path} is truncated: expected {math.prod(shape)} values, found {len(data) - offset}")
    return np.frombuffer(data, dtype=np.uint8, offset=offset).reshape(shape)


def _check_magic(path: Path, head: bytes, ndim: int) -> None:
    """Refuse a file that does not start with the magic number of an IDX file of unsigned bytes in ndim dimensions.

    Said as such: read on, a labels file given for images (or any other file) would only
    seem to be truncated.
    """
    if len(head) < 4:
        raise DataError(f"{path} is truncated: {len(head)} bytes, fewer than an IDX file's magic number")
    magic, expected = int.from_bytes(head, "big"), IDX_UBYTE + ndim
    if magic != expected:
        raise DataError(f"{path} has the wrong magic number {_magic_text(magic)}; expected {_magic_text(expected)}")


def _magic_text(magic: int) -> str:
    """A magic number as LeCun's page writes it (decimal and hex), and what it announces."""
    dims = magic - IDX_UBYTE
    if 0 < dims < 256:
        what = f"unsigned bytes in {dims} dimension{'s' * (dims > 1)}" + {1: ", labels", 3: ", images"}.get(dims, "")
    else:
        what = "not an IDX file of unsigned bytes"
    return f"{magic} (0x{magic:08x}: {what})"


def read_labels(path: Path) -> np.ndarray:
    """An IDX file of labels, each 0 to 9: the ten classes of MNIST and of Fashion-MNIST."""
    labels = read_idx(path, 1)
    bad = np.flatnonzero(labels > 9)
    if len(bad):
        raise DataError(f"{path} has label {labels[bad[0]]} at index {bad[0]:,}: labels must be 0 to 9")
    return labels


def fingerprint(labels: np.ndarray) -> dict:
    """What a checkpoint records of its training file, for --resume to tell that data from any other.

    Its number of images, and the SHA-256 of its labels as an IDX file: for a real file, what
    `sha256sum` prints for it uncompressed (for MNIST, tui_ae/mnist/README.md lists it).
    """
    labels = np.ascontiguousarray(labels, dtype=np.uint8)
    header = (IDX_UBYTE + 1).to_bytes(4, "big") + len(labels).to_bytes(4, "big")
    return {"images": len(labels), "labels_sha256": hashlib.sha256(header + labels.tobytes()).hexdigest()}


def read_idx_rows(path: Path, rows: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """Only the given images (along the first axis, in the order given) of an IDX file of images.

    Read a chunk of items at a time, so that picking 12,000 of MNIST's 60,000 images never
    holds the other 48,000 in memory, even for a moment.
    """
    rows = np.asarray(rows, dtype=np.int64)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            head = f.read(4)
            _check_magic(path, head, 3)
            sizes = f.read(4 * head[3])
            shape = tuple(int.from_bytes(sizes[4 * i : 4 * i + 4], "big") for i in range(head[3]))
            if not shape or len(rows) and not 0 <= rows.min() <= rows.max() < shape[0]:
                raise DataError(f"{path} holds {shape[0] if shape else 0} items, fewer than asked for")
            item = math.prod(shape[1:])
            order = np.argsort(rows, kind="stable")
            wanted = rows[order]  # ascending: each chunk's are a run of them
            out = np.empty((len(rows), *shape[1:]), dtype=np.uint8)
            for first in range(0, shape[0], chunk):
                count = min(chunk, shape[0] - first)
                data = f.read(count * item)
                if len(data) != count * item:
                    raise DataError(f"{path} is truncated: expected {math.prod(shape)} values")
                lo, hi = np.searchsorted(wanted, [first, first + count])
                block = np.frombuffer(data, dtype=np.uint8).reshape(count, *shape[1:])
                out[order[lo:hi]] = block[wanted[lo:hi] - first]
    except (OSError, EOFError) as e:
        raise DataError(f"cannot read {path}: {e}") from None
    return out


def _find(directory: Path, name: str) -> Path | None:
    for candidate in (directory / name, directory / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def find_raw_dir(dataset: DatasetName, root: Path) -> Path | None:
    """The folder under root that holds all four IDX files, in any common layout."""
    folder = TORCHVISION_CLASS[dataset]
    for directory in (root / folder / "raw", root / "raw", root):
        if all(_find(directory, name) for pair in FILES.values() for name in pair):
            return directory
    return None


def read_split(raw_dir: Path, split: Split, source: str) -> Digits:
    image_file, label_file = (_find(raw_dir, name) for name in FILES[split])
    count = _count(source, split)
    images, labels = read_idx(image_file, 3)[:count], read_labels(label_file)[:count]
    if images.ndim != 3 or images.shape[1:] != (28, 28) or labels.shape != (len(images),):
        raise DataError(f"{raw_dir} does not hold 28x28 images with one label each")
    return Digits(torch.from_numpy(images.copy()), torch.from_numpy(labels.astype(np.int64)), source)


def _count(source: str, split: Split) -> int | None:
    """How many of a split's images a source takes: the sample its first ones, any other all (None)."""
    return SAMPLE_SIZES[split] if source == SAMPLE_SOURCE else None


def _download(dataset: DatasetName, root: Path) -> Path | None:
    """Fetch the data set with torchvision; None when there is no network."""
    import torchvision  # slow to import; only needed here

    cls = getattr(torchvision.datasets, TORCHVISION_CLASS[dataset])
    try:
        cls(str(root), train=True, download=True)
        cls(str(root), train=False, download=True)
    except (RuntimeError, OSError):
        return None
    return find_raw_dir(dataset, root)


def locate(
    dataset: DatasetName,
    data_dir: Path | None = None,
    download: bool = True,
    notify: Callable[[str], None] = print,
) -> tuple[Path, str]:
    """Where the data set's files are, and a name for that source.

    An explicit data_dir must hold the data set. Without one, MNIST is the copy this
    package ships (unpacked into the cache: never a download); Fashion-MNIST is the
    cache's, Debian's or, with download, torchvision's download.
    """
    if data_dir is not None:
        found = find_raw_dir(dataset, data_dir)
        if found is None:
            raise DataError(f"no {dataset} files in {data_dir} (expected {', '.join(FILES['train'] + FILES['test'])})")
        return found, f"{dataset}:{found.resolve()}"
    if dataset == "mnist":
        return mnist_dir(notify), MNIST_SOURCE
    cache = default_data_dir()
    for root in (cache, DEBIAN_FASHION_DIR):
        if found := find_raw_dir(dataset, root):
            return found, f"{dataset}:{found}"
    if download and (found := _download(dataset, cache)):
        return found, f"{dataset}:{found}"
    raise DataError(
        f"Fashion-MNIST not found and could not be downloaded: put {', '.join(FILES['train'] + FILES['test'])} "
        f"(.gz or not) in {cache / 'FashionMNIST' / 'raw'}, install Debian's dataset-fashion-mnist, or pass --data-dir"
    )


def mnist_dir(notify: Callable[[str], None] = print) -> Path:
    """MNIST's folder without --data-dir: the cache's, where the copy this package ships is unpacked on first use.

    Unpacked, because gunzipping the training images takes a few tenths of a second, each
    run (BENCHMARKS.md). Each file is written under a temporary name and renamed, so a run
    stopped half-way, or two unpacking at once, never leave a partial file. Where the cache
    cannot be written, the shipped files are read as they are.
    """
    cache = default_data_dir()
    if found := find_raw_dir("mnist", cache):
        return found
    raw = cache / TORCHVISION_CLASS["mnist"] / "raw"
    try:
        for name in (*FILES["train"], *FILES["test"]):
            with gzip.open(MNIST_DIR / f"{name}.gz", "rb") as packed, replacing(raw / name) as unpacked:
                shutil.copyfileobj(packed, unpacked, 1 << 20)
    except OSError:
        return MNIST_DIR
    notify(f"MNIST unpacked into {raw}, from the copy tui-ae ships (once: later runs read it there)")
    return raw


def recorded_dir(source: str) -> Path | None:
    """The folder a checkpoint's data_source names ("mnist:/path/raw"), if it is still there."""
    _, _, folder = source.partition(":")
    return Path(folder) if folder and Path(folder).is_dir() else None


def locate_recorded(
    meta: dict, data_dir: Path | None = None, *, download: bool = True, notify: Callable[[str], None] = print
) -> tuple[Path, str]:
    """Where the data set a checkpoint was trained on (its header's meta) is, as locate() says.

    From data_dir when given, else from the shipped MNIST for a model trained on the sample
    cut from it, else from the folder its training read if that is still there, else wherever
    locate() finds the data set.
    """
    source = meta.get("data_source", "")
    if data_dir is None and source == SAMPLE_SOURCE:
        return MNIST_DIR, SAMPLE_SOURCE  # the shipped files, not the cache, which may hold another MNIST
    data_dir = data_dir or recorded_dir(source)
    return locate(meta.get("dataset", "mnist"), data_dir, download=download, notify=notify)


def locate_resumed(
    meta: dict, data_dir: Path | None, map_labels: np.ndarray | None, notify: Callable[[str], None] = print
) -> tuple[Path, str]:
    """Where the data a checkpoint was trained on is, for --resume: that data and no other, or a DataError.

    From data_dir when given, else where its data_source says: never a download, never the
    cache for a folder that has gone. The training labels found must be those it recorded
    (their number and SHA-256). A checkpoint from before they were recorded has its map's
    labels to go by: the validation split of what was found must have those, in that order.
    """
    needs = f"--resume reads only the data the checkpoint was trained on, {trained_on(meta)}"
    source = meta.get("data_source", "")
    if data_dir is None and source not in (MNIST_SOURCE, SAMPLE_SOURCE) and recorded_dir(source) is None:
        missing = "that folder is not there any more" if ":" in source else "it names no folder to look in"
        raise DataError(f"{needs}: {missing}; pass --data-dir with its files")
    try:
        raw_dir, name = locate_recorded(meta, data_dir, download=False, notify=notify)
    except DataError as e:
        raise DataError(f"{needs}: {e}") from None
    labels = read_labels(_find(raw_dir, FILES["train"][1]))[: _count(name, "train")]
    recorded = meta.get("training_file")
    if recorded is not None:
        found = fingerprint(labels)
        if found != recorded:
            raise DataError(f"{needs}; {raw_dir} holds {_described(found)}")
    elif map_labels is not None:
        _, val = split_indices(len(labels))
        if not np.array_equal(labels[val.numpy()], map_labels):
            raise DataError(
                f"{needs}; the validation split of {raw_dir} ({len(val):,} of its {len(labels):,} training images) "
                f"has other labels than the {len(map_labels):,} the checkpoint validated on"
            )
    return raw_dir, name


def trained_on(meta: dict) -> str:
    """The data a checkpoint's meta says it was trained on, in words."""
    source, dataset = meta.get("data_source", ""), meta.get("dataset", "mnist")
    if source == MNIST_SOURCE:
        text = "MNIST"
    elif source == SAMPLE_SOURCE:
        text = f"the MNIST sample (MNIST's first {SAMPLE_SIZES['train']:,} training images)"
    elif source.startswith(f"{dataset}:"):
        text = f"{dataset} from {source.partition(':')[2]}"
    else:
        text = repr(source)
    recorded = meta.get("training_file")
    return f"{text} ({_described(recorded)})" if isinstance(recorded, dict) else text


def _described(recorded: dict) -> str:
    """A fingerprint() in words: '60,000 training images, labels sha256 65a50cbbf4e9...'."""
    images, digest = recorded.get("images"), str(recorded.get("labels_sha256"))
    count = f"{images:,}" if isinstance(images, int) else repr(images)
    return f"{count} training images, labels sha256 {digest[:12]}..."


def read_test_digits(
    meta: dict, data_dir: Path | None = None, *, download: bool = True, notify: Callable[[str], None] = print
) -> Digits:
    """The test images of the data set a checkpoint was trained on, found by locate_recorded()."""
    raw_dir, source = locate_recorded(meta, data_dir, download=download, notify=notify)
    return read_split(raw_dir, "test", source)


def train_val_split(
    digits: Digits, val_fraction: float = VAL_FRACTION, seed: int = SPLIT_SEED
) -> tuple[Digits, Digits]:
    """The homework's random_split of the training set, with a fixed generator."""
    train, val = split_indices(len(digits), val_fraction, seed)
    return digits.subset(train), digits.subset(val)


def split_indices(
    n: int, val_fraction: float = VAL_FRACTION, seed: int = SPLIT_SEED
) -> tuple[torch.Tensor, torch.Tensor]:
    """(training, validation) indices of a training set of n images, as train_val_split draws them."""
    n_val = int(n * val_fraction)
    if n_val == 0 or n_val == n:
        raise DataError(f"{n} training images are too few to split into training and validation")
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return order[n_val:], order[:n_val]


def first_of_each_class(labels: np.ndarray) -> np.ndarray:
    """Indices of the first image of each label present, in label order."""
    return np.array([int(np.flatnonzero(labels == k)[0]) for k in np.unique(labels)])


def read_validation_digits(meta: dict, data_dir: Path | None = None) -> tuple[np.ndarray, np.ndarray, str]:
    """The validation images a checkpoint's map encodes, in its order: (images (N, 28, 28), labels (N,), source).

    The training split of the data set it was trained on, found by locate_recorded() (never
    downloaded), split as training split it. Only the validation images are read out of the
    file: the explorer keeps them.
    """
    raw_dir, source = locate_recorded(meta, data_dir, download=False, notify=lambda _: None)
    image_file, label_file = (_find(raw_dir, name) for name in FILES["train"])
    labels = read_labels(label_file)[: _count(source, "train")]
    _, val = split_indices(len(labels))
    rows = val.numpy()
    images = read_idx_rows(image_file, rows)
    if images.shape[1:] != (28, 28):
        raise DataError(f"{raw_dir} does not hold 28x28 images")
    return images, labels[rows], source


class DeviceLoader:
    """Batches from a split held whole on the device as uint8.

    One randperm on the device per epoch and a float conversion per batch: no
    Dataset, DataLoader workers or PIL, which dominate the time of small models.
    """

    def __init__(self, digits: Digits, batch_size: int, device: torch.device, shuffle: bool = True, seed: int = 0):
        self.images = digits.images.to(device)
        self.labels = digits.labels.to(device)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.generator = torch.Generator(device=device).manual_seed(seed)

    def set_epoch(self, epoch: int) -> None:
        """Make the epoch's order depend on (seed, epoch) alone, so a resumed run sees the same batches."""
        self.generator.manual_seed(self.seed * 100_003 + epoch)

    def __len__(self) -> int:
        return math.ceil(len(self.labels) / self.batch_size)

    @property
    def num_images(self) -> int:
        return len(self.labels)

    def batches(self) -> tuple[torch.Tensor, ...]:
        """The epoch's batches as index tensors into `images`, for a step that gathers on the device."""
        n, device = len(self.labels), self.labels.device
        order = (
            torch.randperm(n, device=device, generator=self.generator)
            if self.shuffle
            else torch.arange(n, device=device)
        )
        return order.split(self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for idx in self.batches():
            yield self.images[idx].unsqueeze(1).float().div_(255), self.labels[idx]  # (B, 1, 28, 28), (B,)
