"""AppTest of the Class averages page through the whole app: the page on an MLP run, and a confusion cell that opens
its sample in the walk-through."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nnlab import list_runs
from nnlab.analysis import classes as C
from tests import app_harness
from tests.app_harness import errors, figures_bytes, plotly_array, shown_sample

jobs = app_harness.jobs  # the app's job registry, released after this module

app_env, app_dirs = app_harness.app_env, app_harness.app_dirs  # the module's runs as the app's; empty folders

CLASSES = "app_pages/class_averages.py"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A small CNN on digits and an MLP on two moons (the newest, so the sidebar's default), in one runs folder."""
    return app_harness.small_runs(tmp_path_factory.mktemp("inside-runs"))


def open_page(app_env, runs, which: str, page: str):
    """The whole app on `page`, showing the MLP or the CNN run."""
    run = runs[1] if which == "mlp" else runs[2]
    return app_harness.open_with_run(app_env, run, page), run


def test_class_averages_page(app_env, runs):
    at, run = open_page(app_env, runs, "mlp", CLASSES)
    assert at.title[0].value == "Class averages"
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    assert len(specs) == 6  # class heatmap, pair, separability, over time, each class over time, confusion
    assert plotly_array(specs[0]["data"][0]["z"]).shape == (2, 8)  # 2 classes × 8 units of relu2
    learning = specs[4]
    assert [t["name"] for t in learning["data"]] == ["class 0", "class 1"]  # one line per class
    assert len(plotly_array(learning["data"][0]["y"])) == len(run)  # a point per snapshot
    assert any("is learned first" in m.value or "No class has reached" in m.value for m in at.markdown)
    assert any("stand apart" in m.value or "no layer separates" in m.value for m in at.markdown)
    at.selectbox(key="classes_point").set_value("dense1").run()
    assert "dense1" in json.loads(at.get("plotly_chart")[0].proto.spec)["layout"]["title"]["text"]
    at.slider(key="app_snapshot").set_value(0).run()
    assert not errors(at)
    # choosing a confusion cell (what a click on the matrix does, through the same state)
    at.selectbox(key="classes_true").set_value("class 0").run()
    at.selectbox(key="classes_pred").set_value("class 0").run()
    idx, labels = run.eval_set()
    hits = C.cell_samples(idx, labels, run.snapshot(0)["pred"].numpy(), 0, 0)
    assert any(m.value.startswith(f"**{len(hits)}** evaluation samples of true class **class 0**") for m in at.markdown)
    assert figures_bytes(at) < 3_000_000


def test_a_confusion_cell_opens_its_sample_in_the_walkthrough(app_env, runs):
    at, run = open_page(app_env, runs, "cnn", CLASSES)
    assert list_runs(runs[0])[0].id != run.id  # the sidebar's default run is another one
    at.slider(key="app_snapshot").set_value(1).run()
    t, p = np.unravel_index(np.argmax(run.snapshot(1)["confusion"].numpy()), (10, 10))  # the fullest cell
    at.selectbox(key="classes_true").set_value(str(t)).run()
    at.selectbox(key="classes_pred").set_value(str(p)).run()
    idx, labels = run.eval_set()
    hits = C.cell_samples(idx, labels, run.snapshot(1)["pred"].numpy(), t, p)
    assert len(hits) > 0
    assert sorted(c for img in at.image for c in img.captions) == sorted(f"#{i}" for i in hits[:24])  # thumbnails
    at.button(key=f"classes_open_{hits[0]}").click().run()
    assert not errors(at)
    assert at.title[0].value == "Layer walk-through" and shown_sample(at) == hits[0]
    assert at.session_state["walk_mode"] == "By index"
    assert at.session_state["app_run"] == run.id and at.session_state["app_snapshot"] == 1  # same run, same time
