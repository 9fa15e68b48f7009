import gzip
import hashlib

import numpy as np
import pytest
import torch
from conftest import fake_digits, write_fake_mnist, write_fake_raw, write_idx

from tui_ae import data
from tui_ae.errors import DataError

# sha256sum of MNIST's four IDX files, uncompressed, as yann.lecun.com served them (tui_ae/mnist/README.md).
MNIST_SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
# ... and of the sample's, uncompressed, as tui-ae shipped it in tui_ae/sample until it shipped MNIST itself.
SAMPLE_SHA256 = {
    "train-images-idx3-ubyte": "2889698e6bc3614913e76901316712919d1998fc2b44512451bfe65bc1e668b1",
    "train-labels-idx1-ubyte": "651e38e2ac0632f5113ec18f1df4977117f953197819034009971a6675a0df78",
    "t10k-images-idx3-ubyte": "3f6bd66dee48df299584c67669bceee490faa25f931496bd7473b42106d7daed",
    "t10k-labels-idx1-ubyte": "7b098e5f6a3065807cebeabf36fb1724a8aff19f2673ac08b4923e0e8c715bce",
}


def test_read_idx_plain_and_gzipped(tmp_path):
    images, _ = fake_digits(12, seed=3)
    write_idx(tmp_path / "a-idx3-ubyte", images)
    write_idx(tmp_path / "a-idx3-ubyte.gz", images)
    np.testing.assert_array_equal(data.read_idx(tmp_path / "a-idx3-ubyte", 3), images)
    np.testing.assert_array_equal(data.read_idx(tmp_path / "a-idx3-ubyte.gz", 3), images)


