"""The `Dataset` record (its kind, its manifest, its statistics), the budget, and the shape of the package."""

import ast
from pathlib import Path

import numpy as np
import pytest

import nnlab.data
from nnlab.data import DataFileError, Dataset, load_dataset, max_dataset_values, register_dataset, registry
from nnlab.data.dataset import normalisation_stats


def tiny(shape=(2,), n=20, dtype=np.float32, **kwargs) -> Dataset:
    rng = np.random.default_rng(0)
    x = (rng.random((n, *shape)) * 200).astype(dtype)
    y = np.arange(n) % 2
    return Dataset("tiny", x[:16], y[:16], x[16:], y[16:], ("a", "b"), **kwargs)


def test_kind_follows_the_shape_unless_given():
    assert tiny((2,)).kind == "plane" and tiny((2,)).is_2d and not tiny((2,)).is_image
    assert tiny((1, 4, 4), dtype=np.uint8).kind == "image" and tiny((1, 4, 4), dtype=np.uint8).is_image
    assert tiny((5,)).kind == "table" and not tiny((5,)).is_2d
    two_features = tiny((2,), kind="table")  # two columns of a table need not be drawn in the plane
    assert two_features.kind == "table" and not two_features.is_2d
    assert tiny((2,), kind="points").kind == "plane"  # the older name
    with pytest.raises(ValueError, match="kind 'image' does not fit samples of shape \\(5,\\)"):
        tiny((5,), kind="image")
    with pytest.raises(ValueError, match="Unknown dataset kind 'tokens'"):
        tiny((5,), kind="tokens")
    assert load_dataset("moons").kind == "plane" and load_dataset("digits").kind == "image"
    assert tiny((2,), kind="table").subset(4).kind == "table"


def test_the_manifest_is_the_one_runs_on_disk_hold_plus_kind():
    ds = tiny((1, 2, 2), dtype=np.uint8)
    expected = {  # the dict nnlab.pipeline.dataset_manifest wrote before it moved onto Dataset
        "name": "tiny",
        "class_names": ["a", "b"],
        "input_shape": [1, 2, 2],
        "n_train": 16,
        "n_test": 4,
        "is_image": True,
        "stats": ds.stats_dict(),
    }
    assert ds.manifest() == {**expected, "kind": "image"}
    assert ds.stats_dict()["shape"] == [1, 1, 1]


@pytest.mark.parametrize("shape, dtype", [((7,), np.float32), ((3, 5, 4), np.uint8), ((1, 6, 6), np.uint8)])
def test_statistics_in_blocks_equal_numpy_on_the_whole_array(monkeypatch, shape, dtype):
    rng = np.random.default_rng(1)
    x = (rng.random((101, *shape)) * 255).astype(dtype)
    monkeypatch.setattr(nnlab.data.dataset, "STATS_CHUNK", 50)  # many blocks
    mean, std = normalisation_stats(x)
    scale = 255.0 if dtype == np.uint8 else 1.0
    x64 = x.astype(np.float64) / scale
    if x.ndim == 4:  # per channel, as (C, 1, 1)
        want_mean, want_std = x64.mean(axis=(0, 2, 3))[:, None, None], x64.std(axis=(0, 2, 3))[:, None, None]
    else:  # per feature
        want_mean, want_std = x64.mean(axis=0), x64.std(axis=0)
    np.testing.assert_allclose(mean, want_mean, rtol=1e-6)
    np.testing.assert_allclose(std, want_std, rtol=1e-5)
    assert mean.dtype == np.float32 and mean.shape == ((shape[0], 1, 1) if x.ndim == 4 else shape)


def test_the_budget_comes_from_the_env_var(monkeypatch):
    monkeypatch.delenv("NNLAB_MAX_DATASET_VALUES", raising=False)
    assert max_dataset_values() == 200_000_000
    monkeypatch.setenv("NNLAB_MAX_DATASET_VALUES", "1_000")
    assert max_dataset_values() == 1000
    monkeypatch.setenv("NNLAB_MAX_DATASET_VALUES", "lots")
    with pytest.raises(ValueError, match="NNLAB_MAX_DATASET_VALUES='lots': expected a whole number"):
        max_dataset_values()


