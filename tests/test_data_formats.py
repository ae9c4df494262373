"""Parsers of the downloaded formats: IDX (MNIST) and CIFAR-10 binary, and the safe archive extraction."""

import gzip
import io
import struct
import tarfile
from pathlib import Path

import numpy as np
import pytest

from nnlab.data.formats import (
    CIFAR_BATCHES,
    CIFAR_DIR,
    CIFAR_RECORD,
    DataFileError,
    extract_cifar,
    idx_pair,
    parse_cifar_batch,
    parse_cifar_meta,
    parse_idx,
    read_file,
)
from nnlab.data.images import check_idx_budget, read_cifar_folder, read_idx_split

MNIST_TEST = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "mnist-test"
MNIST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]  # from shared/data/README.md
needs_mnist = pytest.mark.skipif(not MNIST_TEST.is_dir(), reason=f"real MNIST test set not found at {MNIST_TEST}")


def idx_bytes(a: np.ndarray, code: int = 0x08) -> bytes:
    """An IDX file holding `a` (big-endian), as the format describes."""
    return bytes([0, 0, code, a.ndim]) + struct.pack(f">{a.ndim}I", *a.shape) + a.astype(">u1").tobytes()


def cifar_bytes(labels, seed=0) -> tuple[bytes, np.ndarray]:
    """A CIFAR-10 binary batch: per record one label byte, then the red, green and blue 32×32 planes."""
    images = np.random.default_rng(seed).integers(0, 256, (len(labels), 3, 32, 32), dtype=np.uint8)
    return b"".join(bytes([lab]) + img.tobytes() for lab, img in zip(labels, images, strict=True)), images


def test_parse_idx_round_trip():
    a = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    out = parse_idx(idx_bytes(a), "a.idx")
    assert out.dtype == np.uint8 and out.shape == (2, 3, 4)
    np.testing.assert_array_equal(out, a)
    out[0, 0, 0] = 7  # a writable copy, not a view of the bytes


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda b: b"\x08\x03" + b[2:], "wrong magic number 0x08030803"),
        (lambda b: b[:2] + b"\x77" + b[3:], "wrong magic number 0x00007703"),
        (lambda b: b[:3] + b"\x09" + b[4:], "wrong magic number 0x00000809"),
        (lambda b: b[:-5], "truncated: the header declares 2×3×4 values (24 bytes of data) but the file holds 19"),
        (lambda b: b[:10], "truncated: the header declares 3 dimensions but the file ends after 10 bytes"),
        (lambda b: b + b"xx", "2 bytes more than its header declares (2×3×4)"),
        (lambda b: b[:2], "only 2 bytes"),
        (lambda b: b[:4] + struct.pack(">3I", 2, 0, 4) + b[16:], "declares an empty array (2×0×4)"),
    ],
)
def test_parse_idx_rejects(mutate, message):
    good = idx_bytes(np.zeros((2, 3, 4), np.uint8))
    with pytest.raises(DataFileError, match="^bad.idx: ") as e:
        parse_idx(mutate(good), "bad.idx")
    assert message in str(e.value)


def test_parse_idx_huge_declared_size_is_not_allocated():
    data = bytes([0, 0, 8, 3]) + struct.pack(">3I", 2**31, 2**31, 2**31) + b"\0" * 100
    with pytest.raises(DataFileError, match="truncated"):
        parse_idx(data, "huge.idx")


def test_idx_pair_checks_counts_and_labels():
    x, y = np.zeros((3, 2, 2), np.uint8), np.array([0, 1, 9], np.uint8)
    images, labels = idx_pair(idx_bytes(x), idx_bytes(y), ("i", "l"))
    assert images.shape == (3, 1, 2, 2) and images.dtype == np.uint8 and labels.dtype == np.int64
    with pytest.raises(DataFileError, match="i holds 3 images but l holds 2 labels"):
        idx_pair(idx_bytes(x), idx_bytes(y[:2]), ("i", "l"))
    with pytest.raises(DataFileError, match=r"l: label 10 at position 2 is out of range 0..9"):
        idx_pair(idx_bytes(x), idx_bytes(np.array([0, 1, 10], np.uint8)), ("i", "l"))
    with pytest.raises(DataFileError, match="i: expected unsigned-byte images"):
        idx_pair(idx_bytes(y), idx_bytes(y), ("i", "l"))