def test_read_idx_refuses_truncated_and_foreign_files(tmp_path):
    images, _ = fake_digits(4, seed=0)
    write_idx(tmp_path / "full", images)
    (tmp_path / "short").write_bytes((tmp_path / "full").read_bytes()[:-100])
    (tmp_path / "png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    (tmp_path / "tiny").write_bytes(b"\x00\x00")
    with pytest.raises(DataError, match="short is truncated: expected 3136 values, found 3036"):
        data.read_idx(tmp_path / "short", 3)
    with pytest.raises(DataError, match="tiny is truncated: 2 bytes"):
        data.read_idx(tmp_path / "tiny", 3)
    with pytest.raises(DataError, match=r"png has the wrong magic number 2303741511 \(0x89504e47: not an IDX file"):
        data.read_idx(tmp_path / "png", 3)


def test_a_wrong_magic_number_is_said_as_such_not_as_a_truncated_file(tmp_path):
    write_fake_raw(tmp_path, n_train=5)
    raw = bytearray((tmp_path / "train-images-idx3-ubyte").read_bytes())
    raw[3] = 1  # a labels file's magic number: read on as one, it would seem truncated (5 values, 3,928 found)
    (tmp_path / "train-images-idx3-ubyte").write_bytes(bytes(raw))
    said = (
        r"train-images-idx3-ubyte has the wrong magic number 2049 \(0x00000801: unsigned bytes in 1 dimension, "
        r"labels\); expected 2051 \(0x00000803: unsigned bytes in 3 dimensions, images\)"
    )
    with pytest.raises(DataError, match=said):
        data.read_split(tmp_path, "train", "x")
    with pytest.raises(DataError, match=said):
        data.read_idx_rows(tmp_path / "train-images-idx3-ubyte", np.array([0]))
    with pytest.raises(DataError, match="t10k-images-idx3-ubyte has the wrong magic number 2051 .*; expected 2049"):
        data.read_labels(tmp_path / "t10k-images-idx3-ubyte")  # images given for labels


@pytest.mark.parametrize("gz", [False, True])
def test_labels_outside_0_to_9_are_refused_naming_the_file_and_the_first_bad_index(tmp_path, gz):
    write_fake_raw(tmp_path, n_train=250, gz=gz)
    name = "train-labels-idx1-ubyte" + ".gz" * gz
    labels = data.read_labels(tmp_path / name).copy()
    labels[[7, 9, 120]] = [200, 10, 11]
    write_idx(tmp_path / name, labels)
    said = f"{tmp_path / name} has label 200 at index 7: labels must be 0 to 9"
    with pytest.raises(DataError, match=said):
        data.read_split(tmp_path, "train", "x")
    with pytest.raises(DataError, match=said):
        data.read_validation_digits({"dataset": "mnist", "data_source": "x"}, data_dir=tmp_path)
    labels[[7, 120]] = 3
    write_idx(tmp_path / name, labels)
    with pytest.raises(DataError, match="has label 10 at index 9:"):
        data.read_split(tmp_path, "train", "x")


@pytest.mark.parametrize("layout", ["MNIST/raw", "raw", "."])
@pytest.mark.parametrize("gz", [False, True])
def test_find_raw_dir_accepts_common_layouts(tmp_path, layout, gz):
    write_fake_raw(tmp_path / layout, gz=gz)
    found = data.find_raw_dir("mnist", tmp_path)
    assert found == tmp_path / layout
    assert len(data.read_split(found, "test", "x")) == 60


def test_explicit_data_dir_without_data_is_an_error(tmp_path):
    with pytest.raises(DataError, match="no mnist files in"):
        data.locate("mnist", tmp_path)


def test_the_package_ships_mnist_itself_byte_for_byte():
    for name, digest in MNIST_SHA256.items():
        with gzip.open(data.MNIST_DIR / f"{name}.gz", "rb") as f:
            assert hashlib.sha256(f.read()).hexdigest() == digest, name


def test_without_data_dir_mnist_is_the_shipped_copy_unpacked_into_the_cache_once(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("TUI_AE_DATA", str(cache))
    monkeypatch.setattr(data, "_download", lambda *args: pytest.fail("MNIST is never downloaded"))
    notices = []
    raw_dir, source = data.locate("mnist", notify=notices.append)
    assert (raw_dir, source) == (cache / "MNIST" / "raw", "mnist")
    assert len(notices) == 1 and str(raw_dir) in notices[0]
    assert sorted(p.name for p in raw_dir.iterdir()) == sorted(MNIST_SHA256)  # no temporary file left behind
    for name, digest in MNIST_SHA256.items():
        assert hashlib.sha256((raw_dir / name).read_bytes()).hexdigest() == digest, name
    assert data.locate("mnist", notify=notices.append) == (raw_dir, "mnist") and len(notices) == 1  # read, not unpacked
    train, test = data.read_split(raw_dir, "train", source), data.read_split(raw_dir, "test", source)
    assert (len(train), len(test)) == (60_000, 10_000)
    assert train.images.dtype == torch.uint8 and train.images.shape[1:] == (28, 28)
    assert 0.1 < train.images.float().mean().item() / 255 < 0.15  # real MNIST's mean intensity is 0.13
    assert data.fingerprint(train.labels.numpy())["labels_sha256"] == MNIST_SHA256["train-labels-idx1-ubyte"]


def test_where_the_cache_cannot_be_written_the_shipped_files_are_read_as_they_are(tmp_path, monkeypatch):
    (tmp_path / "a-file").write_text("")
    monkeypatch.setenv("TUI_AE_DATA", str(tmp_path / "a-file" / "cache"))  # no folder can be made under a file
    notices = []
    assert data.locate("mnist", notify=notices.append) == (data.MNIST_DIR, "mnist") and notices == []
    assert len(data.read_split(data.MNIST_DIR, "test", "mnist")) == 10_000


def test_unpacking_never_shows_a_reader_a_partial_file_and_a_failure_leaves_none(tmp_path, monkeypatch):
    monkeypatch.setenv("TUI_AE_DATA", str(tmp_path))
    raw = tmp_path / "MNIST" / "raw"
    real_copy, seen = data.shutil.copyfileobj, []

    def look_half_way(source, target, length):  # what a run reading the cache meanwhile would find
        target.write(source.read(1000))
        target.flush()
        seen.append({p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in raw.iterdir() if p.name[0] != "."})
        if len(seen) == 3:
            raise OSError(28, "No space left on device")
        real_copy(source, target, length)

    monkeypatch.setattr(data.shutil, "copyfileobj", look_half_way)
    assert data.locate("mnist") == (data.MNIST_DIR, "mnist")  # the shipped files, read as they are
    assert [len(names) for names in seen] == [0, 1, 2]
    assert all(MNIST_SHA256[name] == digest for names in seen for name, digest in names.items())  # whole files only
    assert sorted(p.name for p in raw.iterdir()) == sorted(seen[-1])  # and no temporary file left
    monkeypatch.setattr(data.shutil, "copyfileobj", real_copy)
    assert data.locate("mnist") == (raw, "mnist")  # the next run unpacks what is missing


def test_the_sample_is_cut_from_the_shipped_mnist_as_the_one_earlier_versions_shipped(tmp_path):
    for split, prefix in (("train", "train"), ("test", "t10k")):
        sample = data.read_split(data.MNIST_DIR, split, data.SAMPLE_SOURCE)
        assert len(sample) == data.SAMPLE_SIZES[split]
        write_idx(tmp_path / "images", sample.images.numpy())
        write_idx(tmp_path / "labels", sample.labels.numpy())
        for kind, ndim in (("images", 3), ("labels", 1)):
            name = f"{prefix}-{kind}-idx{ndim}-ubyte"
            assert hashlib.sha256((tmp_path / kind).read_bytes()).hexdigest() == SAMPLE_SHA256[name], name


def test_the_fingerprint_is_the_sha256_of_the_labels_file(tmp_path):
    write_fake_raw(tmp_path, n_train=250)
    labels = data.read_split(tmp_path, "train", "x").labels.numpy()
    expected = hashlib.sha256((tmp_path / "train-labels-idx1-ubyte").read_bytes()).hexdigest()
    assert data.fingerprint(labels) == {"images": 250, "labels_sha256": expected}


def test_fashion_mnist_missing_names_the_files_and_where(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "DEBIAN_FASHION_DIR", tmp_path / "nowhere")
    with pytest.raises(DataError, match="train-images-idx3-ubyte.*FashionMNIST"):
        data.locate("fashion-mnist", download=False)


def test_train_val_split_is_80_20_disjoint_and_fixed(tiny_mnist):
    raw_dir = data.find_raw_dir("mnist", tiny_mnist)
    digits = data.read_split(raw_dir, "train", "test")
    train, val = data.train_val_split(digits)
    assert (len(train), len(val)) == (200, 50)
    again, _ = data.train_val_split(digits)
    assert torch.equal(train.images, again.images)
    rows = {img.numpy().tobytes() for img in train.images}
    assert not any(img.numpy().tobytes() in rows for img in val.images)


def test_device_loader_yields_every_image_once_per_epoch_in_a_new_order():
    images = torch.arange(10, dtype=torch.uint8).repeat_interleave(784).view(10, 28, 28)
    digits = data.Digits(images, torch.arange(10), "test")
    loader = data.DeviceLoader(digits, batch_size=4, device=torch.device("cpu"), seed=1)
    assert len(loader) == 3
    epochs = []
    for _ in range(2):
        batches = list(loader)
        assert [x.shape for x, _ in batches] == [(4, 1, 28, 28), (4, 1, 28, 28), (2, 1, 28, 28)]
        labels = torch.cat([y for _, y in batches])
        for x, y in batches:  # image and label stay together; pixels scaled to [0, 1]
            assert torch.equal(x[:, 0, 0, 0], y.float() / 255)
        assert sorted(labels.tolist()) == list(range(10))
        epochs.append(labels.tolist())
    assert epochs[0] != epochs[1]
    ordered = data.DeviceLoader(digits, batch_size=4, device=torch.device("cpu"), shuffle=False)
    assert torch.cat([y for _, y in ordered]).tolist() == list(range(10))


@pytest.mark.parametrize("name", ["items-idx3-ubyte", "items-idx3-ubyte.gz"])
def test_read_idx_rows_reads_only_the_items_asked_for_in_their_order(tmp_path, name):
    images, _ = fake_digits(50, seed=4)
    write_idx(tmp_path / name, images)
    rows = np.array([49, 0, 7, 7, 31, 12])  # any order, repeats too
    np.testing.assert_array_equal(data.read_idx_rows(tmp_path / name, rows, chunk=8), images[rows])
    assert data.read_idx_rows(tmp_path / name, np.array([], dtype=np.int64)).shape == (0, 28, 28)
    with pytest.raises(DataError, match="holds 50 items"):
        data.read_idx_rows(tmp_path / name, np.array([50]))


def test_read_idx_rows_refuses_truncated_and_foreign_files(tmp_path):
    images, _ = fake_digits(20, seed=0)
    write_idx(tmp_path / "full", images)
    (tmp_path / "short").write_bytes((tmp_path / "full").read_bytes()[:-100])
    (tmp_path / "png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    with pytest.raises(DataError, match="truncated"):
        data.read_idx_rows(tmp_path / "short", np.array([0]))
    with pytest.raises(DataError, match="png has the wrong magic number 2303741511"):
        data.read_idx_rows(tmp_path / "png", np.array([0]))


def test_the_validation_digits_are_the_split_training_validated_on(tmp_path, monkeypatch):
    write_fake_raw(tmp_path / "MNIST" / "raw", n_train=250)
    raw = data.find_raw_dir("mnist", tmp_path)
    _, val = data.train_val_split(data.read_split(raw, "train", "x"))
    images, labels, source = data.read_validation_digits({"dataset": "mnist", "data_source": f"mnist:{raw}"})
    np.testing.assert_array_equal(images, val.images.numpy())  # the same 50 images, in the same order
    np.testing.assert_array_equal(labels, val.labels.numpy())
    assert images.dtype == np.uint8 and images.flags.owndata and source == f"mnist:{raw.resolve()}"
    again, _, _ = data.read_validation_digits({"dataset": "mnist"}, data_dir=tmp_path)  # --data-dir
    np.testing.assert_array_equal(again, images)


def test_the_validation_digits_of_a_model_trained_on_the_sample_are_the_samples(tmp_path, monkeypatch):
    write_fake_raw(tmp_path / "MNIST" / "raw", n_train=250)
    monkeypatch.setenv("TUI_AE_DATA", str(tmp_path))  # another MNIST in the cache: not what it was trained on
    images, labels, source = data.read_validation_digits({"dataset": "mnist", "data_source": data.SAMPLE_SOURCE})
    assert len(labels) == 2_000 and source == data.SAMPLE_SOURCE  # 20% of the sample's 10,000
    _, val = data.split_indices(10_000)
    full = data.read_split(data.MNIST_DIR, "train", "mnist")  # the sample is MNIST's first 10,000
    np.testing.assert_array_equal(images, full.images[val].numpy())
    with pytest.raises(DataError, match="no mnist files in"):
        data.read_validation_digits({"dataset": "mnist", "data_source": "mnist:/gone"}, data_dir=tmp_path / "x")


def test_the_test_digits_of_a_model_trained_on_the_sample_are_the_samples(tmp_path, monkeypatch):
    monkeypatch.setenv("TUI_AE_DATA", str(write_fake_mnist(tmp_path)))  # another MNIST in the cache
    test = data.read_test_digits({"dataset": "mnist", "data_source": data.SAMPLE_SOURCE}, download=False)
    assert len(test) == 2_000 and test.source == data.SAMPLE_SOURCE
    mine = data.read_test_digits({"dataset": "mnist", "data_source": data.SAMPLE_SOURCE}, data_dir=tmp_path)
    assert len(mine) == 60  # --data-dir still wins


def test_first_of_each_class_is_in_label_order():
    np.testing.assert_array_equal(data.first_of_each_class(np.array([3, 1, 3, 0, 1, 7])), [3, 1, 0, 5])
