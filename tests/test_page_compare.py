"""AppTest of the Compare runs page: too few runs, the default pair, a mixed-data warning, and the three figures."""

from __future__ import annotations

import json
import shutil

import pytest

from nnlab import CNNConfig, DataConfig, MLPConfig, RecordConfig, TrainConfig, train_run
from tests import app_harness
from tests.app_harness import app_test, errors, open_with_run

jobs = app_harness.jobs
app_env = app_harness.app_env

PAGE = "app_pages/compare.py"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A CNN and an MLP on digits, then an MLP on moons (the newest), in one runs folder."""
    root = tmp_path_factory.mktemp("compare-runs")
    digits = DataConfig.make("digits", train_subset=300)
    record = RecordConfig(snapshots=2, eval_size=100)
    cnn = train_run(
        digits,
        CNNConfig(input_shape=(1, 8, 8), n_classes=10, channels=(4,), hidden=(8,)),
        TrainConfig(batch_size=50, epochs=2, seed=0),
        record,
        root=root,
        name="cnn",
    )
    mlp = train_run(
        digits,
        MLPConfig((1, 8, 8), 10, (16,)),
        TrainConfig(batch_size=50, epochs=2, seed=0),
        record,
        root=root,
        name="mlp",
    )
    moons = train_run(DataConfig.make("moons", n_samples=200), record=record, root=root, name="moons")
    return root, cnn, mlp, moons


def test_the_current_run_and_its_datasets_newest_other_run_are_compared(app_env, runs):
    _, cnn, mlp, moons = runs
    at = open_with_run(app_env, cnn, PAGE)
    assert at.multiselect(key="compare_runs").value == [cnn.id, mlp.id]  # not moons: other data
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    assert len(specs) == 3 and not at.warning
    names = {t["name"] for t in specs[0]["data"]}
    assert len(names) == 2 and all(cnn.id in n or mlp.id in n for n in names)
    assert specs[1]["layout"]["xaxis"]["title"]["text"].startswith("depth")  # a CNN and an MLP: depth-aligned
    assert list(at.dataframe[0].value["run"]) == [cnn.id, mlp.id]


def test_mixed_data_is_flagged_and_one_run_is_not_enough(app_env, runs):
    _, cnn, mlp, moons = runs
    at = open_with_run(app_env, cnn, PAGE)
    at.multiselect(key="compare_runs").select(moons.id).run()
    assert not errors(at) and any("different data" in w.value for w in at.warning)
    assert len(json.loads(at.get("plotly_chart")[0].proto.spec)["data"]) == 9  # 3 runs × (2 loss + accuracy)
    at.multiselect(key="compare_runs").unselect(cnn.id).unselect(moons.id).run()
    assert not errors(at) and any("at least two" in i.value for i in at.info) and not at.get("plotly_chart")


def test_a_single_run_asks_for_another(app_env, runs, tmp_path, monkeypatch):
    alone = tmp_path / "alone"
    shutil.copytree(runs[1].folder, alone / runs[1].id)
    monkeypatch.setenv("NNLAB_RUNS_DIR", str(alone))
    at = app_test(monkeypatch, PAGE)
    assert not errors(at) and any("at least two runs" in i.value for i in at.info)
