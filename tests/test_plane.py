"""The principal plane and the local depth, against answers computed here another way."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tui_ae.neighbours import GridIndex
from tui_ae.plane import FADE, LocalDepth, Plane, codes_at


def codes_near_a_plane(n: int = 500, dim: int = 8, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(codes, u, v): codes spread widely along two orthonormal directions u, v, a little along the rest."""
    rng = np.random.default_rng(seed)
    basis, _ = np.linalg.qr(rng.normal(size=(dim, dim)))
    u, v = basis[:, 0], basis[:, 1]
    spread = np.array([5.0, 2.0] + [0.1] * (dim - 2))
    codes = 3.0 + (rng.normal(size=(n, dim)) * spread) @ basis.T
    return codes, u, v


def test_the_plane_is_the_covariances_two_leading_eigenvectors():
    codes, _, _ = codes_near_a_plane()
    plane = Plane.fit(codes)
    values, vectors = np.linalg.eigh(np.cov(codes.T, bias=True))  # ascending
    expected = vectors[:, ::-1][:, :2]
    for axis in range(2):  # the same line; the sign is the plane's convention
        assert abs(abs(plane.axes[:, axis] @ expected[:, axis]) - 1) < 1e-9
    np.testing.assert_allclose(plane.mean, codes.mean(axis=0))
    np.testing.assert_allclose(plane.shares, values[::-1][:2] / values.sum(), rtol=1e-9)
    np.testing.assert_allclose(plane.axes.T @ plane.axes, np.eye(2), atol=1e-12)


def test_each_axis_has_its_largest_loading_positive_whatever_the_codes_order_or_reflection():
    codes, _, _ = codes_near_a_plane()
    plane = Plane.fit(codes)
    largest = plane.axes[np.argmax(np.abs(plane.axes), axis=0), [0, 1]]
    assert (largest > 0).all()
    reflected = Plane.fit(2 * codes.mean(axis=0) - codes)  # every direction's sign flipped
    shuffled = Plane.fit(codes[np.random.default_rng(1).permutation(len(codes))])
    np.testing.assert_allclose(reflected.axes, plane.axes, atol=1e-9)
    np.testing.assert_allclose(shuffled.axes, plane.axes, atol=1e-9)


def test_a_code_is_its_projection_plus_its_residual():
    codes, _, _ = codes_near_a_plane()
    plane = Plane.fit(codes)
    xy, residuals = plane.project(codes), plane.residuals(codes)
    np.testing.assert_allclose(plane.code(xy, residuals), codes, atol=1e-12)
    np.testing.assert_allclose(residuals @ plane.axes, 0, atol=1e-12)  # off the plane: orthogonal to it
    # Distances split into the plane's and the residuals' parts (the readout's candidates rely on it).
    full = np.sum((codes[0] - codes[1:]) ** 2, axis=1)
    split = np.sum((xy[0] - xy[1:]) ** 2, axis=1) + np.sum((residuals[0] - residuals[1:]) ** 2, axis=1)
    np.testing.assert_allclose(split, full, rtol=1e-12)


def test_a_2d_model_keeps_its_own_axes_exactly():
    codes = np.random.default_rng(2).normal(size=(300, 2)).astype(np.float32)
    plane = Plane.fit(codes)
    assert plane.shares is None and plane.axis_labels() == ("z₁", "z₂")
    np.testing.assert_array_equal(plane.project(codes), codes.astype(np.float64))
    assert not plane.residuals(codes).any()


def test_the_axis_labels_give_each_components_share():
    codes, _, _ = codes_near_a_plane()
    plane = Plane.fit(codes)
    first, second = (round(100 * share) for share in plane.shares)
    assert plane.axis_labels() == (f"PC1 ({first}% of variance)", f"PC2 ({second}%)")


# -- the local depth ---------------------------------------------------------------------------------------------


def two_codes_depth() -> LocalDepth:
    """Two projections 1 apart on the x axis, with residuals (0, 0, 2) and (0, 0, 4) in a 3-D space."""
    projections = np.array([[0.0, 0.0], [1.0, 0.0]])
    return LocalDepth(GridIndex(projections), np.array([[0.0, 0.0, 2.0], [0.0, 0.0, 4.0]]))


def test_between_two_codes_the_depth_is_their_mean_faded_by_the_distance():
    depth = two_codes_depth()
    # Each code's nearest neighbour is 1 away: bandwidth (median) 1, fade radius FADE x 1.
    assert depth.bandwidth == 1.0 and depth.fade == FADE
    np.testing.assert_allclose(depth.at(0.5, 0.0), [0, 0, 3.0 * math.exp(-0.5 * (0.5 / FADE) ** 2)], rtol=1e-12)


