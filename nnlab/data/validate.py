"""The validator for the user's own data: `.npz` bytes → a checked `Dataset`, and the checks CSVs share.

Stage 1 of the pipeline (data). Serves files dropped into the data folder and uploads
alike (`nnlab.data.files`; CSVs are read by `nnlab.data.csvfile`). Limits are checked
before anything is allocated: an npz's .npy headers (dtype, declared shape, the dataset
budget) are read first; `allow_pickle` stays off.
"""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

import numpy as np

from .budget import check_values
from .dataset import Dataset, split
from .formats import DataFileError, check_labels

MAX_FILE_BYTES = 200 * 2**20  # largest file accepted (Streamlit's default upload limit)
MAX_ARRAY_BYTES = 512 * 2**20  # largest total of an npz's arrays once loaded
MAX_EXPANSION = 50  # an npz may expand to at most this many times its size (more: a zip bomb)
MAX_CLASSES = 1000
MIN_SAMPLES = 10  # fewest samples from which a test split is carved
TEST_FRACTION = 0.2  # share of each class carved out as the test split when a file has none
NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test", "class_names")
LABEL_COLUMNS = ("label", "labels", "class", "target", "y")
SUFFIXES = (".npz", ".csv")
CSV_CHUNK_VALUES = 1_000_000  # cells parsed at a time when reading a CSV (8 MB as float64)


# ---- npz --------------------------------------------------------------------------------------------------------


def read_npy_header(f) -> tuple[tuple[int, ...], np.dtype]:
    """A .npy header's shape and dtype (format 1.0 or 2.0), read from an open file; the data stays unread."""
    version = np.lib.format.read_magic(f)
    if version not in ((1, 0), (2, 0)):
        raise ValueError(f"unsupported .npy format version {version}")
    read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    shape, _, dtype = read(f, max_header_size=10_000)
    return shape, dtype


def _npz_headers(zf: zipfile.ZipFile, fname: str, size: int) -> dict[str, tuple[zipfile.ZipInfo, tuple]]:
    """Check every member's .npy header (dtype, declared shape, sizes) without loading any data → info, shape."""
    infos = zf.infolist()
    if len(infos) > 16:
        raise DataFileError(f"{fname}: holds {len(infos)} members; expected the arrays {', '.join(NPZ_KEYS)}")
    total = sum(i.file_size for i in infos)
    if total > MAX_ARRAY_BYTES:
        raise DataFileError(f"{fname}: expands to {total:,} bytes, more than the limit of {MAX_ARRAY_BYTES:,}")
    if total > MAX_EXPANSION * max(size, 1) and total > 2**20:
        raise DataFileError(
            f"{fname}: expands {total / max(size, 1):.0f}× its size (limit {MAX_EXPANSION}×); "
            "refused as a possible zip bomb"
        )
    members = {}
    for info in infos:
        key = info.filename.removesuffix(".npy")
        if not info.filename.endswith(".npy") or "/" in key:
            raise DataFileError(f"{fname}: member {info.filename!r} is not an array; save with numpy.savez")
        try:
            with zf.open(info) as f:
                shape, dtype = read_npy_header(f)
                header = f.tell()
        except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error) as e:
            raise DataFileError(f"{fname}: array {key!r} cannot be read ({e}); the file is corrupt") from None
        if dtype.hasobject:
            raise DataFileError(
                f"{fname}: array {key!r} holds Python objects (dtype object); only plain numeric "
                "arrays are loaded (nnlab never unpickles)"
            )
        if dtype.kind not in "biufUS" or dtype.fields is not None:
            raise DataFileError(f"{fname}: array {key!r} has dtype {dtype}; expected numbers (or text class names)")
        nbytes = int(np.prod(shape, dtype=object)) * dtype.itemsize
        if nbytes > MAX_ARRAY_BYTES:
            raise DataFileError(
                f"{fname}: array {key!r} declares shape {shape} ({nbytes:,} bytes), more than the "
                f"limit of {MAX_ARRAY_BYTES:,}"
            )
        members[key] = info, shape
        samples = [members[k][1] for k in ("x_train", "x_test") if k in members and len(members[k][1]) >= 1]
        if key in ("x_train", "x_test") and samples:  # the dataset budget, from the headers read so far
            per = max(int(np.prod(shape[1:], dtype=object)) for shape in samples)
            check_values(fname, sum(shape[0] for shape in samples), per)
        if header + nbytes != info.file_size:
            raise DataFileError(
                f"{fname}: array {key!r} declares shape {shape} ({nbytes:,} bytes) but holds "
                f"{info.file_size - header:,} bytes; the file is truncated or corrupt"
            )
    return members


