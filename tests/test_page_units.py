"""AppTest of the Units page through the whole app: a CNN on digits (channels with their patches, a dense layer),
an MLP on two moons (top samples as numbers), ablation and the ranking in the background, and a link to one unit."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nnlab.analysis import ablation as A
from nnlab.analysis import units as U
from tests import app_harness
from tests.app_harness import errors, open_with_run

jobs = app_harness.jobs
app_env = app_harness.app_env

PAGE = "app_pages/units.py"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return app_harness.small_runs(tmp_path_factory.mktemp("units-runs"))


def charts(at) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def finish_ranking(at) -> None:
    import appkit

    tasks = [t for key, t in appkit.background_tasks()._tasks.items() if key[0] == "units-ranking"]
    assert tasks
    for task in tasks:
        assert task.wait(120) and task.status == "done", task.error
    at.run()


def test_a_cnns_channel_its_top_examples_patches_density_ablation_and_ranking(app_env, runs):
    cnn = runs[2]
    at = open_with_run(app_env, cnn, PAGE)
    assert at.selectbox(key="units_point").value == "relu1" and at.number_input(key="units_unit").value == 0
    finish_ranking(at)
    assert not errors(at), errors(at)
    top, density, ablation, ranking = charts(at)
    notes = [a["text"] for a in top["layout"]["annotations"]]
    assert "<b>Highest</b>" in notes and "<b>What its strongest position sees</b>" in notes
    assert top["data"][0]["type"] == "image" and len(top["layout"]["shapes"]) == 9  # the 9 patches outlined
    table = U.run_unit_table(cnn, len(cnn) - 1, cnn.dataset(), "relu1")  # the last snapshot
    info = U.unit_info(table, 0)
    assert [float(n) for n in notes if n[0].isdigit() or n[0] == "-"][:9] == pytest.approx(
        [float(f"{v:.3g}") for v in info.high_values]
    )
    assert density["data"][0]["type"] == "bar" and "of the samples" in density["layout"]["title"]["text"]
    assert [t["type"] for t in ablation["data"]] == ["bar", "bar", "heatmap"]
    assert ranking["data"][0]["type"] == "bar" and len(ranking["data"][0]["x"]) == 4  # 4 channels
    said = " ".join(m.value for m in at.markdown)
    assert "The network can least do without channel" in said or "No single channel matters" in said
    assert [m.label for m in at.metric] == ["Accuracy", "Predictions changed"]


def test_choosing_another_unit_layer_and_ablation(app_env, runs):
    at = open_with_run(app_env, runs[2], PAGE)
    before = charts(at)[0]["data"][0]["source"]
    at.number_input(key="units_unit").set_value(2).run()
    assert not errors(at) and charts(at)[0]["data"][0]["source"] != before
    assert at.query_params["unit"] == "2" and at.multiselect(key="units_off").value == [2]
    at.multiselect(key="units_off").set_value([0, 1, 2, 3]).run()
    at.radio(key="units_mode").set_value("mean").run()
    assert not errors(at), errors(at)
    every = A.run_ablation_info(runs[2], len(runs[2]) - 1, runs[2].dataset(), "relu1", [0, 1, 2, 3], "mean")
    assert at.metric[0].value == f"{every.ablated_accuracy:.1%}"
    assert at.metric[1].value == f"{every.changed} of 100"
    at.selectbox(key="units_point").set_value("dense2").run()
    assert not errors(at), errors(at)
    notes = [a["text"] for a in charts(at)[0]["layout"]["annotations"]]
    assert "<b>Lowest</b>" in notes and "<b>What its strongest position sees</b>" not in notes  # signed, no map
    assert at.number_input(key="units_unit").max == 7  # 8 dense units
    at.number_input(key="units_unit").set_value(7).run()
    at.selectbox(key="units_point").set_value("relu1").run()  # 4 channels: back to channel 0
    assert not errors(at) and at.number_input(key="units_unit").value == 0


def test_points_show_their_top_samples_as_numbers(app_env, runs):
    at = open_with_run(app_env, runs[1], PAGE)
    finish_ranking(at)
    assert not errors(at), errors(at)
    top = at.dataframe[0].value
    assert list(top.columns) == ["value", "class", "x₁", "x₂"] and len(top) == 9
    assert np.all(np.diff(top["value"].to_numpy()) <= 0)
    assert len(charts(at)) == 3  # density, ablation, ranking


def test_a_link_opens_one_unit_of_one_layer(app_env, runs):
    at = app_harness.app_test(app_env)
    at.session_state["app_run"] = runs[2].id
    at.query_params.update({"layer": "pool1", "unit": "3"})
    at.switch_page(PAGE).run()
    assert not errors(at), errors(at)
    assert at.selectbox(key="units_point").value == "pool1" and at.number_input(key="units_unit").value == 3
