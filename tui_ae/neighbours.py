"""Nearest codes to a point of a latent map: a bucket index, the map's typical spacing, each class's medoid.

numpy only (no torch, no Textual), so the explorer can answer "which validation codes lie
nearest the cursor" on every key press. The index is a uniform grid of square buckets over
the points' bounding box, with a few points per bucket on average; a query looks at the
query's bucket and its neighbours, growing the block until it holds k points, then at the
block that reaches as far as the k-th of those: nothing outside it can be nearer. Its cost
depends on the points near the query, not on how many there are in all.

A map of more than two latent dimensions draws each code at its projection p on a plane;
the rest of the code, its residual r, is orthogonal to the plane. Distances in the full
space split into the two parts, d² = |pᵢ − p|² + |rᵢ − r|², and the plane's part alone is
never more than the whole: so the same blocks of buckets, grown to the k-th full distance,
hold the k nearest codes in full dimensions (nearest(..., depth=r)).
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass

import numpy as np

PER_BUCKET = 2.0  # points per bucket on average over the bounding box (codes cluster: most buckets hold more, or none)
MAX_SIDE = 1024  # buckets along an axis, at most (a million buckets' offsets: 8 MB)
CHUNK = 1024  # points per pass when finding every point's neighbour (bounds the temporary arrays)
SAMPLE = 2000  # codes whose nearest neighbours give the spacing of a space of more than two dimensions


class GridIndex:
    """The points of a map sorted into a uniform grid of buckets; k-nearest queries by growing blocks of them."""

    def __init__(self, points: np.ndarray, per_bucket: float = PER_BUCKET, *, depths: np.ndarray | None = None) -> None:
        """points: (N, 2) where the map draws them; depths: (N, D), each one's residual off the map's plane, for
        distances in full dimensions (nearest(..., depth=)); None for a map that is its latent space."""
        xy = np.asarray(points, dtype=np.float64)[:, :2]
        self.size = len(xy)
        self.lo = xy.min(axis=0) if self.size else np.zeros(2)
        span = (xy.max(axis=0) - self.lo) if self.size else np.zeros(2)
        self.side = _bucket_side(span, self.size, per_bucket)
        self.shape = tuple(int(min(max(math.ceil(s / self.side), 1), MAX_SIDE)) for s in span)  # (nx, ny)
        nx, ny = self.shape
        bx, by = self.buckets(xy[:, 0], xy[:, 1])
        self.order = np.argsort(by * nx + bx, kind="stable")  # index i of the sorted arrays is point order[i]
        self.x, self.y = xy[self.order, 0].copy(), xy[self.order, 1].copy()
        counts = np.bincount((by * nx + bx)[self.order], minlength=nx * ny)
        self.starts = np.concatenate(([0], np.cumsum(counts)))  # bucket b holds sorted points starts[b]:starts[b+1]
        self._starts = array("q", self.starts.tobytes())  # the same, for a query's scalar lookups (Python ints)
        self._lo = (float(self.lo[0]), float(self.lo[1]))
        self.depths = None if depths is None else np.asarray(depths, dtype=np.float64)  # in the order given

    def buckets(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(bx, by) of points, clamped into the grid: a point outside it belongs to the nearest edge bucket."""
        nx, ny = self.shape
        bx = np.clip(np.floor((x - self.lo[0]) / self.side), 0, nx - 1).astype(np.int64)
        by = np.clip(np.floor((y - self.lo[1]) / self.side), 0, ny - 1).astype(np.int64)
        return bx, by

    def nearest(self, x: float, y: float, k: int = 1, depth: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The k points nearest (x, y): (indices into the points as given, distances), nearest first.

        With depth, the query's residual (D,), nearest in full dimensions: each distance is
        sqrt(|pᵢ − p|² + |rᵢ − depth|²), the index's depths being the rᵢ. Ties are broken by
        index. Fewer than k when there are fewer points.
        """
        k = min(k, self.size)
        if k <= 0:
            return np.zeros(0, np.int64), np.zeros(0)
        x, y = float(x), float(y)
        nx, ny = self.shape
        bx, by = self._bucket_of(x, y)

        def block(radius: int) -> tuple[np.ndarray, np.ndarray, bool]:
            x0, x1, y0, y1 = (
                max(bx - radius, 0),
                min(bx + radius, nx - 1),
                max(by - radius, 0),
                min(by + radius, ny - 1),
            )
            found = self._block(x0, x1, y0, y1)
            whole = x0 == 0 and y0 == 0 and x1 == nx - 1 and y1 == ny - 1
            d2 = (self.x[found] - x) ** 2 + (self.y[found] - y) ** 2
            if depth is not None:
                d2 = d2 + ((self.depths[self.order[found]] - depth) ** 2).sum(axis=1)
            return found, d2, whole

        # First a block with k points: its k-th distance bounds the answer's. Then the block of
        # buckets that holds every point within that distance on the map (a point's distance on
        # the map is never more than its full one): its k nearest are the answer.
        radius = 1
        found, d2, whole = block(radius)
        while len(found) < k and not whole:
            radius = 2 * radius + 1
            found, d2, whole = block(radius)
        kth = math.sqrt(float(np.partition(d2, k - 1)[k - 1]))
        enough = math.ceil(
            kth / self.side + 1e-9
        )  # a block this wide reaches that far every way (with rounding's margin)
        if enough > radius and not whole:
            found, d2, _ = block(enough)
        return self._best(found, d2, k)

    def _bucket_of(self, x: float, y: float) -> tuple[int, int]:
        nx, ny = self.shape
        fx, fy = (x - self._lo[0]) / self.side, (y - self._lo[1]) / self.side
        return min(max(int(math.floor(fx)), 0), nx - 1), min(max(int(math.floor(fy)), 0), ny - 1)

    def _block(self, x0: int, x1: int, y0: int, y1: int) -> np.ndarray:
        """Sorted positions of the points in buckets x0..x1, y0..y1: one contiguous run per row of buckets."""
        nx, starts = self.shape[0], self._starts
        runs = [(starts[row + x0], starts[row + x1 + 1]) for row in range(y0 * nx, (y1 + 1) * nx, nx)]
        runs = [run for run in runs if run[1] > run[0]]
        if len(runs) == 1:
            return np.arange(*runs[0])
        return np.concatenate([np.arange(*run) for run in runs]) if runs else np.zeros(0, np.int64)

    def _best(self, found: np.ndarray, d2: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The k nearest of the points found, by distance and then by index."""
        if len(found) > k:
            kth = np.partition(d2, k - 1)[k - 1]
            near = np.flatnonzero(d2 <= kth)  # k of them, or more where the k-th distance is shared
            found, d2 = found[near], d2[near]
        indices = self.order[found]
        best = np.lexsort((indices, d2))[:k]
        return indices[best], np.sqrt(d2[best])


def _bucket_side(span: np.ndarray, n: int, per_bucket: float) -> float:
    """A square bucket's side: about per_bucket points a bucket over the bounding box, within MAX_SIDE a side."""
    wide = float(max(span.max(initial=0.0), 0.0))
    if n == 0 or wide == 0.0:
        return 1.0
    buckets = max(n / per_bucket, 1.0)
    area = float(span[0] * span[1])
    side = math.sqrt(area / buckets) if area > 0 else wide / buckets  # points on a line: buckets along it
    return max(side, wide / MAX_SIDE)


def _ranges(begins: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """The concatenation of arange(b, e) for each pair, without a Python loop."""
    lengths = ends - begins
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, np.int64)
    keep = lengths > 0
    begins, lengths = begins[keep], lengths[keep]
    steps = np.ones(total, np.int64)
    firsts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    steps[firsts] = begins - np.concatenate(([0], begins[:-1] + lengths[:-1] - 1))
    return np.cumsum(steps)


def neighbour_distances(index: GridIndex) -> np.ndarray:
    """Each point's distance to its nearest other point (0 for a repeated point), in the order given.

    Vectorised: each point is compared with the points of its own and the eight buckets
    around it; a point whose answer could lie further out is asked of the index.
    """
    n = index.size
    result = np.full(n, np.inf)
    if n < 2:
        return result
    nx, ny = index.shape
    bx, by = index.buckets(index.x, index.y)  # of the sorted points
    for start in range(0, n, CHUNK):
        mine = np.arange(start, min(start + CHUNK, n))
        best = np.full(len(mine), np.inf)
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                cx, cy = bx[mine] + dx, by[mine] + dy
                inside = (cx >= 0) & (cx < nx) & (cy >= 0) & (cy < ny)
                bucket = np.where(inside, cy * nx + cx, 0)
                begins = np.where(inside, index.starts[bucket], 0)
                ends = np.where(inside, index.starts[bucket + 1], 0)
                lengths = ends - begins
                if not lengths.any():
                    continue
                others = _ranges(begins, ends)
                owners = mine[np.repeat(np.arange(len(mine)), lengths)]
                d2 = (index.x[others] - index.x[owners]) ** 2 + (index.y[others] - index.y[owners]) ** 2
                d2[others == owners] = np.inf  # not itself
                some = lengths > 0  # each of these owns a contiguous run of d2, in order
                firsts = np.concatenate(([0], np.cumsum(lengths[some])[:-1]))
                best[some] = np.minimum(best[some], np.minimum.reduceat(d2, firsts))
        result[mine] = best
    # Certain where the neighbour found is nearer than the 3x3 block's edge; otherwise ask the index.
    left = index.lo[0] + (bx - 1) * index.side
    right = index.lo[0] + (bx + 2) * index.side
    bottom = index.lo[1] + (by - 1) * index.side
    top = index.lo[1] + (by + 2) * index.side
    clear = np.min(
        np.stack(
            [
                np.where(bx - 1 > 0, index.x - left, np.inf),
                np.where(bx + 1 < nx - 1, right - index.x, np.inf),
                np.where(by - 1 > 0, index.y - bottom, np.inf),
                np.where(by + 1 < ny - 1, top - index.y, np.inf),
            ]
        ),
        axis=0,
    )
    unsure = np.flatnonzero(result >= clear**2 * (1 - 1e-9))  # at the edge, rounding could hide a tie
    if len(unsure):
        position = np.empty(n, np.int64)
        position[index.order] = np.arange(n)  # where each point given sits among the sorted ones
        for i in unsure:
            found, _ = index.nearest(index.x[i], index.y[i], k=2)  # itself (or a twin) and its neighbour
            j = position[found[0] if found[0] != index.order[i] else found[1]]
            result[i] = (index.x[j] - index.x[i]) ** 2 + (index.y[j] - index.y[i]) ** 2
    distances = np.empty(n)
    distances[index.order] = np.sqrt(result)
    return distances


@dataclass(frozen=True)
class Spacing:
    """How far apart a map's codes typically lie: the readout's unit, and where "off the data" begins."""

    median: float  # the median distance from a code to its nearest neighbour
    far: float  # the 99th percentile of those distances: a cursor further than this from any code is off the data

    @classmethod
    def of(cls, index: GridIndex) -> Spacing | None:
        """The spacing of the index's points; None with fewer than two, or all in one place."""
        if index.size < 2:
            return None
        return cls.of_distances(neighbour_distances(index))

    @classmethod
    def of_codes(cls, codes: np.ndarray, sample: int = SAMPLE) -> Spacing | None:
        """The spacing of (N, D) codes in their full dimensions: exactly in 2 (the grid index), else on a sample."""
        codes = np.asarray(codes)
        if len(codes) < 2:
            return None
        if codes.shape[1] == 2:
            return cls.of(GridIndex(codes))
        return cls.of_distances(sampled_neighbour_distances(codes, sample))

    @classmethod
    def of_distances(cls, distances: np.ndarray) -> Spacing | None:
        """From codes' distances to their nearest neighbours; None where more than half are 0."""
        median, far = np.percentile(distances, [50, 99])
        if median <= 0:
            return None  # more than half the codes repeated: no scale to measure in
        return cls(float(median), float(far))

    def units(self, distance: float) -> float:
        return distance / self.median

    def off_the_data(self, distance: float) -> bool:
        return distance > self.far


def sampled_neighbour_distances(codes: np.ndarray, sample: int = SAMPLE, chunk: int = 256) -> np.ndarray:
    """The full-dimension distance from each of `sample` codes, evenly spread over (N, D) codes (all of them if
    fewer), to its nearest other code: by brute force, chunk rows at a time (|a|² − 2a·b + |b|², codes centred)."""
    centred = np.asarray(codes, dtype=np.float64)
    centred = centred - centred.mean(axis=0)  # smaller norms: less cancellation in the expanded form
    norms = np.einsum("ij,ij->i", centred, centred)
    rows = np.unique(np.linspace(0, len(centred) - 1, min(sample, len(centred))).round().astype(np.int64))
    nearest = np.empty(len(rows))
    for start in range(0, len(rows), chunk):
        mine = rows[start : start + chunk]
        d2 = centred[mine] @ centred.T  # (chunk, N)
        d2 *= -2
        d2 += norms
        d2 += norms[mine, None]
        d2[np.arange(len(mine)), mine] = np.inf  # not itself
        nearest[start : start + chunk] = d2.min(axis=1)
    return np.sqrt(np.maximum(nearest, 0.0))


def class_medoids(points: np.ndarray, labels: np.ndarray, chunk: int = 32) -> dict[int, int]:
    """For each label, the index of its medoid: the point with the least summed distance to the others of its label.

    points (N, D), in as many dimensions as given (a map's codes in full). Ties go to the smaller
    index. Rows are summed a chunk at a time, and the squares an axis at a time, so a class of
    6,000 points needs a few MB, not its whole distance matrix, whatever the dimensions.
    """
    points = np.asarray(points, dtype=np.float64)
    medoids = {}
    for label in np.unique(labels):
        members = points[labels == label]  # (M, D)
        sums = np.empty(len(members))
        for start in range(0, len(members), chunk):
            rows = members[start : start + chunk]
            d2 = np.zeros((len(rows), len(members)))
            for axis in range(points.shape[1]):
                d2 += (rows[:, axis, None] - members[None, :, axis]) ** 2
            sums[start : start + chunk] = np.sqrt(d2).sum(axis=1)
        medoids[int(label)] = int(np.flatnonzero(labels == label)[np.argmin(sums)])
    return medoids
