"""AppTest of the Features page through the whole app: a saved SAE's quality and one feature's dashboard (the numbers
those of `nnlab.analysis.features` on the same SAE), sorting and another feature, a conv layer's features with the
patch where they fire, training one from the page as a background job, and steering on the walk-through."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nnlab.analysis import features, sae, units
from tests import app_harness
from tests.app_harness import errors, open_with_run, plotly_array

jobs = app_harness.jobs
app_env = app_harness.app_env

PAGE = "app_pages/features.py"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root, mlp, cnn = app_harness.small_runs(tmp_path_factory.mktemp("features-runs"))
    sae.train_in_run(mlp.folder, "relu1", None, 64, 4, epochs=20)
    sae.train_in_run(cnn.folder, "relu1", None, 64, 4, epochs=3)
    return root, mlp, cnn


def charts(at) -> dict[str, dict]:
    return {c.key: json.loads(c.proto.spec) for c in at.get("plotly_chart")}


def said(at) -> str:
    return " ".join(m.value for m in at.markdown)


def expected(run, name: str, feature: int):
    ds = run.dataset()
    m, entry = sae.load_sae(run.folder / "features" / name)
    x, idx, labels = units.eval_inputs(run, ds)
    model, point = run.model_at(entry["snapshot"]), run.point(entry["point"])
    table = features.feature_table(model, m, x, point, idx, labels)
    effects = features.logit_effects(model, m, x, table, point)
    field, hw = features.image_field(model, point, ds)
    info = features.feature_info(table, feature, run.class_names, effect=effects[feature], field=field, image_hw=hw)
    return table, info


def test_a_saved_sae_shows_its_quality_and_a_features_dashboard(app_env, runs):
    mlp = runs[1]
    at = open_with_run(app_env, mlp, PAGE)
    assert at.selectbox(key="features_point").value == "relu1"
    name = at.selectbox(key="features_sae").value
    f = at.selectbox(key="features_feature").value
    table, info = expected(mlp, name, f)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Variance explained"] == f"{table.quality.variance_explained:.1%}"
    assert metrics["Active per vector (L0)"] == f"{table.quality.l0:.1f}"
    assert metrics["Accuracy, spliced in"] == f"{table.spliced:.1%}"
    assert info.sentence in said(at)
    shown = charts(at)
    assert {"features_histogram", "features_classes", "features_effect", "features_purity", "features_split"} <= set(
        shown
    )
    np.testing.assert_allclose(plotly_array(shown["features_effect"]["data"][0]["y"]), info.effect, atol=1e-6)
    listing = at.dataframe[0].value
    assert listing["fires on"].is_monotonic_decreasing  # sorted by frequency first

    at.radio(key="features_sort").set_value("purity").run()
    assert not errors(at), errors(at)
    purity = at.dataframe[0].value["purity"].dropna()
    assert purity.is_monotonic_decreasing
    other = [v for v in at.selectbox(key="features_feature").options if int(v) != f][0]
    at.selectbox(key="features_feature").set_value(int(other)).run()
    assert not errors(at), errors(at)
    assert expected(mlp, name, int(other))[1].sentence in said(at)


def test_a_conv_layers_features_show_where_they_fire(app_env, runs):
    cnn = runs[2]
    at = open_with_run(app_env, cnn, PAGE)
    name, f = at.selectbox(key="features_sae").value, at.selectbox(key="features_feature").value
    _, info = expected(cnn, name, f)
    top = charts(at)["features_top"]
    assert len(top["layout"]["shapes"]) == len(info.top)  # one outlined patch per strongest sample
    assert info.sentence in said(at)


def test_training_features_from_the_page(app_env, runs, jobs):
    mlp = runs[1]
    at = open_with_run(app_env, mlp, PAGE)
    at.selectbox(key="features_point").set_value("relu2").run()
    assert "No sparse autoencoder on relu2" in " ".join(i.value for i in at.info)
    at.button(key="features_train").click().run()
    assert not errors(at), errors(at)
    job = jobs.get(at.session_state["features_job"])
    assert job is not None and job.wait(120) and job.status == "complete", (job.status, job.error)
    at.run()
    assert not errors(at), errors(at)
    assert job.output.name.startswith("relu2-s") and (job.output / "sae.safetensors").is_file()
    assert at.selectbox(key="features_sae").value == job.output.name
    assert "Trained and saved in the run" in " ".join(s.value for s in at.success)


def test_steering_on_the_walkthrough_switches_a_feature_off(app_env, runs):
    mlp = runs[1]
    at = open_with_run(app_env, mlp, "app_pages/walkthrough.py")
    assert "Steer a feature" in [h.value for h in at.subheader]
    f = at.selectbox(key="walk_steer_feature").value
    bars = charts(at)["walk_steer_chart"]["data"]
    ds = mlp.dataset()
    m, entry = sae.load_sae(next((mlp.folder / "features").iterdir()))
    i = int(at.session_state["walk_sample"]) if "walk_sample" in at.session_state else 0
    s = features.steer(mlp.model_at(-1), m, ds.prepare(ds.x_test[i : i + 1]), mlp.point(entry["point"]), f, 0.0)
    np.testing.assert_allclose(plotly_array(bars[1]["y"]), s.after, atol=1e-6)
    at.slider(key="walk_steer_factor").set_value(3.0).run()
    assert not errors(at), errors(at)
    assert f"With feature **{f}** scaled by 3" in said(at)
