"""AppTest of the Latent space page and of every analysis page on tiny autoencoder runs (MLP and conv VAE).

The autoencoders' pages: the code map, decoding a clicked point, the manifold grid, interpolation, the map over
training and the error per class, a drawing or an upload encoded, marked on the map and rebuilt (each source, an
empty canvas, a bad file); the classification-only pages say why in one sentence; the rest draw.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from nnlab import DataConfig, MLPConfig, RecordConfig, TrainConfig, train_run
from nnlab.analysis import latent as L
from nnlab.data import own_input as OI
from nnlab.models import AEConfig, ConvAEConfig
from tests import app_harness
from tests.app_harness import app_test, errors
from tests.test_data_own_input import digit_picture, draw_three, encoded
from tests.test_pickers_own_input import draw, upload

jobs = app_harness.jobs
app_env = app_harness.app_env
LATENT = "app_pages/latent.py"
PAGES = [
    "app_pages/walkthrough.py",
    "app_pages/class_averages.py",
    "app_pages/attribution.py",
    "app_pages/hidden.py",
    "app_pages/weights.py",
    "app_pages/boundary.py",
    "app_pages/compare.py",
    "app_pages/runs.py",
    LATENT,
]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """An MLP autoencoder and a conv VAE with a 3-D code (drawn through PCA) on digits, and an MLP classifier."""
    root = tmp_path_factory.mktemp("latent-runs")
    digits = DataConfig.make("digits", train_subset=300)
    record = RecordConfig(snapshots=3, eval_size=100)
    train = TrainConfig(batch_size=50, epochs=2, seed=0)
    mlp = train_run(DataConfig.make("moons", n_samples=200), MLPConfig(hidden=(8,)), train, record, root=root)
    vae = train_run(
        digits,
        ConvAEConfig(input_shape=(1, 8, 8), n_classes=10, channels=(4,), code=3, variational=True),
        train,
        record,
        root=root,
        name="vae",
    )
    ae = train_run(digits, AEConfig(input_shape=(1, 8, 8), n_classes=10, hidden=(16,)), train, record, root=root)
    return root, ae, vae, mlp


def open_page(app_env, run, page):
    at = app_test(app_env)
    at.session_state["app_run"] = run.id
    at.switch_page(page).run()
    assert not errors(at), errors(at)
    return at


def chart(at, title: str) -> dict:
    """The spec of the chart whose title starts with `title`."""
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    found = [s for s in specs if s["layout"].get("title", {}).get("text", "").startswith(title)]
    assert len(found) == 1, [s["layout"].get("title") for s in specs]
    return found[0]


@pytest.mark.parametrize("which", ["ae", "vae"])
@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_an_autoencoder(app_env, runs, which, page):
    run = runs[1] if which == "ae" else runs[2]
    at = open_page(app_env, run, page)
    infos = [i.value for i in at.info]
    if page in ("app_pages/attribution.py", "app_pages/boundary.py"):
        assert infos and "does not apply to a" in infos[0] and "autoencoder" in infos[0], infos
    else:
        assert at.get("plotly_chart") or page == "app_pages/runs.py", f"{page} drew no chart"
        assert not infos or "custom" not in infos[0]


def test_latent_page_draws_the_map_and_decodes_a_point(app_env, runs):
    _, ae, _, _ = runs
    at = open_page(app_env, ae, LATENT)
    assert at.title[0].value == "Latent space"
    the_map = chart(at, "The code map at step")
    classes = [t for t in the_map["data"] if t["type"] == "scattergl"]
    assert sum(len(app_harness.plotly_array(t["x"])) for t in classes) == len(ae.eval_set()[1])
    assert the_map["data"][0]["type"] == "histogram2dcontour"
    assert the_map["layout"]["xaxis"]["title"]["text"] == "code 1"
    decoded = chart(at, "Decoded at (")
    assert decoded["data"][0]["type"] == "image"
    at.slider(key="latent_x").set_value(at.slider(key="latent_x").max).run()
    after = chart(at, "Decoded at (")
    assert not errors(at) and after["data"][0]["source"] != decoded["data"][0]["source"]  # another point, image
    star = chart(at, "The code map at step")["data"][-1]
    assert star["name"] == "decoded point" and star["x"][0] == pytest.approx(at.slider(key="latent_x").max)
    sizes = sum(len(c.proto.spec) for c in at.get("plotly_chart"))
    assert sizes < 3_000_000


def test_latent_page_vae_pca_and_prior(app_env, runs):
    _, _, vae, _ = runs
    at = open_page(app_env, vae, LATENT)
    titles = [json.loads(c.proto.spec)["layout"].get("title", {}).get("text", "") for c in at.get("plotly_chart")]
    assert "Samples from the prior" in titles
    the_map = chart(at, "The code map at step")
    assert the_map["layout"]["xaxis"]["title"]["text"].startswith("PCA axis 1 of the code")
    at.slider(key="app_snapshot").set_value(0).run()
    assert not errors(at)
    at.selectbox(key="latent_class").set_value(3).run()
    assert not errors(at)


def test_latent_page_says_why_for_a_classifier(app_env, runs):
    at = open_page(app_env, runs[3], LATENT)
    assert any("Latent space needs an autoencoder" in i.value for i in at.info)
    assert not at.get("plotly_chart")


def test_walkthrough_follows_the_sample_to_the_code_and_back(app_env, runs):
    _, ae, _, _ = runs
    at = open_page(app_env, ae, "app_pages/walkthrough.py")
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    assert [s["layout"]["title"]["text"] for s in specs[:2]] == ["Input", "Reconstruction"]
    strips = specs[2]
    names = [t["hovertemplate"].split(" unit")[0] for t in strips["data"]]
    assert names == ["dense1", "relu1", "code", "dense3", "relu3", "out"]
    assert any("mean squared error" in m.value for m in at.markdown)
    at.number_input(key="walk_index").set_value(5).run()
    assert not errors(at)
    np.testing.assert_equal(len(at.get("plotly_chart")), 3)


# --- an input of your own on the map -------------------------------------------------------------------------------
def own_source(at, source: str):
    at.radio(key="own_source").set_value(source).run()
    assert not errors(at), errors(at)
    return at


def own_marker(at) -> dict | None:
    the_map = chart(at, "The code map at step")
    return next((t for t in the_map["data"] if t.get("marker", {}).get("symbol") == "diamond"), None)


def test_the_test_sample_source_places_nothing_of_your_own(app_env, runs):
    _, ae, _, _ = runs
    at = open_page(app_env, ae, LATENT)
    assert at.radio(key="own_source").options == ["Test sample", "Draw", "Upload an image"]
    assert at.radio(key="own_source").value == "Test sample"
    assert own_marker(at) is None and not [c for c in at.get("plotly_chart") if c.key == "latent_own"]
    assert any("to place an input of your own" in c.value for c in at.caption)


def test_a_drawing_is_encoded_placed_on_the_map_and_rebuilt(app_env, runs):
    _, ae, _, _ = runs
    at = draw(own_source(open_page(app_env, ae, LATENT), "Draw"))
    assert not errors(at), errors(at)
    mine = own_marker(at)
    assert mine is not None and mine["name"] == "your drawing" and mine["text"] == ["your drawing"]
    ds = ae.dataset()
    k = len(ae) - 1  # the sidebar's default: the last snapshot
    own = OI.from_canvas(draw_three(), ds)
    enc = L.encoded_input_info(ae, k, ae.model_at(k), ds.prepare(own.sample[None]))
    assert mine["x"][0] == pytest.approx(float(enc.place.coords[0]), abs=1e-3)
    assert mine["y"][0] == pytest.approx(float(enc.place.coords[1]), abs=1e-3)
    said = next(m.value for m in at.markdown if "lands among the" in m.value)
    assert said.startswith(f"Your drawing lands among the {ds.class_names[enc.place.majority]}s")
    assert "The probe (the nearest class mean) says" in said
    pair = next(json.loads(c.proto.spec) for c in at.get("plotly_chart") if c.key == "latent_own")
    assert pair["layout"]["title"]["text"] == "Your drawing, rebuilt from its code"
    assert pair["data"][0]["type"] == "image"
    assert "own" not in dict(at.query_params) and not any("png" in str(v) for v in at.query_params.values())
    at.slider(key="app_snapshot").set_value(0).run()  # another snapshot replays it
    assert not errors(at), errors(at)
    again = own_marker(at)
    enc0 = L.encoded_input_info(ae, 0, ae.model_at(0), ds.prepare(own.sample[None]), L.run_projection(ae))
    assert again["x"][0] == pytest.approx(float(enc0.place.coords[0]), abs=1e-3)
    assert (again["x"][0], again["y"][0]) != (mine["x"][0], mine["y"][0])
    assert any("At step 0 it is rebuilt" in m.value for m in at.markdown)


def test_an_empty_canvas_says_draw_something_first_and_marks_nothing(app_env, runs):
    _, ae, _, _ = runs
    at = own_source(open_page(app_env, ae, LATENT), "Draw")
    draw(at, np.full((224, 224, 4), 255, np.uint8))
    assert not errors(at) and any("draw something first" in i.value for i in at.info)
    assert own_marker(at) is None


def test_an_upload_lands_on_the_pca_map_of_a_wider_code(app_env, runs):
    _, _, vae, _ = runs
    at = upload(own_source(open_page(app_env, vae, LATENT), "Upload an image"), encoded(digit_picture()))
    assert not errors(at), errors(at)
    mine = own_marker(at)
    assert mine is not None and mine["name"] == "your image"
    assert any("Your image lands among the" in m.value for m in at.markdown)
    assert any("through the map's own PCA" in c.value for c in at.caption)
    at.file_uploader(key="own_upload").set_value(("not.png", b"hello", "image/png")).run()
    assert not at.exception and [e.value.startswith("not.png:") for e in at.error] == [True]  # said, in words
    assert own_marker(at) is None
