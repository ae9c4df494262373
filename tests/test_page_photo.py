"""The Photo page through AppTest: a sample photo's top five, its stages, Grad-CAM, a changed copy, the diagram
(decoding uploads: tests/test_analysis_photo.py; a real upload in a browser: tests/browser/test_photo.py)."""

from __future__ import annotations

import json

import pytest

from tests import app_harness
from tests.app_harness import app_test, errors

app_dirs, jobs = app_harness.app_dirs, app_harness.jobs  # the shared fixtures
pytest.importorskip("efficientnet_lite_pytorch", reason="the Lite0 packages are absent")

PAGE = "app_pages/photo.py"


def _figures(at) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def _bars(at) -> list[str]:
    """The class names of the top-5 figure (its bars are drawn best last, at the top)."""
    spec = next(f for f in _figures(at) if f["data"] and f["data"][0]["type"] == "bar")
    return [name.strip() for name in spec["data"][0]["y"]][::-1]


@pytest.fixture
def page(app_dirs, jobs, monkeypatch):
    at = app_test(monkeypatch, PAGE, timeout=180)
    assert not errors(at), errors(at)
    return at


def test_the_sample_temple_is_a_palace_and_every_view_is_drawn(page):
    assert _bars(page)[0] == "palace" and len(_bars(page)) == 5
    titles = [a["layout"]["annotations"] for a in _figures(page) if a["layout"].get("annotations")]
    flat = [t["text"] for group in titles for t in group]
    assert any(t.startswith("1. The photo, 640×427") for t in flat) and any("224×224" in t for t in flat)
    assert any(t.startswith("Grad-CAM of “palace”") for t in flat)
    grid = next(f for f in _figures(page) if f["layout"].get("clickmode") == "event+select")
    assert len(grid["data"][1]["customdata"]) == 32  # the 32 strongest channels of the first stage
    assert "no training history" in page.info[0].value
    assert page.get("graphviz_chart")  # the diagram


def test_the_flower_is_a_daisy_and_a_widget_change_redraws(page):
    page.radio(key="photo_sample").set_value("A flower (flower.jpg)").run()
    assert not errors(page), errors(page)
    assert _bars(page)[0] == "daisy"
    page.segmented_control(key="photo_show").set_value("raw").run()
    page.slider(key="photo_count").set_value(16).run()
    assert not errors(page), errors(page)
    grid = next(f for f in _figures(page) if f["layout"].get("clickmode") == "event+select")
    assert len(grid["data"][1]["customdata"]) == 16
    strongest = grid["data"][1]["customdata"][1][0]
    page.selectbox(key="photo_channel").set_value(strongest).run()
    assert not errors(page), errors(page)
    flat = [t["text"] for f in _figures(page) for t in f["layout"].get("annotations", [])]
    assert any(f"channel {strongest} (" in t for t in flat)


def test_a_rotated_copy_is_classified_beside_the_photo(page):
    page.slider(key="photo_rotate").set_value(180).run()
    assert not errors(page), errors(page)
    flat = [t["text"] for f in _figures(page) for t in f["layout"].get("annotations", [])]
    assert any(t.startswith("As given: palace") for t in flat) and any(t.startswith("rotated 180°:") for t in flat)


def test_a_grad_cam_of_another_class(page):
    from nnlab.models.lite0 import class_names

    second = _bars(page)[1]  # the second most likely class; the radio's values are class indices
    page.radio(key="photo_cam_class").set_value(class_names().index(second)).run()
    assert not errors(page), errors(page)
    flat = [t["text"] for f in _figures(page) for t in f["layout"].get("annotations", [])]
    assert f"Grad-CAM of “{second}”" in flat
