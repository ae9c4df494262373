"""The Datasets page through AppTest: every built-in kind of data, embeddings in the background, a download that
cannot reach the internet, and uploads with clear validation errors."""

from __future__ import annotations

import importlib
import io
import json

import numpy as np

import appkit
from nnlab.data import DownloadError
from tests import app_harness
from tests.app_harness import app_test, errors

app_dirs, jobs = app_harness.app_dirs, app_harness.jobs  # the shared fixtures

PAGE = "app_pages/datasets.py"


def chart_types(at) -> list[list[str]]:
    return [[t["type"] for t in json.loads(c.proto.spec)["data"]] for c in at.get("plotly_chart")]


def test_two_moons_shows_points_counts_and_values(app_dirs, jobs, monkeypatch):
    at = app_test(monkeypatch, PAGE)
    assert not errors(at), errors(at)
    assert at.selectbox(key="data_dataset").value == "moons"
    assert "The samples" in [h.value for h in at.subheader]  # "point" is kept for a point of the network
    types = chart_types(at)
    assert types[0] == ["scattergl"] * 4 and types[1] == ["bar", "bar"] and len(types) == 3  # no embedding for 2-D
    at.slider(key="data_moons_noise").set_value(0.5).run()
    assert not errors(at) and at.get("metric")[0].value == "800"


def test_digits_shows_samples_class_images_and_a_pca_map_then_tsne_in_the_background(app_dirs, jobs, monkeypatch):
    at = app_test(monkeypatch, PAGE)
    at.selectbox(key="data_dataset").set_value("digits").run()
    assert not errors(at), errors(at)
    types = chart_types(at)
    assert types[0] == ["image"] and types[2] == ["image", "image"]  # sample grid; class means and spreads
    assert types[-1] == ["histogram2dcontour"] * 10 + ["scattergl"] * 10  # the PCA map with density contours
    grid = json.loads(at.get("plotly_chart")[0].proto.spec)["layout"]["yaxis"]["ticktext"]
    assert grid == [str(d) for d in range(10)]
    at.button(key="data_shuffle").click().run()
    at.slider(key="data_per_class").set_value(4).run()
    at.segmented_control(key="data_dims").set_value(3).run()
    assert not errors(at) and chart_types(at)[-1] == ["scatter3d"] * 10
    at.segmented_control(key="data_dims").set_value(2).run()
    at.select_slider(key="data_n").set_value(200).run()
    at.segmented_control(key="data_method").set_value("t-SNE").run()
    assert not errors(at), errors(at)
    running = [i.value for i in at.info if "running in the background" in i.value]
    task = next(t for k, t in appkit.background_tasks()._tasks.items() if "t-SNE" in k)
    assert not running or "t-SNE of 200 samples" in running[0]  # caught computing: the page says what, then
    assert task.wait(120)  # shows the map once it is done (a fast machine may have finished it already)
    at.run()
    assert task.status == "done", task.error
    assert not errors(at) and chart_types(at)[-1][-1] == "scattergl"
    spec = json.loads(at.get("plotly_chart")[-1].proto.spec)
    assert spec["layout"]["xaxis"]["title"]["text"] == "t-SNE 1"


def test_a_download_that_cannot_reach_the_internet_says_what_to_do(app_dirs, jobs, monkeypatch):
    dl = importlib.import_module("nnlab.data.download")
    tried = []

    def offline(name, root=None, progress=None, **kwargs):
        tried.append(name)
        raise DownloadError(f"Could not download {name}.\nPut the files in {app_dirs['data']}/MNIST/raw by hand.")

    monkeypatch.setattr(dl, "download", offline)
    at = app_test(monkeypatch, PAGE)
    at.selectbox(key="data_dataset").set_value("mnist").run()
    assert not errors(at) and any("not in the data folder yet" in i.value for i in at.info)
    at.button(key="data_download_mnist").click().run()
    assert tried == ["mnist"] and not at.exception
    assert any("by hand" in e.value for e in at.error)


def test_uploads_are_validated_and_a_good_file_becomes_a_dataset(app_dirs, jobs, monkeypatch):
    at = app_test(monkeypatch, PAGE)
    at.file_uploader(key="data_upload").set_value(("bad.npz", b"not an npz file", "application/octet-stream")).run()
    assert any("cannot be used" in e for e in errors(at)) and not list(app_dirs["data"].iterdir())
    rng = np.random.default_rng(0)
    rows = "\n".join(f"{a:.3f},{b:.3f},{int(a > b)}" for a, b in rng.normal(size=(60, 2)))
    at.file_uploader(key="data_upload").set_value(("mine.csv", f"x1,x2,label\n{rows}\n".encode(), "text/csv")).run()
    assert not errors(at), errors(at)
    assert any("mine" in s.value and "2 classes" in s.value for s in at.success)
    at.button(key="data_save").click().run()
    assert not errors(at), errors(at)
    assert [p.name for p in app_dirs["data"].iterdir()] == ["mine.csv"]
    assert at.selectbox(key="data_dataset").value == "mine" and len(at.get("plotly_chart")) >= 2


def test_an_npz_of_images_uploads_too(app_dirs, jobs, monkeypatch):
    buf = io.BytesIO()
    rng = np.random.default_rng(0)
    np.savez(buf, x_train=rng.integers(0, 255, (40, 6, 6), dtype=np.uint8), y_train=np.arange(40) % 4)
    at = app_test(monkeypatch, PAGE)
    at.file_uploader(key="data_upload").set_value(("tiles.npz", buf.getvalue(), "application/octet-stream")).run()
    at.button(key="data_save").click().run()
    assert not errors(at), errors(at)
    assert at.selectbox(key="data_dataset").value == "tiles" and chart_types(at)[0] == ["image"]


def test_a_dropped_in_file_with_a_taken_name_is_explained_on_the_page(app_dirs, jobs, monkeypatch):
    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    np.savez(buf, x_train=rng.integers(0, 255, (40, 6, 6), dtype=np.uint8), y_train=np.arange(40) % 4)
    (app_dirs["data"] / "digits.npz").write_bytes(buf.getvalue())
    (app_dirs["data"] / "Moons.csv").write_bytes(
        b"a,b,label\n" + b"".join(b"%d,%d,%d\n" % (i, i, i % 2) for i in range(20))
    )
    at = app_test(monkeypatch, PAGE)
    assert not errors(at), errors(at)
    notes = [w.value for w in at.warning]
    assert (
        "`data/digits.npz` is not shown: its name is taken by the built-in dataset 'digits'; rename the file." in notes
    )
    assert "`data/Moons.csv` is not shown: its name is taken by the built-in dataset 'moons'; rename the file." in notes
    assert "Moons" not in at.selectbox(key="data_dataset").options


def test_an_upload_over_the_dataset_budget_is_refused_with_the_numbers(app_dirs, jobs, monkeypatch):
    monkeypatch.setenv("NNLAB_MAX_DATASET_VALUES", "1000")
    buf = io.BytesIO()
    np.savez(buf, x_train=np.zeros((40, 6, 6), np.uint8), y_train=np.arange(40) % 4)
    at = app_test(monkeypatch, PAGE)
    at.file_uploader(key="data_upload").set_value(("wide.npz", buf.getvalue(), "application/octet-stream")).run()
    assert any(
        "wide.npz: 40 samples × 36 values each = 1,440 values, more than the limit of 1,000" in e for e in errors(at)
    )
    assert not list(app_dirs["data"].iterdir())
