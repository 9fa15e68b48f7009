import errno
import hashlib
import json
import math
import os
import re

import numpy as np
import pytest
import torch
from conftest import explorer_meta, write_fake_mnist, write_idx
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from tui_ae import checkpoint, data
from tui_ae.config import SAMPLE_SOURCE, TrainConfig
from tui_ae.errors import CheckpointError, DataError, NonFiniteLoss, TuiAeError, WriteError
from tui_ae.evaluation import evaluate_checkpoint
from tui_ae.metrics_log import metrics_path
from tui_ae.models import build_model
from tui_ae.train import EpochDone, Started, Step, train


def _config(tiny_mnist, tmp_path, **overrides) -> TrainConfig:
    settings = dict(
        model="ae", epochs=1, batch_size=32, data_dir=tiny_mnist, device="cpu", out=tmp_path / "out.safetensors"
    )
    return TrainConfig(**{**settings, **overrides})


@pytest.mark.parametrize("kind", ["ae", "vae"])
def test_one_real_epoch_through_the_users_loading_path(tiny_mnist, tmp_path, kind):
    events = list(train(_config(tiny_mnist, tmp_path, model=kind), notify=pytest.fail, log_every=3))
    started, steps, done = events[0], [e for e in events if isinstance(e, Step)], events[-1]
    assert isinstance(started, Started) and (started.train_images, started.val_images) == (200, 50)
    assert not started.cuda_graphs  # the CPU steps eagerly
    assert [s.step for s in steps] == [3, 6, 7]  # every 3rd, and the last
    assert [s.images for s in steps] == [96, 192, 200]
    assert isinstance(done, EpochDone) and all(math.isfinite(v) for v in done.val.values())
    if kind == "vae":
        assert done.val["loss"] == pytest.approx(done.val["recon"] + done.val["kl"], rel=1e-5)

    model, header, optimizer_state = checkpoint.load(done.checkpoint, kind=kind)
    meta = header.meta
    assert meta["epochs_done"] == 1 and meta["dataset"] == "mnist" and meta["data_source"].startswith("mnist:")
    assert meta["best_val_loss"] == done.val["loss"] and meta["config"]["batch_size"] == 32
    assert {"tui_ae", "torch"} <= meta["versions"].keys() and meta["date"]
    assert optimizer_state["state"][0]["step"].item() == 7
    _, codes = checkpoint.read_codes(done.checkpoint)
    assert codes.points.shape == (50, 2) and sorted(set(codes.labels.tolist())) == list(range(10))


def validation_codes(model, tiny_mnist) -> tuple[np.ndarray, np.ndarray]:
    """(codes (50, D) float64, labels): the validation images of tiny_mnist encoded here, apart from training."""
    from tui_ae import data

    _, val = data.train_val_split(data.read_split(data.find_raw_dir("mnist", tiny_mnist), "train", "x"))
    codes = model.encode(val.images[:, None].float() / 255).double().numpy()
    return codes, val.labels.numpy()


def full_neighbour_distances(codes: np.ndarray) -> np.ndarray:
    d2 = ((codes[:, None, :] - codes[None, :, :]) ** 2).sum(axis=2)
    np.fill_diagonal(d2, np.inf)
    return np.sqrt(d2.min(axis=1))


@pytest.mark.parametrize("kind", ["ae", "vae"])
def test_an_8d_checkpoint_stores_its_codes_their_principal_plane_and_spacing(tiny_mnist, tmp_path, kind):
    done = list(train(_config(tiny_mnist, tmp_path, model=kind, latent_dim=8)))[-1]
    model, _, _ = checkpoint.load(done.checkpoint)
    _, stored = checkpoint.read_codes(done.checkpoint)
    codes, labels = validation_codes(model, tiny_mnist)
    np.testing.assert_allclose(stored.codes, codes, atol=1e-5)
    np.testing.assert_array_equal(stored.labels, labels)
    values, vectors = np.linalg.eigh(np.cov(codes.T, bias=True))  # ascending
    plane = stored.plane
    np.testing.assert_allclose(plane.mean, codes.mean(axis=0), atol=1e-6)
    for axis in range(2):  # the covariance's leading eigenvectors, each with its largest loading positive
        leading = vectors[:, -1 - axis]
        assert abs(plane.axes[:, axis] @ leading) == pytest.approx(1.0, abs=1e-6)
        assert plane.axes[np.argmax(np.abs(plane.axes[:, axis])), axis] > 0
    np.testing.assert_allclose(plane.shares, values[::-1][:2] / values.sum(), rtol=1e-4)
    np.testing.assert_allclose(stored.points, (codes - plane.mean) @ plane.axes, atol=1e-5)  # its projections
    nearest = full_neighbour_distances(codes)  # 50 codes: every one in the sample
    assert (stored.spacing.median, stored.spacing.far) == pytest.approx(
        (np.median(nearest), np.percentile(nearest, 99)), rel=1e-4
    )


