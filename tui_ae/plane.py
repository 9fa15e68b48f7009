"""The plane a latent map shows, and the code the cursor decodes at each point of it.

A 2-D model's map is its latent space itself: axes z₁ and z₂, nothing left out. A model
with more dimensions is shown on a principal plane: through the mean of its validation
codes, spanned by their first two principal components (numpy's SVD of the centred
codes), each labelled with its share of the codes' variance, so the user knows what the
map leaves out. Training fits the plane once, with each checkpoint's map.

Most codes of an 8-D model lie off any plane: the map draws their projections, but the
plane itself runs through empty space, and decoding plane points as they are would show
digits no code is near. So at plane coordinates c the cursor decodes

    mean + c₁·pc₁ + c₂·pc₂ + r(c)

where r(c), the local depth, is the off-plane part (the residual) of the codes whose
projections lie near c: a Gaussian-weighted mean over the NEIGHBOURS nearest projections,
whose bandwidth is the projections' median spacing, faded to 0 with the distance to the
nearest projection (LocalDepth). On the data the cursor decodes what the codes there are;
far from any, the plane itself. A 2-D model has no residuals, so r(c) is 0 there.

numpy only: the explorer and the figures use it before torch has loaded.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tui_ae.neighbours import GridIndex, neighbour_distances

NEIGHBOURS = 16  # codes whose residuals make the local depth at a point
FADE = 10.0  # the local depth fades over this many times the projections' 99th-percentile spacing


@dataclass(frozen=True)
class Plane:
    """An affine plane in a latent space of `dim` dimensions: mean + xy @ axes.T, the axes orthonormal."""

    mean: np.ndarray  # (D,) float64
    axes: np.ndarray  # (D, 2) float64: orthonormal columns, the first along the most variance
    shares: tuple[float, float] | None  # each axis's share of the codes' variance; None for a 2-D model's own axes

    @classmethod
    def identity(cls) -> Plane:
        """A 2-D model's map: its latent space itself."""
        return cls(np.zeros(2), np.eye(2), None)

    @classmethod
    def fit(cls, codes: np.ndarray) -> Plane:
        """The principal plane of (N, D) codes; a 2-D model's own axes.

        SVD's signs are arbitrary; each axis is turned so that its largest loading is positive,
        so a model's map keeps its orientation from one epoch to the next (explore --watch).
        """
        codes = np.asarray(codes, dtype=np.float64)
        if codes.shape[1] == 2:
            return cls.identity()
        mean = codes.mean(axis=0)
        _, singular, vt = np.linalg.svd(codes - mean, full_matrices=False)  # vt: (min(N, D), D)
        axes = vt[:2].T.copy()  # (D, 2)
        largest = np.argmax(np.abs(axes), axis=0)  # the first of equal loadings: a fixed choice
        axes *= np.sign(axes[largest, [0, 1]])
        variance = singular**2
        total = float(variance.sum())
        shares = (float(variance[0] / total), float(variance[1] / total)) if total > 0 else (0.0, 0.0)
        return cls(mean, axes, shares)

    @property
    def dim(self) -> int:
        return len(self.mean)

    def project(self, codes: np.ndarray) -> np.ndarray:
        """(N, D) codes -> (N, 2) plane coordinates: where the map draws them."""
        return (np.asarray(codes, dtype=np.float64) - self.mean) @ self.axes

    def residuals(self, codes: np.ndarray) -> np.ndarray:
        """(N, D) codes -> (N, D): the part of each code off the plane (orthogonal to it)."""
        centred = np.asarray(codes, dtype=np.float64) - self.mean
        return centred - (centred @ self.axes) @ self.axes.T

    def code(self, xy: np.ndarray, depth: np.ndarray | None = None) -> np.ndarray:
        """(N, 2) plane coordinates (and their (N, D) local depth) -> (N, D) codes."""
        codes = self.mean + np.asarray(xy, dtype=np.float64) @ self.axes.T
        return codes if depth is None else codes + depth

    def directions(self, xy: np.ndarray) -> np.ndarray:
        """(N, 2) -> (N, D): xy along the plane's two directions from the origin, every other direction at 0.

        The VAE's grid of N(0, 1)'s quantiles: its prior's mean is 0, not the codes' mean.
        """
        return np.asarray(xy, dtype=np.float64) @ self.axes.T

    def axis_labels(self, short: bool = False) -> tuple[str, str]:
        """What the map's axes are: z₁ and z₂, or the principal components with their shares of the variance.

        short: without the words "of variance", for a narrow map (80 columns).
        """
        if self.shares is None:
            return "z₁", "z₂"
        first = f"PC1 ({self.shares[0]:.0%})" if short else f"PC1 ({self.shares[0]:.0%} of variance)"
        return first, f"PC2 ({self.shares[1]:.0%})"

    def covariance(self, sigma: np.ndarray) -> np.ndarray:
        """(2, 2) Vᵀ diag(σ²) V: the covariance on the plane of a posterior N(μ, diag(σ²)), σ (D,)."""
        sigma = np.asarray(sigma, dtype=np.float64)
        return (self.axes * (sigma**2)[:, None]).T @ self.axes

    def sigma_along_axes(self, sigma: np.ndarray) -> tuple[float, float]:
        """A posterior's standard deviation along each of the map's axes (a 2-D model's σ itself)."""
        if self.shares is None:
            return float(sigma[0]), float(sigma[1])
        variances = np.diag(self.covariance(sigma))
        return float(np.sqrt(variances[0])), float(np.sqrt(variances[1]))

    def ellipse(self, sigma: np.ndarray) -> tuple[tuple[float, float], float]:
        """The posterior's 1σ ellipse on the map: (its two semi-axes, the first's angle from the map's x axis).

        The eigenvectors of Vᵀ diag(σ²) V, a rotated ellipse; axis-aligned, with the σ along the
        axes as its radii, where that matrix is diagonal (a 2-D model's map always: σ itself).
        """
        if self.shares is None:
            return (float(sigma[0]), float(sigma[1])), 0.0
        covariance = self.covariance(sigma)
        if covariance[0, 1] == 0:
            return self.sigma_along_axes(sigma), 0.0
        values, vectors = np.linalg.eigh(covariance)  # ascending
        major = vectors[:, 1]
        radii = (float(np.sqrt(values[1])), float(np.sqrt(max(values[0], 0.0))))
        return radii, float(np.arctan2(major[1], major[0]))


