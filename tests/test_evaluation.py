"""The latent-space measures on synthetic codes whose answers are known by construction."""

import pytest
import torch

from tui_ae import evaluation
from tui_ae.evaluation import active_units, chunk_rows, knn_accuracy, knn_predict, unit_activity


def _on_a_line(labels: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Reference codes at x = 1, 2, 3, ... (nearest the origin first) with these labels."""
    points = torch.tensor([[float(i + 1), 0.0] for i in range(len(labels))])
    return points, torch.tensor(labels)


ORIGIN = torch.zeros(1, 2)


def test_the_five_nearest_vote_not_the_nearest_alone_nor_the_sixth():
    reference, labels = _on_a_line([3, 1, 1, 1, 2, 2, 2, 2, 2])  # 1-NN says 3, 9-NN says 2
    assert knn_predict(reference, labels, ORIGIN).tolist() == [1]


@pytest.mark.parametrize(
    "labels, expected",
    [
        ([7, 7, 2, 2, 9], 2),  # two labels with two votes each: the smaller, though 7 is nearer
        ([2, 2, 7, 7, 9], 2),  # the same votes in another order of distance
        ([8, 6, 9, 5, 7], 5),  # five labels with one vote each: the smallest
        ([9, 9, 4, 1, 1, 0, 0, 0], 1),  # the 6th to 8th nearest do not vote
    ],
)
def test_a_tie_in_votes_goes_to_the_smallest_tied_label(labels, expected):
    reference, labels = _on_a_line(labels)
    assert knn_predict(reference, labels, ORIGIN).tolist() == [expected]


def test_distances_are_euclidean_over_every_axis():
    near_on_all_axes = torch.tensor([[1.0, 0.0, 0.0]] * 5)  # label 4, at distance 1
    near_on_the_first_two = torch.tensor([[0.0, 0.0, 3.0]] * 5)  # label 8, at distance 3 (0 on the first two axes)
    reference = torch.cat([near_on_all_axes, near_on_the_first_two])
    labels = torch.tensor([4] * 5 + [8] * 5)
    assert knn_predict(reference, labels, torch.zeros(1, 3)).tolist() == [4]
    # Euclidean, not city-block: (1, 1) is at 1.41 (L1: 2), (1.6, 0) at 1.6 (L1: 1.6)
    reference = torch.tensor([[1.0, 1.0]] * 5 + [[1.6, 0.0]] * 5)
    assert knn_predict(reference, labels, ORIGIN).tolist() == [4]


@pytest.mark.parametrize("axes", [2, 32])  # distances from differences; from a matrix product
def test_codes_far_from_the_origin_keep_their_order(axes):
    reference, labels = _on_a_line([3, 1, 1, 1, 2, 2, 2, 2, 2])
    far = torch.full((1, axes), 10_000.0)  # float32 resolves 0.001 there, but only 256 in a squared norm of 3.2e9
    reference = torch.cat([reference, torch.zeros(len(reference), axes - 2)], dim=1) + far
    assert knn_predict(reference, labels, far).tolist() == [1]


def test_with_few_axes_distances_are_exact_even_where_centring_cannot_help():
    here = torch.tensor([[10_000.0, 0.0]])
    distances = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0, 5.1])  # the 6th nearest just beyond the 5th
    reference = here + torch.stack([distances, torch.zeros(6)], dim=1)
    reference = torch.cat([reference, -reference])  # and a mirror image, so that the centre stays at 0
    labels = torch.tensor([1, 1, 2, 2, 1, 2] + [9] * 6)
    assert knn_predict(reference, labels, here).tolist() == [1]  # 2 if the 6th took the 5th's place


def _clusters(per_label: int, seed: int, spread: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Codes around ten centres on a circle of radius 10, one per label."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.arange(10).repeat_interleave(per_label)
    angles = labels * (2 * torch.pi / 10)
    centres = 10 * torch.stack([angles.cos(), angles.sin()], dim=1)
    return centres + spread * torch.randn(len(labels), 2, generator=generator), labels


def test_accuracy_on_separated_clusters_counts_the_queries_given_a_wrong_label():
    reference, reference_labels = _clusters(50, seed=0, spread=0.5)  # centres 6.2 apart: no overlap
    queries, query_labels = _clusters(20, seed=1, spread=0.5)
    assert knn_accuracy(reference, reference_labels, queries, query_labels) == 1.0
    query_labels[[0, 45, 199]] = (query_labels[[0, 45, 199]] + 1) % 10  # 3 of 200 now disagree with their cluster
    assert knn_accuracy(reference, reference_labels, queries, query_labels) == pytest.approx(197 / 200)


def test_the_chunk_size_does_not_change_the_answer(monkeypatch):
    reference, reference_labels = _clusters(40, seed=2, spread=4.0)  # overlapping: many close votes
    queries, _ = _clusters(10, seed=3, spread=4.0)  # 100 queries
    chunks = []
    real_cdist = torch.cdist
    monkeypatch.setattr(torch, "cdist", lambda x, y, **kw: chunks.append(len(x)) or real_cdist(x, y, **kw))
    whole = knn_predict(reference, reference_labels, queries, rows=1000)
    assert chunks == [100]
    for rows in (1, 7, 64):
        chunks.clear()
        assert torch.equal(knn_predict(reference, reference_labels, queries, rows=rows), whole)
        assert chunks == [rows] * (100 // rows) + ([100 % rows] if 100 % rows else [])


def test_by_default_a_chunk_of_distances_takes_about_100_mb(monkeypatch):
    assert chunk_rows(48_000) * 48_000 * 4 <= 100_000_000 < (chunk_rows(48_000) + 1) * 48_000 * 4
    assert chunk_rows(10**9) == 1
    monkeypatch.setattr(evaluation, "CHUNK_BYTES", 400 * 4 * 10)  # 10 rows of 400 reference points
    reference, reference_labels = _clusters(40, seed=2, spread=4.0)
    chunks = []
    real_cdist = torch.cdist
    monkeypatch.setattr(torch, "cdist", lambda x, y, **kw: chunks.append(len(x)) or real_cdist(x, y, **kw))
    knn_predict(reference, reference_labels, torch.zeros(25, 2))
    assert chunks == [10, 10, 5]


def test_fewer_reference_points_than_neighbours_all_vote():
    reference, labels = _on_a_line([6, 3, 3])
    assert knn_predict(reference, labels, ORIGIN).tolist() == [3]


def test_active_units_are_those_whose_posterior_mean_varies_over_the_data():
    n = 1000
    alternating = torch.tensor([1.0, -1.0]).repeat(n // 2)  # variance 1 over the data
    means = torch.stack(
        [
            0.2 * alternating,  # variance 0.04: active
            torch.full((n,), 5.0),  # far from 0 but the same for every input: inactive
            0.05 * alternating,  # variance 0.0025: inactive
            3.0 + 2.0 * alternating,  # variance 4: active
        ],
        dim=1,
    )  # (1000, 4): more inputs than units, so the variance must be taken over the inputs
    assert unit_activity(means).tolist() == pytest.approx([0.04, 0.0, 0.0025, 4.0])
    assert active_units(means) == 2
    assert active_units(means, threshold=0.001) == 3
    assert active_units(means.double()) == 2  # any float dtype


@pytest.mark.parametrize("kind", ["ae", "vae"])
def test_one_validation_pass_gives_the_losses_and_the_codes_that_two_passes_give(kind):
    from tui_ae.data import DeviceLoader, Digits
    from tui_ae.models import build_model

    torch.manual_seed(0)
    model = build_model(kind, latent_dim=3)
    images = (torch.rand(70, 28, 28) * 255).to(torch.uint8)
    loader = DeviceLoader(Digits(images, torch.arange(70) % 10, "test"), 32, torch.device("cpu"), shuffle=False)
    torch.manual_seed(1)  # the VAE's losses draw a sample: the same one each time
    metrics, codes = evaluation.evaluate_and_encode(model, loader)
    torch.manual_seed(1)
    assert metrics == evaluation.evaluate(model, loader)
    assert torch.equal(codes, evaluation.codes(model, loader))  # every batch, in order, bit for bit
    assert codes.shape == (70, 3)
    assert not model.code_layer._forward_hooks  # the hook is gone afterwards