def test_a_2d_checkpoint_stores_its_codes_as_the_points_and_no_plane(tiny_mnist, tmp_path):
    done = list(train(_config(tiny_mnist, tmp_path)))[-1]
    model, _, _ = checkpoint.load(done.checkpoint)
    _, stored = checkpoint.read_codes(done.checkpoint)
    codes, _ = validation_codes(model, tiny_mnist)
    np.testing.assert_allclose(stored.points, codes, atol=1e-6)
    assert stored.codes is None and stored.plane is None
    nearest = full_neighbour_distances(stored.points.astype(np.float64))
    assert (stored.spacing.median, stored.spacing.far) == (np.median(nearest), np.percentile(nearest, 99))


def test_above_64_dimensions_no_map_is_stored_and_eval_still_scores_it(tiny_mnist, tmp_path):
    done = list(train(_config(tiny_mnist, tmp_path, latent_dim=65)))[-1]
    header, stored = checkpoint.read_codes(done.checkpoint)
    assert stored is None and header.model_args == {"latent_dim": 65}
    _, metrics = evaluate_checkpoint(done.checkpoint, tiny_mnist, "cpu")
    assert 0 <= metrics["knn"] <= 1 and metrics["images"] == 60


def test_loss_goes_down_and_the_same_seed_gives_the_same_weights(tiny_mnist, tmp_path):
    runs = []
    for name in ("a", "b"):
        config = _config(tiny_mnist, tmp_path, epochs=3, lr=3e-3, out=tmp_path / f"{name}.safetensors")
        runs.append([e for e in train(config) if isinstance(e, EpochDone)])
    losses = [e.train["loss"] for e in runs[0]]
    assert losses[-1] < losses[0]
    a, _, _ = checkpoint.load(tmp_path / "a.safetensors")
    b, _, _ = checkpoint.load(tmp_path / "b.safetensors")
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


def test_resume_continues_the_epochs_and_the_optimizer(tiny_mnist, tmp_path):
    list(train(_config(tiny_mnist, tmp_path)))
    events = list(train(_config(tiny_mnist, tmp_path, epochs=2, resume=True)))
    assert events[0].start_epoch == 1 and [e.epoch for e in events if isinstance(e, EpochDone)] == [2]
    _, header, optimizer_state = checkpoint.load(tmp_path / "out.safetensors")
    assert [h["epoch"] for h in header.meta["history"]] == [1, 2]
    assert optimizer_state["state"][0]["step"].item() == 14  # 7 steps per epoch, carried over
    with pytest.raises(TuiAeError, match="already trained 2 epochs"):
        list(train(_config(tiny_mnist, tmp_path, epochs=2, resume=True)))


def _stopped_after_epoch_1(config: TrainConfig) -> None:
    for event in train(config):
        if isinstance(event, EpochDone):
            break  # as Ctrl-C in epoch 2


