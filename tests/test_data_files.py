"""The user's own files: drop-in npz/csv listed and loaded; uploads validated before anything is written."""

import io
import struct
import zipfile

import numpy as np
import pytest

from nnlab.data import DataConfig, list_datasets, load_dataset, taken_names
from nnlab.data import validate as checks
from nnlab.data.files import DataFileError, load_csv, load_npz
from nnlab.data.files import save_upload as _save_upload
from nnlab.data.files import validate_upload as _validate_upload
from nnlab.data.registry import discover, scan_data_folder


def save_upload(folder, filename, data):
    """An upload as the Datasets page saves it: the registered names are the taken ones."""
    return _save_upload(folder, filename, data, taken=taken_names())


def validate_upload(filename, data):
    return _validate_upload(filename, data, taken=taken_names())


def npz_bytes(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def images(n=40, shape=(6, 5), k=4, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, *shape), dtype=np.uint8), np.arange(n) % k


def csv_bytes(rows, header="a,b,label") -> bytes:
    return (header + "\n" + "\n".join(rows) + "\n").encode()


GOOD_CSV = csv_bytes([f"{i * 0.1:.1f},{(i % 3) - 1},{'cat' if i % 2 else 'dog'}" for i in range(30)])


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("NNLAB_DATA_DIR", str(tmp_path))
    return tmp_path


def test_good_npz_and_csv_appear_and_load(data_dir):
    x, y = images()
    (data_dir / "shapes.npz").write_bytes(npz_bytes(x_train=x, y_train=y, class_names=np.array(list("abcd"))))
    (data_dir / "pets.csv").write_bytes(GOOD_CSV)
    (data_dir / "notes.txt").write_text("not a dataset")
    (data_dir / "README.md").write_text("ignored")
    table = list_datasets()
    assert {"moons", "mnist", "shapes", "pets"} <= set(table) and "notes" not in table
    assert (table["shapes"].source, table["shapes"].kind) == ("file", "image")
    assert (table["pets"].source, table["pets"].kind) == ("file", "plane")
    ds = load_dataset("shapes")
    assert ds.x_train.dtype == np.uint8 and ds.x_train.shape[1:] == (1, 6, 5) and ds.y_train.dtype == np.int64
    assert len(ds.y_train) + len(ds.y_test) == 40 and ds.class_counts("test").tolist() == [2, 2, 2, 2]  # 20% per class
    assert ds.class_names == ("a", "b", "c", "d") and ds.display_images(ds.x_test).shape == (8, 6, 5)
    again, other = load_dataset("shapes"), load_dataset(DataConfig("shapes", (("seed", 1),)))  # a seeded split
    assert np.array_equal(again.y_test, ds.y_test) and np.array_equal(again.x_test, ds.x_test)
    assert not np.array_equal(other.x_test, ds.x_test)
    pets = load_csv(data_dir / "pets.csv")
    assert pets.class_names == ("cat", "dog") and pets.x_train.dtype == np.float32 and pets.input_shape == (2,)
    assert load_dataset("pets", train_subset=10).x_train.shape == (10, 2)


def test_npz_layouts_and_given_test_split(tmp_path):
    x, y = images(shape=(4, 4, 3))  # N×H×W×C colour → (N, 3, H, W)
    xt, yt = images(n=8, shape=(4, 4, 3), seed=1)
    (tmp_path / "c.npz").write_bytes(npz_bytes(x_train=x, y_train=y, x_test=xt, y_test=yt))
    ds = load_npz(tmp_path / "c.npz")
    assert ds.x_train.shape == (40, 3, 4, 4) and len(ds.y_test) == 8 and ds.class_names == ("0", "1", "2", "3")
    np.testing.assert_array_equal(ds.x_train[3, 2], x[3, :, :, 2])
    (tmp_path / "f.npz").write_bytes(npz_bytes(x_train=np.random.default_rng(0).normal(size=(30, 7)), y_train=y[:30]))
    f = load_npz(tmp_path / "f.npz")
    assert f.x_train.dtype == np.float32 and f.input_shape == (7,) and not f.is_image
    assert discover(tmp_path)["f"].kind == "table" and discover(tmp_path)["c"].kind == "image"


