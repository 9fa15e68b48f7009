"""How good a model is: its losses over a split, and what its latent space is worth beyond reconstruction.

`tui-ae eval` scores a checkpoint here (evaluate_checkpoint); training validates each
epoch with evaluate(); explore and figures map an old checkpoint's validation codes here
(validation_map). The measures of a latent space are pure functions over codes:

- knn_accuracy: how well the codes separate the digits, as the accuracy of a k-nearest-neighbour
  classifier of the test codes among the training codes;
- active_units: how many of the VAE's latent units carry information (Burda, Grosse and
  Salakhutdinov, 2015, "Importance Weighted Autoencoders", section 5.2).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from tui_ae import checkpoint, data
from tui_ae.config import SAMPLE_SOURCE, DeviceName, resolve_device
from tui_ae.errors import DataError, TuiAeError

Metrics = dict[str, float]

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
    distances do not depend on its chunk, but their cost grows with the axes (thirty times as
    much at 256 as at 2: BENCHMARKS.md, "eval's kNN distances"); the expanded form is a matrix
    product, much faster at many axes, whose rounding grows with the codes' squared norms:
    hence the centring in knn_predict.
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


# -- A model over a split, and a checkpoint over its test set ------------------------------------------------


def evaluate(model, loader: data.DeviceLoader) -> Metrics:
    """Mean of every loss term over a whole split."""
    was_training = model.training
    model.eval()
    sums = torch.zeros(len(model.METRICS), device=loader.labels.device)
    with torch.no_grad():
        for x, _ in loader:
            _, losses = model(x)
            sums += torch.stack([losses[name].float() for name in model.METRICS]) * len(x)
    model.train(was_training)
    return dict(zip(model.METRICS, (sums / loader.num_images).tolist()))  # one device sync


def evaluate_and_encode(model, loader: data.DeviceLoader) -> tuple[Metrics, torch.Tensor]:
    """evaluate()'s metrics and codes()'s codes from one pass over the split, as training needs each epoch.

    The codes are what the model's code_layer outputs inside forward() (a forward hook):
    the same tensors encode() returns, without a second pass of the encoder.
    """
    found: list[torch.Tensor] = []
    hook = model.code_layer.register_forward_hook(lambda module, inputs, output: found.append(output.float()))
    try:
        metrics = evaluate(model, loader)
    finally:
        hook.remove()
    return metrics, torch.cat(found)


def codes(model, loader: data.DeviceLoader) -> torch.Tensor:
    """Every image of the loader encoded (the VAE's posterior means), in order: (N, latent_dim) float32."""
    return torch.cat([model.encode(x).float() for x, _ in loader])  # encode() keeps no gradients


def encode_images(model, images: np.ndarray, batch: int = 2048) -> np.ndarray:
    """(N, 28, 28) images, uint8 or in [0, 1] -> (N, latent_dim) float32 codes (the VAE's posterior means)."""
    x = torch.from_numpy(images).unsqueeze(1)  # (N, 1, 28, 28)
    x = x.float().div_(255) if x.dtype == torch.uint8 else x.float()
    return torch.cat([model.encode(chunk).float() for chunk in x.split(batch)]).numpy()


def validation_map(
    model, path: Path, header: checkpoint.Header, data_dir: Path | None = None, batch: int = 2048
) -> checkpoint.LatentCodes:
    """The map of a checkpoint that stores only its first two latent axes (written before principal planes), made
    in memory as training makes it now: its validation images encoded, then put on their plane. Nothing is written.

    The images are the training split of the data set it was trained on, from data_dir, else
    found as eval finds them (never downloaded), and checked against the labels its file stores.
    """
    dataset = header.meta.get("dataset", "mnist")
    why = (
        f"{path} stores only 2 of its {model.latent_dim} latent axes (written before tui-ae mapped principal planes), "
        f"so its map is made from its validation images, in {dataset}'s {' and '.join(data.FILES['train'])}"
    )
    try:
        images, labels, source = data.read_validation_digits(header.meta, data_dir)
    except DataError as e:
        raise TuiAeError(f"{why}: {e}") from None
    _, stored = checkpoint.read_codes(path)
    if stored is not None and not np.array_equal(stored.labels, labels):
        where = "the embedded sample" if source == SAMPLE_SOURCE else source.split(":", 1)[-1]
        raise TuiAeError(f"{why}, not found (those in {where} are others): pass --data-dir")
    return checkpoint.LatentCodes.of(encode_images(model, images, batch), labels)


def evaluate_checkpoint(
    path: Path, data_dir: Path | None = None, device: torch.device | DeviceName = "auto", notify=print
) -> tuple[checkpoint.Header, Metrics]:
    """A checkpoint's metrics on its data set's test images (10,000; the old MNIST sample's 2,000).

    device: where to evaluate; a --device choice is resolved here, so a caller evaluating
    several checkpoints resolves it once and passes the torch.device.

    metrics["images"] says how many; metrics["knn"] is the accuracy of a 5-nearest-neighbour
    classifier of the test images' codes among the training images' (the 48,000 of training's
    split, encoded here: a checkpoint stores only the validation codes); for the VAE,
    metrics["active_units"] counts the units active over the test images.
    """
    torch_device = device if isinstance(device, torch.device) else resolve_device(device)
    model, header, _ = checkpoint.load(path, device=torch_device)
    raw_dir, source = data.locate_recorded(header.meta, data_dir, notify=notify)
    test = data.read_split(raw_dir, "test", source)
    train_set, _ = data.train_val_split(data.read_split(raw_dir, "train", source))  # training's split, exactly
    torch.manual_seed(0)  # the VAE's ELBO draws one sample per image
    test_loader = data.DeviceLoader(test, 1024, torch_device, shuffle=False)
    metrics = {**evaluate(model, test_loader), "images": test_loader.num_images}
    train_loader = data.DeviceLoader(train_set, 1024, torch_device, shuffle=False)
    test_codes, train_codes = codes(model, test_loader), codes(model, train_loader)  # every latent axis
    metrics["knn"] = knn_accuracy(train_codes, train_loader.labels, test_codes, test_loader.labels)
    if header.kind == "vae":
        metrics["active_units"] = active_units(test_codes)
    return header, metrics