def test_a_one_cycle_run_resumes_only_on_the_steps_it_was_planned_for(tiny_mnist, tmp_path):
    config = _config(tiny_mnist, tmp_path, schedule="onecycle", epochs=2)
    _stopped_after_epoch_1(config)
    before = config.out.read_bytes()
    bigger = write_fake_mnist(tmp_path / "bigger", n_train=500)  # 400 training images: 13 steps an epoch, not 7
    with pytest.raises(TuiAeError, match="reads only the data the checkpoint was trained on"):
        list(train(_config(bigger, tmp_path, epochs=2, resume=True)))  # the data is refused first
    assert config.out.read_bytes() == before  # refused, and nothing lost
    with safe_open(str(config.out), framework="numpy") as f:
        doc = json.loads(f.metadata()["tui_ae"])
    doc["meta"]["scheduler"]["total_steps"] = 26  # a schedule planned for other steps than the data gives
    save_file(load_file(str(config.out)), str(config.out), metadata={"tui_ae": json.dumps(doc)})
    planned_for_26 = config.out.read_bytes()
    with pytest.raises(TuiAeError, match="planned for 26 steps, and this run would take 14: resume it on the data"):
        list(train(_config(tiny_mnist, tmp_path, epochs=2, resume=True)))
    assert config.out.read_bytes() == planned_for_26
    doc["meta"]["scheduler"]["total_steps"] = 14
    save_file(load_file(str(config.out)), str(config.out), metadata={"tui_ae": json.dumps(doc)})
    events = list(train(_config(tiny_mnist, tmp_path, epochs=2, resume=True)))
    assert [e.epoch for e in events if isinstance(e, EpochDone)] == [2]
    assert checkpoint.read_header(config.out).meta["scheduler"] == {"total_steps": 14, "last_epoch": 14,
                                                                   "cycle_momentum": False}  # fmt: skip


def test_a_checkpoint_without_its_schedules_state_is_refused_in_one_line(tiny_mnist, tmp_path):
    config = _config(tiny_mnist, tmp_path, schedule="onecycle", epochs=2)
    _stopped_after_epoch_1(config)
    with safe_open(str(config.out), framework="numpy") as f:
        doc = json.loads(f.metadata()["tui_ae"])
    doc["meta"]["scheduler"] = {"total_steps": 14}  # as a hand-edited file might have it
    save_file(load_file(str(config.out)), str(config.out), metadata={"tui_ae": json.dumps(doc)})
    with pytest.raises(CheckpointError, match="cannot be resumed: its scheduler state lacks total_steps, last_epoch"):
        list(train(_config(tiny_mnist, tmp_path, epochs=2, resume=True)))


def test_an_existing_checkpoint_is_never_overwritten_by_accident(tiny_mnist, tmp_path):
    list(train(_config(tiny_mnist, tmp_path)))
    before = (tmp_path / "out.safetensors").read_bytes()
    with pytest.raises(TuiAeError, match="exists: pass --resume"):
        list(train(_config(tiny_mnist, tmp_path)))
    assert (tmp_path / "out.safetensors").read_bytes() == before
    list(train(_config(tiny_mnist, tmp_path, force=True, seed=1)))
    assert (tmp_path / "out.safetensors").read_bytes() != before


def test_a_nan_loss_stops_the_run_and_keeps_the_last_good_checkpoint(tiny_mnist, tmp_path, monkeypatch):
    real_contents = checkpoint.contents

    def save_then_diverge(model, *args, **kwargs):
        saved = real_contents(model, *args, **kwargs)
        with torch.no_grad():  # as if epoch 2 diverged: every weight becomes NaN
            for p in model.parameters():
                p.fill_(float("nan"))
        return saved

    monkeypatch.setattr(checkpoint, "contents", save_then_diverge)
    with pytest.raises(NonFiniteLoss, match="epoch 2.*checkpoint of epoch 1 is kept"):
        list(train(_config(tiny_mnist, tmp_path, epochs=3)))
    model, header, _ = checkpoint.load(tmp_path / "out.safetensors")
    assert header.meta["epochs_done"] == 1
    assert all(torch.isfinite(p).all() for p in model.parameters())


def _disk_full_at_sync(monkeypatch, after: int) -> None:
    """Every os.fsync past the first `after` fails as a full disk does (NFS, or delayed allocation, says so there)."""
    real_fsync, calls = os.fsync, []

    def fsync(fd):
        calls.append(fd)
        if len(calls) > after:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)


