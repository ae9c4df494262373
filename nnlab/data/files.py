"""The user's own datasets: `*.npz` and `*.csv` files in the data folder, and uploads from the app.

Stage 1 of the pipeline (data). Files dropped into the data folder are listed next to the
built-ins (`scan`) and loaded on demand; uploads are validated completely before anything is
written (`save_upload`). Both follow one set of name rules (`name_problem`), given the names
that are already taken (the registry passes its own: this module never imports it).
"""

from __future__ import annotations

import io
import os
import re
import tempfile
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from . import validate
from .csvfile import read_csv
from .dataset import Dataset, DatasetInfo
from .formats import DataFileError
from .validate import SUFFIXES, read_npy_header, read_npz

__all__ = [
    "DataFileError",
    "FolderScan",
    "load_csv",
    "load_file",
    "load_npz",
    "name_problem",
    "parse_file",
    "save_upload",
    "scan",
    "validate_upload",
]

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
OWNER_WORDS = {"plug-in": "the installed dataset", "file": "the file"}  # any other source: "the built-in dataset"


def name_problem(filename: str, taken: Mapping[str, str]) -> str | None:
    """Why `filename` cannot name a dataset (None if it can): the one name rule for uploads and dropped-in files.

    Args:
        filename: the file's name, e.g. "mine.npz" (no folders).
        taken: names already in use → their source ("built-in", "download", "plug-in", or "file"), compared
            without regard to case, so "Moons.csv" cannot sit next to "moons".
    Returns: a sentence for the user, or None.
    """
    stem, suffix = os.path.splitext(filename)
    if suffix.lower() not in SUFFIXES:
        return "expected a .npz or .csv file"
    if not _NAME.fullmatch(stem) or stem in (".", ".."):
        return "use letters, digits, '-', '_' and '.' in the name (at most 64, starting with a letter or digit)"
    owner = {name.lower(): (name, source) for name, source in taken.items()}.get(stem.lower())
    if owner is None:
        return None
    name, source = owner
    if source == "file":
        return f"a dataset named {name!r} already exists in the data folder; delete it first or choose another name"
    words = OWNER_WORDS.get(source, "the built-in dataset")
    return f"its name is taken by {words} {name!r}; rename the file"


def parse_file(source, fname: str, size: int, seed: int = 0) -> Dataset:
    """Validate and load an `.npz` or `.csv` from a binary file object of `size` bytes named `fname`."""
    if size > validate.MAX_FILE_BYTES:
        raise DataFileError(f"{fname}: {size:,} bytes, more than the limit of {validate.MAX_FILE_BYTES:,}")
    suffix = Path(fname).suffix.lower()
    if suffix == ".npz":
        return read_npz(source, fname, size, seed)
    if suffix == ".csv":
        return read_csv(source, fname, seed)
    raise DataFileError(f"{fname}: not a dataset file; expected .npz or .csv")


def load_file(path: Path | str, seed: int = 0) -> Dataset:
    """Load a drop-in `.npz` or `.csv` (the test split, if carved, depends on `seed`)."""
    path = Path(path)
    if not path.is_file():
        raise DataFileError(f"{path.name}: no such file in the data folder")
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
    """A cheap guess of a file's kind for the list: image, plane or table (never raises)."""
    try:
        if path.suffix.lower() == ".npz":
            with zipfile.ZipFile(path) as zf, zf.open("x_train.npy") as f:
                shape = read_npy_header(f)[0]
            return "image" if len(shape) >= 3 else "plane" if shape[1:] == (2,) else "table"
        with open(path, encoding="utf-8", errors="replace") as f:
            return "plane" if f.readline().count(",") == 2 else "table"
    except Exception:  # a broken file is still listed; loading it explains what is wrong
        return "table"


@dataclass(frozen=True)
class FolderScan:
    """What `scan` found in a data folder."""

    found: dict[str, DatasetInfo] = field(default_factory=dict)  # listed datasets by name
    skipped: dict[str, str] = field(default_factory=dict)  # file name → why it is not listed


def scan(folder: Path | str, taken: Mapping[str, str]) -> FolderScan:
    """The dataset files in `folder` (`mine.npz` → "mine"), with the reason for each file the name rule skips.

    `taken`: the registered names → source (see `name_problem`). Two files that differ only in suffix or
    case are both listed under their file names ("d.csv", "d.npz"); hidden files and other suffixes are ignored.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return FolderScan()
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in SUFFIXES and not p.name.startswith("."))
    found: dict[str, DatasetInfo] = {}
    skipped: dict[str, str] = {}
    for p in paths:
        if not p.is_file():
            continue
        problem = name_problem(p.name, taken)
        if problem:
            skipped[p.name] = problem
            continue
        shared = sum(q.stem.lower() == p.stem.lower() for q in paths) > 1
        name = p.name if shared else p.stem
        # no options: a file's carved test split stays the same (seed 0) for every run on it
        found[name] = DatasetInfo(name, partial(load_file, p), f"Your file {p.name}", _kind(p), "file")
    return FolderScan(found, skipped)


# ---- uploads ----------------------------------------------------------------------------------------------------


def _check_name(filename: str, taken: Mapping[str, str]) -> str:
    """The stem of an upload's file name, or a `DataFileError` saying which name rule it breaks."""
    problem = name_problem(filename, taken)
    if problem:
        raise DataFileError(f"{filename!r}: {problem}")
    return os.path.splitext(filename)[0]


def validate_upload(filename: str, data: bytes, *, taken: Mapping[str, str]) -> dict:
    """Check an uploaded file completely (name, size, contents) and describe it; writes nothing.

    Args:
        filename: the name the file was uploaded with.
        data: its bytes.
        taken: the names it may not use → their source (`nnlab.data.registry.taken_names()`).
    Returns: a summary dict (name, file, kind, n_train, n_test, input_shape, n_classes, class_names,
    class_counts, description). Raises: DataFileError with a message for the user.
    """
    stem = _check_name(filename, taken)
    ds = parse_file(io.BytesIO(data), filename, len(data), seed=0)
    return {
        "name": stem,
        "file": f"{stem}{os.path.splitext(filename)[1].lower()}",
        "kind": ds.kind,
        "n_train": len(ds.y_train),
        "n_test": len(ds.y_test),
        "input_shape": ds.input_shape,
        "n_classes": ds.n_classes,
        "class_names": ds.class_names,
        "class_counts": ds.class_counts().tolist(),
        "description": ds.description,
    }


def save_upload(folder: Path | str, filename: str, data: bytes, *, taken: Mapping[str, str]) -> Path:
    """Validate an upload fully, then write it atomically as `folder/<name>`; refuses to replace a dataset.

    `taken` as for `validate_upload`; the files already in `folder` are added to it.
    """
    folder = Path(folder)
    here = {p.stem: "file" for p in (folder.iterdir() if folder.is_dir() else ()) if p.suffix.lower() in SUFFIXES}
    _check_name(filename, {**here, **taken})
    summary = validate_upload(filename, data, taken=taken)
    target = folder / summary["file"]
    if target.resolve().parent != folder.resolve():
        raise DataFileError(f"{filename!r}: the name leaves the data folder")
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
