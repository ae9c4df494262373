"""Tests of nnlab.figures.layers, by structure: traces, shapes, colour scales, axis titles, images as PNG."""

from __future__ import annotations

import base64
import io

import numpy as np
from PIL import Image

from nnlab.analysis.layers import PointOutput, SampleWalk
from nnlab.figures import layers as F
from nnlab.figures.colors import DIVERGING_LUT, SEQUENTIAL_LUT


def point(name, role, values, signed, off=None, layer=1):
    values = np.asarray(values, np.float32)
    return PointOutput(name, role, layer, values, signed, off, "map" if values.ndim == 3 else "vector")


def walk(pred_right: bool) -> SampleWalk:
    probs = np.array([0.1, 0.7, 0.2], np.float32)
    pts = (
        point("dense1", "raw", [1.0, -2.0, 0.5], True),
        point("relu1", "activated", [1.0, 0.0, 0.5], False, 1 / 3),
        point("out", "logits", [0.1, 2.0, 0.9], True, layer=2),
    )
    return SampleWalk(4, 1 if pred_right else 2, probs, pts)


def png_size(uri: str) -> tuple[int, int]:
    assert uri.startswith("data:image/png;base64,")
    return Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))).size


def test_colour_mapping_centres_signed_data_on_zero():
    assert F.value_range(np.array([-1.0, 3.0]), True) == (-3.0, 3.0)
    assert F.value_range(np.array([0.0, 2.0]), False) == (0.0, 2.0)
    assert F.value_range(np.zeros(4), True) == (-1.0, 1.0) and F.value_range(np.zeros(4), False) == (0.0, 1.0)
    rgb = F.to_rgb(np.array([-3.0, 0.0, 3.0]), -3.0, 3.0, F.DIVERGING)
    assert rgb.dtype == np.uint8 and rgb.shape == (3, 3)
    np.testing.assert_array_equal(rgb[0], DIVERGING_LUT[0])
    np.testing.assert_array_equal(rgb[2], DIVERGING_LUT[255])
    assert rgb[1].min() > 230  # zero is (nearly) white
    np.testing.assert_array_equal(F.to_rgb(np.array([0.0, 2.0]), 0.0, 2.0, F.SEQUENTIAL), SEQUENTIAL_LUT[[0, 255]])


def test_dense_strips_are_vertical_heatmaps_in_network_order():
    w = walk(True)
    fig = F.dense_figure(list(w.points), class_names=["a", "b", "c"])
    assert [t.type for t in fig.data] == ["heatmap"] * 3
    raw, act, out = fig.data
    assert np.asarray(raw.z).shape == (3, 1)  # units down, one column
    assert raw.zmid == 0 and raw.zmin == -2 and raw.zmax == 2 and raw.colorscale[0][1] == "rgb(5,48,97)"
    assert act.zmid is None and act.zmin == 0 and act.colorscale[0][1] == "#440154"  # viridis starts dark
    titles = [fig.layout[f"xaxis{s}"].title.text for s in ("", "2", "3")]
    assert "dense1" in titles[0] and "relu1" in titles[1] and "33% zero" in titles[1] and "out" in titles[2]
    assert fig.layout.yaxis.title.text == "unit" and fig.layout.yaxis.autorange == "reversed"
    assert list(fig.layout.yaxis3.ticktext) == ["a", "b", "c"]  # the logits are named by class
    domains = [fig.layout[f"xaxis{s}"].domain for s in ("", "2", "3")]
    assert domains[0][1] < domains[1][0] < domains[1][1] < domains[2][0]  # left to right, not overlapping


