"""The user's own datasets: `*.npz` and `*.csv` files in the data folder, and uploads from the app.

Stage 1 of the pipeline (data). Files dropped into the data folder are listed by name
next to the built-ins (`discover`) and loaded on demand; uploads are validated completely
(`nnlab.data.validate`, the same checks) before anything is written (`save_upload`).
"""

from __future__ import annotations

import io
import os
import re
import tempfile
import zipfile
from functools import partial
from pathlib import Path

from .dataset import Dataset
from .formats import DataFileError
from .registry import DatasetInfo
from .validate import SUFFIXES, parse_file, read_npy_header

__all__ = ["DataFileError", "discover", "load_csv", "load_file", "load_npz", "save_upload", "validate_upload"]

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def load_file(path: Path | str, seed: int = 0) -> Dataset:
    """Load a drop-in `.npz` or `.csv` (the test split, if carved, depends on `seed`)."""
    path = Path(path)
    if not path.is_file():
        raise DataFileError(f"{path.name}: no such file in {path.parent}")
    with open(path, "rb") as f:
        return parse_file(f, path.name, path.stat().st_size, seed)


def load_npz(path: Path | str, seed: int = 0) -> Dataset:
    """Load a drop-in `.npz` (x_train, y_train, optional x_test, y_test, class_names)."""
    if Path(path).suffix.lower() != ".npz":
        raise DataFileError(f"{Path(path).name}: not an .npz file")
    return load_file(path, seed)


def load_csv(path: Path | str, seed: int = 0) -> Dataset:
    """Load a drop-in `.csv` (a label column, the rest numeric features)."""
    if Path(path).suffix.lower() != ".csv":
        raise DataFileError(f"{Path(path).name}: not a .csv file")
    return load_file(path, seed)


def _kind(path: Path) -> str:
    """A cheap guess of a file's kind for the list: image, points or features (never raises)."""
    try:
        if path.suffix.lower() == ".npz":
            with zipfile.ZipFile(path) as zf, zf.open("x_train.npy") as f:
                shape = read_npy_header(f)[0]
            return "image" if len(shape) >= 3 else "points" if shape[1:] == (2,) else "features"
        with open(path, encoding="utf-8", errors="replace") as f:
            return "points" if f.readline().count(",") == 2 else "features"
    except Exception:  # a broken file is still listed; loading it explains what is wrong
        return "features"


def discover(folder: Path) -> dict[str, DatasetInfo]:
    """Drop-in datasets in `folder` by file name (`mine.npz` → "mine"); a name used twice keeps its suffix."""
    folder = Path(folder)
    if not folder.is_dir():
        return {}
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in SUFFIXES and not p.name.startswith("."))
    found: dict[str, DatasetInfo] = {}
    for p in paths:
        if not p.is_file():
            continue
        name = p.stem if p.stem not in found and sum(q.stem == p.stem for q in paths) == 1 else p.name
        # no options: a file's carved test split stays the same (seed 0) for every run on it
        found[name] = DatasetInfo(name, partial(load_file, p), f"Your file {p.name}", _kind(p), "file")
    return found


# ---- uploads ----------------------------------------------------------------------------------------------------


def _check_name(filename: str) -> str:
    """The stem of an upload's file name, or an error if the name is unsafe or taken by a built-in."""
    from .registry import _BUILTINS, _plugins

    stem, suffix = os.path.splitext(filename)
    if suffix.lower() not in SUFFIXES:
        raise DataFileError(f"{filename!r}: expected a .npz or .csv file")
    if not _NAME.fullmatch(stem) or stem in (".", ".."):
        raise DataFileError(
            f"{filename!r}: use letters, digits, '-', '_' and '.' in the name (at most 64, "
            "starting with a letter or digit)"
        )
    if stem.lower() in {n.lower() for n in (*_BUILTINS, *_plugins())}:
        raise DataFileError(f"{filename!r}: {stem!r} is taken by a built-in or installed dataset; rename the file")
    return stem


def validate_upload(filename: str, data: bytes) -> dict:
    """Check an uploaded file completely (name, size, contents) and describe it; writes nothing.

    Returns: a summary dict (name, file, kind, n_train, n_test, input_shape, n_classes, class_names,
    class_counts, description). Raises: DataFileError with a message for the user.
    """
    stem = _check_name(filename)
    ds = parse_file(io.BytesIO(data), filename, len(data), seed=0)
    kind = "image" if ds.is_image else "points" if ds.is_2d else "features"
    return {
        "name": stem,
        "file": f"{stem}{os.path.splitext(filename)[1].lower()}",
        "kind": kind,
        "n_train": len(ds.y_train),
        "n_test": len(ds.y_test),
        "input_shape": ds.input_shape,
        "n_classes": ds.n_classes,
        "class_names": ds.class_names,
        "class_counts": ds.class_counts().tolist(),
        "description": ds.description,
    }


def save_upload(folder: Path | str, filename: str, data: bytes) -> Path:
    """Validate an upload fully, then write it atomically as `folder/<name>`; refuses to replace a dataset."""
    summary = validate_upload(filename, data)
    folder = Path(folder)
    target = folder / summary["file"]
    if target.resolve().parent != folder.resolve():
        raise DataFileError(f"{filename!r}: the name leaves the data folder")
    taken = [p.name for p in (folder / f"{summary['name']}{s}" for s in SUFFIXES) if p.exists()]
    if taken:
        raise DataFileError(
            f"{filename!r}: a dataset named {summary['name']!r} already exists ({taken[0]}); "
            "delete it first or choose another name"
        )
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".upload-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
