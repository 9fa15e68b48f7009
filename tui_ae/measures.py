"""What a latent space is worth beyond its reconstructions: pure functions over codes.

- knn_accuracy: how well the codes separate the digits, as the accuracy of a k-nearest-neighbour
  classifier of the test codes among the training codes;
- active_units: how many of the VAE's latent units carry information (Burda, Grosse and
  Salakhutdinov, 2015, "Importance Weighted Autoencoders", section 5.2).
"""

from __future__ import annotations

import torch

K = 5  # neighbours that vote
CHUNK_BYTES = 100_000_000  # one chunk's distances: 10,000 x 48,000 of them at once would be 1.9 GB
EXACT_AXES = 16  # up to this many latent axes, distances from differences (see _distances)
ACTIVE_THRESHOLD = 0.01  # Burda et al.'s: a unit is active when its posterior mean's variance exceeds it


def chunk_rows(reference_count: int, chunk_bytes: int = CHUNK_BYTES) -> int:
    """How many queries' float32 distances to every reference point fit in chunk_bytes (at least one)."""
    return max(1, chunk_bytes // (4 * reference_count))


def knn_predict(
    reference: torch.Tensor,
    reference_labels: torch.Tensor,
    queries: torch.Tensor,
    k: int = K,
    rows: int | None = None,
) -> torch.Tensor:
    """Each query's label by a vote of its k nearest reference points (all of them, if fewer).

    Euclidean distance over every axis; a tie in votes (several labels with the most) goes to
    the smallest of the tied labels, whatever their distances. The distances are computed for
    `rows` queries at a time (default: chunk_rows()), so memory stays bounded; which of several
    reference points at exactly the same distance counts among the k is left to torch.topk.

    reference (N, D), reference_labels (N,) integers from 0, queries (M, D) -> labels (M,) int64.
    """
    centre = reference.float().mean(dim=0)  # distances do not change; the norms in _distances shrink
    reference, queries = reference.float() - centre, queries.float() - centre
    k = min(k, len(reference))
    rows = rows or chunk_rows(len(reference), CHUNK_BYTES)
    reference_labels = reference_labels.long()  # one_hot's type
    label_count = int(reference_labels.max()) + 1  # a device sync, once
    predictions = []
    for chunk in queries.split(rows):
        distances = _distances(chunk, reference)  # (rows, N)
        nearest = distances.topk(k, dim=1, largest=False).indices  # (rows, k)
        votes = torch.nn.functional.one_hot(reference_labels[nearest], label_count).sum(dim=1)  # (rows, labels)
        predictions.append(votes.argmax(dim=1))  # argmax gives the first of equal maxima: the smallest label
    return torch.cat(predictions)


def _distances(queries: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Euclidean distances (M, N): from differences for a few axes, else as |q|^2 - 2 q.r + |r|^2.

    Differences lose nothing to cancellation, so nearby codes keep their order and a query's
    distances do not depend on its chunk, but their cost grows with the axes (on a 2-core CPU,
    2 s per 10,000 x 48,000 at 2 axes, 45 s at 256); the expanded form is a matrix product,
    about as fast at any width, whose rounding grows with the codes' squared norms: hence the
    centring in knn_predict.
    """
    exact = reference.shape[1] <= EXACT_AXES
    mode = "donot_use_mm_for_euclid_dist" if exact else "use_mm_for_euclid_dist"
    return torch.cdist(queries, reference, compute_mode=mode)


def knn_accuracy(
    reference: torch.Tensor,
    reference_labels: torch.Tensor,
    queries: torch.Tensor,
    query_labels: torch.Tensor,
    k: int = K,
    rows: int | None = None,
) -> float:
    """The fraction of queries whose knn_predict() label is their own."""
    predicted = knn_predict(reference, reference_labels, queries, k, rows)
    return (predicted == query_labels.to(predicted.device)).float().mean().item()  # exact counts below 2**24


def unit_activity(means: torch.Tensor) -> torch.Tensor:
    """Each latent unit's A_u = Cov_x(E_q(z|x)[z_u]): the variance over the data of its posterior mean.

    means (N, D), the posterior means of N inputs -> (D,) float64. The population variance
    (divided by N), the variance of the data at hand: with 10,000 test images the choice is moot.
    """
    return means.cpu().double().var(dim=0, correction=0)  # on the CPU: MPS has no float64


def active_units(means: torch.Tensor, threshold: float = ACTIVE_THRESHOLD) -> int:
    """How many units are active (Burda et al., 2015): those whose activity exceeds the threshold."""
    return int((unit_activity(means) > threshold).sum())