def read_npz(source, fname: str, size: int, seed: int) -> Dataset:
    try:
        with zipfile.ZipFile(source) as zf:
            members = _npz_headers(zf, fname, size)
            missing = [k for k in ("x_train", "y_train") if k not in members]
            if missing:
                raise DataFileError(
                    f"{fname}: lacks {' and '.join(missing)}; an npz needs x_train, y_train and "
                    f"may add x_test, y_test, class_names (found: {', '.join(members) or 'nothing'})"
                )
            arrays = {}
            for key in NPZ_KEYS:
                if key in members:
                    with zf.open(members[key][0]) as f:
                        arrays[key] = np.lib.format.read_array(f, allow_pickle=False)
    except DataFileError:
        raise
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, zlib.error) as e:  # corrupt data, CRC mismatch
        raise DataFileError(f"{fname}: not a readable npz file ({e})") from None
    names = arrays.get("class_names")
    if names is not None:
        if names.ndim != 1 or names.dtype.kind not in "US" or not 2 <= len(names) <= MAX_CLASSES:
            raise DataFileError(f"{fname}: class_names must be a list of 2 to {MAX_CLASSES} strings")
        names = tuple(str(n.decode() if isinstance(n, bytes) else n) for n in names)
    if ("x_test" in arrays) != ("y_test" in arrays):
        raise DataFileError(f"{fname}: has {'x_test' if 'x_test' in arrays else 'y_test'} without its partner")
    x_tr = _samples(arrays["x_train"], f"{fname}: x_train")
    y_tr = _labels(arrays["y_train"], f"{fname}: y_train", len(x_tr))
    n_classes = len(names) if names is not None else int(y_tr.max(initial=0)) + 1
    check_labels(y_tr, n_classes, f"{fname}: y_train")
    test = None
    if "x_test" in arrays:
        x_te = _samples(arrays["x_test"], f"{fname}: x_test")
        if x_te.shape[1:] != x_tr.shape[1:]:
            raise DataFileError(f"{fname}: x_test samples have shape {x_te.shape[1:]}, x_train {x_tr.shape[1:]}")
        y_te = _labels(arrays["y_test"], f"{fname}: y_test", len(x_te))
        check_labels(y_te, n_classes, f"{fname}: y_test")
        test = (x_te, y_te)
    names = names or tuple(str(c) for c in range(n_classes))
    return make_dataset(Path(fname).stem, x_tr, y_tr, test, names, seed, fname)


def _samples(x: np.ndarray, what: str) -> np.ndarray:
    """Images by shape (N×H×W, N×H×W×C or N×C×H×W with C 1 or 3) → `(N, C, H, W)`; N×D → float32 features."""
    if x.dtype.kind not in "biuf":
        raise DataFileError(f"{what} has dtype {x.dtype}; expected numbers")
    if x.ndim not in (2, 3, 4) or 0 in x.shape:
        raise DataFileError(f"{what} has shape {x.shape}; expected N×D features, N×H×W or N×H×W×C images")
    if x.dtype.kind == "f":
        bad = np.flatnonzero(~np.isfinite(x.reshape(len(x), -1)).all(axis=1))
        if len(bad):
            raise DataFileError(
                f"{what} holds NaN or infinite values in {len(bad):,} of {len(x):,} samples "
                f"(the first: sample {bad[0]})"
            )
    if x.ndim == 2:
        out = x.astype(np.float32)
        if not np.isfinite(out).all():
            raise DataFileError(f"{what} holds values too large for float32")
        return out
    if x.ndim == 3:
        x = x[:, None]  # (N, 1, H, W)
    elif x.shape[-1] in (1, 3):
        x = np.moveaxis(x, -1, 1)  # (N, H, W, C) → (N, C, H, W)
    elif x.shape[1] not in (1, 3):
        raise DataFileError(f"{what} has shape {x.shape}; images need 1 or 3 channels (N×H×W×C or N×C×H×W)")
    if x.dtype == np.uint8:
        return np.ascontiguousarray(x)
    if x.dtype.kind in "biu" and x.min() >= 0 and x.max() <= 255:
        return np.ascontiguousarray(x, dtype=np.uint8)
    return np.ascontiguousarray(x, dtype=np.float32)