@pytest.mark.parametrize(
    "epochs, syncs",
    [
        (3, 2),  # epoch 1's checkpoint and metrics reach the disk, epoch 2's checkpoint not: raised at epoch 3's save
        (2, 2),  # the same, raised when the writer is left after the last epoch
        (3, 1),  # epoch 1's checkpoint reaches the disk, its metrics file not
    ],
)
def test_a_full_disk_stops_the_run_saying_which_epoch_the_checkpoint_holds(
    tiny_mnist, tmp_path, monkeypatch, epochs, syncs
):
    _disk_full_at_sync(monkeypatch, after=syncs)
    with pytest.raises(
        WriteError, match=r"\(No space left on device\): training stopped; the checkpoint of epoch 1 is kept"
    ):
        list(train(_config(tiny_mnist, tmp_path, epochs=epochs)))
    assert WriteError.exit_code == 1  # a failed run, not a usage error
    _, header, _ = checkpoint.load(tmp_path / "out.safetensors")
    assert header.meta["epochs_done"] == 1
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_a_full_disk_at_the_first_epoch_of_a_forced_run_leaves_the_old_checkpoint(tiny_mnist, tmp_path, monkeypatch):
    list(train(_config(tiny_mnist, tmp_path)))
    before = (tmp_path / "out.safetensors").read_bytes()
    _disk_full_at_sync(monkeypatch, after=0)
    with pytest.raises(WriteError, match="out.safetensors is as it was before this run"):
        list(train(_config(tiny_mnist, tmp_path, force=True, seed=1)))
    assert (tmp_path / "out.safetensors").read_bytes() == before


def test_evaluate_checkpoint_uses_the_test_split(tiny_mnist, tmp_path):
    list(train(_config(tiny_mnist, tmp_path, model="vae")))
    header, metrics = evaluate_checkpoint(tmp_path / "out.safetensors", tiny_mnist, "cpu")
    assert header.kind == "vae" and {"loss", "recon", "kl", "mse", "images", "knn", "active_units"} == metrics.keys()
    assert metrics["images"] == 60
    assert metrics["loss"] == pytest.approx(metrics["recon"] + metrics["kl"], rel=1e-5)


def test_a_model_trained_on_the_sample_is_evaluated_on_the_sample(tmp_path, monkeypatch):
    monkeypatch.setenv("TUI_AE_DATA", str(write_fake_mnist(tmp_path / "cache")))  # another MNIST in the cache
    path = tmp_path / "sample.safetensors"
    checkpoint.save(path, build_model("ae", latent_dim=2), explorer_meta(data_source=SAMPLE_SOURCE))
    _, metrics = evaluate_checkpoint(path, device="cpu", notify=pytest.fail)
    assert metrics["images"] == 2_000  # the sample's test digits, not the cache's 60


def test_a_resumed_run_ends_where_an_uninterrupted_one_does(tiny_mnist, tmp_path):
    whole = _config(tiny_mnist, tmp_path, epochs=2, recipe="best", out=tmp_path / "whole.safetensors")
    list(train(whole))
    first = _config(tiny_mnist, tmp_path, epochs=2, recipe="best", out=tmp_path / "parts.safetensors")
    for event in train(first):
        if isinstance(event, EpochDone):
            break  # stop after epoch 1, as Ctrl-C would
    list(train(_config(tiny_mnist, tmp_path, epochs=2, recipe="best", out=tmp_path / "parts.safetensors", resume=True)))
    a, _, _ = checkpoint.load(tmp_path / "whole.safetensors")
    b, header, _ = checkpoint.load(tmp_path / "parts.safetensors")
    assert header.meta["scheduler"]["last_epoch"] == 14  # the one-cycle schedule went on, not restarted
    for x, y in zip(a.state_dict().values(), b.state_dict().values()):
        torch.testing.assert_close(x, y)


@pytest.mark.parametrize("kind", ["ae", "vae"])
def test_a_few_steps_of_the_best_recipe_lower_the_loss_without_nan(tiny_mnist, tmp_path, kind):
    config = _config(tiny_mnist, tmp_path, model=kind, recipe="best", epochs=3)
    steps = [e for e in train(config, log_every=1) if isinstance(e, Step)]
    losses = [s.metrics["loss"] for s in steps]
    assert all(math.isfinite(v) for v in losses)
    assert losses[-1] < losses[0]
    _, header, _ = checkpoint.load(tmp_path / "out.safetensors")
    assert header.meta["recipe"] == "best" and header.meta["config"]["schedule"] == "onecycle"


