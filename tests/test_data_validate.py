"""The npz checks through the layers a user meets: an upload (the app), a dropped-in file (the CLI, load_dataset)."""

import io
import struct
import zipfile

import numpy as np
import pytest

from nnlab.data import DataFileError, load_dataset, taken_names
from nnlab.data.files import save_upload


def npz_bytes(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def images(n=40, k=4, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, 6, 5), dtype=np.uint8), np.arange(n) % k


def refused_everywhere(tmp_path, monkeypatch, filename: str, data: bytes) -> str:
    """The message an upload gets, checked to be the one `load_dataset` gives for the same file dropped in."""
    with pytest.raises(DataFileError) as upload:
        save_upload(tmp_path / "up", filename, data, taken=taken_names())
    assert not (tmp_path / "up").exists()  # nothing written
    (tmp_path / "drop").mkdir()
    (tmp_path / "drop" / filename).write_bytes(data)
    monkeypatch.setenv("NNLAB_DATA_DIR", str(tmp_path / "drop"))
    with pytest.raises(DataFileError) as dropped:
        load_dataset(filename.rsplit(".", 1)[0])
    assert str(upload.value) == str(dropped.value)
    return str(upload.value)


def test_a_uint64_max_label_is_reported_as_written(tmp_path, monkeypatch):
    x, y = images()
    y = y.astype(np.uint64)
    y[5] = np.iinfo(np.uint64).max
    message = refused_everywhere(tmp_path, monkeypatch, "huge.npz", npz_bytes(x_train=x, y_train=y))
    assert message == (
        "huge.npz: y_train: label 18446744073709551615 at position 5 is too large; at most 1000 classes (labels 0..999)"
    )


def test_a_huge_float_label_in_y_test_is_reported_too(tmp_path, monkeypatch):
    x, y = images()
    y_test = np.array([0.0, 1.0, 1e20, 2.0])
    data = npz_bytes(x_train=x, y_train=y, x_test=x[:4], y_test=y_test)
    message = refused_everywhere(tmp_path, monkeypatch, "float.npz", data)
    assert message.startswith("float.npz: y_test: label 100000000000000000000 at position 2 is too large")


def test_labels_that_leave_classes_empty_are_refused(tmp_path, monkeypatch):
    x, y = images()
    message = refused_everywhere(tmp_path, monkeypatch, "gaps.npz", npz_bytes(x_train=x, y_train=np.where(y, 999, 0)))
    assert message == (
        "gaps.npz: 998 of its 1,000 classes have no training sample ('1', '2', '3', '4', '5', …); number the "
        "classes 0..K-1 with no gaps (here K would be 2), or drop the unused class names"
    )


def test_a_named_class_without_samples_is_refused(tmp_path, monkeypatch):
    x, y = images(k=3)
    names = np.array(["cat", "dog", "owl", "emu"])
    message = refused_everywhere(tmp_path, monkeypatch, "named.npz", npz_bytes(x_train=x, y_train=y, class_names=names))
    assert message.startswith("named.npz: 1 of its 4 classes have no training sample ('emu')")


def test_a_class_with_one_sample_cannot_be_split_and_says_so(tmp_path, monkeypatch):
    x, y = images(k=3)
    y[y == 2] = 0
    y[7] = 2  # class 2 holds one sample: the carved test split would take it from training
    message = refused_everywhere(tmp_path, monkeypatch, "single.npz", npz_bytes(x_train=x, y_train=y))
    assert message.startswith("single.npz: 1 of its 3 classes have no training sample ('2'); give each class at")


def test_a_given_test_split_may_use_every_class_and_loads(tmp_path, monkeypatch):
    x, y = images()
    (tmp_path / "ok.npz").write_bytes(npz_bytes(x_train=x, y_train=y, x_test=x[:8], y_test=y[:8]))
    monkeypatch.setenv("NNLAB_DATA_DIR", str(tmp_path))
    ds = load_dataset("ok")
    assert ds.n_classes == 4 and len(ds.y_test) == 8 and ds.kind == "image"


def npy_header(shape, descr="|u1") -> bytes:
    text = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}".encode()
    text += b" " * (-(len(text) + 11) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text


def header_only_npz(shape) -> bytes:
    """An npz whose x_train declares `shape` but holds no data: only a check of the header can refuse it."""
    buf = io.BytesIO()
    y = np.arange(shape[0]) % 2
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("x_train.npy", npy_header(shape))
        zf.writestr("y_train.npy", npy_header(y.shape, "<i8") + y.astype("<i8").tobytes())
    return buf.getvalue()


def test_twelve_4096_square_images_are_over_the_default_budget(tmp_path, monkeypatch):
    monkeypatch.delenv("NNLAB_MAX_DATASET_VALUES", raising=False)
    message = refused_everywhere(tmp_path, monkeypatch, "big.npz", header_only_npz((12, 4096, 4096)))
    assert message == (
        "big.npz: 12 samples × 16,777,216 values each = 201,326,592 values, more than the limit of "
        "200,000,000 (set NNLAB_MAX_DATASET_VALUES on the server to change it)"
    )


def test_the_budget_counts_train_and_test_and_follows_the_env_var(tmp_path, monkeypatch):
    x, y = images()  # 40 samples × 30 values = 1,200; with a test split of 10: 1,500
    data = npz_bytes(x_train=x, y_train=y, x_test=x[:10], y_test=y[:10])
    monkeypatch.setenv("NNLAB_MAX_DATASET_VALUES", "1499")
    message = refused_everywhere(tmp_path, monkeypatch, "both.npz", data)
    assert message.startswith("both.npz: 50 samples × 30 values each = 1,500 values, more than the limit of 1,499")
    monkeypatch.setenv("NNLAB_MAX_DATASET_VALUES", "1_500")
    assert load_dataset("both").n_classes == 4
