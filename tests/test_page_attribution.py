"""AppTest of the Attribution page through the whole app: a CNN on digits (the four default methods, then each method
of the table on its own), a GAP CNN (CAM), an MLP on two moons (feature bars), a CSV table (KernelSHAP per feature
and class), the model randomisation check in the background, the sample shared with the layer walk-through, and
the widgets that change what is explained."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nnlab.analysis import attribution as A
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
    not_offered = " ".join(c.value for c in at.caption if c.value.startswith("Not offered here"))
    assert "CAM needs global average pooling" in not_offered and "Occlusion" not in not_offered


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
    not_shown = " ".join(c.value for c in at.caption if c.value.startswith("Not offered here"))
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


def titles(at) -> list[str]:
    return [a["text"] for a in specs(at)[0]["layout"]["annotations"]]


@pytest.mark.parametrize("which", [2, 1])
def test_each_method_of_the_table_draws_alone(app_env, runs, which):
    """Every method that applies to the CNN on digits (images) and to the MLP on moons (bars) draws on its own."""
    at = open_with_run(app_env, runs[which], PAGE)
    usable = at.multiselect(key="attr_methods").options
    assert len(usable) == (13 if which == 2 else 10)  # the CNN: all but CAM; the MLP: no maps, no occlusion
    for title in usable:
        at.multiselect(key="attr_methods").set_value([m for m in A.METHODS if A.METHODS[m].title == title]).run()
        assert not errors(at), (title, errors(at))
        if which == 2:
            assert titles(at) == ["Input", title]
        else:
            assert titles(at) == [title] and specs(at)[0]["data"][0]["type"] == "bar"
    assert at.query_params["methods"] == next(m for m in A.METHODS if A.METHODS[m].title == usable[-1])


def test_methods_side_by_side_and_from_a_link(app_env, runs):
    at = open_with_run(app_env, runs[2], PAGE)
    at.multiselect(key="attr_methods").set_value(["lime", "kernel_shap", "grad_cam_pp", "smoothgrad"]).run()
    assert titles(at) == ["Input", "SmoothGrad", "LIME", "KernelSHAP", "Grad-CAM++"]  # in the table's order
    assert "[LIME](https://arxiv.org/abs/1602.04938)" in " ".join(c.value for c in at.caption)
    at.multiselect(key="attr_methods").set_value([]).run()  # nothing picked: an empty figure, class averages stay
    assert not errors(at) and at.selectbox(key="attr_avg_method").options[0] == "Saliency"
    linked = app_harness.app_test(app_env)
    linked.session_state["app_run"] = runs[2].id
    linked.query_params["methods"] = "deeplift,cam,input_x_gradient"  # CAM does not apply here: left out
    linked.switch_page(PAGE).run()
    assert not errors(linked) and titles(linked) == ["Input", "Input × gradient", "DeepLift"]


@pytest.fixture(scope="module")
def more_runs(runs):
    """A GAP CNN on digits and an MLP on a CSV table, in the same runs folder (the CSV in a data folder of its own)."""
    from nnlab import CNNConfig, DataConfig, MLPConfig, RecordConfig, TrainConfig, train_run

    gap = train_run(
        DataConfig.make("digits", train_subset=300),
        CNNConfig(input_shape=(1, 8, 8), n_classes=10, channels=(4,), hidden=(), head="gap"),
        TrainConfig(batch_size=50, epochs=1, seed=0),
        RecordConfig(snapshots=2, eval_size=100),
        root=runs[0],
        name="gap",
    )
    data = runs[0].parent / "csv-data"
    data.mkdir(exist_ok=True)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 4))
    y = (x[:, 0] + 0.5 * x[:, 2] > 0).astype(int) + (x[:, 1] > 1)
    rows = "\n".join(",".join(f"{v:.3f}" for v in r) + f",{c}" for r, c in zip(x, y, strict=True))
    (data / "tab.csv").write_text(f"a,b,c,d,label\n{rows}\n")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NNLAB_DATA_DIR", str(data))
        table = train_run(
            DataConfig.make("tab"),
            MLPConfig(input_shape=(4,), n_classes=3, hidden=(8,)),
            TrainConfig(batch_size=32, epochs=2, seed=0),
            RecordConfig(snapshots=2, eval_size=40),
            root=runs[0],
            name="table",
        )
    return gap, table, data


def test_a_gap_cnn_offers_cam(app_env, runs, more_runs):
    at = open_with_run(app_env, more_runs[0], PAGE)
    assert "CAM" in at.multiselect(key="attr_methods").options
    at.multiselect(key="attr_methods").set_value(["grad_cam", "cam"]).run()
    assert not errors(at) and titles(at) == ["Input", "Grad-CAM", "CAM"]
    assert not [c for c in at.caption if c.value.startswith("Not offered here")]  # every method applies


def test_a_csv_table_gets_kernel_shap_per_feature_and_class(app_env, runs, more_runs):
    app_env.setenv("NNLAB_DATA_DIR", str(more_runs[2]))
    at = open_with_run(app_env, more_runs[1], PAGE)
    assert "KernelSHAP: each feature's share" in [h.value for h in at.subheader]
    bars, heat = next(s["data"] for s in specs(at) if [t["type"] for t in s["data"]] == ["bar", "heatmap"])
    assert list(bars["y"]) == ["a", "b", "c", "d"]  # the CSV header's names
    assert np.asarray(app_harness.plotly_array(heat["z"])).shape == (4, 3)
    assert "Shapley value" in reading(at)


def finish_sanity(at):
    import appkit

    tasks = [t for key, t in appkit.background_tasks()._tasks.items() if key[0] == "attr-sanity"]
    assert tasks
    for task in tasks:
        assert task.wait(120) and task.status == "done", task.error
    at.run()


def test_the_sanity_check_runs_in_the_background_and_says_which_maps_changed_little(app_env, runs):
    at = open_with_run(app_env, runs[2], PAGE)
    assert "Sanity check: which maps can you trust?" in [h.value for h in at.subheader]
    assert "snapshot 0" in " ".join(m.value for m in at.markdown)  # the second check, for free
    n = len(specs(at))
    at.toggle(key="attr_sanity").set_value(True).run()
    finish_sanity(at)
    assert not errors(at), errors(at)
    assert len(specs(at)) == n + 2 and at.query_params["sanity"] == "1"
    maps, corr = specs(at)[1], specs(at)[2]
    assert maps["data"][0]["type"] == "image"
    layers = ["trained", "+ out", "+ dense2", "+ conv1"]
    assert [t["name"] for t in corr["data"]] == ["Saliency", "Integrated gradients", "Grad-CAM", "Occlusion"]
    assert list(corr["data"][0]["x"]) == layers and app_harness.plotly_array(corr["data"][0]["y"])[0] == pytest.approx(
        1
    )
    said = " ".join(m.value for m in at.markdown)
    assert "changed little" in said or "changed a lot" in said
    assert "rank correlation" in reading(at)


def test_small_images_get_larger_maps_by_default_and_a_toggle_puts_them_in_one_row(app_env, runs):
    at = open_with_run(app_env, runs[2], PAGE)  # 8×8 digits: too small to follow the strokes in one row of six
    assert at.toggle(key="attr_larger").value is True
    larger = specs(at)[0]
    rows = {round(larger["layout"][name]["domain"][0], 3) for name in larger["layout"] if name.startswith("yaxis")}
    assert len(rows) == 2  # the input and four maps, three to a row
    at.toggle(key="attr_larger").set_value(False).run()
    assert not errors(at), errors(at)
    one_row = specs(at)[0]
    rows = {round(one_row["layout"][name]["domain"][0], 3) for name in one_row["layout"] if name.startswith("yaxis")}
    assert len(rows) == 1 and one_row["layout"]["height"] < larger["layout"]["height"]


# --- issue 25's methods: interior gradients (a panel, then the strip over α) and LRP -------------------------
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