def test_explicit_options_override_the_recipe():
    from tui_ae.config import RECIPES

    best = RECIPES["best"]["vae"]
    resolved = TrainConfig(model="vae", recipe="best", lr=1e-4).resolved()
    assert resolved.lr == 1e-4 and resolved.epochs == best.epochs and resolved.schedule == best.schedule
    assert TrainConfig(recipe="seed").resolved().epochs == 10 and TrainConfig().resolved().lr == 5e-4


def test_kl_warmup_raises_the_kl_weight_step_by_step_in_training_only(tiny_mnist, tmp_path):
    """--kl-warmup 2: the KL term's weight rises linearly over two epochs' steps, then stays 1,
    and validation always reports the true ELBO."""
    config = _config(tiny_mnist, tmp_path, model="vae", epochs=3, kl_warmup=2)
    weights, sums = [], {}
    for event in train(config, log_every=1):
        if isinstance(event, Step):  # running means over the epoch: each step's sums are their differences
            running = {k: v * event.images for k, v in event.metrics.items()}
            step = {k: v - (sums.get(k, 0.0) if event.step > 1 else 0.0) for k, v in running.items()}
            sums = running
            weights.append((step["loss"] - step["recon"]) / step["kl"])
        elif isinstance(event, EpochDone):
            assert event.val["loss"] == pytest.approx(event.val["recon"] + event.val["kl"], rel=1e-5)
    steps_per_epoch = 7  # 200 training images in batches of 32
    expected = [min(1.0, step / (2 * steps_per_epoch)) for step in range(1, 3 * steps_per_epoch + 1)]
    assert weights == pytest.approx(expected, abs=0.02)
    _, header, _ = checkpoint.load(tmp_path / "out.safetensors")
    assert header.meta["config"]["kl_warmup"] == 2


def test_a_resumed_run_keeps_its_settings(tiny_mnist, tmp_path):
    list(train(_config(tiny_mnist, tmp_path, recipe="best", epochs=2, batch_size=32)))
    # a one-cycle schedule cannot be stretched; a new learning rate would be silently overridden
    with pytest.raises(TuiAeError, match="planned for 2 epochs"):
        list(
            train(
                TrainConfig(
                    model="ae",
                    data_dir=tiny_mnist,
                    device="cpu",
                    out=tmp_path / "out.safetensors",
                    resume=True,
                    epochs=3,
                )
            )
        )
    with pytest.raises(TuiAeError, match="--lr 0.1 differs from the checkpoint's"):
        list(
            train(
                TrainConfig(
                    model="ae", data_dir=tiny_mnist, device="cpu", out=tmp_path / "out.safetensors", resume=True, lr=0.1
                )
            )
        )

    list(train(_config(tiny_mnist, tmp_path, epochs=1, out=tmp_path / "const.safetensors")))
    resumed = list(
        train(
            TrainConfig(
                model="ae", data_dir=tiny_mnist, device="cpu", resume=True, epochs=2, out=tmp_path / "const.safetensors"
            )
        )
    )
    assert resumed[0].start_epoch == 1
    _, header, _ = checkpoint.load(tmp_path / "const.safetensors")
    assert header.meta["config"]["batch_size"] == 32 and header.meta["config"]["recipe"] == "seed"
    with pytest.raises(TuiAeError, match="--dataset fashion-mnist differs"):
        list(
            train(
                TrainConfig(
                    model="ae",
                    data_dir=tiny_mnist,
                    device="cpu",
                    resume=True,
                    epochs=3,
                    dataset="fashion-mnist",
                    out=tmp_path / "const.safetensors",
                )
            )
        )


def test_too_few_images_to_split_is_a_data_error(tmp_path):
    from conftest import write_fake_mnist

    from tui_ae.errors import DataError

    write_fake_mnist(tmp_path / "d", n_train=3, n_test=3)
    with pytest.raises(DataError, match="too few"):
        list(train(_config(tmp_path / "d", tmp_path)))


