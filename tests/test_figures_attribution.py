"""Attribution figures: panels as PNGs (never float lists), the scale for signed and unsigned maps, class tiles."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from nnlab.analysis.attribution import Attribution
from nnlab.figures import attribution as F
from nnlab.figures.colors import DIVERGING_LUT, SEQUENTIAL_LUT


def _maps(shape, seed=0):
    rng = np.random.default_rng(seed)
    return [
        Attribution("saliency", 3, np.abs(rng.normal(size=shape)).astype(np.float32), False),
        Attribution("integrated_gradients", 3, rng.normal(size=shape).astype(np.float32), True),
    ]


def test_image_panels_are_pngs_after_the_input():
    image = np.random.default_rng(1).integers(0, 255, (28, 28), dtype=np.uint8)
    fig = F.image_attribution_figure(image, _maps((1, 28, 28)))
    assert [t.type for t in fig.data] == ["image"] * 3
    assert all(t.source.startswith("data:image/png;base64,") for t in fig.data)
    assert [a.text for a in fig.layout.annotations] == ["Input", "Saliency", "Integrated gradients"]
    assert len(fig.to_json()) < 30_000  # three small PNGs, no float lists
    rgb = F.image_attribution_figure(np.zeros((32, 32, 3), np.uint8), _maps((3, 32, 32)))
    assert len(rgb.data) == 3  # colour channels are summed into one map per method
    assert F.image_attribution_figure(image, []).layout.title.text == "No attribution to show"


def test_larger_maps_wrap_into_rows_of_bigger_panels():
    image = np.zeros((8, 8), np.uint8)
    maps = _maps((1, 8, 8)) + _maps((1, 8, 8), seed=1)  # input + 4 panels
    one_row = F.image_attribution_figure(image, maps, width=950)
    larger = F.image_attribution_figure(image, maps, width=950, cols=3)
    anchors = {(t.xaxis, t.yaxis) for t in larger.data}
    assert len(larger.data) == 5 and len(anchors) == 5  # every panel on its own axes
    rows = sorted({round(larger.layout[f"yaxis{i if i > 1 else ''}"].domain[0], 3) for i in range(1, 6)})
    assert len(rows) == 2  # 3 then 2
    width_of = lambda fig: np.diff(fig.layout.xaxis.domain)[0]  # noqa: E731  (the first panel's share of the width)
    assert width_of(larger) > 1.5 * width_of(one_row)
    assert larger.layout.height > one_row.layout.height
    assert F.image_attribution_figure(image, maps, cols=99).layout.height == one_row.layout.height  # ≥ panels: one row


def test_signed_maps_are_white_at_zero_and_unsigned_ones_start_dark():
    values = np.array([[-1.0, 0.0, 1.0]])
    signed = F.map_rgb(values, signed=True)
    assert tuple(signed[0, 1]) == tuple(DIVERGING_LUT[128]) or tuple(signed[0, 1]) == tuple(DIVERGING_LUT[127])
    assert signed[0, 0, 2] > signed[0, 0, 0] and signed[0, 2, 0] > signed[0, 2, 2]  # blue below zero, red above
    unsigned = F.map_rgb(np.array([[0.0, 0.5, 1.0]]), signed=False)
    assert tuple(unsigned[0, 0]) == tuple(SEQUENTIAL_LUT[0]) and tuple(unsigned[0, 2]) == tuple(SEQUENTIAL_LUT[255])


def test_feature_bars_say_for_and_against():
    maps = [
        Attribution("saliency", 0, np.array([0.5, 2.0], np.float32), False),
        Attribution("integrated_gradients", 0, np.array([-0.3, 1.2], np.float32), True),
    ]
    fig = F.feature_attribution_figure(maps, ["x₁", "x₂"])
    assert [t.type for t in fig.data] == ["bar", "bar"]
    assert list(fig.data[1].y) == ["x₁", "x₂"] and list(fig.data[1].marker.color) == [F.AGAINST, F.FOR]
    assert fig.data[0].marker.color == F.AMOUNT


def test_class_averages_as_tiles_with_names_or_a_heatmap():
    avg = np.random.default_rng(2).normal(size=(3, 8, 8)).astype(np.float32)
    fig = F.class_average_figure(avg, ["zero", "one", "two"], "integrated_gradients")
    assert fig.data[0].type == "image" and fig.data[0].source.startswith("data:image/png")
    assert list(fig.data[1].text) == ["zero", "one", "two"]  # hovering a tile names its class
    assert [a.text for a in fig.layout.annotations] == ["zero", "one", "two"]
    heat = F.class_average_figure(avg[:, 0, :2], ["a", "b", "c"], "integrated_gradients", feature_names=["x₁", "x₂"])
    assert isinstance(heat.data[0], go.Heatmap) and heat.data[0].zmin == -heat.data[0].zmax  # signed: centred on 0
    sal = F.class_average_figure(np.abs(avg[:, 0, :2]), ["a", "b", "c"], "saliency", feature_names=["x₁", "x₂"])
    assert sal.data[0].zmin == 0
    assert F.class_average_figure(np.zeros((0, 8, 8)), [], "saliency").layout.title.text == "No class averages to show"
