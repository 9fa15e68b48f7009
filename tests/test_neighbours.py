"""The bucket index, the spacing statistics and the medoids, each against brute force on the same numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tui_ae.latent import log_prior
from tui_ae.neighbours import GridIndex, Spacing, class_medoids, neighbour_distances, sampled_neighbour_distances


def brute_nearest(points: np.ndarray, x: float, y: float, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Every distance, sorted by distance then index: the answer the index must give."""
    d2 = (points[:, 0] - x) ** 2 + (points[:, 1] - y) ** 2
    order = np.lexsort((np.arange(len(points)), d2))[:k]
    return order, np.sqrt(d2[order])


def brute_neighbour_distances(points: np.ndarray) -> np.ndarray:
    d2 = (points[None, :, 0] - points[:, None, 0]) ** 2 + (points[None, :, 1] - points[:, None, 1]) ** 2
    np.fill_diagonal(d2, np.inf)
    return np.sqrt(d2.min(axis=1))


def point_sets() -> list[tuple[str, np.ndarray]]:
    """Layouts that stress a grid of buckets: clusters, far outliers, repeats, a line, a point alone."""
    rng = np.random.default_rng(0)
    two_clusters = np.concatenate([rng.normal(size=(150, 2)) * 0.01, rng.normal(size=(150, 2)) * 5 + 40])
    outliers = np.concatenate([rng.normal(size=(300, 2)), [[500.0, -300.0], [-800.0, 900.0]]])
    return [
        ("gaussian", rng.normal(size=(400, 2)) * 3),
        ("two clusters", two_clusters),
        ("outliers", outliers),
        ("repeats", np.round(rng.normal(size=(300, 2)), 1)),  # many points share a place
        ("a line", np.stack([rng.normal(size=200), np.zeros(200)], axis=1)),
        ("integer grid", np.stack(np.meshgrid(np.arange(12.0), np.arange(9.0)), axis=-1).reshape(-1, 2)),  # ties
        ("one point", np.array([[1.5, -2.0]])),
    ]


@pytest.mark.parametrize("name, points", point_sets())
def test_nearest_is_brute_force_inside_and_outside_the_points(name, points):
    index = GridIndex(points)
    rng = np.random.default_rng(1)
    lo, hi = points.min(axis=0), points.max(axis=0)
    span = np.maximum(hi - lo, 1.0)
    queries = rng.uniform(lo - span, hi + span, size=(200, 2))  # a third outside the points' box
    queries = np.concatenate([queries, points[:20], points[:20] + 0.5])  # on points, and between grid points
    for qx, qy in queries:
        for k in (1, 3, 5):
            found, distances = index.nearest(qx, qy, k)
            expected, expected_distances = brute_nearest(points, qx, qy, k)
            np.testing.assert_array_equal(found, expected)
            np.testing.assert_array_equal(distances, expected_distances)


def test_nearest_gives_what_there_is():
    points = np.array([[0.0, 0.0], [1.0, 0.0]])
    found, distances = GridIndex(points).nearest(0.9, 0.0, k=5)
    assert found.tolist() == [1, 0] and distances == pytest.approx([0.1, 0.9])
    found, distances = GridIndex(np.zeros((0, 2))).nearest(0.0, 0.0, k=3)
    assert len(found) == len(distances) == 0