def _metrics_rows(path) -> list[dict]:
    import json

    return [json.loads(line) for line in metrics_path(path).read_text().splitlines()]


def test_the_metrics_file_says_what_the_checkpoints_history_says(tiny_mnist, tmp_path):
    path = tmp_path / "out.safetensors"
    list(train(_config(tiny_mnist, tmp_path, model="vae", epochs=2)))
    rows = _metrics_rows(path)
    assert metrics_path(path).name == "out.metrics.jsonl"
    history = checkpoint.read_header(path).meta["history"]
    assert [row["epoch"] for row in rows] == [1, 2]
    for row, entry in zip(rows, history):
        assert row["val_loss"] == entry["val"]["loss"] and row["train_kl"] == entry["train"]["kl"]
        assert {"val_recon", "val_kl", "val_mse", "lr", "seconds", "images_per_second"} <= row.keys()
        assert row["device"] == "cpu" and row["images_per_second"] > 0
    assert rows[1]["lr"] == pytest.approx(5e-4)

    # an epoch cut off after the metrics were written, but before the checkpoint: as if by Ctrl-C
    metrics_path(path).write_text("".join(f'{{"epoch": {n}}}\n' for n in (1, 2, 3)))
    events = train(_config(tiny_mnist, tmp_path, model="vae", epochs=3, resume=True))
    next(events)  # Started: the file is rewritten from the checkpoint's history before any epoch
    assert [row["epoch"] for row in _metrics_rows(path)] == [1, 2]
    list(events)
    assert [row["epoch"] for row in _metrics_rows(path)] == [1, 2, 3]

    list(train(_config(tiny_mnist, tmp_path, model="vae", epochs=1, force=True)))  # --force: a new run's
    assert [row["epoch"] for row in _metrics_rows(path)] == [1]


def test_beta_weights_the_kl_term_in_training_and_is_kept_on_resume(tiny_mnist, tmp_path):
    steps = [e for e in train(_config(tiny_mnist, tmp_path, model="vae", epochs=1, beta=4.0), log_every=1)
             if isinstance(e, Step)]  # fmt: skip
    first = steps[0].metrics  # one step's means: loss = recon + beta * kl
    assert first["loss"] == pytest.approx(first["recon"] + 4.0 * first["kl"], rel=1e-5)
    done = list(train(_config(tiny_mnist, tmp_path, model="vae", epochs=2, resume=True, beta=None)))[-1]
    assert done.val["loss"] == pytest.approx(done.val["recon"] + done.val["kl"], rel=1e-5)  # the true ELBO
    assert checkpoint.read_header(tmp_path / "out.safetensors").meta["config"]["beta"] == 4.0
    with pytest.raises(TuiAeError, match="--beta 2.0 differs from the checkpoint's 4.0"):
        list(train(_config(tiny_mnist, tmp_path, model="vae", epochs=3, resume=True, beta=2.0)))
    with pytest.raises(TuiAeError, match="the AE has none"):
        list(train(_config(tiny_mnist, tmp_path, model="ae", beta=2.0, out=tmp_path / "ae.safetensors")))


def warnings_of(config: TrainConfig) -> dict[int, str]:
    """Epoch -> the warning its EpochDone carries."""
    return {e.epoch: e.warning for e in train(config) if isinstance(e, EpochDone) and e.warning}


def test_a_collapsed_posterior_is_warned_of_once(tiny_mnist, tmp_path):
    # a huge beta drives the KL to nothing: the codes then say nothing of the images
    warnings = warnings_of(_config(tiny_mnist, tmp_path, model="vae", epochs=3, beta=500.0, lr=3e-3))
    [(epoch, warning)] = warnings.items()
    assert (
        warning.startswith("warning:") and f"in epoch {epoch}:" in warning and "posterior may have collapsed" in warning
    )
    # beta 1 keeps the KL well above 0.1
    assert warnings_of(_config(tiny_mnist, tmp_path, model="vae", epochs=2, out=tmp_path / "b.safetensors")) == {}


