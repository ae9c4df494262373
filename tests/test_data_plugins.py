"""Plug-ins: the registry's decorator, and datasets added by an installed package's entry points."""

import textwrap

import numpy as np
import pytest

from nnlab.data import Dataset, list_datasets, load_dataset, register_dataset, registry, taken_names
from nnlab.data.files import DataFileError, validate_upload


@pytest.fixture
def clean_registry(monkeypatch, tmp_path):
    """A private copy of the built-in table, and an empty data folder."""
    monkeypatch.setattr(registry, "_BUILTINS", dict(registry._BUILTINS))
    monkeypatch.setenv("NNLAB_DATA_DIR", str(tmp_path / "data"))


def _xor(n_samples: int = 80, seed: int = 0) -> Dataset:
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (n_samples, 2)).astype(np.float32)
    y = ((x[:, 0] > 0) ^ (x[:, 1] > 0)).astype(np.int64)
    return Dataset("xor", x[:60], y[:60], x[60:], y[60:], ("same", "differ"))


def test_decorator_registers_a_loader_with_options(clean_registry):
    register_dataset("xor", kind="points", options=("n_samples", "seed"), description="Quadrants.")(_xor)
    info = list_datasets()["xor"]  # "points", the kind's name before "plane", still registers
    assert (info.kind, info.source, info.options, info.description) == (
        "plane",
        "built-in",
        ("n_samples", "seed"),
        "Quadrants.",
    )
    ds = load_dataset("xor", n_samples=100, train_subset=20)
    assert ds.x_train.shape == (20, 2) and len(ds.y_test) == 40 and ds.is_2d


@pytest.fixture
def fake_distribution(tmp_path, monkeypatch, clean_registry):
    """An 'installed' package: a module and its .dist-info with `nnlab.datasets` entry points, on sys.path."""
    site = tmp_path / "site"
    (site / "nnlab_fake_plugin-1.0.dist-info").mkdir(parents=True)
    (site / "nnlab_fake_plugin-1.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: nnlab-fake-plugin\nVersion: 1.0\n"
    )
    (site / "nnlab_fake_plugin-1.0.dist-info" / "entry_points.txt").write_text(
        textwrap.dedent("""\
        [nnlab.datasets]
        squares = nnlab_fake_plugin:squares
        stripes = nnlab_fake_plugin:STRIPES
        broken = nnlab_fake_plugin_missing:nothing
        moons = nnlab_fake_plugin:squares

        [console_scripts]
        other = nnlab_fake_plugin:squares
        """)
    )
    (site / "nnlab_fake_plugin.py").write_text(
        textwrap.dedent("""\
        import numpy as np
        from nnlab.data import Dataset, DatasetInfo

        def squares(size: int = 6):
            '''Bright squares on dark: where is the square?'''
            x = np.zeros((40, 1, size, size), np.uint8)
            y = np.arange(40) % 2
            x[y == 1, :, : size // 2, : size // 2] = 255
            x[y == 0, :, size // 2 :, size // 2 :] = 255
            return Dataset("squares", x[:30], y[:30], x[30:], y[30:], ("top-left", "bottom-right"))

        def _stripes():
            x = np.tile(np.arange(12, dtype=np.float32), (20, 1))
            return Dataset("stripes", x[:16], np.arange(16) % 3, x[16:], np.arange(4) % 3, ("a", "b", "c"))

        STRIPES = DatasetInfo("stripes", _stripes, "Features from a plug-in.", kind="features", source="plug-in")
        """)
    )
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delitem(__import__("sys").modules, "nnlab_fake_plugin", raising=False)
    return site


def test_entry_point_plugins_are_listed_and_load(fake_distribution):
    table = list_datasets()
    assert table["squares"].source == "plug-in" and "where is the square" in table["squares"].description
    assert (table["stripes"].kind, table["stripes"].description) == ("table", "Features from a plug-in.")  # old name
    assert "broken" not in table and "other" not in table  # a plug-in that fails to import is skipped
    assert table["moons"].source == "built-in"  # a plug-in cannot replace a built-in
    ds = load_dataset("squares", size=8)
    assert ds.x_train.shape == (30, 1, 8, 8) and ds.class_names == ("top-left", "bottom-right")
    assert load_dataset("stripes").input_shape == (12,)
    with pytest.raises(DataFileError, match="its name is taken by the installed dataset 'squares'"):
        validate_upload("Squares.csv", b"a,label\n1,0\n", taken=taken_names())


def test_plugins_via_monkeypatched_entry_points(monkeypatch, clean_registry):
    class EntryPoint:
        name = "xor"

        def load(self):
            return _xor

    def entry_points(group=None):
        return [EntryPoint()] if group == registry.ENTRY_POINT_GROUP else []

    monkeypatch.setattr("importlib.metadata.entry_points", entry_points)
    assert list_datasets()["xor"].source == "plug-in"
    assert load_dataset("xor").n_classes == 2
