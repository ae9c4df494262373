"""AppTest of the Attention page through the whole app: a tiny ViT on digits after a change of block and head, and
the sentence it gives for a CNN run instead."""

from __future__ import annotations

import json

import pytest

from tests import app_harness
from tests.app_harness import app_test, errors

jobs = app_harness.jobs
app_env = app_harness.app_env


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return app_harness.vit_runs(tmp_path_factory.mktemp("attention-runs"))


def test_attention_page_after_a_widget_change_and_on_a_cnn(app_env, runs):
    _, run, cnn = runs
    at = app_test(app_env)
    at.session_state["app_run"] = run.id
    at.switch_page("app_pages/attention.py").run()
    at.selectbox(key="attn_block").select("attn2").run()
    at.selectbox(key="attn_head").select(2).run()
    assert not errors(at), errors(at)
    token_matrix = json.loads(at.get("plotly_chart")[1].proto.spec)  # parsed: the encoder may escape "·" or not
    assert "attn2 · head 2" in token_matrix["layout"]["title"]["text"]
    at.session_state["app_run"] = cnn.id
    at.run()
    assert not errors(at) and at.info[0].value.startswith("Attention needs a vision transformer")