def test_no_collapse_warning_while_the_kl_warms_up(tiny_mnist, tmp_path):
    """The KL weight is small during a warm-up, and so may the KL be: only epochs after it count."""
    collapsing = dict(model="vae", beta=500.0, lr=3e-3, kl_warmup=2)
    assert warnings_of(_config(tiny_mnist, tmp_path, epochs=2, **collapsing)) == {}
    warnings = warnings_of(_config(tiny_mnist, tmp_path, epochs=4, out=tmp_path / "b.safetensors", **collapsing))
    assert list(warnings) == [3]


@pytest.mark.parametrize("latent_dim", [2, 8])
def test_the_preview_shows_the_first_validation_digit_of_each_class(tiny_mnist, tmp_path, latent_dim):
    from tui_ae import data

    events = list(train(_config(tiny_mnist, tmp_path, model="vae", epochs=2, preview=True, latent_dim=latent_dim)))
    started, done = events[0], [e for e in events if isinstance(e, EpochDone)]
    raw_dir = data.find_raw_dir("mnist", tiny_mnist)
    _, val = data.train_val_split(data.read_split(raw_dir, "train", "x"))
    labels = val.labels.tolist()
    assert started.preview.labels == tuple(range(10))
    for label, original in zip(started.preview.labels, started.preview.originals):
        np.testing.assert_allclose(original, val.images[labels.index(label)].numpy() / 255, atol=1e-6)
    assert started.preview.reconstructions.shape == (10, 28, 28)
    model, _, _ = checkpoint.load(tmp_path / "out.safetensors")
    x = torch.from_numpy(done[-1].preview.originals)[:, None]  # the last epoch's preview is the saved model's
    expected = model.decode(model.encode(x))[:, 0].numpy()  # reconstruction of its posterior mean
    np.testing.assert_allclose(done[-1].preview.reconstructions, expected, atol=1e-5)
    assert not np.allclose(done[0].preview.reconstructions, started.preview.reconstructions)
    assert all(e.preview is None for e in train(_config(tiny_mnist, tmp_path, epochs=1, force=True))
               if isinstance(e, (Started, EpochDone)))  # fmt: skip


# -- --resume reads the data its checkpoint was trained on, and no other ---------------------------------------


def _resumed(tmp_path, data_dir=None) -> TrainConfig:
    out = tmp_path / "out.safetensors"
    return TrainConfig(model="ae", data_dir=data_dir, device="cpu", out=out, resume=True, epochs=2)


def _written_before_issue_15(path, **tensors) -> None:
    """The checkpoint as tui-ae wrote it before it recorded its training file (its map's tensors replaced too)."""
    with safe_open(str(path), framework="numpy") as f:
        doc = json.loads(f.metadata()["tui_ae"])
    del doc["meta"]["training_file"]
    doc["meta"]["data_source"] = tensors.pop("data_source", doc["meta"]["data_source"])
    save_file({**load_file(str(path)), **tensors}, str(path), metadata={"tui_ae": json.dumps(doc)})


def test_a_checkpoint_records_its_training_files_size_and_labels_hash(tiny_mnist, tmp_path):
    list(train(_config(tiny_mnist, tmp_path)))
    labels_file = tiny_mnist / "MNIST" / "raw" / "train-labels-idx1-ubyte"
    expected = {"images": 250, "labels_sha256": hashlib.sha256(labels_file.read_bytes()).hexdigest()}
    assert checkpoint.read_header(tmp_path / "out.safetensors").meta["training_file"] == expected


def test_a_run_resumed_without_data_dir_reads_the_folder_its_checkpoint_was_trained_on(tiny_mnist, tmp_path):
    list(train(_config(tiny_mnist, tmp_path)))
    source = checkpoint.read_header(tmp_path / "out.safetensors").meta["data_source"]
    events = train(_resumed(tmp_path), notify=pytest.fail)
    started = next(events)
    assert (started.train_images, started.data_source) == (200, source)  # not the MNIST tui-ae ships
    list(events)
    assert checkpoint.read_header(tmp_path / "out.safetensors").meta["data_source"] == source


