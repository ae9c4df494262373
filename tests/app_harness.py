"""AppTest helpers for the app's pages: run `streamlit_app.py` as the real server does, on any page."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

APP = Path(__file__).resolve().parents[1] / "streamlit_app.py"


def app_test(monkeypatch: pytest.MonkeyPatch, page: str | None = None, timeout: float = 60) -> AppTest:
    """An AppTest of the whole app, switched to `page` ("app_pages/train.py") if given, and run once."""
    at = AppTest.from_file(str(APP), default_timeout=timeout)
    at.run()
    if page is not None:
        at.switch_page(page).run()
    return at


def open_with_run(monkeypatch: pytest.MonkeyPatch, run, page: str, timeout: float = 60) -> AppTest:
    """The whole app on `page` with `run` as the sidebar's current run, run once and checked for errors."""
    at = app_test(monkeypatch, timeout=timeout)
    at.session_state["app_run"] = run.id
    at.switch_page(page).run()
    assert not errors(at), errors(at)
    return at


def plotly_array(v) -> np.ndarray:
    """An array from a plotly JSON spec: a plain list, or plotly's base64 typed array ({"bdata", "dtype", "shape"})."""
    if isinstance(v, dict) and "bdata" in v:
        a = np.frombuffer(base64.b64decode(v["bdata"]), np.dtype(v["dtype"]))
        shape = v.get("shape", len(a))
        return a.reshape(shape if isinstance(shape, list) else [int(n) for n in str(shape).split(",")])
    return np.asarray(v)


def errors(at: AppTest) -> list[str]:
    """Exceptions and error boxes on the page, as text (empty when all is well)."""
    return [str(e.value) for e in at.exception] + [str(e.value) for e in at.error]


def rerun(at: AppTest) -> AppTest:
    """Rerun after a widget change and check the page raised nothing."""
    at.run()
    assert not errors(at), errors(at)
    return at


def specs(at: AppTest) -> list[dict]:
    """The page's plotly figures as parsed JSON, in page order."""
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def figures_bytes(at: AppTest) -> int:
    """What the page's figures weigh as sent to the browser."""
    return sum(len(c.proto.spec) for c in at.get("plotly_chart"))


def shown_sample(at: AppTest) -> int:
    """The walk-through's sample index, from its one "Test sample N" heading."""
    heads = [h.value for h in at.subheader if h.value.startswith("Test sample")]
    assert len(heads) == 1, heads
    return int(heads[0].split()[-1])


@pytest.fixture
def app_dirs(tmp_path, monkeypatch) -> dict[str, Path]:
    """Empty runs and data folders that NNLAB_RUNS_DIR and NNLAB_DATA_DIR point at."""
    dirs = {"runs": tmp_path / "runs", "data": tmp_path / "data"}
    for d in dirs.values():
        d.mkdir()
    monkeypatch.setenv("NNLAB_RUNS_DIR", str(dirs["runs"]))
    monkeypatch.setenv("NNLAB_DATA_DIR", str(dirs["data"]))
    return dirs


@pytest.fixture
def app_env(monkeypatch, tmp_path, runs, jobs):
    """The module's recorded `runs` (a fixture: root folder first) as the app's runs folder, an empty data folder."""
    monkeypatch.setenv("NNLAB_RUNS_DIR", str(runs[0]))
    monkeypatch.setenv("NNLAB_DATA_DIR", str(tmp_path))
    return monkeypatch


@pytest.fixture(scope="module")
def jobs():
    """The app's job registry (one per server, like the real one); released after the module, ending its workers."""
    import appkit

    yield appkit.job_registry()
    appkit.job_registry.clear()  # on_release shuts the registry down: running jobs stop, the spare worker exits


def copy_run(run, root: Path, name: str | None = None) -> str:
    """Copy a finished run into `root` (as `name`); returns its id."""
    import shutil

    dst = root / (name or run.id)
    shutil.copytree(run.folder, dst)
    return dst.name


def learning_runs(root: Path) -> dict:
    """Two moons (MLP), and an MLP and a CNN on 200 digits, in `root`; 3 snapshots plus the start each."""
    from nnlab import CNNConfig, DataConfig, MLPConfig, RecordConfig, TrainConfig, train_run

    train, record = TrainConfig(batch_size=32, epochs=1, seed=0), RecordConfig(snapshots=3, eval_size=60)
    digits = DataConfig.make("digits", train_subset=200)
    return {
        "moons": train_run(DataConfig.make("moons", n_samples=200), MLPConfig(hidden=(8, 8)), train, record,
                           root=root, name="moons"),
        "mlp": train_run(digits, MLPConfig(input_shape=(1, 8, 8), n_classes=10, hidden=(12, 6)), train, record,
                         root=root, name="mlp"),
        "cnn": train_run(digits, CNNConfig(input_shape=(1, 8, 8), n_classes=10, channels=(3, 4), hidden=(6,)),
                         train, record, root=root, name="cnn"),
    }  # fmt: skip


TINY_VIT = dict(input_shape=(1, 8, 8), n_classes=10, width=16, depth=2, heads=2)


def vit_runs(root: Path):
    """A tiny ViT on 300 digits (the newest, so the sidebar's default) and a CNN on the same data, in `root`.
    Returns (root, vit, cnn)."""
    from nnlab import CNNConfig, DataConfig, RecordConfig, TrainConfig, ViTConfig, train_run

    data = DataConfig.make("digits", train_subset=300)
    cnn = train_run(
        data,
        CNNConfig(input_shape=(1, 8, 8), n_classes=10, channels=(4,), hidden=(8,)),
        TrainConfig(batch_size=50, epochs=1, seed=0),
        RecordConfig(snapshots=2, eval_size=100),
        root=root,
        name="cnn",
    )
    vit = train_run(
        data,
        ViTConfig(**TINY_VIT),
        TrainConfig(batch_size=50, epochs=2, seed=0),
        RecordConfig(snapshots=3, eval_size=100),
        root=root,
        name="vit",
    )
    return root, vit, cnn


def small_runs(root: Path, *, cnn_snapshots: int = 2):
    """Two tiny finished runs for the analysis pages, in `root`: a CNN on digits and an MLP on two moons (the newest,
    so the sidebar's default). Returns (root, mlp, cnn)."""
    from nnlab import CNNConfig, DataConfig, MLPConfig, RecordConfig, TrainConfig, train_run

    cnn = train_run(
        DataConfig.make("digits", train_subset=300),
        CNNConfig(input_shape=(1, 8, 8), n_classes=10, channels=(4,), hidden=(8,)),
        TrainConfig(batch_size=50, epochs=1, seed=0),
        RecordConfig(snapshots=cnn_snapshots, eval_size=100),
        root=root,
        name="cnn",
    )
    mlp = train_run(
        DataConfig.make("moons", n_samples=200),
        MLPConfig(hidden=(8, 8)),
        TrainConfig(batch_size=32, epochs=2, seed=0),
        RecordConfig(snapshots=3, eval_size=40),
        root=root,
        name="mlp",
    )
    return root, mlp, cnn
