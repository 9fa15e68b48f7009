"""What a map of more than two latent dimensions decodes: the plane plus the local depth, against the old rule.

    python benchmarks/latent_plane.py --ae AE --vae VAE --data-dir DIR [--cells 58x20] [--positions 200]

For each checkpoint, through the package's own code (its stored map, or for a checkpoint
written before the plane, the map the explorer makes in memory; the explorer's map facts, its
nearest-code search and its rule for what the cursor decodes):

1. The plane: each principal component's share of the codes' variance.
2. "On the data": of the coded cells of a map of --cells (58x20 is a map at 120x40), the
   share whose centre's decoded code is within the 99th percentile of the codes' nearest-
   neighbour distances of a code (full dimensions), as the explorer's readout says it; for
   the plane plus the local depth (what the cursor decodes) and for the plane alone.
3. The decodings' distance to real digits: at --positions points spread over the map (a
   15x14 grid over its bounds, the first 200), the median over those points of the MSE per
   pixel from the decoding to its nearest validation image; for the old rule (a grid over the
   first two axes' bounds, the other axes at 0), the plane alone, and the plane plus the local
   depth; and, as the floor, the decodings of 200 validation images' own codes (the model's
   reconstruction error). The same for the figures' latent grid (15x15 over the map's bounds),
   against the test images.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from _bench import machine_line

ROOT = Path(__file__).resolve().parent.parent  # this checkout: measured, not an installed tui-ae
sys.path.insert(0, str(ROOT))

from tui_ae.latent import grid_points, latent_bounds  # noqa: E402
from tui_ae.plane import codes_at  # noqa: E402
from tui_ae.render import map_cells, point_of  # noqa: E402


def nearest_mse(images: np.ndarray, reference: np.ndarray, chunk: int = 100) -> np.ndarray:
    """(N, 784) against (M, 784): each image's MSE per pixel to its nearest reference image."""
    norms = (reference**2).sum(axis=1)
    best = []
    for start in range(0, len(images), chunk):
        part = images[start : start + chunk]
        d2 = (part**2).sum(axis=1)[:, None] - 2 * part @ reference.T + norms[None]
        best.append(np.maximum(d2.min(axis=1), 0) / images.shape[1])
    return np.concatenate(best)


def measure(kind: str, path: Path, data_dir: Path, cells: tuple[int, int], positions: int) -> None:
    import torch

    from tui_ae import checkpoint, data
    from tui_ae.evaluation import validation_map
    from tui_ae.tui.nearest import MapFacts, near

    torch.set_num_threads(1)
    model, header, _ = checkpoint.load(path)
    _, stored = checkpoint.read_codes(path)
    how = "stored"
    if checkpoint.needs_encoding(model.latent_dim, stored):
        stored, how = validation_map(model, path, header, data_dir), "made in memory (an old checkpoint)"
    plane = stored.plane
    facts = MapFacts.of(stored.points, stored.labels, stored.codes, plane, stored.spacing)
    images, labels, _ = data.read_validation_digits(header.meta, data_dir)
    validation = images.reshape(len(images), -1).astype(np.float64) / 255
    test = data.read_test_digits(header.meta, data_dir, download=False)
    test_images = test.images.numpy().reshape(len(test.labels), -1).astype(np.float64) / 255

    def decode(codes: np.ndarray) -> np.ndarray:
        return model.decode(torch.from_numpy(np.asarray(codes, dtype=np.float32))).reshape(len(codes), -1).numpy()

    shares = " ".join(f"PC{i + 1} {share:.1%}" for i, share in enumerate(plane.shares))
    print(f"{kind.upper()} ({path.name}, {model.latent_dim}-D, map {how}): {shares} of the variance")

    # 2. On the data, over the coded cells' centres.
    width, height = cells
    bounds = latent_bounds(stored.points)
    coded = np.argwhere(map_cells(stored.points, stored.labels, bounds, width, height) >= 0)  # (row, col)
    centres = np.array([point_of(col, row, bounds, width, height) for row, col in coded])
    zeros = np.zeros(model.latent_dim)
    on_depth = np.mean([not near(facts, x, y, depth=facts.depth.at(x, y)).off_the_data for x, y in centres])
    on_plane = np.mean([not near(facts, x, y, depth=zeros).off_the_data for x, y in centres])
    print(f"  on the data, of {len(centres)} coded cells' centres ({width}x{height}): plane + local depth "
          f"{on_depth:.1%}, plane alone {on_plane:.1%}")  # fmt: skip

    # 3. The decodings' nearest validation images.
    spots = grid_points(15, 14, bounds)[:positions]
    old_spots = grid_points(15, 14, latent_bounds(stored.codes[:, :2]))[:positions]
    old = np.zeros((len(old_spots), model.latent_dim))
    old[:, :2] = old_spots  # the old rule: the first two axes, every other axis 0
    rules = {
        "other axes at 0": old,
        "plane alone": plane.code(spots),
        "plane + local depth": codes_at(plane, facts.depth, spots),
    }
    medians = {name: float(np.median(nearest_mse(decode(codes), validation))) for name, codes in rules.items()}
    picked = np.random.default_rng(0).choice(len(stored.codes), positions, replace=False)
    floor = float(np.median(nearest_mse(decode(stored.codes[picked]), validation)))
    base = medians["other axes at 0"]
    print(f"  median MSE to the nearest validation image, {len(spots)} positions over the map: "
          + ", ".join(f"{name} {value:.4f}" for name, value in medians.items())
          + f" ({1 - medians['plane + local depth'] / base:.0%} lower than with the other axes at 0); "
          f"the codes of {positions} validation images {floor:.4f}")  # fmt: skip
    tiles = codes_at(plane, facts.depth, grid_points(15, 15, bounds))
    old_tiles = np.zeros((225, model.latent_dim))
    old_tiles[:, :2] = grid_points(15, 15, latent_bounds(stored.codes[:, :2]))
    grid_new = float(np.median(nearest_mse(decode(tiles), test_images)))
    grid_old = float(np.median(nearest_mse(decode(old_tiles), test_images)))
    print(f"  figures' 15x15 latent grid, median MSE of a tile to its nearest test image: {grid_new:.4f} "
          f"(the other axes at 0: {grid_old:.4f})")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ae", type=Path)
    parser.add_argument("--vae", type=Path)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--cells", default="58x20", help="the map's size in cells (58x20 at 120x40)")
    parser.add_argument("--positions", type=int, default=200)
    args = parser.parse_args()
    cells = tuple(int(n) for n in args.cells.split("x"))
    print(machine_line())
    for kind in ("ae", "vae"):
        if getattr(args, kind) is not None:
            measure(kind, getattr(args, kind), args.data_dir, cells, args.positions)


if __name__ == "__main__":
    main()
