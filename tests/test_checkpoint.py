import json
import os
import pickle
import signal
import subprocess
import sys
import threading

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from tui_ae import checkpoint
from tui_ae.checkpoint_writer import CheckpointWriter
from tui_ae.errors import CheckpointError, WriteError
from tui_ae.models import build_model
from tui_ae.optim import AdamW

META = {"dataset": "mnist", "data_source": "test", "epochs_done": 1, "best_val_loss": 0.5, "history": [], "config": {}}


def _trained_pair(kind: str = "vae"):
    torch.manual_seed(0)
    model = build_model(kind, latent_dim=2)
    optimizer = AdamW(model.parameters(), 1e-3, 0.0, torch.device("cpu"))
    _, losses = model(torch.rand(8, 1, 28, 28))
    losses["loss"].backward()
    optimizer.step()
    return model, optimizer


def _codes(n: int = 50) -> checkpoint.LatentCodes:
    rng = np.random.default_rng(0)
    return checkpoint.LatentCodes(rng.normal(size=(n, 2)).astype(np.float32), (np.arange(n) % 10).astype(np.uint8))


@pytest.mark.parametrize("kind", ["ae", "vae"])
def test_round_trip_keeps_weights_optimizer_map_and_metadata(tmp_path, kind):
    model, optimizer = _trained_pair(kind)
    path = tmp_path / f"{kind}.safetensors"
    codes = _codes()
    checkpoint.save(path, model, META, optimizer, codes)

    loaded, header, optimizer_state = checkpoint.load(path, kind=kind)
    assert header.kind == kind and header.model_args == {"latent_dim": 2} and header.meta == META
    z = torch.randn(3, 2)
    assert torch.equal(loaded.decode(z), model.eval().decode(z))
    fresh = AdamW(loaded.parameters(), 1e-3, 0.0, torch.device("cpu"))
    fresh.load_state_dict(optimizer_state)
    for before, after in zip(optimizer.state_tensors(), fresh.state_tensors(), strict=True):
        assert torch.equal(before, after)

    header2, stored = checkpoint.read_codes(path)
    assert header2.meta == META
    np.testing.assert_array_equal(stored.points, codes.points)
    np.testing.assert_array_equal(stored.labels, codes.labels)


def test_an_8d_map_round_trips_and_is_known_from_an_old_one(tmp_path):
    model = build_model("ae", latent_dim=8)
    codes = np.random.default_rng(1).normal(size=(300, 8)).astype(np.float32) * np.arange(8, 0, -1)
    labels = (np.arange(300) % 10).astype(np.uint8)
    made = checkpoint.LatentCodes.of(codes, labels)
    checkpoint.save(tmp_path / "new.safetensors", model, META, codes=made)
    _, stored = checkpoint.read_codes(tmp_path / "new.safetensors")
    for name in ("points", "labels", "codes"):
        np.testing.assert_array_equal(getattr(stored, name), getattr(made, name))
    np.testing.assert_array_equal(stored.plane.mean, made.plane.mean)
    np.testing.assert_array_equal(stored.plane.axes, made.plane.axes)
    assert stored.plane.shares == made.plane.shares and stored.spacing == made.spacing
    assert not checkpoint.needs_encoding(8, stored)
    old = checkpoint.LatentCodes(codes[:, :2], labels)  # as written before the plane: the first two axes
    checkpoint.save(tmp_path / "old.safetensors", model, META, codes=old)
    _, stored = checkpoint.read_codes(tmp_path / "old.safetensors")
    assert stored.codes is None and stored.plane is None and stored.spacing is None
    assert checkpoint.needs_encoding(8, stored) and checkpoint.needs_encoding(8, None)
    assert not checkpoint.needs_encoding(2, checkpoint.LatentCodes(codes[:, :2], labels))