def test_generated_sets_check_the_budget_before_drawing(monkeypatch):
    monkeypatch.setenv("NNLAB_MAX_DATASET_VALUES", "1000")
    with pytest.raises(DataFileError, match="moons: 600 samples × 2 values each = 1,200 values, more than the limit"):
        load_dataset("moons", n_samples=600)
    with pytest.raises(DataFileError, match="spirals: 10,000,000,000 samples"):
        load_dataset("spirals", n_samples=10**10)
    assert len(load_dataset("moons", n_samples=500).y_train) == 400


def test_a_plug_in_over_budget_is_refused_after_loading(monkeypatch):
    monkeypatch.setattr(registry, "_BUILTINS", dict(registry._BUILTINS))
    register_dataset("wide", kind="table")(lambda: tiny((5,)))
    monkeypatch.setenv("NNLAB_MAX_DATASET_VALUES", "99")
    with pytest.raises(DataFileError, match="tiny: 20 samples × 5 values each = 100 values"):
        load_dataset("wide")


def test_no_two_modules_of_nnlab_data_import_each_other():
    """The import graph of nnlab/data (relative and absolute imports, also inside functions) has no cycle."""
    folder = Path(nnlab.data.__file__).parent
    modules = {p.stem for p in folder.glob("*.py")}
    graph = {}
    for path in folder.glob("*.py"):
        deps = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                deps |= {node.module.split(".")[0]} if node.module else {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("nnlab.data."):
                deps.add(node.module.split(".")[2])
            elif isinstance(node, ast.Import):
                deps |= {a.name.split(".")[2] for a in node.names if a.name.startswith("nnlab.data.")}
        graph[path.stem] = deps & modules - {path.stem}

    def reaches(start: str, goal: str, seen: set) -> bool:
        return any(m == goal or (m not in seen and reaches(m, goal, seen | {m})) for m in graph[start])

    assert [m for m in graph if reaches(m, m, set())] == []
    assert "registry" not in graph["files"] and "synthetic" not in graph["validate"]


@pytest.mark.parametrize("n, noise, seed", [(1000, 0.2, 0), (17, 0.0, 3), (801, 0.35, 12345)])
def test_moons_and_circles_are_scikit_learns_numbers_drawn_without_it(n, noise, seed):
    from sklearn.datasets import make_circles, make_moons

    from nnlab.data.dataset import split

    for name, (x, y) in (
        ("moons", make_moons(n, noise=noise, random_state=seed)),
        ("circles", make_circles(n, noise=noise, factor=0.5, random_state=seed)),
    ):
        x = x * (1.5 if name == "circles" else 1.0)
        ours = load_dataset(name, n_samples=n, noise=noise, seed=seed)
        theirs = split(x.astype(np.float32), y.astype(np.int64), seed=seed)
        for a, b in zip((ours.x_train, ours.y_train, ours.x_test, ours.y_test), theirs, strict=True):
            np.testing.assert_array_equal(a, b)


def test_a_worker_drawing_two_moons_does_not_import_scikit_learn():
    import subprocess
    import sys

    code = "import sys; from nnlab.data import load_dataset; load_dataset('moons'); print('sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", out.stderr


@pytest.mark.parametrize("n, noise, seed, k", [(1000, 1.0, 0, 4), (17, 0.0, 3, 3), (801, 2.5, 12345, 5)])
def test_blobs_are_scikit_learns_numbers_drawn_without_it(n, noise, seed, k):
    from sklearn.datasets import make_blobs

    from nnlab.data.dataset import split

    x, y = make_blobs(n, centers=k, cluster_std=noise, random_state=seed)
    ours = load_dataset("blobs", n_samples=n, noise=noise, seed=seed, n_classes=k)
    theirs = split(x.astype(np.float32), y.astype(np.int64), seed=seed)
    for a, b in zip((ours.x_train, ours.y_train, ours.x_test, ours.y_test), theirs, strict=True):
        np.testing.assert_array_equal(a, b)


def test_digits_are_scikit_learns_read_from_its_file():
    from sklearn.datasets import load_digits

    from nnlab.data.dataset import split

    d = load_digits()
    ours = load_dataset("digits", seed=3)
    x = (d.images * (255 / 16)).round().astype(np.uint8)[:, None]
    theirs = split(x, d.target.astype(np.int64), seed=3)
    for a, b in zip((ours.x_train, ours.y_train, ours.x_test, ours.y_test), theirs, strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_worker_loading_digits_or_blobs_does_not_import_scikit_learn():
    import subprocess
    import sys

    code = "import sys; from nnlab.data import load_dataset; [load_dataset(d) for d in ('digits', 'blobs')]; "
    code += "print('sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", out.stderr