def _labels(y: np.ndarray, what: str, n: int) -> np.ndarray:
    """Class labels → int64 `(N,)`, each in 0..MAX_CLASSES-1; whole-number floats are accepted."""
    y = y.reshape(-1) if y.ndim == 2 and y.shape[1] == 1 else y
    if y.ndim != 1 or y.dtype.kind not in "biuf":
        raise DataFileError(f"{what} must be a vector of integer class labels; found {y.dtype} of shape {y.shape}")
    if len(y) != n:
        raise DataFileError(f"{what} holds {len(y):,} labels for {n:,} samples")
    if y.dtype.kind == "f" and not (np.isfinite(y).all() and (y == np.round(y)).all()):
        raise DataFileError(f"{what} holds labels that are not whole numbers (or NaN)")
    if len(y) and y.min() < 0:
        raise DataFileError(f"{what}: label {_whole(y.min())} is negative; labels are 0..K-1")
    if len(y) and y.max() >= MAX_CLASSES:  # checked before the cast: a uint64 or float label may not fit int64
        i = int(np.argmax(y))
        raise DataFileError(
            f"{what}: label {_whole(y[i])} at position {i} is too large; at most {MAX_CLASSES} classes "
            f"(labels 0..{MAX_CLASSES - 1})"
        )
    return y.astype(np.int64)


def _whole(v) -> int | float:
    """A label as the user wrote it: an exact int (uint64 max stays 18446744073709551615), or the float."""
    return int(v) if float(v).is_integer() else float(v)


def check_no_empty_classes(y_train: np.ndarray, class_names: tuple[str, ...], fname: str, carved: bool) -> None:
    """Refuse classes without a training sample: the network could never learn them (and "0, 999" is a typo)."""
    counts = np.bincount(y_train, minlength=len(class_names))
    empty = np.flatnonzero(counts == 0)
    if not len(empty):
        return
    shown = ", ".join(repr(class_names[i]) for i in empty[:5]) + (", …" if len(empty) > 5 else "")
    fix = (
        "give each class at least 2 samples (one is carved out for the test split)"
        if carved
        else "number the classes 0..K-1 with no gaps (here K would be "
        f"{len(class_names) - len(empty)}), or drop the unused class names"
    )
    raise DataFileError(
        f"{fname}: {len(empty):,} of its {len(class_names):,} classes have no training sample ({shown}); {fix}"
    )


# ---- shared -----------------------------------------------------------------------------------------------------


def make_dataset(name, x_tr, y_tr, test, class_names, seed, fname) -> Dataset:
    """Carve a seeded, stratified test split when none is given, check every class has samples, build the record."""
    if test is None:
        if len(y_tr) < MIN_SAMPLES:
            raise DataFileError(
                f"{fname}: only {len(y_tr)} samples; at least {MIN_SAMPLES} are needed to carve out "
                "a test split (or give x_test and y_test)"
            )
        check_no_empty_classes(y_tr, class_names, fname, carved=False)
        x_tr, y_tr, x_te, y_te = split(x_tr, y_tr, TEST_FRACTION, seed)
        how = f"test split: a seeded {TEST_FRACTION:.0%} of each class"
    else:
        (x_te, y_te), how = test, "test split given"
    if len(np.unique(y_tr)) < 2:
        raise DataFileError(f"{fname}: the training labels hold fewer than two classes")
    check_no_empty_classes(y_tr, class_names, fname, carved=test is None)
    return Dataset(name, x_tr, y_tr, x_te, y_te, tuple(class_names), f"Your file {fname} ({how}).")
