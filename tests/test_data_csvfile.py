"""CSV files: refused column layouts, chunked reading (same result, right line numbers, bounded memory), budget."""

import io
import tracemalloc

import numpy as np
import pytest

from nnlab.data import DataFileError, csvfile, load_dataset, taken_names
from nnlab.data.files import parse_file, save_upload


def table_csv(n=200, d=3, k=3, seed=0, header=True) -> bytes:
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=(n, d)).round(4), np.arange(n) % k
    lines = [",".join([*(f"f{i}" for i in range(d)), "label"])] if header else []
    lines += [",".join([*map(str, row), str(c)]) for row, c in zip(x, y, strict=True)]
    return ("\n".join(lines) + "\n").encode()


def load(data: bytes, name="t.csv"):
    return parse_file(io.BytesIO(data), name, len(data))


def refused(tmp_path, filename, data) -> str:
    with pytest.raises(DataFileError) as e:
        save_upload(tmp_path, filename, data, taken=taken_names())
    assert list(tmp_path.iterdir()) == []
    return str(e.value)


def test_two_label_columns_are_refused_before_the_label_leaks(tmp_path):
    rows = "\n".join(f"{i},{i % 2},{i % 2}" for i in range(30))
    message = refused(tmp_path, "twice.csv", f"a,label,label\n{rows}\n".encode())
    assert message == (
        "twice.csv: the column name 'label' appears twice (columns 2 and 3); column names must be unique, "
        "or the label could end up among the features"
    )
    message = refused(tmp_path, "two.csv", f"a,Label,target\n{rows}\n".encode())
    assert message.startswith("two.csv: the columns 'Label' and 'target' could each be the label; keep one")
    assert "twice.csv" in refused(tmp_path, "twice.csv", f"a,b,a\n{rows}\n".encode())


def test_reading_in_chunks_gives_the_same_dataset(monkeypatch):
    data = table_csv(n=500)
    whole = load(data)
    monkeypatch.setattr(csvfile, "CSV_CHUNK_VALUES", 40)  # 10 rows a chunk
    parts = load(data)
    assert np.array_equal(whole.x_train, parts.x_train) and np.array_equal(whole.y_test, parts.y_test)
    assert whole.class_names == parts.class_names == ("0", "1", "2") and parts.x_train.dtype == np.float32
    headless = load(table_csv(n=500, header=False))
    assert np.array_equal(headless.x_train, whole.x_train)


@pytest.mark.parametrize(
    "row, message",
    [
        ("1,x,2,0", "t.csv: column 'f1' holds text ('x' on line 158)"),
        ("1,,2,0", "t.csv: column 'f1' has a missing, NaN or infinite value on line 158"),
        ("1,2,3,", "t.csv: the label column 'label' is empty on line 158"),
        ("1,2,3,0.5", "t.csv: the label column 'label' holds 0.5"),
    ],
)
def test_line_numbers_count_from_the_file_not_the_chunk(monkeypatch, row, message):
    lines = table_csv(n=300).decode().splitlines()
    lines[157] = row  # line 158 of the file, in the sixteenth chunk of ten rows
    monkeypatch.setattr(csvfile, "CSV_CHUNK_VALUES", 40)
    with pytest.raises(DataFileError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        load(("\n".join(lines) + "\n").encode())


def test_uint64_labels_in_a_csv_stay_exact_class_names():
    rows = "\n".join(f"{i},{18446744073709551615 if i % 2 else 0}" for i in range(20))
    ds = load(f"a,label\n{rows}\n".encode())
    assert ds.class_names == ("0", "18446744073709551615") and ds.n_classes == 2


def test_memory_while_reading_stays_near_the_size_of_the_result(monkeypatch):
    """Chunked reading: the traced peak is a few times the arrays kept (pandas' whole-file frames gave 8×)."""
    data = table_csv(n=20_000, d=20)
    monkeypatch.setattr(csvfile, "CSV_CHUNK_VALUES", 21_000)
    load(data)  # warm up pandas' parser
    tracemalloc.start()
    try:
        ds = load(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 6 * (ds.x_train.nbytes + ds.x_test.nbytes)


def test_the_budget_is_checked_from_lines_and_columns_before_parsing(tmp_path, monkeypatch):
    monkeypatch.setenv("NNLAB_MAX_DATASET_VALUES", "599")

    def never(*args, **kwargs):
        raise AssertionError("parsed although over budget")

    monkeypatch.setattr("pandas.read_csv", never)
    message = refused(tmp_path, "wide.csv", table_csv(n=200, d=3))
    assert message == (
        "wide.csv: 200 samples × 3 values each = 600 values, more than the limit of 599 "
        "(set NNLAB_MAX_DATASET_VALUES on the server to change it)"
    )


def test_a_dropped_in_csv_over_budget_is_refused_by_load_dataset(tmp_path, monkeypatch):
    (tmp_path / "wide.csv").write_bytes(table_csv(n=200, d=3))
    monkeypatch.setenv("NNLAB_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("NNLAB_MAX_DATASET_VALUES", "599")
    with pytest.raises(DataFileError, match="wide.csv: 200 samples × 3 values each = 600 values"):
        load_dataset("wide")
    monkeypatch.setenv("NNLAB_MAX_DATASET_VALUES", "600")
    assert load_dataset("wide").input_shape == (3,)


def test_a_headers_feature_names_are_kept_and_name_the_features():
    from dataclasses import replace

    from nnlab.analysis.attribution import feature_names

    named = load(table_csv(n=100))
    assert named.feature_names == ("f0", "f1", "f2") and feature_names(named) == ["f0", "f1", "f2"]
    assert feature_names(replace(named, x_train=named.x_train[:50], y_train=named.y_train[:50])) == ["f0", "f1", "f2"]
    headless = load(table_csv(n=100, header=False))
    assert headless.feature_names == () and feature_names(headless) == ["feature 0", "feature 1", "feature 2"]
    rows = "\n".join(f"{i % 3}, {i / 7:.3f}, {-i:.1f}" for i in range(60))  # the label first; a blank name
    middle = load(f"label, petal length ,\n{rows}\n".encode())
    assert middle.feature_names == ("petal length", "feature 1") and middle.is_2d
    with pytest.raises(ValueError, match="3 feature names for samples of shape"):
        replace(middle, feature_names=("a", "b", "c"))
