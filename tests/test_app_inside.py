"""AppTest of the "Inside the network" pages (layer walk-through, class averages) through the whole app."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nnlab import DataConfig, MLPConfig, RecordConfig, TrainConfig, list_runs, train_run
from nnlab.analysis import classes as C
from nnlab.analysis import layers as L
from tests import app_harness
from tests.app_harness import app_test, errors, plotly_array

jobs = app_harness.jobs  # the app's job registry, released after this module
app_env, app_dirs = app_harness.app_env, app_harness.app_dirs  # the module's runs as the app's; empty folders

WALK, CLASSES = "app_pages/walkthrough.py", "app_pages/class_averages.py"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A small CNN on digits and an MLP on two moons (the newest, so the sidebar's default), in one runs folder."""
    return app_harness.small_runs(tmp_path_factory.mktemp("inside-runs"))


def open_page(app_env, runs, which: str, page: str):
    """The whole app on `page`, showing the MLP or the CNN run."""
    _, mlp, cnn = runs
    run = mlp if which == "mlp" else cnn
    at = app_test(app_env)
    at.session_state["app_run"] = run.id
    at.switch_page(page).run()
    assert not errors(at)
    return at, run


def shown_sample(at) -> int:
    heads = [h.value for h in at.subheader if h.value.startswith("Test sample")]
    assert len(heads) == 1, heads
    return int(heads[0].split()[-1])


def figures_bytes(at) -> int:
    return sum(len(c.proto.spec) for c in at.get("plotly_chart"))


def test_walkthrough_mlp_sample_and_snapshot(app_env, runs):
    at, run = open_page(app_env, runs, "mlp", WALK)
    assert at.title[0].value == "Layer walk-through" and shown_sample(at) == 0
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


def test_class_averages_page(app_env, runs):
    at, run = open_page(app_env, runs, "mlp", CLASSES)
    assert at.title[0].value == "Class averages"
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    assert len(specs) == 6  # class heatmap, pair, separability, over time, each class over time, confusion
    assert plotly_array(specs[0]["data"][0]["z"]).shape == (2, 8)  # 2 classes × 8 units of relu2
    learning = specs[4]
    assert [t["name"] for t in learning["data"]] == ["class 0", "class 1"]  # one line per class
    assert len(plotly_array(learning["data"][0]["y"])) == len(run)  # a point per snapshot
    assert any("is learned first" in m.value or "No class has reached" in m.value for m in at.markdown)
    assert any("stand apart" in m.value or "no layer separates" in m.value for m in at.markdown)
    at.selectbox(key="classes_point").set_value("dense1").run()
    assert "dense1" in json.loads(at.get("plotly_chart")[0].proto.spec)["layout"]["title"]["text"]
    at.slider(key="app_snapshot").set_value(0).run()
    assert not errors(at)
    # choosing a confusion cell (what a click on the matrix does, through the same state)
    at.selectbox(key="classes_true").set_value("class 0").run()
    at.selectbox(key="classes_pred").set_value("class 0").run()
    idx, labels = run.eval_set()
    hits = C.cell_samples(idx, labels, run.snapshot(0)["pred"].numpy(), 0, 0)
    assert any(m.value.startswith(f"**{len(hits)}** evaluation samples of true class **class 0**") for m in at.markdown)
    assert figures_bytes(at) < 3_000_000


def test_a_confusion_cell_opens_its_sample_in_the_walkthrough(app_env, runs):
    at, run = open_page(app_env, runs, "cnn", CLASSES)
    assert list_runs(runs[0])[0].id != run.id  # the sidebar's default run is another one
    at.slider(key="app_snapshot").set_value(1).run()
    t, p = np.unravel_index(np.argmax(run.snapshot(1)["confusion"].numpy()), (10, 10))  # the fullest cell
    at.selectbox(key="classes_true").set_value(str(t)).run()
    at.selectbox(key="classes_pred").set_value(str(p)).run()
    idx, labels = run.eval_set()
    hits = C.cell_samples(idx, labels, run.snapshot(1)["pred"].numpy(), t, p)
    assert len(hits) > 0
    assert sorted(c for img in at.image for c in img.captions) == sorted(f"#{i}" for i in hits[:24])  # thumbnails
    at.button(key=f"classes_open_{hits[0]}").click().run()
    assert not errors(at)
    assert at.title[0].value == "Layer walk-through" and shown_sample(at) == hits[0]
    assert at.session_state["walk_mode"] == "By index"
    assert at.session_state["app_run"] == run.id and at.session_state["app_snapshot"] == 1  # same run, same time


@pytest.mark.parametrize(
    ("page", "what"),
    [(WALK, "its samples"), (CLASSES, "its class averages"), ("app_pages/boundary.py", "its decision boundary")],
)
def test_a_run_whose_data_file_is_gone_says_so_on_every_page_that_needs_it(app_dirs, jobs, monkeypatch, page, what):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 2)).astype(np.float32)
    np.savez(app_dirs["data"] / "blobs2.npz", x_train=x, y_train=(x[:, 0] > 0).astype(np.int64))
    run = train_run(
        DataConfig.make("blobs2"),
        MLPConfig(input_shape=(2,), n_classes=2, hidden=(4,)),
        TrainConfig(batch_size=16, epochs=1),
        RecordConfig(snapshots=2, eval_size=10),
        root=app_dirs["runs"],
        name="gone",
    )
    (app_dirs["data"] / "blobs2.npz").unlink()  # the student deleted or renamed the file
    at = app_test(monkeypatch)
    at.session_state["app_run"] = run.id
    at.switch_page(page).run()
    assert not at.exception
    assert len(at.error) == 1
    text = at.error[0].value
    assert "**blobs2**" in text and f"so {what} cannot be shown" in text and "pick another run" in text


def test_the_weights_page_draws_a_run_of_your_own_module(app_dirs, jobs, monkeypatch):
    import torch
    from torch import nn

    from nnlab.loop import record_loop

    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 3, 3), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 6 * 6, 2))
    x, y = torch.randn(32, 1, 8, 8), torch.arange(32) % 2
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    folder, record = app_dirs["runs"] / "own", RecordConfig(snapshots=2, eval_size=32)
    with record_loop(model, opt, folder, x, y, ["a", "b"], total_steps=2, steps_per_epoch=2, record=record) as rec:
        for _ in range(2):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            rec.step_done(loss.item())
        rec.epoch(train_loss=loss.item())
    at = app_test(monkeypatch)
    at.session_state["app_run"] = "own"
    at.switch_page("app_pages/weights.py").run()
    assert not errors(at), errors(at)
    assert at.selectbox(key="weights_layer").options == ["0 (3×1×3×3 weights)", "3 (2×108 weights)"]
    movie = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert len(plotly_array(movie["data"][1]["x"])) == 3  # one hover point per filter of the conv
    at.selectbox(key="weights_layer").set_value("3").run()
    assert not errors(at) and at.radio(key="weights_matrix_mode")  # the dense layer: a matrix, up close too
    at.switch_page("app_pages/home.py").run()  # Home offers the views that read only the recording
    assert not errors(at), errors(at)
    offered = {element.proto.label for element in at.get("page_link")}
    assert {"Weight evolution", "Compare runs"} <= offered and "Layer walk-through" not in offered