def codes_off_a_plane(n: int = 600, dim: int = 6, seed: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """(projections (n, 2), residuals (n, dim)): codes whose residuals are as wide as their spread on the plane,
    so that the nearest on the plane is seldom the nearest in full."""
    rng = np.random.default_rng(seed)
    projections = rng.normal(size=(n, 2)) * 3
    residuals = np.zeros((n, dim))
    residuals[:, 2:] = rng.normal(size=(n, dim - 2)) * 2  # orthogonal to the plane (its first two axes)
    return projections, residuals


def test_nearest_in_full_dimensions_is_brute_force_over_the_whole_codes():
    projections, residuals = codes_off_a_plane()
    codes = residuals.copy()
    codes[:, :2] = projections  # each code is its projection plus its residual
    index = GridIndex(projections, depths=residuals)
    rng = np.random.default_rng(5)
    plane_only_agrees = 0
    for _ in range(150):
        query = rng.normal(size=residuals.shape[1]) * 3
        depth = query.copy()
        depth[:2] = 0
        for k in (1, 3, 16):
            found, distances = index.nearest(query[0], query[1], k, depth=depth)
            full = np.sqrt(((codes - query) ** 2).sum(axis=1))
            expected = np.argsort(full, kind="stable")[:k]
            np.testing.assert_array_equal(found, expected)
            np.testing.assert_allclose(distances, full[expected], rtol=1e-12)
        plane_only_agrees += index.nearest(query[0], query[1], 1)[0][0] == found[0]
    assert plane_only_agrees < 75  # the plane alone would mostly be wrong: the residuals counted


def test_the_sampled_spacing_is_each_sampled_codes_nearest_in_full_dimensions():
    projections, residuals = codes_off_a_plane(n=500)
    codes = residuals + np.pad(projections, ((0, 0), (0, residuals.shape[1] - 2))) + 7.0  # far from the origin
    d2 = ((codes[:, None, :] - codes[None, :, :]) ** 2).sum(axis=2)
    np.fill_diagonal(d2, np.inf)
    brute = np.sqrt(d2.min(axis=1))
    np.testing.assert_allclose(sampled_neighbour_distances(codes, sample=500), brute, rtol=1e-9)
    rows = np.unique(np.linspace(0, 499, 100).round().astype(int))  # evenly spread, the first and the last
    np.testing.assert_allclose(sampled_neighbour_distances(codes, sample=100, chunk=7), brute[rows], rtol=1e-9)
    spacing = Spacing.of_codes(codes, sample=500)
    assert (spacing.median, spacing.far) == pytest.approx((np.median(brute), np.percentile(brute, 99)), rel=1e-9)


def test_a_2d_spacing_of_codes_is_the_exact_grid_one():
    points = np.random.default_rng(6).normal(size=(800, 2)).astype(np.float32)
    assert Spacing.of_codes(points) == Spacing.of(GridIndex(points))


@pytest.mark.parametrize("name, points", point_sets()[:-1])
def test_neighbour_distances_are_brute_force(name, points):
    np.testing.assert_array_equal(neighbour_distances(GridIndex(points)), brute_neighbour_distances(points))


def test_spacing_is_the_median_and_99th_percentile_of_the_neighbour_distances():
    points = np.random.default_rng(2).normal(size=(1000, 2))
    spacing = Spacing.of(GridIndex(points))
    nearest = brute_neighbour_distances(points)
    assert spacing.median == np.median(nearest) and spacing.far == np.percentile(nearest, 99)
    assert spacing.units(2 * spacing.median) == pytest.approx(2.0)
    assert spacing.off_the_data(spacing.far * 1.01) and not spacing.off_the_data(spacing.far)


def test_no_spacing_without_two_distinct_codes():
    assert Spacing.of(GridIndex(np.array([[1.0, 1.0]]))) is None
    assert Spacing.of(GridIndex(np.ones((10, 2)))) is None  # every code in one place


def test_medoids_are_brute_force():
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 10, size=700)
    points = rng.normal(size=(700, 2)) + labels[:, None]
    points[labels == 4] *= 3  # a spread-out class
    medoids = class_medoids(points, labels, chunk=64)  # several chunks for the larger classes
    assert sorted(medoids) == list(range(10))
    for label, index in medoids.items():
        members = np.flatnonzero(labels == label)
        mine = points[members]
        sums = np.sqrt(((mine[:, None, :] - mine[None, :, :]) ** 2).sum(axis=2)).sum(axis=1)
        assert index == members[np.argmin(sums)]


def test_medoids_in_full_dimensions_are_brute_force():
    rng = np.random.default_rng(7)
    labels = rng.integers(0, 4, size=300)
    codes = rng.normal(size=(300, 8)) + labels[:, None]
    codes[:, 5] *= 1 + 4 * labels  # a direction that spreads some classes more than others
    for label, index in class_medoids(codes, labels).items():
        members = np.flatnonzero(labels == label)
        sums = np.sqrt(((codes[members, None, :] - codes[None, members, :]) ** 2).sum(axis=2)).sum(axis=1)
        assert index == members[np.argmin(sums)]


def test_a_class_with_no_codes_has_no_medoid():
    assert sorted(class_medoids(np.zeros((3, 2)), np.array([1, 1, 7]))) == [1, 7]


def test_log_prior_is_the_standard_normal_density():
    assert log_prior(np.zeros(2)) == pytest.approx(-math.log(2 * math.pi))
    z = np.array([0.5, -1.5, 2.0])
    expected = sum(math.log(math.exp(-v * v / 2) / math.sqrt(2 * math.pi)) for v in z)
    assert log_prior(z) == pytest.approx(expected)
