"""Figures of the backward walk-through and of the network you can hold, checked by structure (parsed JSON)."""

from __future__ import annotations

import json

import numpy as np

from nnlab.analysis import backprop as bp
from nnlab.analysis import boundary
from nnlab.analysis import hand_network as hand
from nnlab.figures import backprop as figs
from nnlab.figures import hand_network as hand_figs
from tests.app_harness import plotly_array


def spec(fig) -> dict:
    return json.loads(fig.to_json())


def record_of(run):
    ds = run.dataset()
    return bp.run_backprop(run, len(run) - 1, ds.prepare(ds.x_test[:1]), int(ds.y_test[0]), index=0)


def test_loss_strips_outer_product_and_step(tiny_run):
    record = record_of(tiny_run)
    loss = spec(figs.loss_figure(record, tiny_run.class_names))
    assert [t["type"] for t in loss["data"]] == ["bar", "bar"] and "→" in loss["layout"]["title"]["text"]
    strips = spec(figs.vector_gradients_figure(record.points))
    assert strips["layout"]["meta"]["order"] == ["out", "relu2", "dense2", "relu1", "dense1"]
    heat = [t for t in strips["data"] if t["type"] == "heatmap"]
    np.testing.assert_allclose(plotly_array(heat[0]["z"]).ravel(), record.point("out").grad, atol=1e-6)
    crosses = [t for t in strips["data"] if t["type"] == "scatter"]
    stopped = sum(len(record.point(n).stopped) for n in ("relu1", "relu2"))
    assert sum(len(plotly_array(t["y"])) for t in crosses) == stopped
    outer = spec(figs.outer_product_figure(record.param("dense2.weight")))
    z = [plotly_array(t["z"]) for t in outer["data"]]
    assert [a.shape for a in z] == [(1, 8), (8, 1), (8, 8)]
    np.testing.assert_allclose(z[2], z[1] @ z[0], atol=1e-6)
    step = spec(figs.step_figure(record.param("dense1.weight"), "adam"))
    assert [a["text"] for a in step["layout"]["annotations"]] == [
        "gradient",
        "exp_avg before",
        "exp_avg_sq before",
        "exp_avg after",
        "exp_avg_sq after",
        "step",
    ]
    sizes = spec(figs.step_sizes_figure(record))
    assert list(sizes["data"][0]["x"]) == [p.name for p in record.params]
    assert figs.outer_product_figure(record.param("dense1.bias")).layout.title.text.endswith("dense layer's weight")


def test_the_network_figure_has_a_node_per_unit_and_a_marker_per_edge(tiny_run):
    run, k = tiny_run, len(tiny_run) - 1
    ds = run.dataset()
    grid = boundary.plane_grid(ds.x_test, 16)
    net = hand.run_hand_network(run, k, ds, ds.prepare(ds.x_test[:1]), 0, {}, grid=grid)
    fig = spec(hand_figs.network_figure(net, selected=("dense1.weight", (0, 1)), class_names=run.class_names))
    assert fig["layout"]["meta"] == {"show": "weights", "edges": 16 + 64 + 16, "nodes": 20}
    assert len(fig["layout"]["images"]) == 20 and fig["layout"]["images"][0]["source"].startswith("data:image/png")
    edges = next(t for t in fig["data"] if t.get("name") == "edges")
    assert edges["customdata"][0] == ["dense1.weight", 0, 0] and len(edges["customdata"]) == 96
    nodes = next(t for t in fig["data"] if t.get("name") == "nodes")
    assert nodes["customdata"][2] == ["dense1.bias", 0, -1]
    grads = spec(hand_figs.network_figure(net, show="gradients"))
    assert grads["layout"]["meta"]["show"] == "gradients"
    board = spec(hand_figs.hand_boundary_figure(net, ds.x_test, ds.y_test, run.class_names, point=ds.x_test[0]))
    assert board["data"][0]["type"] == "image" and board["data"][-1]["name"] == "the sample"
    assert board["layout"]["title"]["text"].startswith("Test loss")