def test_a_resumed_run_refuses_data_that_is_gone_or_other(tiny_mnist, tmp_path):
    list(train(_config(tiny_mnist, tmp_path)))
    path = tmp_path / "out.safetensors"
    before = path.read_bytes()
    raw = re.escape(str(tiny_mnist / "MNIST" / "raw"))
    needs = rf"--resume reads only the data the checkpoint was trained on, mnist from {raw} \(250 training images, "
    tiny_mnist.rename(tmp_path / "moved")
    gone = r"labels sha256 [0-9a-f]{12}\.\.\.\): that folder is not there any more; pass --data-dir with its files$"
    with pytest.raises(DataError, match=needs + gone):
        list(train(_resumed(tmp_path)))
    other = write_fake_mnist(tmp_path / "other", n_train=300)
    with pytest.raises(DataError, match=needs + r".*; \S*other/MNIST/raw holds 300 training images, labels sha256"):
        list(train(_resumed(tmp_path, other)))
    relabelled = write_fake_mnist(tmp_path / "relabelled")  # the same images, other labels
    labels_file = relabelled / "MNIST" / "raw" / "train-labels-idx1-ubyte"
    write_idx(labels_file, (data.read_labels(labels_file) + 1) % 10)
    with pytest.raises(DataError, match=r"relabelled/MNIST/raw holds 250 training images, labels sha256"):
        list(train(_resumed(tmp_path, relabelled)))
    with pytest.raises(DataError, match=needs + r".*: no mnist files in \S*/nothing"):
        list(train(_resumed(tmp_path, tmp_path / "nothing")))
    assert path.read_bytes() == before
    events = list(train(_resumed(tmp_path, write_fake_mnist(tmp_path / "copy", gz=True))))  # the same data, gzipped
    assert events[0].train_images == 200 and events[-1].epoch == 2


def test_a_checkpoint_from_before_the_record_is_checked_against_its_maps_labels(tiny_mnist, tmp_path):
    list(train(_config(tiny_mnist, tmp_path)))
    _written_before_issue_15(tmp_path / "out.safetensors")
    relabelled = write_fake_mnist(tmp_path / "relabelled")
    labels_file = relabelled / "MNIST" / "raw" / "train-labels-idx1-ubyte"
    write_idx(labels_file, (data.read_labels(labels_file) + 1) % 10)
    with pytest.raises(DataError, match=r"\(50 of its 250 training images\) has other labels than the 50 the"):
        list(train(_resumed(tmp_path, relabelled)))
    with pytest.raises(DataError, match=r"\(60 of its 300 training images\) has other labels than the 50"):
        list(train(_resumed(tmp_path, write_fake_mnist(tmp_path / "other", n_train=300))))
    assert list(train(_resumed(tmp_path)))[-1].epoch == 2  # its own folder


def test_a_checkpoint_trained_on_the_old_sample_resumes_on_the_sample_and_nothing_else(tiny_mnist, tmp_path):
    list(train(_config(tiny_mnist, tmp_path, batch_size=256)))
    sample = data.read_split(data.MNIST_DIR, "train", SAMPLE_SOURCE)
    _, val = data.split_indices(len(sample))
    labels = sample.labels[val].to(torch.uint8)
    map_tensors = {"map/labels": labels, "map/points": torch.zeros(len(labels), 2)}
    _written_before_issue_15(tmp_path / "out.safetensors", data_source=SAMPLE_SOURCE, **map_tensors)
    refused = (
        r"trained on, the MNIST sample \(MNIST's first 10,000 training images\); the validation split of \S+ "
        r"\(50 of its 250 training images\) has other labels than the 2,000 the checkpoint validated on$"
    )
    with pytest.raises(DataError, match=refused):
        list(train(_resumed(tmp_path, tiny_mnist)))
    events = list(train(_resumed(tmp_path), notify=pytest.fail))
    assert (events[0].train_images, events[0].val_images, events[0].data_source) == (8_000, 2_000, SAMPLE_SOURCE)
    meta = checkpoint.read_header(tmp_path / "out.safetensors").meta
    # the sample's labels file as earlier versions shipped it (tests/test_data.py, SAMPLE_SHA256)
    expected = "651e38e2ac0632f5113ec18f1df4977117f953197819034009971a6675a0df78"
    assert meta["training_file"] == {"images": 10_000, "labels_sha256": expected} and meta["epochs_done"] == 2