def test_read_file_gzip_limits_and_errors(tmp_path):
    (tmp_path / "a.gz").write_bytes(gzip.compress(b"\0" * 5000))
    assert len(read_file(tmp_path / "a.gz")) == 5000
    with pytest.raises(DataFileError, match="a.gz: larger than 4,096 bytes"):
        read_file(tmp_path / "a.gz", limit=4096)
    (tmp_path / "cut.gz").write_bytes(gzip.compress(b"\1" * 5000)[:-12])
    with pytest.raises(DataFileError, match="cut.gz: cannot be read"):
        read_file(tmp_path / "cut.gz")
    (tmp_path / "plain.gz").write_bytes(b"not gzip at all")
    with pytest.raises(DataFileError, match="plain.gz: cannot be read"):
        read_file(tmp_path / "plain.gz")


@needs_mnist
def test_real_mnist_test_set():
    x, y = read_idx_split(MNIST_TEST, "t10k")
    assert x.shape == (10_000, 1, 28, 28) and x.dtype == np.uint8
    assert y.dtype == np.int64 and np.bincount(y).tolist() == MNIST_COUNTS
    assert x.max() == 255 and x.min() == 0


def test_parse_cifar_batch_layout():
    data, images = cifar_bytes([3, 0, 9])
    x, y = parse_cifar_batch(data, "b.bin", expect=3)
    assert x.shape == (3, 3, 32, 32) and x.dtype == np.uint8 and y.tolist() == [3, 0, 9] and y.dtype == np.int64
    np.testing.assert_array_equal(x, images)
    assert x[1, 2, 0, 5] == data[CIFAR_RECORD + 1 + 2 * 1024 + 5]  # record 1, blue plane, row 0, column 5


@pytest.mark.parametrize(
    "data, expect, message",
    [
        (cifar_bytes([1, 2])[0][:-1], None, "6,145 bytes is not a whole number of 3,073-byte records"),
        (b"", None, "0 bytes is not a whole number"),
        (cifar_bytes([1, 2])[0], 3, "holds 2 images; a CIFAR-10 batch holds 3"),
        (cifar_bytes([1, 12])[0], None, "label 12 at position 1 is out of range 0..9"),
    ],
)
def test_parse_cifar_batch_rejects(data, expect, message):
    with pytest.raises(DataFileError, match="^b.bin: ") as e:
        parse_cifar_batch(data, "b.bin", expect=expect)
    assert message in str(e.value)


def test_parse_cifar_meta():
    assert parse_cifar_meta("airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n")[-1] == "truck"
    with pytest.raises(DataFileError, match="expected 10 class names"):
        parse_cifar_meta("a\nb\n")


def make_tar(path: Path, members: dict[str, bytes], symlink: str | None = None) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        if symlink:
            info = tarfile.TarInfo(symlink)
            info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
            tar.addfile(info)
    return path


def tiny_cifar_members(per_batch: int = 2) -> dict[str, bytes]:
    members = {
        f"{CIFAR_DIR}/{b}": cifar_bytes([i % 10 for i in range(per_batch)], seed=k)[0]
        for k, b in enumerate(CIFAR_BATCHES)
    }
    members[f"{CIFAR_DIR}/batches.meta.txt"] = "\n".join("abcdefghij").encode()
    return members


def test_extract_cifar_and_read(tmp_path):
    archive = make_tar(tmp_path / "c.tar.gz", tiny_cifar_members())
    folder = extract_cifar(archive, tmp_path)
    assert folder == tmp_path / CIFAR_DIR and sorted(p.name for p in folder.iterdir()) == sorted(
        [*CIFAR_BATCHES, "batches.meta.txt"]
    )
    x_tr, y_tr, x_te, y_te, classes = read_cifar_folder(folder, per_batch=2)
    assert x_tr.shape == (10, 3, 32, 32) and x_te.shape == (2, 3, 32, 32) and classes[0] == "a"
    with pytest.raises(DataFileError, match="holds 2 images; a CIFAR-10 batch holds 10,000"):
        read_cifar_folder(folder)


