"""Strict parsers for the downloaded image formats: IDX (MNIST, Fashion-MNIST) and CIFAR-10 binary.

Stage 1 of the pipeline (data). Every parser checks the bytes against what they
declare before using them (magic number, sizes, counts, label range) and raises
`DataFileError` naming the file and the problem. Nothing here unpickles anything.
"""

from __future__ import annotations

import gzip
import shutil
import tarfile
from pathlib import Path

import numpy as np


class DataFileError(ValueError):
    """A data file that cannot be used; the message names the file and what is wrong."""


# IDX type codes → big-endian numpy dtypes (http://yann.lecun.com/exdb/mnist/, "THE IDX FILE FORMAT")
IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
MAX_DECOMPRESSED = 256 * 2**20  # largest IDX file we read (MNIST train images: 47 MB)

CIFAR_RECORD = 1 + 3 * 32 * 32  # one label byte, then 1024 red, 1024 green, 1024 blue bytes
CIFAR_PER_BATCH = 10_000
CIFAR_DIR = "cifar-10-batches-bin"
CIFAR_BATCHES = (*(f"data_batch_{i}.bin" for i in range(1, 6)), "test_batch.bin")
CIFAR_MEMBERS = {  # the official archive's members (under CIFAR_DIR) → the most bytes each may hold
    **{b: CIFAR_RECORD * CIFAR_PER_BATCH for b in CIFAR_BATCHES},
    "batches.meta.txt": 4096,
    "readme.html": 65536,
}


def read_file(path: Path, limit: int = MAX_DECOMPRESSED) -> bytes:
    """The bytes of `path`, gunzipped when it ends in .gz, refusing more than `limit` bytes."""
    path = Path(path)
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as f:
            data = f.read(limit + 1)
    except (OSError, EOFError) as e:  # gzip.BadGzipFile is an OSError; a cut-off stream is an EOFError
        raise DataFileError(f"{path.name}: cannot be read ({e})") from None
    if len(data) > limit:
        raise DataFileError(f"{path.name}: larger than {limit:,} bytes; not a dataset file nnlab reads")
    return data


def idx_header(data: bytes, name: str) -> tuple[int, tuple[int, ...]]:
    """An IDX file's type code and declared dimensions, from its first `4 + 4 × ndim` bytes (or more)."""
    if len(data) < 4:
        raise DataFileError(f"{name}: only {len(data)} bytes; an IDX file starts with a 4-byte magic number")
    magic = int.from_bytes(data[:4], "big")
    code, ndim = data[2], data[3]
    if data[0] != 0 or data[1] != 0 or code not in IDX_TYPES or not 1 <= ndim <= 4:
        raise DataFileError(
            f"{name}: wrong magic number 0x{magic:08X}; an IDX file starts with 0x0000, a type "
            "code (0x08 for bytes) and the number of dimensions (MNIST: 0x00000803 for images, "
            "0x00000801 for labels). Is this the right file?"
        )
    if len(data) < 4 + 4 * ndim:
        raise DataFileError(
            f"{name}: truncated: the header declares {ndim} dimensions but the file ends after {len(data)} bytes"
        )
    return code, tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))


def read_idx_dims(path: Path) -> tuple[int, ...]:
    """The dimensions an IDX file (plain or .gz) declares, reading only its header."""
    path = Path(path)
    try:
        with (gzip.open if path.suffix == ".gz" else open)(path, "rb") as f:
            return idx_header(f.read(4 + 4 * 4), path.name)[1]
    except (OSError, EOFError) as e:
        raise DataFileError(f"{path.name}: cannot be read ({e})") from None


def parse_idx(data: bytes, name: str) -> np.ndarray:
    """Parse an IDX file's bytes into an array of the declared type and shape (big-endian → native)."""
    code, dims = idx_header(data, name)
    header = 4 + 4 * len(dims)
    dtype = np.dtype(IDX_TYPES[code])
    declared = int(np.prod(dims, dtype=object)) * dtype.itemsize  # Python ints: no overflow
    actual = len(data) - header
    shape = "×".join(map(str, dims))
    if 0 in dims:
        raise DataFileError(f"{name}: declares an empty array ({shape})")
    if actual < declared:
        raise DataFileError(
            f"{name}: truncated: the header declares {shape} values ({declared:,} bytes of data) "
            f"but the file holds {actual:,}"
        )
    if actual > declared:
        raise DataFileError(
            f"{name}: {actual - declared:,} bytes more than its header declares ({shape}); not a valid IDX file"
        )
    return np.frombuffer(data, dtype, offset=header).reshape(dims).astype(dtype.newbyteorder("="))


