"""A dropped-in CSV's column names travel with its runs: the Decision boundary page's axes of a 2-D CSV and the
Units page's table of top samples name the features as the header does."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests import app_harness
from tests.app_harness import errors, open_with_run

jobs = app_harness.jobs
app_env = app_harness.app_env


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """An MLP trained on a 2-D CSV whose header names its columns, in a data folder of its own."""
    from nnlab import DataConfig, MLPConfig, RecordConfig, TrainConfig, train_run

    root = tmp_path_factory.mktemp("csv-names")
    data, folder = root / "data", root / "runs"
    data.mkdir()
    folder.mkdir()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 2))
    rows = "\n".join(f"{a:.3f},{b:.3f},{int(a + b > 0)}" for a, b in x)
    (data / "sizes.csv").write_text(f"height, weight,label\n{rows}\n")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NNLAB_DATA_DIR", str(data))
        run = train_run(
            DataConfig.make("sizes"),
            MLPConfig(input_shape=(2,), n_classes=2, hidden=(4,)),
            TrainConfig(batch_size=32, epochs=1, seed=0),
            RecordConfig(snapshots=2, eval_size=40),
            root=folder,
            name="sizes",
        )
    return folder, run, data


def test_a_2d_csvs_boundary_axes_and_top_samples_say_its_column_names(app_env, runs):
    app_env.setenv("NNLAB_DATA_DIR", str(runs[2]))
    at = open_with_run(app_env, runs[1], "app_pages/boundary.py")
    movie = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert movie["layout"]["xaxis"]["title"]["text"] == "height"
    assert movie["layout"]["yaxis"]["title"]["text"] == "weight"
    at.switch_page("app_pages/units.py").run()
    assert not errors(at), errors(at)
    assert list(at.dataframe[0].value.columns) == ["value", "class", "height", "weight"]


def test_a_2d_csvs_scatter_walk_through_and_own_point_say_its_column_names(app_env, runs):
    app_env.setenv("NNLAB_DATA_DIR", str(runs[2]))
    at = open_with_run(app_env, runs[1], "app_pages/walkthrough.py")
    plane = json.loads(at.get("plotly_chart")[0].proto.spec)  # the walk-through's input: the sample on the plane
    assert plane["layout"]["xaxis"]["title"]["text"] == "height" and "weight %{y" in plane["data"][-1]["hovertemplate"]
    at.switch_page("app_pages/boundary.py").run()
    at.radio(key="own_source").set_value("Click a point").run()
    assert not errors(at), errors(at)
    assert {"height", "weight"} <= {n.label for n in at.number_input}  # the own point's boxes
    traces = [t for c in at.get("plotly_chart") for t in json.loads(c.proto.spec)["data"]]
    marked = [t["hovertemplate"] for t in traces if t.get("name") == "your point"]  # the star on the boundary
    assert marked and marked[0].startswith("your point: height %{x")
    assert any(m.value.startswith("The star is your point (height ") and ", weight " in m.value for m in at.markdown)
    at.switch_page("app_pages/datasets.py").run()
    at.selectbox(key="data_dataset").set_value("sizes").run()
    assert not errors(at), errors(at)
    scatter = next(
        s for s in (json.loads(c.proto.spec) for c in at.get("plotly_chart")) if "scaleanchor" in s["layout"]["yaxis"]
    )
    assert (scatter["layout"]["xaxis"]["title"]["text"], scatter["layout"]["yaxis"]["title"]["text"]) == (
        "height",
        "weight",
    )
    assert "height %{x" in scatter["data"][0]["hovertemplate"]
    assert any("height and weight" in c.value for c in at.caption)