@pytest.mark.parametrize(
    "extra, symlink, message",
    [
        ({"../evil.bin": b"x"}, None, "unexpected member '../evil.bin'"),
        ({f"{CIFAR_DIR}/../../evil.bin": b"x"}, None, "unexpected member 'cifar-10-batches-bin/../../evil.bin'"),
        ({"/tmp/evil.bin": b"x"}, None, "unexpected member '/tmp/evil.bin'"),
        ({f"{CIFAR_DIR}/extra.bin": b"x"}, None, "unexpected member 'cifar-10-batches-bin/extra.bin'"),
        ({f"{CIFAR_DIR}/batches.meta.txt": b"x" * 5000}, None, "is not a regular file within 4,096 bytes"),
        ({}, f"{CIFAR_DIR}/readme.html", "member 'cifar-10-batches-bin/readme.html' is not a regular file"),
    ],
)
def test_extract_cifar_rejects_malicious_members(tmp_path, extra, symlink, message):
    root = tmp_path / "root"
    root.mkdir()
    archive = make_tar(tmp_path / "c.tar.gz", {**tiny_cifar_members(), **extra}, symlink)
    with pytest.raises(DataFileError, match="nothing extracted") as e:
        extract_cifar(archive, root)
    assert message in str(e.value)
    assert list(root.iterdir()) == [] and not (tmp_path / "evil.bin").exists()


def test_extract_cifar_rejects_incomplete_or_broken_archive(tmp_path):
    members = tiny_cifar_members()
    del members[f"{CIFAR_DIR}/test_batch.bin"]
    with pytest.raises(DataFileError, match="lacks test_batch.bin; nothing extracted"):
        extract_cifar(make_tar(tmp_path / "c.tar.gz", members), tmp_path / "r")
    (tmp_path / "junk.tar.gz").write_bytes(b"junk" * 100)
    with pytest.raises(DataFileError, match="junk.tar.gz: cannot be extracted"):
        extract_cifar(tmp_path / "junk.tar.gz", tmp_path / "r")
    assert list((tmp_path / "r").iterdir()) == []


def test_idx_headers_are_checked_against_the_dataset_budget_before_reading(tmp_path, monkeypatch):
    for prefix, n in (("train", 60_000), ("t10k", 10_000)):  # headers only: the pixels are never read
        header = bytes([0, 0, 0x08, 3]) + struct.pack(">3I", n, 28, 28)
        (tmp_path / f"{prefix}-images-idx3-ubyte.gz").write_bytes(gzip.compress(header))
    monkeypatch.delenv("NNLAB_MAX_DATASET_VALUES", raising=False)
    check_idx_budget(tmp_path, "mnist")  # 54.9 million values: within the default
    monkeypatch.setenv("NNLAB_MAX_DATASET_VALUES", "50_000_000")
    with pytest.raises(DataFileError, match="mnist: 70,000 samples × 784 values each = 54,880,000 values, more than"):
        check_idx_budget(tmp_path, "mnist")


def test_cifar_batches_are_checked_against_the_dataset_budget_by_size(tmp_path, monkeypatch):
    folder = extract_cifar(make_tar(tmp_path / "c.tar.gz", tiny_cifar_members()), tmp_path)
    monkeypatch.setenv("NNLAB_MAX_DATASET_VALUES", "36863")
    with pytest.raises(DataFileError, match="cifar-10-batches-bin: 12 samples × 3,072 values each = 36,864 values"):
        read_cifar_folder(folder, per_batch=2)
    monkeypatch.setenv("NNLAB_MAX_DATASET_VALUES", "36864")
    assert read_cifar_folder(folder, per_batch=2)[0].shape == (10, 3, 32, 32)