class LocalDepth:
    """r(c): the off-plane part of the codes near a plane point (see the module's docstring)."""

    def __init__(self, index: GridIndex, residuals: np.ndarray, neighbours: int = NEIGHBOURS) -> None:
        """index: the codes' projections, indexed; residuals: (N, D) their off-plane parts, in the same order."""
        self.index, self.residuals = index, np.asarray(residuals, dtype=np.float64)
        self.neighbours = neighbours
        self.flat = index.size < 2 or not self.residuals.any()  # a 2-D model, or codes all on the plane
        spacing = neighbour_distances(index) if not self.flat else np.zeros(0)
        spacing = spacing[np.isfinite(spacing)]
        median, far = np.percentile(spacing, [50, 99]) if len(spacing) else (0.0, 0.0)
        self.bandwidth = float(median) if median > 0 else float(far) or 1.0
        self.fade = FADE * (float(far) or self.bandwidth)

    def at(self, x: float, y: float) -> np.ndarray:
        """(D,) the local depth at plane point (x, y)."""
        if self.flat:
            return np.zeros(self.residuals.shape[1])
        found, distances = self.index.nearest(x, y, self.neighbours)
        # Relative to the nearest, so that far from every code the weights do not all underflow to 0.
        weights = np.exp(-(distances**2 - distances[0] ** 2) / (2 * self.bandwidth**2))
        mean = weights @ self.residuals[found] / weights.sum()
        return mean * np.exp(-0.5 * (distances[0] / self.fade) ** 2)

    def many(self, xy: np.ndarray) -> np.ndarray:
        """(N, 2) plane points -> (N, D) their local depths."""
        xy = np.asarray(xy, dtype=np.float64)
        return np.stack([self.at(x, y) for x, y in xy]) if len(xy) else np.zeros((0, self.residuals.shape[1]))


def codes_at(plane: Plane, depth: LocalDepth | None, xy: np.ndarray) -> np.ndarray:
    """(N, 2) map points -> (N, D) the codes the map decodes there: the plane plus the local depth.

    The one rule for the cursor, grid mode and the figures' latent grids. Without a depth (the
    map's codes not indexed yet), the plane alone.
    """
    return plane.code(xy, depth.many(xy) if depth is not None and not depth.flat else None)
