"""AppTest of the Layer walk-through page through the whole app: an MLP's sample and snapshot, the sample modes
(previous, next, random, play), a CNN's feature maps."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nnlab.analysis import layers as L
from tests import app_harness
from tests.app_harness import errors, figures_bytes, shown_sample

jobs = app_harness.jobs  # the app's job registry, released after this module

app_env, app_dirs = app_harness.app_env, app_harness.app_dirs  # the module's runs as the app's; empty folders

WALK = "app_pages/walkthrough.py"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A small CNN on digits and an MLP on two moons (the newest, so the sidebar's default), in one runs folder."""
    return app_harness.small_runs(tmp_path_factory.mktemp("inside-runs"))


def open_page(app_env, runs, which: str, page: str):
    """The whole app on `page`, showing the MLP or the CNN run."""
    run = runs[1] if which == "mlp" else runs[2]
    return app_harness.open_with_run(app_env, run, page), run


def test_walkthrough_mlp_sample_and_snapshot(app_env, runs):
    at, run = open_page(app_env, runs, "mlp", WALK)
    assert at.title[0].value == "Layer walk-through" and shown_sample(at) == 0
    assert any("**training time** slider" in m.value for m in at.markdown)  # a trained run has a history to scrub
    charts = at.get("plotly_chart")
    assert len(charts) == 3  # the input point, the probabilities, the dense strips
    dense = json.loads(charts[2].proto.spec)
    assert [t["type"] for t in dense["data"]] == ["heatmap"] * 5  # dense1, relu1, dense2, relu2, out
    assert any("zero" in m.value for m in at.markdown)
    at.number_input(key="walk_index").set_value(5).run()
    assert shown_sample(at) == 5 and not errors(at)
    last = at.get("plotly_chart")[1].proto.spec
    at.slider(key="app_snapshot").set_value(0).run()
    assert shown_sample(at) == 5 and not errors(at)  # the same sample, at the untrained network
    assert any(m.value.startswith("At step 0 ") for m in at.markdown)
    assert at.get("plotly_chart")[1].proto.spec != last
    assert figures_bytes(at) < 3_000_000


def test_walkthrough_modes_previous_next_random_play(app_env, runs):
    at, run = open_page(app_env, runs, "mlp", WALK)
    ds = run.dataset()
    at.radio(key="walk_mode").set_value("By class").run()
    at.selectbox(key="walk_class").set_value("class 1").run()
    ones = list(np.flatnonzero(ds.y_test == 1))
    pos = ones.index(shown_sample(at))  # a sample of class 1
    at.button(key="walk_next").click().run()
    assert shown_sample(at) == ones[(pos + 1) % len(ones)]
    for _ in range(pos + 2):
        at.button(key="walk_prev").click().run()
    assert shown_sample(at) == ones[-1]  # wrapped around
    at.slider(key="app_snapshot").set_value(0).run()
    idx, labels = run.eval_set()
    wrong = L.misclassified(idx, labels, run.snapshot(0)["pred"].numpy())
    at.radio(key="walk_mode").set_value("Misclassified").run()
    assert not errors(at)
    assert len(wrong) > 0  # the untrained network (snapshot 0 of a seeded run) gets some wrong: the mode is tested
    assert shown_sample(at) in wrong
    at.radio(key="walk_mode").set_value("Random").run()
    at.button(key="walk_random").click().run()
    assert 0 <= shown_sample(at) < len(ds.y_test) and not errors(at)
    at.radio(key="walk_mode").set_value("By index").run()
    at.number_input(key="walk_index").set_value(3).run()
    at.toggle(key="walk_play").set_value(True).run()  # playing: each timed rerun moves on by one sample
    assert shown_sample(at) == 4 and not errors(at)
    at.toggle(key="walk_play").set_value(False).run()
    at.run()
    assert shown_sample(at) == 4


def test_walkthrough_cnn_draws_feature_maps(app_env, runs):
    at, run = open_page(app_env, runs, "cnn", WALK)
    assert any(m.value.startswith("**Layer 1** · conv1 → relu1 → pool1: 4 feature maps of 8×8") for m in at.markdown)
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    assert len(specs) == 4  # input image, probabilities, feature maps of layer 1, dense strips
    assert specs[0]["data"][0]["type"] == "image" and specs[0]["data"][0]["source"].startswith("data:image/png")
    assert [t["type"] for t in specs[2]["data"]].count("image") == 3  # conv1, relu1, pool1
    at.number_input(key="walk_index").set_value(17).run()
    assert shown_sample(at) == 17 and not errors(at)
