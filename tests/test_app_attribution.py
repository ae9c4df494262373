"""AppTest of the Attribution page through the whole app: a CNN on digits (all four methods), an MLP on two moons
(feature bars), the sample shared with the layer walk-through, and the widgets that change what is explained."""

from __future__ import annotations

import json

import pytest

from tests import app_harness
from tests.app_harness import errors, open_with_run

jobs = app_harness.jobs
app_env = app_harness.app_env

PAGE, WALK = "app_pages/attribution.py", "app_pages/walkthrough.py"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A small CNN on digits and an MLP on two moons, in one runs folder."""
    return app_harness.small_runs(tmp_path_factory.mktemp("attribution-runs"))


def specs(at) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def reading(at) -> str:
    return " ".join(c.value for c in at.caption if "How to read this" in c.value)


def test_a_cnn_gets_all_four_methods_as_pictures_and_class_tiles(app_env, runs):
    at = open_with_run(app_env, runs[2], PAGE)
    one, classes = specs(at)
    titles = [a["text"] for a in one["layout"]["annotations"]]
    assert titles == ["Input", "Saliency", "Integrated gradients", "Grad-CAM", "Occlusion"]
    assert all(t["type"] == "image" and t["source"].startswith("data:image/png") for t in one["data"])
    assert classes["data"][0]["type"] == "image" and len(classes["data"][1]["text"]) == 10
    assert at.selectbox(key="attr_avg_method").options == ["Saliency", "Integrated gradients", "Grad-CAM"]
    assert "Grad-CAM" in reading(at) and "black image" in reading(at)
    assert not [c for c in at.caption if c.value.startswith("Not shown here")]  # every method applies


def test_the_explained_class_and_the_settings_change_the_picture(app_env, runs):
    at = open_with_run(app_env, runs[2], PAGE)
    before = specs(at)[0]
    at.radio(key="attr_target").set_value("Another class").run()  # the class after the predicted one
    other = at.selectbox(key="attr_other").value
    assert not errors(at), errors(at)
    assert f"score of **{other}**" in reading(at)
    assert specs(at)[0]["data"][1]["source"] != before["data"][1]["source"]  # another class, another saliency
    at.select_slider(key="attr_steps").set_value(8).run()
    at.select_slider(key="attr_window").set_value(2).run()
    at.selectbox(key="attr_avg_method").set_value("grad_cam").run()
    at.select_slider(key="attr_per_class").set_value(10).run()
    assert not errors(at), errors(at)
    assert specs(at)[1]["layout"]["title"]["text"].startswith("Grad-CAM")


def test_points_get_feature_bars_and_no_image_methods(app_env, runs):
    at = open_with_run(app_env, runs[1], PAGE)
    one, classes = specs(at)
    assert [t["type"] for t in one["data"]] == ["bar", "bar"] and list(one["data"][0]["y"]) == ["x₁", "x₂"]
    assert classes["data"][0]["type"] == "heatmap"
    assert at.selectbox(key="attr_avg_method").options == ["Saliency", "Integrated gradients"]
    assert "average input" in reading(at)
    not_shown = " ".join(c.value for c in at.caption if c.value.startswith("Not shown here"))
    assert "Grad-CAM needs a layer of feature maps" in not_shown and "this MLP has none" in not_shown
    assert "Occlusion needs images" in not_shown


def test_the_sample_is_shared_with_the_walk_through(app_env, runs):
    at = open_with_run(app_env, runs[2], WALK)
    at.button(key="walk_next").click().run()
    at.button(key="walk_next").click().run()
    chosen = at.session_state["walk_sample"]
    assert chosen > 0
    at.switch_page(PAGE).run()
    assert not errors(at), errors(at)
    assert [h.value for h in at.subheader if h.value.startswith("Test sample")] == [f"Test sample {chosen}"]
