"""AppTest of the Weight evolution page through the whole app: a 2-D run and image runs (first load, a widget change, a
snapshot change with the sidebar's slider), and a run of your own module."""

from __future__ import annotations

import json

import pytest

from nnlab import RecordConfig
from tests import app_harness
from tests.app_harness import app_test, errors, plotly_array, rerun, specs

jobs = app_harness.jobs  # the app's job registry, released after this module

app_env, app_dirs = app_harness.app_env, app_harness.app_dirs

WEIGHTS = "app_pages/weights.py"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("learning-runs")
    return root, app_harness.learning_runs(root)


def open_page(app_env, runs, which: str, page: str):
    """The whole app on `page`, showing run `which`."""
    return app_harness.open_with_run(app_env, runs[1][which], page, timeout=120)


def test_weights_page_on_moons(app_env, runs):
    at = open_page(app_env, runs, "moons", WEIGHTS)
    n = len(runs[1]["moons"])
    movie, matrix, hists, norms = specs(at)
    assert len(movie["frames"]) == n and movie["data"][0]["source"].startswith("data:image/png;base64,")
    assert movie["layout"]["sliders"][0]["active"] == n - 1  # starts where the sidebar's training time is
    assert matrix["data"][0]["type"] == "heatmap" and len(hists["data"]) == 4 and len(norms["data"]) == 3 * 3 + 2
    at.selectbox(key="weights_layer").set_value("dense2")
    rerun(at)
    assert "dense2" in specs(at)[0]["layout"]["title"]["text"]
    at.radio(key="weights_matrix_mode").set_value("change")
    rerun(at)
    at.slider(key="app_snapshot").set_value(1)
    rerun(at)
    movie, matrix = specs(at)[:2]
    assert movie["layout"]["sliders"][0]["active"] == 1
    assert f"step {runs[1]['moons'].snapshots[1]['step']}" in matrix["layout"]["title"]["text"]


def test_weights_page_on_image_runs(app_env, runs):
    at = open_page(app_env, runs, "mlp", WEIGHTS)
    assert len(plotly_array(specs(at)[0]["data"][1]["x"])) == 12  # one hover point per first-layer unit (8×8 images)
    at.radio(key="weights_units").set_value("changed")
    rerun(at)
    at.slider(key="weights_count").set_value(5)
    rerun(at)
    assert len(plotly_array(specs(at)[0]["data"][1]["x"])) == 5
    at.toggle(key="weights_scale").set_value(True)
    rerun(at)
    at.slider(key="app_snapshot").set_value(0)
    rerun(at)
    assert len(at.get("download_button")) == 1

    at = open_page(app_env, runs, "cnn", WEIGHTS)
    assert at.selectbox(key="weights_layer").value == "conv1"
    at.selectbox(key="weights_layer").set_value("conv2")
    rerun(at)
    assert len(plotly_array(specs(at)[0]["data"][1]["x"])) == 4 * 3  # every (filter, input channel) kernel


def test_the_weights_page_draws_a_run_of_your_own_module(app_dirs, jobs, monkeypatch):
    import torch
    from torch import nn

    from nnlab.loop import record_loop

    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 3, 3), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 6 * 6, 2))
    x, y = torch.randn(32, 1, 8, 8), torch.arange(32) % 2
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    folder, record = app_dirs["runs"] / "own", RecordConfig(snapshots=2, eval_size=32)
    with record_loop(model, opt, folder, x, y, ["a", "b"], total_steps=2, steps_per_epoch=2, record=record) as rec:
        for _ in range(2):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            rec.step_done(loss.item())
        rec.epoch(train_loss=loss.item())
    at = app_test(monkeypatch)
    at.session_state["app_run"] = "own"
    at.switch_page("app_pages/weights.py").run()
    assert not errors(at), errors(at)
    assert at.selectbox(key="weights_layer").options == ["0 (3×1×3×3 weights)", "3 (2×108 weights)"]
    movie = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert len(plotly_array(movie["data"][1]["x"])) == 3  # one hover point per filter of the conv
    at.selectbox(key="weights_layer").set_value("3").run()
    assert not errors(at) and at.radio(key="weights_matrix_mode")  # the dense layer: a matrix, up close too
    at.switch_page("app_pages/home.py").run()  # Home offers the views that read only the recording
    assert not errors(at), errors(at)
    offered = {element.proto.label for element in at.get("page_link")}
    assert {"Weight evolution", "Compare runs"} <= offered and "Layer walk-through" not in offered
