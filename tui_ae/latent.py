"""Where to look on a latent map: the bounds a map shows, and regular grids of points on it.

Shared by the explorer and the figures; numpy and the standard library only.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np

Bounds = tuple[float, float, float, float]  # x_min, x_max, y_min, y_max


def latent_bounds(points: np.ndarray, margin: float = 0.05) -> Bounds:
    """(x_min, x_max, y_min, y_max) around the central 99.8% of the points, with a margin.

    Percentiles rather than min/max: a few outliers would otherwise squeeze the map.
    """
    lo, hi = np.percentile(points[:, :2], [0.1, 99.9], axis=0)
    pad = (hi - lo) * margin + 1e-6
    return float(lo[0] - pad[0]), float(hi[0] + pad[0]), float(lo[1] - pad[1]), float(hi[1] + pad[1])


def grid_points(cols: int, rows: int, bounds: Bounds) -> np.ndarray:
    """(rows * cols, 2) cell centres over the bounds, row by row from the top (y_max), as a map shows them."""
    x_min, x_max, y_min, y_max = bounds
    xs = x_min + (np.arange(cols) + 0.5) * (x_max - x_min) / cols
    ys = y_max - (np.arange(rows) + 0.5) * (y_max - y_min) / rows
    return np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)


def quantile_points(cols: int, rows: int) -> np.ndarray:
    """(rows * cols, 2) points at evenly spaced quantiles of N(0, 1) per axis, top row the highest.

    Where the VAE's prior puts equal mass between neighbours (the homework's Figure 4 for a VAE).
    """
    inv_cdf = NormalDist().inv_cdf
    xs = np.array([inv_cdf((i + 0.5) / cols) for i in range(cols)])
    ys = np.array([inv_cdf(1 - (j + 0.5) / rows) for j in range(rows)])
    return np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)


def log_prior(z: np.ndarray) -> float:
    """log N(z; 0, I): the VAE's prior density at the code z, in nats."""
    z = np.asarray(z, dtype=np.float64)
    return float(-0.5 * (z.size * math.log(2 * math.pi) + np.sum(z * z)))
