"""AppTest of the Decision boundary page through the whole app: a 2-D run and image runs (first load, a widget change,
a snapshot change with the sidebar's slider), and a run whose data is gone."""

from __future__ import annotations

import json

import pytest

from tests import app_harness
from tests.app_harness import app_test, rerun, specs

jobs = app_harness.jobs  # the app's job registry, released after this module

app_env, app_dirs = app_harness.app_env, app_harness.app_dirs

BOUNDARY = "app_pages/boundary.py"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("learning-runs")
    return root, app_harness.learning_runs(root)


def open_page(app_env, runs, which: str, page: str):
    """The whole app on `page`, showing run `which`."""
    return app_harness.open_with_run(app_env, runs[1][which], page, timeout=120)


def test_boundary_page_on_moons(app_env, runs):
    at = open_page(app_env, runs, "moons", BOUNDARY)
    movie, units = specs(at)
    assert len(movie["frames"]) == len(runs[1]["moons"]) and movie["data"][0]["type"] == "image"
    at.segmented_control(key="boundary_mode").set_value("regions")
    rerun(at)
    at.pills(key="boundary_splits").set_value(["test"])
    rerun(at)
    assert all(t.get("visible") == "legendonly" for t in specs(at)[0]["data"][1:] if "(train)" in t["name"])
    assert at.selectbox(key="boundary_unit_point").value == "relu1"
    at.selectbox(key="boundary_unit_point").set_value("dense2")
    rerun(at)
    assert "dense2" in specs(at)[1]["layout"]["title"]["text"]
    at.slider(key="app_snapshot").set_value(0)
    rerun(at)
    assert specs(at)[0]["layout"]["sliders"][0]["active"] == 0


def test_boundary_page_on_image_runs(app_env, runs):
    at = open_page(app_env, runs, "mlp", BOUNDARY)
    assert "PC1" in specs(at)[0]["layout"]["xaxis"]["title"]["text"]
    assert any("What it hides" in c.value for c in at.caption)
    at.selectbox(key="boundary_plane").set_value("relu1")
    rerun(at)
    assert len(specs(at)[0]["frames"][0]["data"]) > 1  # the samples move with the plane in every frame
    at.slider(key="app_snapshot").set_value(1)
    rerun(at)
    at = open_page(app_env, runs, "cnn", BOUNDARY)
    at.selectbox(key="boundary_plane").set_value("pool1")
    rerun(at)


def test_boundary_page_when_the_data_is_gone(app_dirs, runs, jobs, monkeypatch):
    run_id = app_harness.copy_run(runs[1]["moons"], app_dirs["runs"])
    manifest = app_dirs["runs"] / run_id / "manifest.json"
    m = json.loads(manifest.read_text())
    m["data"]["name"] = "a-file-since-deleted"
    manifest.write_text(json.dumps(m))
    at = app_test(monkeypatch)
    at.session_state["app_run"] = run_id
    at.switch_page(BOUNDARY).run()
    assert not at.exception
    assert any("cannot be loaded" in e.value for e in at.error)