def test_headerless_csv_and_same_stem_twice(tmp_path):
    (tmp_path / "d.csv").write_bytes(b"".join(f"{i},{i % 4},{i % 2}\n".encode() for i in range(20)))
    ds = load_csv(tmp_path / "d.csv")
    assert ds.input_shape == (2,) and ds.class_names == ("0", "1") and len(ds.y_train) + len(ds.y_test) == 20
    x, y = images()
    (tmp_path / "d.npz").write_bytes(npz_bytes(x_train=x, y_train=y))
    assert {"d.csv", "d.npz"} <= set(discover(tmp_path))


def test_file_cannot_shadow_a_builtin(data_dir):
    x, y = images()
    (data_dir / "moons.npz").write_bytes(npz_bytes(x_train=x, y_train=y))
    assert list_datasets()["moons"].source == "built-in"


def test_upload_validated_then_saved_atomically(tmp_path):
    x, y = images()
    data = npz_bytes(x_train=x, y_train=y)
    summary = validate_upload("My_set-1.npz", data)
    assert summary["name"] == "My_set-1" and summary["kind"] == "image" and summary["input_shape"] == (1, 6, 5)
    assert summary["n_train"] + summary["n_test"] == 40 and summary["n_classes"] == 4
    assert list(tmp_path.iterdir()) == []  # validating writes nothing
    path = save_upload(tmp_path / "data", "My_set-1.npz", data)
    assert path == tmp_path / "data" / "My_set-1.npz" and path.read_bytes() == data
    assert [p.name for p in (tmp_path / "data").iterdir()] == ["My_set-1.npz"]  # no temp file left
    assert "My_set-1" in discover(tmp_path / "data")
    with pytest.raises(DataFileError, match="already exists"):
        save_upload(tmp_path / "data", "My_set-1.csv", GOOD_CSV)


@pytest.mark.parametrize(
    "filename, message",
    [
        ("../evil.npz", "use letters, digits"),
        ("sub/evil.npz", "use letters, digits"),
        ("/etc/evil.npz", "use letters, digits"),
        (".hidden.npz", "use letters, digits"),
        ("mnist.npz", "'mnist.npz': its name is taken by the built-in dataset 'mnist'; rename the file"),
        ("Digits.csv", "'Digits.csv': its name is taken by the built-in dataset 'digits'; rename the file"),
        ("x\n.csv", "use letters, digits"),
        ("data.txt", "expected a .npz or .csv file"),
        ("data.pkl", "expected a .npz or .csv file"),
    ],
)
def test_upload_names_are_checked(tmp_path, filename, message):
    x, y = images()
    with pytest.raises(DataFileError, match=message):
        save_upload(tmp_path, filename, npz_bytes(x_train=x, y_train=y))
    assert list(tmp_path.iterdir()) == [] and not (tmp_path.parent / "evil.npz").exists()


