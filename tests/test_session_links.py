"""Links that reproduce a view: the address holds the run, snapshot and page choices; stale ones are explained.

A fresh AppTest session with only query parameters stands for a link opened in a new browser.
"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests import app_harness
from tests.app_harness import APP, errors

jobs = app_harness.jobs
app_env = app_harness.app_env
WALK, CLASSES = "app_pages/walkthrough.py", "app_pages/class_averages.py"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return app_harness.small_runs(tmp_path_factory.mktemp("link-runs"))


def opened(page: str, **params) -> AppTest:
    """The app opened on `page` from a link with these parameters, in a fresh session."""
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.switch_page(page)  # the link's page is the first one this session runs
    for k, v in params.items():
        at.query_params[k] = str(v)
    at.run()
    return at


def notices(at) -> list[str]:
    return [w.value for w in at.warning if w.value.startswith("This link's")]


def shown_sample(at) -> int:
    return int(next(h.value for h in at.subheader if h.value.startswith("Test sample")).split()[-1])


def test_the_address_follows_the_run_snapshot_and_page_choices(app_env, runs):
    _, mlp, cnn = runs
    at = opened(WALK, run=cnn.id, snapshot=1, sample=7)
    assert not errors(at), errors(at)
    assert at.session_state["app_run"] == cnn.id and at.session_state["app_snapshot"] == 1 and shown_sample(at) == 7
    assert at.query_params["run"] == cnn.id and at.query_params["snapshot"] == "1"
    at.number_input(key="walk_index").set_value(12).run()
    assert at.query_params["sample"] == "12"
    at.slider(key="app_snapshot").set_value(0).run()
    assert at.query_params["snapshot"] == "0" and shown_sample(at) == 12  # the student's choices win afterwards
    assert not notices(at)


def test_class_averages_link_keeps_layer_and_classes(app_env, runs):
    _, _, cnn = runs
    at = opened(CLASSES, run=cnn.id, snapshot=2, layer="pool1", a="3", b="8", group="0")
    assert not errors(at), errors(at)
    assert at.selectbox(key="classes_point").value == "pool1"
    assert at.selectbox(key="classes_a").value == "3" and at.selectbox(key="classes_b").value == "8"
    assert at.toggle(key="classes_group").value is False and not notices(at)
    at.selectbox(key="classes_point").set_value("relu2").run()
    assert at.query_params["layer"] == "relu2" and at.query_params["a"] == "3"


@pytest.mark.parametrize(
    "params, said",
    [
        ({"run": "deleted-run-20260101-000000"}, "is not on this server"),
        ({"snapshot": "999"}, "beyond this run's last snapshot"),
        ({"snapshot": "soon"}, "is not a whole number"),
        ({"sample": "100000"}, "is outside 0..358"),
        ({"sample": "seven"}, "is not a whole number"),
        ({"layer": "dense9"}, "is not one of this page's options"),
    ],
)
def test_a_stale_link_gives_a_notice_and_the_default(app_env, runs, params, said):
    _, _, cnn = runs
    page = CLASSES if "layer" in params else WALK
    at = opened(page, **({"run": cnn.id} | params))
    assert not errors(at), errors(at)
    assert any(said in n for n in notices(at)), notices(at)
    run_id = at.session_state["app_run"]
    assert run_id in (cnn.id, runs[1].id)  # a deleted run's link falls back to the newest run
    if "snapshot" in params:
        assert at.session_state["app_snapshot"] == 2  # the last one
    if "sample" in params:
        assert shown_sample(at) == 0
    if "layer" in params:
        assert at.selectbox(key="classes_point").value == "relu2"  # the default: the last hidden layer
    at.run()
    assert sum(said in n for n in notices(at)) <= 1  # said once, not on every rerun


def test_the_link_box_shows_the_view(app_env, runs):
    _, _, cnn = runs
    at = opened(WALK, run=cnn.id, snapshot=1, sample=5)
    link = next(c.value for c in at.code if "run=" in c.value)
    assert f"run={cnn.id}" in link and "snapshot=1" in link and "sample=5" in link


@pytest.mark.parametrize(
    "page, params, key, value",
    [
        ("app_pages/hidden.py", {"layer": "relu1", "method": "PCA", "dims": "3"}, "hidden_point", "relu1"),
        ("app_pages/boundary.py", {"colour": "regions", "grid": "150"}, "boundary_resolution", 150),
        ("app_pages/attribution.py", {"explain": "Another class", "class": "7"}, "attr_other", "7"),
        ("app_pages/weights.py", {"layer": "conv1", "units": "changed", "count": "3"}, "weights_count", 3),
        ("app_pages/compare.py", {"runs": "CNN,MLP"}, "compare_runs", ["CNN", "MLP"]),
    ],
)
def test_every_analysis_page_takes_its_choices_from_the_address(app_env, runs, page, params, key, value):
    _, mlp, cnn = runs
    ids = {"CNN": cnn.id, "MLP": mlp.id}
    params = {k: ",".join(ids.get(i, i) for i in v.split(",")) for k, v in params.items()}
    value = [ids[v] for v in value] if isinstance(value, list) else value
    at = opened(page, run=cnn.id, snapshot=1, **params)
    assert not errors(at), errors(at)
    assert not notices(at), notices(at)
    if key is not None:
        assert at.session_state[key] == value
    for k, v in params.items():  # written back, so the address keeps describing the view
        assert at.query_params[k] == v
