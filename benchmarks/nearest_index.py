"""What a move costs the explorer's nearest-code index as a map's codes grow: 12,000 codes, and 60,000.

    python benchmarks/nearest_index.py [--ckpt checkpoints/vae.safetensors] [--data-dir DIR] [--queries 2000]

The maps: the checkpoint's stored validation codes (12,000 for MNIST), and the codes of all
60,000 training images, encoded here by the checkpoint's model (real codes, clustered as a
trained model clusters them). The queries: a walk of the cursor over the map's cells, as arrow
keys move it (a cell of a 58x20 map at a time), and points drawn evenly over the map's bounds
(much of a map is empty: off the data, where a grid index must look further). For each, the
time of one query: the nearest code (the readout, every key) and the three nearest (the
thumbnails), by the index and by brute force over every code; and the one-time cost of building
the index, the spacing statistics and the medoids.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from _bench import machine_line

ROOT = Path(__file__).resolve().parent.parent  # this checkout: measured, not an installed tui-ae
sys.path.insert(0, str(ROOT))

from tui_ae.latent import latent_bounds  # noqa: E402
from tui_ae.neighbours import GridIndex, Spacing, class_medoids  # noqa: E402

MAP = (58, 20)  # cells of a map at 120x40


def all_training_codes(path: Path, data_dir: Path | None) -> tuple[np.ndarray, np.ndarray]:
    """The checkpoint's model's codes (first two axes) and labels of every training image."""
    import torch

    from tui_ae import data
    from tui_ae.checkpoint import load

    model, header, _ = load(path)
    raw_dir, source = data.locate(header.meta.get("dataset", "mnist"), data_dir, download=False)
    digits = data.read_split(raw_dir, "train", source)
    with torch.inference_mode():
        x = digits.images.unsqueeze(1).float().div(255)  # (60000, 1, 28, 28)
        codes = torch.cat([model.encode(batch) for batch in x.split(2000)])
    return codes[:, :2].numpy(), digits.labels.numpy().astype(np.uint8)


def walk(bounds: tuple[float, float, float, float], steps: int, seed: int = 0) -> np.ndarray:
    """Cell centres visited by a cursor moved one cell at a time in random directions, as the arrow keys move it."""
    rng = np.random.default_rng(seed)
    width, height = MAP
    col, row = width // 2, height // 2
    x_min, x_max, y_min, y_max = bounds
    points = []
    for step in rng.integers(4, size=steps):
        dx, dy = ((1, 0), (-1, 0), (0, 1), (0, -1))[step]
        col, row = min(max(col + dx, 0), width - 1), min(max(row + dy, 0), height - 1)
        points.append((x_min + (col + 0.5) * (x_max - x_min) / width, y_max - (row + 0.5) * (y_max - y_min) / height))
    return np.array(points)


def timed(query, points: np.ndarray) -> np.ndarray:
    """Microseconds per call of query(x, y), one per point."""
    times = np.empty(len(points))
    for i, (x, y) in enumerate(points):
        start = time.perf_counter()
        query(x, y)
        times[i] = time.perf_counter() - start
    return times * 1e6


def brute(points: np.ndarray, k: int):
    xs, ys = np.ascontiguousarray(points[:, 0], np.float64), np.ascontiguousarray(points[:, 1], np.float64)

    def query(x: float, y: float) -> np.ndarray:
        d2 = (xs - x) ** 2 + (ys - y) ** 2
        return np.argpartition(d2, k)[:k] if k > 1 else np.argmin(d2)

    return query


def measure(name: str, points: np.ndarray, labels: np.ndarray, n_queries: int) -> None:
    start = time.perf_counter()
    index = GridIndex(points)
    built = time.perf_counter()
    Spacing.of(index)
    spaced = time.perf_counter()
    class_medoids(points, labels)
    medoids = time.perf_counter()
    print(
        f"{name}: {len(points):,} codes in {index.shape[0]}x{index.shape[1]} buckets; "
        f"index {(built - start) * 1000:.0f} ms, spacing {(spaced - built) * 1000:.0f} ms, "
        f"medoids {(medoids - spaced) * 1000:.0f} ms (once, in a worker)"
    )
    bounds = latent_bounds(points)
    rng = np.random.default_rng(1)
    anywhere = np.stack([rng.uniform(*bounds[:2], n_queries), rng.uniform(*bounds[2:], n_queries)], axis=1)
    for where, queries in (("cursor walk", walk(bounds, n_queries)), ("anywhere in bounds", anywhere)):
        for k in (1, 3):
            mine = timed(lambda x, y, k=k: index.nearest(x, y, k), queries)
            theirs = timed(brute(points, k), queries)
            print(
                f"  {where:18s} k={k}: index p50 {np.median(mine):5.0f} us  p95 {np.percentile(mine, 95):5.0f} us"
                f"  |  brute force p50 {np.median(theirs):5.0f} us  p95 {np.percentile(theirs, 95):5.0f} us"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ckpt", type=Path, default=Path("checkpoints/vae.safetensors"))
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--queries", type=int, default=2000)
    args = parser.parse_args()
    from tui_ae.checkpoint import read_codes

    print(machine_line())
    _, stored = read_codes(args.ckpt)
    measure(f"{args.ckpt.name}, stored validation codes", stored.points, stored.labels, args.queries)
    points, labels = all_training_codes(args.ckpt, args.data_dir)
    measure(f"{args.ckpt.name}, all training images encoded", points, labels, args.queries)


if __name__ == "__main__":
    main()