def npy_header(shape, descr="|u1") -> bytes:
    """A hand-made .npy 1.0 header, so the declared shape can lie."""
    text = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}".encode()
    text += b" " * (-(len(text) + 11) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text


def zip_bytes(members: dict[str, bytes], level=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", level) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _flip(data: bytes, offset: int) -> bytes:
    return data[:offset] + bytes([data[offset] ^ 0xFF]) + data[offset + 1 :]


def _bad_inputs():
    x, y = images()
    ok_y = npy_header((40,), "<i8") + y.astype("<i8").tobytes()
    nan = x.astype(np.float64)
    nan[3, 1, 1] = np.nan
    rows = [f"{i},{i % 3},{i % 2}" for i in range(12)]
    return [
        (
            "obj.npz",
            npz_bytes(x_train=np.array([{"a": 1}, None] * 20, dtype=object), y_train=y),
            "obj.npz: array 'x_train' holds Python objects (dtype object)",
        ),
        (
            "huge.npz",
            zip_bytes({"x_train.npy": npy_header((10**9, 10**6)) + b"\0" * 64, "y_train.npy": ok_y}),
            "huge.npz: array 'x_train' declares shape (1000000000, 1000000) (1,000,000,000,000,000 bytes), more than",
        ),
        (
            "short.npz",
            zip_bytes({"x_train.npy": npy_header((40, 6, 5)) + b"\0" * 100, "y_train.npy": ok_y}),
            "short.npz: array 'x_train' declares shape (40, 6, 5) (1,200 bytes) but holds 100 bytes",
        ),
        (
            "bomb.npz",
            npz_bytes(x_train=np.zeros((20_000, 1000), np.uint8), y_train=np.arange(20_000) % 2),
            "× its size (limit 50×); refused as a possible zip bomb",
        ),
        ("nolabels.npz", npz_bytes(x_train=x), "nolabels.npz: lacks y_train"),
        (
            "nan.npz",
            npz_bytes(x_train=nan, y_train=y),
            "nan.npz: x_train holds NaN or infinite values in 1 of 40 samples (the first: sample 3)",
        ),
        (
            "range.npz",
            npz_bytes(x_train=x, y_train=y + 1, class_names=np.array(["a", "b", "c", "d"])),
            "range.npz: y_train: label 4 at position 3 is out of range 0..3",
        ),
        ("neg.npz", npz_bytes(x_train=x, y_train=y - 1), "neg.npz: y_train: label -1 is negative"),
        ("many.npz", npz_bytes(x_train=x, y_train=y * 10**6), "at most 1000 classes"),
        ("count.npz", npz_bytes(x_train=x, y_train=y[:39]), "count.npz: y_train holds 39 labels for 40 samples"),
        ("shape.npz", npz_bytes(x_train=x.reshape(40, 2, 3, 5), y_train=y), "images need 1 or 3 channels"),
        ("text.npz", npz_bytes(x_train=np.array(["a"] * 40), y_train=y), "x_train has dtype <U1; expected numbers"),
        ("corrupt.npz", _flip(npz_bytes(x_train=x, y_train=y), 400), "corrupt.npz: array 'x_train' cannot be read"),
        ("junk.npz", b"PK\x03\x04 this is not really a zip file", "junk.npz: not a readable npz file"),
        (
            "words.csv",
            csv_bytes([*rows[:4], "5,red,1", *rows[4:]]),
            "words.csv: column 'b' holds text ('red' on line 6); every column but the label ('label') must be numeric",
        ),
        (
            "nan.csv",
            csv_bytes([*rows[:2], "1,nan,0", *rows[2:]]),
            "nan.csv: column 'b' has a missing, NaN or infinite value on line 4",
        ),
        (
            "gap.csv",
            csv_bytes([*rows[:7], "1,,0", *rows[7:]]),
            "gap.csv: column 'b' has a missing, NaN or infinite value on line 9",
        ),
        (
            "inf.csv",
            csv_bytes([*rows, "inf,1,0"]),
            "inf.csv: column 'a' has a missing, NaN or infinite value on line 14",
        ),
        ("half.csv", csv_bytes([*rows, "1,2,0.5"]), "half.csv: the label column 'label' holds 0.5"),
        ("nolabel.csv", csv_bytes([*rows, "1,2,"]), "nolabel.csv: the label column 'label' is empty on line 14"),
        ("one.csv", csv_bytes([f"{i},7" for i in range(20)], header="a,label"), "holds 1 distinct value; need 2"),
        ("ragged.csv", csv_bytes([*rows, "1,2,3,4,5"]), "ragged.csv: not a readable CSV file"),
        ("tiny.csv", csv_bytes(rows[:4]), "tiny.csv: only 4 samples; at least 10 are needed"),
    ]


@pytest.mark.parametrize("filename, data, message", _bad_inputs(), ids=[b[0] for b in _bad_inputs()])
def test_bad_files_are_rejected_and_nothing_is_written(tmp_path, filename, data, message):
    with pytest.raises(DataFileError) as e:
        save_upload(tmp_path, filename, data)
    assert message in str(e.value)
    assert list(tmp_path.iterdir()) == []
    (tmp_path / filename).write_bytes(data)  # the same file dropped in: listed, and loading says why it fails
    assert filename.rsplit(".", 1)[0] in discover(tmp_path)
    with pytest.raises(DataFileError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        load_npz(tmp_path / filename) if filename.endswith(".npz") else load_csv(tmp_path / filename)


def test_size_limit_is_checked_first(tmp_path, monkeypatch):
    monkeypatch.setattr(checks, "MAX_FILE_BYTES", 1000)
    with pytest.raises(DataFileError, match=r"big.csv: 1,001 bytes, more than the limit of 1,000"):
        save_upload(tmp_path, "big.csv", b"x" * 1001)
    assert list(tmp_path.iterdir()) == []


# ---- one name rule for uploads and dropped-in files -------------------------------------------------------------

NAMES = ["mine.npz", "Moons.csv", "digits.npz", "MNIST.npz", "x\n.csv", "my file.csv", "ok-name_2.csv", "a.b.npz"]


@pytest.mark.parametrize("filename", NAMES, ids=[ascii(n) for n in NAMES])
def test_uploads_and_dropped_in_files_follow_the_same_name_rule(tmp_path, filename):
    x, y = images()
    data = npz_bytes(x_train=x, y_train=y) if filename.endswith(".npz") else GOOD_CSV
    try:
        save_upload(tmp_path / "up", filename, data)
        refused = None
    except DataFileError as e:
        refused = str(e)
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / filename).write_bytes(data)
    scanned = scan_data_folder(drop)
    if refused is None:
        assert scanned.skipped == {} and filename.rsplit(".", 1)[0] in scanned.found
    else:
        assert scanned.found == {} and refused == f"{filename!r}: {scanned.skipped[filename]}"


def test_a_dropped_in_file_with_a_taken_name_is_skipped_and_says_why(data_dir):
    x, y = images()
    (data_dir / "digits.npz").write_bytes(npz_bytes(x_train=x, y_train=y))
    (data_dir / "Moons.csv").write_bytes(GOOD_CSV)
    (data_dir / "pets.csv").write_bytes(GOOD_CSV)
    table = list_datasets()
    assert table["digits"].source == "built-in" and "Moons" not in table and table["pets"].source == "file"
    assert scan_data_folder().skipped == {
        "Moons.csv": "its name is taken by the built-in dataset 'moons'; rename the file",
        "digits.npz": "its name is taken by the built-in dataset 'digits'; rename the file",
    }
    assert load_dataset("digits").input_shape == (1, 8, 8)  # still the built-in


def test_the_cli_lists_dropped_in_files_under_the_same_rule(data_dir, capsys):
    from nnlab.cli import main

    (data_dir / "Moons.csv").write_bytes(GOOD_CSV)
    (data_dir / "pets.csv").write_bytes(GOOD_CSV)
    assert main(["datasets", "--data-dir", str(data_dir)]) == 0
    names = [line.split()[0] for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert "pets" in names and "Moons" not in names and names.count("moons") == 1


def test_files_differing_in_case_only_are_both_listed_by_file_name(tmp_path):
    (tmp_path / "d.csv").write_bytes(GOOD_CSV)
    if (tmp_path / "D.csv").exists():
        pytest.skip("a case-insensitive file system")
    (tmp_path / "D.csv").write_bytes(GOOD_CSV)
    assert {"d.csv", "D.csv"} <= set(discover(tmp_path))
    with pytest.raises(DataFileError, match="a dataset named '[dD]' already exists in the data folder"):
        save_upload(tmp_path, "D.npz", npz_bytes(x_train=images()[0], y_train=images()[1]))
