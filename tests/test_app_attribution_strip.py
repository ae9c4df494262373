"""AppTest of the Attribution page's two methods of issue 25: interior gradients (a panel, then the strip over α
with its words) and LRP (a panel with its words), on a CNN on digits and an MLP on two moons; the reasons the
page gives where they do not apply."""

from __future__ import annotations

import json

import pytest

from nnlab.analysis import attribution as A
from tests import app_harness
from tests.app_harness import errors, open_with_run

jobs = app_harness.jobs
app_env = app_harness.app_env

PAGE = "app_pages/attribution.py"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return app_harness.small_runs(tmp_path_factory.mktemp("attribution-strip-runs"))


def specs(at) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def captions(at) -> str:
    return " ".join(c.value for c in at.caption)


@pytest.mark.parametrize("which", [2, 1])
def test_interior_gradients_and_lrp_draw_with_their_words(app_env, runs, which):
    at = open_with_run(app_env, runs[which], PAGE)
    assert {"Interior gradients", "LRP"} <= set(at.multiselect(key="attr_methods").options)
    at.multiselect(key="attr_methods").set_value(["interior_gradients", "lrp"]).run()
    assert not errors(at), errors(at)
    words = captions(at)
    assert "[Interior gradients](https://arxiv.org/abs/1611.02639)" in words and "α·x" in words
    assert "[LRP](https://doi.org/10.1371/journal.pone.0130140)" in words and "gamma rule" in words
    assert "Interior gradients: the gradient on the way to the input" in [h.value for h in at.subheader]
    strip = specs(at)[1]  # under the side-by-side maps
    if which == 2:  # images: one panel per α, each with its score
        texts = [a["text"] for a in strip["layout"]["annotations"]]
        assert len(texts) == len(A.gradients.INTERIOR_ALPHAS) and texts[0].startswith("α = 0.02<br>score ")
        assert all(t["type"] == "image" for t in strip["data"])
    else:  # features: an α × feature heatmap
        assert strip["data"][0]["type"] == "heatmap" and list(strip["data"][0]["x"]) == ["x₁", "x₂"]
        assert strip["data"][0]["y"][-1].startswith("α = 1 (score ")
    assert "the gradient fades" in words and "integrated gradients add the gradients up" in words
    at.multiselect(key="attr_methods").set_value(["lrp"]).run()  # no strip without interior gradients
    assert not errors(at) and "Interior gradients: the gradient on the way to the input" not in [
        h.value for h in at.subheader
    ]
