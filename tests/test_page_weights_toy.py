"""The Weight evolution page's toy-model section through AppTest: a toy model of superposition gets the features as
arrows, their norms coloured by superposition, WᵀW, the norms over training) at the sidebar's snapshot, with the
numbers of `nnlab.analysis.superposition`; other networks do not."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nnlab import DataConfig, RecordConfig, TrainConfig, train_run
from nnlab.analysis import superposition
from nnlab.models import ToyConfig
from tests import app_harness
from tests.app_harness import app_test, copy_run, errors, plotly_array

app_dirs, jobs = app_harness.app_dirs, app_harness.jobs  # the shared fixtures


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory):
    """A toy model: 5 sparse features into 2 dimensions, 3 epochs, 4 snapshots plus the initial state."""
    return train_run(
        DataConfig.make("sparse-features", n_features=5, sparsity=0.9, n_samples=600),
        ToyConfig(input_shape=(5,), n_classes=6, dims=2),
        TrainConfig(lr=0.02, epochs=3, batch_size=32),
        RecordConfig(snapshots=4, eval_size=100),
        root=tmp_path_factory.mktemp("toy-runs"),
    )


def open_weights(monkeypatch, app_dirs, run, **params):
    copy_run(run, app_dirs["runs"])
    at = app_test(monkeypatch)
    for key, value in params.items():
        at.query_params[key] = value
    at.switch_page("app_pages/weights.py").run()
    assert not errors(at), errors(at)
    return at


def test_a_toy_model_gets_its_section_at_the_sidebars_snapshot(app_dirs, jobs, toy_run, monkeypatch):
    at = open_weights(monkeypatch, app_dirs, toy_run)
    last = len(toy_run) - 1
    info = superposition.superposition_info(toy_run, last)
    text = " ".join(m.value for m in at.markdown)
    assert "squeezes 5 features into 2 dimensions" in text
    assert f"{info.n_represented} features are represented" in text
    figures = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    titles = [f["layout"].get("title", {}).get("text", "") for f in figures]
    step = toy_run.snapshots[last]["step"]
    assert f"Each feature's direction, at step {step:,}" in titles and f"WᵀW at step {step:,}" in titles
    gram = next(f for f in figures if f["layout"]["title"]["text"].startswith("WᵀW"))
    np.testing.assert_allclose(plotly_array(gram["data"][0]["z"]), info.gram, atol=1e-5)
    norms = next(f for f in figures if f["layout"]["title"]["text"].startswith("Each feature's norm, at"))
    np.testing.assert_allclose(plotly_array(norms["data"][0]["x"]), info.norms, atol=1e-5)
    history = next(f for f in figures if f["layout"]["title"]["text"] == "Each feature's norm over training")
    assert len(history["data"]) == 5


def test_the_section_follows_the_training_time(app_dirs, jobs, toy_run, monkeypatch):
    at = open_weights(monkeypatch, app_dirs, toy_run, snapshot="0")
    info = superposition.superposition_info(toy_run, 0)
    arrows = next(
        json.loads(c.proto.spec)
        for c in at.get("plotly_chart")
        if "direction" in json.loads(c.proto.spec)["layout"]["title"]["text"]
    )
    assert "at step 0" in arrows["layout"]["title"]["text"]
    for i, trace in enumerate(arrows["data"]):
        np.testing.assert_allclose(plotly_array(trace["x"]), [0, info.weights[0, i]], atol=1e-5)


def test_other_networks_have_no_toy_section(app_dirs, jobs, tiny_run, monkeypatch):
    at = open_weights(monkeypatch, app_dirs, tiny_run)
    assert "Superposition: where each feature sits" not in [h.value for h in at.subheader]