def test_on_a_code_the_depth_leans_to_that_codes_residual():
    depth = two_codes_depth()
    near, far = math.exp(0.0), math.exp(-1 / 2)  # weights at 0 and 1 bandwidth
    expected = (near * 2.0 + far * 4.0) / (near + far)
    np.testing.assert_allclose(depth.at(0.0, 0.0), [0, 0, expected], rtol=1e-12)


def test_far_from_every_code_the_depth_fades_to_nothing():
    depth = two_codes_depth()
    assert np.abs(depth.at(0.0, 50 * FADE)).max() < 1e-12
    np.testing.assert_allclose(depth.many(np.array([[0.5, 0.0], [0.0, 50 * FADE]]))[0], depth.at(0.5, 0.0))


@pytest.mark.parametrize("n", [1, 30])
def test_a_2d_models_depth_is_zero(n):
    points = np.random.default_rng(3).normal(size=(n, 2))
    depth = LocalDepth(GridIndex(points), np.zeros((n, 2)))
    assert depth.flat and not depth.at(0.1, 0.2).any()


# -- a posterior on the plane, the prior's grid, the codes the map decodes ------------------------------------------


def turned_plane(dim: int = 5, seed: int = 9) -> Plane:
    """A plane through (1, 2, ...) spanned by two random orthonormal directions."""
    basis, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(dim, dim)))
    return Plane(np.arange(1.0, dim + 1), basis[:, :2], (0.5, 0.3))


def test_a_posterior_projected_on_the_plane_has_covariance_v_sigma_v():
    plane = turned_plane()
    sigma = np.array([0.5, 0.1, 2.0, 0.7, 0.05])
    expected = np.array(
        [
            [sum(plane.axes[k, i] * sigma[k] ** 2 * plane.axes[k, j] for k in range(5)) for j in range(2)]
            for i in range(2)
        ]
    )
    np.testing.assert_allclose(plane.covariance(sigma), expected, rtol=1e-12)
    assert plane.sigma_along_axes(sigma) == pytest.approx(np.sqrt(np.diag(expected)), rel=1e-12)


def test_the_1_sigma_ellipse_is_the_projected_covariances_outline():
    plane = turned_plane()
    sigma = np.array([0.5, 0.1, 2.0, 0.7, 0.05])
    (r1, r2), angle = plane.ellipse(sigma)
    assert r1 >= r2 > 0
    inverse = np.linalg.inv(plane.covariance(sigma))
    a = r1 * np.array([math.cos(angle), math.sin(angle)])
    b = r2 * np.array([-math.sin(angle), math.cos(angle)])
    for t in np.linspace(0, 2 * math.pi, 13):  # every point of the outline is 1 Mahalanobis unit from the centre
        point = a * math.cos(t) + b * math.sin(t)
        assert point @ inverse @ point == pytest.approx(1.0, rel=1e-9)
    assert r1 * r2 == pytest.approx(math.sqrt(np.linalg.det(plane.covariance(sigma))), rel=1e-9)  # its area


def test_a_2d_models_ellipse_is_its_sigma_unturned():
    sigma = np.array([0.25, 0.125])
    assert Plane.identity().ellipse(sigma) == ((0.25, 0.125), 0.0)
    assert Plane.identity().sigma_along_axes(sigma) == (0.25, 0.125)
    along_axes = Plane(np.zeros(4), np.eye(4)[:, :2], (0.6, 0.3))  # a plane of the first two axes: still unturned
    assert along_axes.ellipse(np.array([0.5, 0.25, 3.0, 4.0])) == ((0.5, 0.25), 0.0)


def test_the_priors_grid_runs_along_the_planes_directions_through_the_origin():
    plane = turned_plane()
    xy = np.array([[1.5, -0.5], [0.0, 2.0]])
    expected = xy[:, :1] * plane.axes[:, 0] + xy[:, 1:] * plane.axes[:, 1]  # no mean: the prior's is 0
    np.testing.assert_allclose(plane.directions(xy), expected, rtol=1e-12)
    np.testing.assert_array_equal(Plane.identity().directions(xy), xy)


def test_the_map_decodes_the_plane_plus_the_local_depth():
    codes, _, _ = codes_near_a_plane(n=300)
    plane = Plane.fit(codes)
    depth = LocalDepth(GridIndex(plane.project(codes)), plane.residuals(codes))
    xy = np.array([[0.3, -1.2], [2.0, 0.5]])
    expected = np.stack([plane.mean + x * plane.axes[:, 0] + y * plane.axes[:, 1] + depth.at(x, y) for x, y in xy])
    np.testing.assert_allclose(codes_at(plane, depth, xy), expected, rtol=1e-12)
    np.testing.assert_allclose(codes_at(plane, None, xy), expected - depth.many(xy), rtol=1e-12)  # not measured yet
    np.testing.assert_allclose(plane.project(codes_at(plane, depth, xy)), xy, atol=1e-12)  # drawn where it is
