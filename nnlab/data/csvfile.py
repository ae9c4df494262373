"""The CSV reader for the user's own data: a label column and numeric features → a checked `Dataset`.

Stage 1 of the pipeline (data), next to the npz reader in `nnlab.data.validate`. The header
row and a count of lines come first: duplicate or ambiguous column names are refused and the
dataset budget is checked before any value is parsed. The values are then read in chunks
into one float32 array, so memory peaks near the size of the result, not at pandas' many copies.
A header's feature column names are kept (`Dataset.feature_names`), so bars and axes can say
"petal length" rather than "feature 2".
"""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from pathlib import Path

import numpy as np

from .budget import check_values
from .formats import DataFileError
from .validate import CSV_CHUNK_VALUES, LABEL_COLUMNS, MAX_CLASSES, make_dataset


def read_csv(source, fname: str, seed: int):
    """Validate and load a CSV from a seekable binary file object; its first row may be a header."""
    import pandas as pd

    header = _header(source, fname)
    has_header = not all(_is_number(c) for c in header)
    columns = header if has_header else [f"x{i}" for i in range(len(header) - 1)] + ["label"]
    _check_columns(columns, fname)
    label = next((i for i, c in enumerate(columns) if c.strip().lower() in LABEL_COLUMNS), len(columns) - 1)
    n_rows = _count_lines(source) - has_header  # an upper bound: quoted line breaks and blank lines count too
    if len(columns) < 2 or n_rows < 1:
        raise DataFileError(
            f"{fname}: needs a label column, at least one feature column and some rows (are the values separated "
            "by commas?)"
        )
    check_values(fname, n_rows, len(columns) - 1)
    x = np.empty((n_rows, len(columns) - 1), np.float32)  # (N, D), filled chunk by chunk
    labels, n = [], 0
    chunk_rows = max(1, CSV_CHUNK_VALUES // len(columns))
    try:
        chunks = pd.read_csv(source, header=0 if has_header else None, chunksize=chunk_rows, encoding="utf-8-sig")
        for chunk in chunks:
            chunk.columns = columns
            x[n : n + len(chunk)] = _features(chunk, label, n + 1 + has_header, fname)
            labels.append(_chunk_labels(chunk.iloc[:, label], columns[label], n + 1 + has_header, fname))
            n += len(chunk)
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as e:
        raise DataFileError(f"{fname}: not a readable CSV file ({str(e).strip()})") from None
    if n == 0:
        raise DataFileError(f"{fname}: needs a label column, at least one feature column and some rows")
    numeric = all(v.dtype.kind == "i" for v in labels)
    values = np.concatenate(labels if numeric else [v.astype(str) for v in labels])
    classes, y = np.unique(values, return_inverse=True)  # class names sorted; labels index them
    if not 2 <= len(classes) <= MAX_CLASSES:
        k = len(classes)
        raise DataFileError(
            f"{fname}: the label column {columns[label]!r} holds {k} distinct value{'s' if k > 1 else ''}; "
            f"need 2 to {MAX_CLASSES} classes"
        )
    ds = make_dataset(Path(fname).stem, x[:n], y.astype(np.int64), None, tuple(map(str, classes)), seed, fname)
    if not has_header:
        return ds
    features = [c.strip() for i, c in enumerate(columns) if i != label]
    return replace(ds, feature_names=tuple(c or f"feature {j}" for j, c in enumerate(features)))


def _header(source, fname: str) -> list[str]:
    """The first row's cells (rewinds `source`)."""
    try:
        line = source.readline(1 << 20).decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise DataFileError(f"{fname}: not a readable CSV file ({e}); save it as UTF-8 text") from None
    source.seek(0)
    row = next(csv.reader(io.StringIO(line)), [])
    if not row:
        raise DataFileError(f"{fname}: not a readable CSV file (its first line is empty)")
    return row


def _check_columns(columns: list[str], fname: str) -> None:
    """Refuse repeated column names, and more than one column that could be the label (it would leak into x)."""
    seen: dict[str, int] = {}
    for i, c in enumerate(columns):
        if c.strip() in seen:
            raise DataFileError(
                f"{fname}: the column name {c.strip()!r} appears twice (columns {seen[c.strip()] + 1} and {i + 1}); "
                "column names must be unique, or the label could end up among the features"
            )
        seen[c.strip()] = i
    named = [c for c in columns if c.strip().lower() in LABEL_COLUMNS]
    if len(named) > 1:
        raise DataFileError(
            f"{fname}: the columns {' and '.join(map(repr, named))} could each be the label; keep one of them "
            "(rename or drop the others), or the label could end up among the features"
        )


def _count_lines(source, block: int = 1 << 20) -> int:
    """Lines in `source` (a last line without a line break counts), read in blocks; rewinds `source`."""
    n, last = 0, b"\n"
    while data := source.read(block):
        n, last = n + data.count(b"\n"), data[-1:]
    source.seek(0)
    return n + (last != b"\n")


def _features(chunk, label: int, first_line: int, fname: str) -> np.ndarray:
    """The chunk's feature columns as float32 `(rows, D)`, refusing text and missing or non-finite values."""
    import pandas as pd

    feats = chunk.drop(columns=chunk.columns[label])
    for col in feats.columns:
        if not pd.api.types.is_numeric_dtype(feats[col]):
            bad = pd.to_numeric(feats[col], errors="coerce").isna() & feats[col].notna()
            row = int(np.flatnonzero(bad.to_numpy())[0]) if bad.any() else 0
            raise DataFileError(
                f"{fname}: column {col!r} holds text ({feats[col].iloc[row]!r} on line {first_line + row}); "
                f"every column but the label ({chunk.columns[label]!r}) must be numeric"
            )
    x = feats.to_numpy(np.float64)
    bad = np.argwhere(~np.isfinite(x))
    if len(bad):
        r, c = bad[0]
        raise DataFileError(
            f"{fname}: column {feats.columns[c]!r} has a missing, NaN or infinite value on line {first_line + r} "
            f"({len(bad):,} such cell{'s' if len(bad) > 1 else ''} on lines {first_line}–{first_line + len(x) - 1})"
        )
    with np.errstate(over="ignore"):
        out = x.astype(np.float32)
    if not np.isfinite(out).all():
        raise DataFileError(f"{fname}: holds values too large for float32 (beyond ±3.4e38)")
    return out


def _chunk_labels(y, name: str, first_line: int, fname: str) -> np.ndarray:
    """The chunk's labels: int64 when they are whole numbers that fit, else strings (exact, even for uint64)."""
    import pandas as pd

    if y.isna().any():
        line = first_line + int(np.argmax(y.isna()))
        raise DataFileError(f"{fname}: the label column {name!r} is empty on line {line}")
    if pd.api.types.is_integer_dtype(y):
        v = y.to_numpy()
        return v if v.dtype == np.int64 else v.astype(str)  # uint64 labels stay exact as text
    if not pd.api.types.is_numeric_dtype(y):
        return y.astype(str).to_numpy()
    v = y.to_numpy(np.float64)
    if not (v == np.round(v)).all():
        raise DataFileError(
            f"{fname}: the label column {name!r} holds {v[v != np.round(v)][0]}; labels must be whole numbers or "
            "class names"
        )
    if np.abs(v).max() >= 2**53:  # beyond this a float no longer names one whole number
        raise DataFileError(f"{fname}: the label column {name!r} holds {np.abs(v).max():g}; too large for a label")
    return v.astype(np.int64)


def _is_number(s) -> bool:
    try:
        float(s)
        return True
    except (TypeError, ValueError):
        return False
