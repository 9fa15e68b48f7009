import numpy as np
import pytest
import torch
from conftest import fake_digits, write_fake_mnist, write_fake_raw, write_idx

from tui_ae import data
from tui_ae.errors import DataError


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


def test_no_data_and_no_network_falls_back_to_the_embedded_sample(tmp_path, monkeypatch):
    monkeypatch.setenv("TUI_AE_DATA", str(tmp_path / "empty"))
    notices = []
    raw_dir, source = data.locate("mnist", download=False, notify=notices.append)
    assert source == "mnist-sample" and len(notices) == 1 and "embedded sample" in notices[0]
    train, test = data.read_split(raw_dir, "train", source), data.read_split(raw_dir, "test", source)
    assert (len(train), len(test)) == (10_000, 2_000)
    assert set(train.labels.tolist()) == set(range(10))
    assert train.images.dtype == torch.uint8 and train.images.shape[1:] == (28, 28)
    assert 0.1 < train.images.float().mean().item() / 255 < 0.15  # real MNIST's mean intensity is 0.13


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