@pytest.mark.parametrize(
    "change",
    [
        {"map/plane/shares": None},  # codes without their plane
        {"map/codes": np.zeros((300, 5), np.float32)},  # codes of another size than the model's
        {"map/points": np.zeros((299, 2), np.float32)},  # fewer points than labels
        {"map/spacing": np.zeros(3)},
    ],
    ids=["no plane", "codes of 5 dimensions", "299 points", "three spacings"],
)
def test_a_malformed_map_is_refused_in_one_line(tmp_path, change):
    model = build_model("ae", latent_dim=8)
    codes = np.random.default_rng(1).normal(size=(300, 8)).astype(np.float32)
    tensors, metadata = checkpoint.contents(model, META, codes=checkpoint.LatentCodes.of(codes, np.zeros(300)))
    for name, value in change.items():
        if value is None:
            del tensors[name]
        else:
            tensors[name] = torch.from_numpy(value)
    path = tmp_path / "crafted.safetensors"
    checkpoint.write(path, tensors, metadata)
    with pytest.raises(CheckpointError, match=r"crafted.safetensors has a malformed latent map: ") as raised:
        checkpoint.read_codes(path)
    assert "\n" not in str(raised.value)


def test_reading_the_map_does_not_import_torch(tmp_path):
    model, _ = _trained_pair("ae")
    path = tmp_path / "ae.safetensors"
    checkpoint.save(path, model, META, codes=_codes())
    code = (
        "import sys; from tui_ae.checkpoint import read_codes; "
        f"h, m = read_codes({str(path)!r}); assert m.points.shape == (50, 2); "
        "assert 'torch' not in sys.modules, 'torch was imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_interrupted_save_leaves_the_old_file_intact(tmp_path, monkeypatch):
    model, _ = _trained_pair("ae")
    path = tmp_path / "ae.safetensors"
    checkpoint.save(path, model, META)
    before = path.read_bytes()

    def interrupted(fd):
        raise KeyboardInterrupt  # as if Ctrl-C came in the middle of writing

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        checkpoint.save(path, build_model("ae"), {**META, "epochs_done": 2})
    assert path.read_bytes() == before
    assert checkpoint.read_header(path).meta["epochs_done"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["ae.safetensors"]  # no temporary file left behind


class Exploit:
    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_pickle_that_would_run_code_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    Exploit.marker = marker
    for name, writer in (
        ("evil.safetensors", lambda p: p.write_bytes(pickle.dumps(Exploit()))),
        ("evil.pt", lambda p: torch.save({"x": Exploit()}, p)),
    ):
        path = tmp_path / name
        writer(path)
        with pytest.raises(CheckpointError, match="not a readable tui-ae checkpoint"):
            checkpoint.load(path)
        assert not marker.exists()


def test_truncated_checkpoint_is_refused(tmp_path):
    model, _ = _trained_pair("ae")
    path = tmp_path / "ae.safetensors"
    checkpoint.save(path, model, META)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(CheckpointError, match="truncated"):
        checkpoint.load(path)


def test_missing_wrong_kind_and_wrong_architecture(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint at"):
        checkpoint.load(tmp_path / "nope.safetensors")
    model, _ = _trained_pair("ae")
    path = tmp_path / "ae.safetensors"
    checkpoint.save(path, model, META)
    with pytest.raises(CheckpointError, match="holds the AE model, not the VAE"):
        checkpoint.load(path, kind="vae")
    wide = build_model("ae", latent_dim=3)
    wide.latent_dim = 2  # the metadata now claims a 2-D model, the weights are 3-D
    checkpoint.save(path, wide, META)
    with pytest.raises(CheckpointError, match="does not fit"):
        checkpoint.load(path)


def test_a_safetensors_file_from_elsewhere_is_refused(tmp_path):
    path = tmp_path / "other.safetensors"
    save_file({"w": torch.zeros(2)}, str(path))
    with pytest.raises(CheckpointError, match="not written by tui-ae"):
        checkpoint.load(path)


def test_the_background_writer_saves_what_the_model_was_when_handed_over(tmp_path):
    model, optimizer = _trained_pair("ae")
    expected = {k: v.clone() for k, v in model.state_dict().items()}
    path = tmp_path / "ae.safetensors"
    with CheckpointWriter() as writer:
        writer.save(path, model, META, optimizer)
        with torch.no_grad():  # training goes on while the file is written
            for p in model.parameters():
                p.add_(1.0)
    loaded, _, _ = checkpoint.load(path)  # on disk once the block is left
    for key, value in loaded.state_dict().items():
        assert torch.equal(value, expected[key]), key


def test_a_failed_background_write_is_raised(tmp_path):
    model, _ = _trained_pair("ae")
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(WriteError, match="could not write"):
        with CheckpointWriter() as writer:
            writer.save(blocker / "ae.safetensors", model, META)  # a folder that is a file


def test_a_failed_write_is_not_lost_to_a_ctrl_c_during_the_wait_for_it(tmp_path, monkeypatch):
    model, _ = _trained_pair("ae")
    release = threading.Event()

    def slow_failing_write(path, tensors, metadata):
        release.wait(5)
        raise WriteError(f"could not write {path} (No space left on device)")

    def ctrl_c(signum, frame):
        release.set()  # the write fails just after
        raise KeyboardInterrupt

    monkeypatch.setattr(checkpoint, "write", slow_failing_write)
    previous = signal.signal(signal.SIGALRM, ctrl_c)
    try:
        with pytest.raises((WriteError, KeyboardInterrupt)) as raised:
            with CheckpointWriter() as writer:
                writer.save(tmp_path / "ae.safetensors", model, META)
                signal.setitimer(signal.ITIMER_REAL, 0.2)
                writer.wait()  # as the next epoch's save does: Ctrl-C comes in the middle
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert raised.type is WriteError  # so train can say which epoch the file holds, not the interrupted one
    assert writer.written == 0


def _crafted(path, **fields) -> None:
    """Rewrite fields of a checkpoint's tui-ae metadata (kind, model_args, meta) as a crafted file would."""
    with safe_open(str(path), framework="numpy") as f:
        doc = json.loads(f.metadata()["tui_ae"])
    save_file(load_file(str(path)), str(path), metadata={"tui_ae": json.dumps({**doc, **fields})})


@pytest.mark.parametrize(
    "model_args",
    [
        {"latent_dim": 3_000_000_000},  # 768 GB of weights
        {"latent_dim": 1025},
        {"latent_dim": 0},
        {"latent_dim": -2},
        {"latent_dim": 2.5},
        {"latent_dim": "2"},
        {"latent_dim": True},
        {"latent_dim": 2, "h_dim1": 300_000_000},  # a VAE constructor argument that no checkpoint sets
        {},
        [2],
    ],
)
def test_model_arguments_out_of_bounds_are_refused_before_building(tmp_path, monkeypatch, model_args):
    path = tmp_path / "vae.safetensors"
    checkpoint.save(path, build_model("vae"), META)
    _crafted(path, model_args=model_args)
    built = []
    monkeypatch.setattr("tui_ae.models.build_model", lambda *args, **kwargs: built.append(kwargs))
    with pytest.raises(CheckpointError, match="model arguments|asks for latent_dim") as refused:
        checkpoint.load(path)
    assert built == [] and len(str(refused.value).splitlines()) == 1


def test_the_largest_latent_size_still_loads(tmp_path):
    path = tmp_path / "ae.safetensors"
    checkpoint.save(path, build_model("ae", latent_dim=1024), META)
    assert checkpoint.load(path)[0].latent_dim == 1024


@pytest.mark.parametrize("kind", [5, "gan", None])
def test_a_crafted_kind_is_refused_in_one_line(tmp_path, kind):
    path = tmp_path / "ae.safetensors"
    checkpoint.save(path, build_model("ae"), META)
    _crafted(path, kind=kind)
    for read in (checkpoint.read_header, checkpoint.load):
        with pytest.raises(CheckpointError, match="holds a model of kind") as refused:
            read(path)
        assert len(str(refused.value).splitlines()) == 1


WITHOUT = [{k: v for k, v in META.items() if k != gone} for gone in ("config", "history")]


@pytest.mark.parametrize("meta", [[], {}, *WITHOUT])
def test_crafted_metadata_is_refused_in_one_line(tmp_path, meta):
    path = tmp_path / "ae.safetensors"
    checkpoint.save(path, build_model("ae"), META)
    _crafted(path, meta=meta)
    for read in (checkpoint.read_header, checkpoint.load):
        with pytest.raises(CheckpointError, match="incomplete tui-ae metadata") as refused:
            read(path)
        assert len(str(refused.value).splitlines()) == 1
