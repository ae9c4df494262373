"""Figures of the Units page and of the sanity check, checked by structure: traces, shapes, titles, empty inputs."""

from __future__ import annotations

import numpy as np

from nnlab.analysis import attribution as A
from nnlab.analysis.ablation import AblationInfo
from nnlab.figures import attribution as FA
from nnlab.figures import units as F


def test_top_examples_rows_of_tiles_with_values_and_patch_boxes():
    images = np.random.default_rng(0).integers(0, 255, (9, 8, 8), dtype=np.uint8)
    boxes = np.array([[0, 3, 0, 3]] * 9)
    seen = F.patches(images, boxes)
    assert seen.shape == (9, 6, 6, 3) and seen.dtype == np.uint8  # 3×3 patches enlarged twice
    np.testing.assert_array_equal(seen[0, ::2, ::2, 0], images[0, :3, :3])
    fig = F.top_examples_figure([("Highest", images, np.arange(9.0), boxes), ("Seen", seen, np.arange(9.0), None)])
    assert len(fig.data) == 1 and fig.data[0].type == "image" and fig.data[0].source.startswith("data:image/png")
    texts = [a.text for a in fig.layout.annotations]
    assert texts[0] == "<b>Highest</b>" and "<b>Seen</b>" in texts and texts.count("8") == 2
    assert len(fig.layout.shapes) == 9
    assert F.top_examples_figure([]).layout.title.text == "No examples to show"


def test_density_ablation_and_ranking_figures():
    fig = F.density_figure(np.r_[np.zeros(30), np.linspace(0, 2, 70)], 0.3, title="relu1, unit 0")
    assert fig.data[0].type == "bar" and "zero for 30% of the samples" in fig.layout.title.text
    assert "dead" in F.density_figure(np.zeros(5), 1.0, dead=True).layout.title.text
    c = np.array([[5, 1], [2, 4]])
    info = AblationInfo(
        "relu1",
        [0],
        "zero",
        0.75,
        0.5,
        np.array([5 / 6, 4 / 6]),
        np.array([0.5, 0.5]),
        c,
        np.array([[3, 3], [3, 3]]),
        4,
    )
    fig = F.ablation_figure(info, ["a", "b"])
    assert [t.type for t in fig.data] == ["bar", "bar", "heatmap"]
    np.testing.assert_array_equal(fig.data[2].z, [[-2, 2], [1, -1]])
    fig = F.ranking_figure(np.array([0.0, 0.05, -0.01]), per_unit="channel")
    assert list(fig.data[0].x) == ["channel 1", "channel 0", "channel 2"] and "all 3" in fig.layout.title.text


def test_cascade_figures():
    maps = np.random.default_rng(1).normal(size=(3, 2, 8, 8)).astype(np.float32)
    corr = np.array([[1.0, 1.0], [0.8, 0.1], [0.7, np.nan]])
    info = A.CascadeInfo(0, 1, ["saliency", "integrated_gradients"], ["out", "dense1"], maps, corr, None, [], "x")
    fig = FA.cascade_maps_figure(info)
    assert fig.data[0].type == "image"
    texts = [a.text for a in fig.layout.annotations]
    assert texts[:3] == ["trained", "+ out", "+ dense1"] and "Saliency" in texts
    curve = FA.cascade_correlation_figure(info)
    assert [t.name for t in curve.data] == ["Saliency", "Integrated gradients"] and list(curve.data[0].x)[
        0
    ] == "trained"
    flat = A.CascadeInfo(
        0, 1, ["saliency"], ["out"], maps[:2, :1, 0], corr[:2, :1], None, [f"f{i}" for i in range(8)], "x"
    )
    assert FA.cascade_maps_figure(flat).data[0].type == "heatmap"