def test_feature_maps_are_png_mosaics_with_a_colour_bar_each():
    maps = np.random.default_rng(0).normal(size=(5, 6, 4)).astype(np.float32)
    pts = [point("conv1", "raw", maps, True), point("relu1", "activated", np.maximum(maps, 0), False, 0.5)]
    fig = F.feature_maps_figure(pts)
    images = [t for t in fig.data if t.type == "image"]
    assert len(images) == 2
    assert png_size(images[0].source) == (3 * 5 - 1, 2 * 7 - 1)  # 3 columns × 2 rows of 4×6 maps, 1-pixel gaps
    hover = [t for t in fig.data if t.type == "scatter"]
    assert len(hover) == 2 and len(hover[0].x) == 5  # one hover point per channel
    assert hover[0].marker.showscale and hover[0].marker.cmin == -hover[0].marker.cmax  # centred on zero
    assert hover[1].marker.cmin == 0
    assert "conv1" in fig.layout.xaxis.title.text and "5×6×4" in fig.layout.xaxis.title.text
    assert "50% zero" in fig.layout.xaxis2.title.text
    assert fig.layout.yaxis.scaleanchor == "x" and fig.layout.yaxis2.scaleanchor == "x2"
    assert len(fig.to_json()) < 20_000  # images, not float lists
    wide = F.feature_maps_figure([point("conv2", "raw", np.ones((32, 4, 4), np.float32), True)])
    assert png_size(wide.data[0].source) == (8 * 5 - 1, 4 * 5 - 1)  # 32 channels: 8 × 4, no row left half empty


def test_empty_inputs_give_titled_empty_figures():
    assert F.dense_figure([point("conv1", "raw", np.zeros((1, 2, 2)), True)]).layout.title.text
    assert F.feature_maps_figure([point("dense1", "raw", [1.0], True)]).data == ()


def test_probability_bars_mark_right_and_wrong():
    right = F.probability_figure(walk(True), ["a", "b", "c"])
    bar = right.data[0]
    assert bar.type == "bar" and bar.orientation == "h" and list(bar.y) == ["a", "b", "c"]
    assert bar.marker.color[1] == F.RIGHT and bar.marker.color[0] == F.OTHER
    assert "truth" in bar.text[1] and "(right)" in right.layout.title.text
    wrong = F.probability_figure(walk(False), ["a", "b", "c"])
    assert wrong.data[0].marker.color[1] == F.WRONG and "truth" in wrong.data[0].text[2]
    assert "(wrong)" in wrong.layout.title.text


def test_input_figures():
    img = F.image_input_figure(np.arange(64, dtype=np.uint8).reshape(8, 8))
    assert img.data[0].type == "image" and png_size(img.data[0].source) == (8, 8)
    rgb = F.image_input_figure(np.zeros((4, 5, 3), np.uint8))
    assert png_size(rgb.data[0].source) == (5, 4)
    x = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 2.0]])
    pts = F.plane_input_figure(x, np.array([0, 1, 1]), x[2], ["u", "v"])
    assert [t.name for t in pts.data] == ["u", "v", "this sample"] and list(pts.data[2].x) == [2.0]
    assert pts.layout.xaxis.title.text == "x₁"
    vec = F.vector_input_figure(np.array([1.0, -3.0, 0.0]))
    assert np.asarray(vec.data[0].z).shape == (3, 1) and vec.data[0].zmid == 0


def test_tile_centres_sit_on_the_mosaic_tiles():
    from nnlab.figures.colors import mosaic, tile_centres

    tiles = np.zeros((6, 3, 5), np.uint8)
    tiles[4] = 200  # tile 4: second row, second column of a 3-column mosaic
    big = mosaic(tiles, 3, gap=2, fill=0)
    x, y = tile_centres(6, 3, 3, 5, gap=2)
    assert big[int(y[4]), int(x[4])] == 200 and big[int(y[3]), int(x[3])] == 0
    assert (x[4], y[4]) == (1 * 7 + 2, 1 * 5 + 1)


def test_probabilities_of_a_thousand_classes_show_the_most_likely_few():
    import json

    probs = np.full(1000, 0.5 / 995, np.float32)
    probs[[7, 3, 500, 999, 1]] = [0.2, 0.15, 0.08, 0.05, 0.02]
    walk = SampleWalk(0, -1, probs, ())
    names = [f"class {i}" for i in range(1000)]
    fig = json.loads(F.probability_figure(walk, names, top=5).to_json())
    bar = fig["data"][0]
    assert bar["y"] == ["class 7", "class 3", "class 500", "class 999", "class 1"]  # most likely first
    assert bar["marker"]["color"][0] != bar["marker"]["color"][1]  # the prediction marked
    assert fig["layout"]["title"]["text"] == "The 5 most likely of 1,000 classes"
    truth = json.loads(F.probability_figure(SampleWalk(0, 42, probs, ()), names, top=5).to_json())["data"][0]
    assert truth["y"][-1] == "class 42" and truth["text"][-1].endswith("← truth")  # the truth is always shown
