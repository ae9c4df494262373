"""AppTest of the Hidden layers page through the whole app: the PCA map of a chosen point at the current snapshot,
t-SNE in the background, and the PCA movie over every snapshot."""

from __future__ import annotations

import json

import pytest

import appkit
from tests import app_harness
from tests.app_harness import errors, open_with_run, plotly_array

jobs = app_harness.jobs
app_env = app_harness.app_env

PAGE = "app_pages/hidden.py"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A small CNN on digits (3 snapshots) and an MLP on two moons, in one runs folder."""
    return app_harness.small_runs(tmp_path_factory.mktemp("hidden-runs"), cnn_snapshots=3)


def finish_background(at, *words: str) -> None:
    """Wait for the background tasks whose key holds every word, then rerun the page."""
    tasks = [t for k, t in appkit.background_tasks()._tasks.items() if all(w in k for w in words)]
    assert tasks, f"no background task for {words}"
    for task in tasks:
        assert task.wait(120) and task.status == "done", task.error
    at.run()
    assert not errors(at), errors(at)


def specs(at) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def test_a_cnn_shows_the_last_hidden_layer_then_its_movie(app_env, runs):
    at = open_with_run(app_env, runs[2], PAGE)
    assert at.selectbox(key="hidden_point").value == "relu2"  # the last hidden layer's activated output
    assert at.subheader[0].value.startswith("relu2 at step")
    first = specs(at)[0]
    assert {t["type"] for t in first["data"]} <= {"scattergl", "histogram2dcontour"}
    assert sum(len(plotly_array(t["x"])) for t in first["data"] if t["type"] == "scattergl") == 359  # the test split
    finish_background(at, "hidden-movie")
    movie = specs(at)[-1]
    assert len(movie["frames"]) == 4 and len(movie["data"]) == 10  # initial state + 3 snapshots; a trace per class
    options = at.selectbox(key="hidden_point").options
    assert options[0].startswith("input") and any(o.startswith("pool1") for o in options)


def test_points_methods_and_dimensions_can_be_changed(app_env, runs):
    at = open_with_run(app_env, runs[1], PAGE)
    assert any(c.value == "All 40 test samples are shown." for c in at.caption)  # no one-stop slider
    assert not [w for w in at.select_slider if w.key == "hidden_n"]
    at.selectbox(key="hidden_point").set_value("input").run()
    at.segmented_control(key="hidden_dims").set_value(3).run()
    assert not errors(at) and {t["type"] for t in specs(at)[0]["data"]} == {"scatter3d"}
    at.segmented_control(key="hidden_dims").set_value(2).run()
    at.checkbox(key="hidden_contours").uncheck().run()
    assert {t["type"] for t in specs(at)[0]["data"]} == {"scattergl"}
    at.segmented_control(key="hidden_method").set_value("t-SNE").run()
    assert not errors(at), errors(at)
    finish_background(at, "hidden-embed", "t-SNE")
    assert specs(at)[0]["layout"]["xaxis"]["title"]["text"] == "t-SNE 1"