def idx_pair(images: bytes, labels: bytes, names: tuple[str, str], n_classes: int = 10):
    """Check and combine an IDX image file and its label file → uint8 `(N, 1, H, W)`, int64 `(N,)`."""
    x, y = parse_idx(images, names[0]), parse_idx(labels, names[1])
    if x.ndim != 3 or x.dtype != np.uint8:
        raise DataFileError(
            f"{names[0]}: expected unsigned-byte images N×H×W, found {x.dtype} of shape {'×'.join(map(str, x.shape))}"
        )
    if y.ndim != 1 or y.dtype != np.uint8:
        raise DataFileError(
            f"{names[1]}: expected one unsigned-byte label per image, found {y.dtype} of shape "
            f"{'×'.join(map(str, y.shape))}"
        )
    if len(x) != len(y):
        raise DataFileError(f"{names[0]} holds {len(x):,} images but {names[1]} holds {len(y):,} labels")
    check_labels(y, n_classes, names[1])
    return x[:, None], y.astype(np.int64)  # (N, 1, H, W), (N,)


def check_labels(y: np.ndarray, n_classes: int, name: str) -> None:
    """Raise unless every label lies in `0..n_classes-1`."""
    bad = np.flatnonzero((y < 0) | (y >= n_classes))
    if len(bad):
        raise DataFileError(
            f"{name}: label {int(y[bad[0]])} at position {int(bad[0])} is out of range "
            f"0..{n_classes - 1} ({len(bad):,} labels out of range)"
        )


def parse_cifar_batch(data: bytes, name: str, expect: int | None = CIFAR_PER_BATCH):
    """Parse a CIFAR-10 binary batch → uint8 images `(N, 3, 32, 32)` and int64 labels `(N,)`."""
    if len(data) == 0 or len(data) % CIFAR_RECORD:
        raise DataFileError(
            f"{name}: {len(data):,} bytes is not a whole number of {CIFAR_RECORD:,}-byte records "
            "(label byte + 32×32×3 pixels); the file is truncated or not CIFAR-10 binary"
        )
    n = len(data) // CIFAR_RECORD
    if expect is not None and n != expect:
        raise DataFileError(f"{name}: holds {n:,} images; a CIFAR-10 batch holds {expect:,}")
    rec = np.frombuffer(data, np.uint8).reshape(n, CIFAR_RECORD)
    check_labels(rec[:, 0], 10, name)
    return rec[:, 1:].reshape(n, 3, 32, 32).copy(), rec[:, 0].astype(np.int64)


def parse_cifar_meta(text: str, name: str = "batches.meta.txt") -> tuple[str, ...]:
    """The class names in `batches.meta.txt`: one per line, ten of them."""
    names = tuple(line.strip() for line in text.splitlines() if line.strip())
    if len(names) != 10 or any(len(n) > 64 for n in names):
        raise DataFileError(f"{name}: expected 10 class names, one per line; found {len(names)}")
    return names


def extract_cifar(archive: Path, root: Path) -> Path:
    """Safely extract the CIFAR-10 binary archive into `root/cifar-10-batches-bin`.

    Only the official members are accepted (regular files at their known names, each within its
    size limit); any other member, a link or a path escape rejects the whole archive. The files go
    to a temporary folder first and are renamed into place, so a failed extraction leaves nothing.
    """
    archive, root = Path(archive), Path(root)
    target, tmp = root / CIFAR_DIR, root / f".{CIFAR_DIR}.part"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    seen: set[str] = set()
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for i, member in enumerate(tar):
                if i > 2 * len(CIFAR_MEMBERS):
                    raise DataFileError(f"{archive.name}: more members than the CIFAR-10 archive has")
                path = member.name.rstrip("/")
                if path in (CIFAR_DIR, f"./{CIFAR_DIR}") and member.isdir():
                    continue
                head, _, base = path.rpartition("/")
                if head not in (CIFAR_DIR, f"./{CIFAR_DIR}") or base not in CIFAR_MEMBERS:
                    raise DataFileError(
                        f"{archive.name}: unexpected member {member.name!r}; not the official "
                        "CIFAR-10 binary archive, nothing extracted"
                    )
                if not member.isfile() or member.size > CIFAR_MEMBERS[base] or base in seen:
                    raise DataFileError(
                        f"{archive.name}: member {member.name!r} is not a regular file within "
                        f"{CIFAR_MEMBERS[base]:,} bytes; nothing extracted"
                    )
                seen.add(base)
                with tar.extractfile(member) as src, open(tmp / base, "wb") as dst:
                    shutil.copyfileobj(src, dst)
        missing = [b for b in (*CIFAR_BATCHES, "batches.meta.txt") if b not in seen]
        if missing:
            raise DataFileError(f"{archive.name}: lacks {', '.join(missing)}; nothing extracted")
        shutil.rmtree(target, ignore_errors=True)
        tmp.rename(target)
    except (tarfile.TarError, OSError, EOFError) as e:
        raise DataFileError(f"{archive.name}: cannot be extracted ({e}); nothing extracted") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target
