"""AppTest of the Backpropagation page through the whole app: the backward walk-through of a test sample on a digits
CNN and a moons MLP (loss, gradients with their gates, a weight's outer product, the optimizer's step), another
target and another sample, and the network you can hold on two moons: a weight changed by hand moves the boundary and
the loss, "Reset to the snapshot" puts it back, and the run on disk never changes."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nnlab.analysis import backprop as bp
from tests import app_harness
from tests.app_harness import errors, open_with_run, plotly_array

jobs = app_harness.jobs
app_env = app_harness.app_env

PAGE = "app_pages/backprop.py"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return app_harness.small_runs(tmp_path_factory.mktemp("backprop-runs"))


def charts(at) -> dict[str, dict]:
    return {c.key: json.loads(c.proto.spec) for c in at.get("plotly_chart")}


def said(at) -> str:
    return " ".join(m.value for m in at.markdown)


def test_a_test_sample_backward_through_a_cnn(app_env, runs):
    cnn = runs[2]
    at = open_with_run(app_env, cnn, PAGE)
    shown = charts(at)
    assert {"backprop_loss", "backprop_maps1", "backprop_vectors", "backprop_sizes", "backprop_step"} <= set(shown)
    ds, k = cnn.dataset(), len(cnn) - 1
    record = bp.run_backprop(cnn, k, ds.prepare(ds.x_test[:1]), int(ds.y_test[0]), index=0)
    assert f"{record.loss:.4f}" in said(at) and f"{record.loss_after:.4f}" in said(at)
    big = bp.largest_gradient(record)
    assert f"**{big.name}**" in said(at)
    assert "node-and-edge picture is drawn for small networks on 2-D data" in " ".join(i.value for i in at.info)
    bars = shown["backprop_loss"]["data"]
    np.testing.assert_allclose(plotly_array(bars[0]["y"]), record.probs, atol=1e-6)
    np.testing.assert_allclose(plotly_array(bars[1]["y"]), record.probs_after, atol=1e-6)
    at.selectbox(key="backprop_weight").set_value("conv1.weight").run()
    assert not errors(at), errors(at)
    assert charts(at)["backprop_filters"]["layout"]["meta"]["filters"] == 4


def test_another_target_and_sample_and_a_link(app_env, runs):
    mlp = runs[1]
    at = open_with_run(app_env, mlp, PAGE)
    names = mlp.class_names
    ds, k = mlp.dataset(), len(mlp) - 1
    other = 1 - int(ds.y_test[0])
    at.selectbox(key="backprop_target").set_value(names[other]).run()
    assert not errors(at), errors(at)
    record = bp.run_backprop(mlp, k, ds.prepare(ds.x_test[:1]), other, index=0)
    assert f"{record.loss:.4f}" in said(at) and at.query_params["target"] == names[other]
    outer = charts(at)["backprop_outer"]
    assert outer["layout"]["meta"]["weight"] == "dense1.weight"
    grads = [plotly_array(t["z"]) for t in outer["data"] if t["type"] == "heatmap"]
    np.testing.assert_allclose(grads[-1], record.param("dense1.weight").grad, atol=1e-6)
    at.button(key="walk_next").click().run()
    assert not errors(at) and at.query_params["sample"] == "1"


def test_the_network_you_can_hold_on_two_moons(app_env, runs):
    mlp = runs[1]
    before = {f.name: f.read_bytes() for f in (mlp.folder / "snapshots").iterdir()}
    at = open_with_run(app_env, mlp, PAGE)
    net = charts(at)["hand_chart"]
    assert net["layout"]["meta"]["nodes"] == 2 + 8 + 8 + 2 and net["layout"]["meta"]["edges"] == 16 + 64 + 16
    assert len(net["layout"]["images"]) == 20
    region = charts(at)["hand_boundary"]["data"][0]["source"]
    first = at.selectbox(key="hand_entry").value
    assert first.startswith("dense1.weight[0, 0]")
    at.slider(key="hand_value").set_value(2.5).run()
    assert not errors(at), errors(at)
    assert "You changed 1 value by hand" in said(at)
    assert charts(at)["hand_boundary"]["data"][0]["source"] != region
    assert at.session_state["hand_edits"] == {("dense1.weight", (0, 0)): 2.5}
    at.radio(key="hand_show").set_value("this sample's gradients").run()
    assert not errors(at) and charts(at)["hand_chart"]["layout"]["meta"]["show"] == "gradients"
    at.button(key="hand_reset").click().run()
    assert not errors(at), errors(at)
    assert "You changed" not in said(at) and at.session_state["hand_edits"] == {}
    assert charts(at)["hand_boundary"]["data"][0]["source"] == region
    assert {f.name: f.read_bytes() for f in (mlp.folder / "snapshots").iterdir()} == before
