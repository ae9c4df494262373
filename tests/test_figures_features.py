"""Figures of the Features page by structure: bars per class with signed colours, histograms of both purities,
the strongest samples with their patches outlined, and empty figures with a title for what cannot be drawn."""

from __future__ import annotations

import numpy as np

from nnlab.analysis import features
from nnlab.figures import features as figures


def info(effect=None, boxes=None, top=3):
    return features.FeatureInfo(
        4,
        np.arange(top),
        np.linspace(3, 1, top),
        np.array([1, 1, 0])[:top],
        boxes,
        0.05,
        0.1,
        (np.array([3, 1]), np.array([0.0, 1.0, 2.0])),
        2 / 3,
        1,
        np.array([1 / 3, 2 / 3, 0.0]),
        effect,
        "Feature 4 ...",
    )


def test_effect_bars_are_signed_per_class():
    fig = figures.effect_bars(info(np.array([-1.0, 2.0, 0.5])), ["a", "b", "c"])
    bar = fig.data[0]
    assert list(bar.x) == ["a", "b", "c"] and list(bar.y) == [-1.0, 2.0, 0.5]
    assert list(bar.marker.color) == [figures.LOWERED, figures.RAISED, figures.RAISED]
    assert "no class scores" in figures.effect_bars(info(None), ["a"]).layout.title.text
    assert "never fires" in figures.effect_bars(info(np.full(3, np.nan)), ["a"]).layout.title.text


def test_histogram_and_class_shares():
    fig = figures.histogram(info())
    assert list(fig.data[0].y) == [3, 1] and list(fig.data[0].x) == [0.5, 1.5]
    shares = figures.class_shares(info(), ["a", "b", "c"])
    assert list(shares.data[0].y) == [1 / 3, 2 / 3, 0.0] and "67%" in shares.layout.title.text


def test_strongest_outlines_the_patches():
    images = np.zeros((3, 8, 8), np.uint8)
    fig = figures.strongest(info(boxes=np.array([[0, 2, 0, 2]] * 3)), images, ["a", "b", "c"])
    assert fig.data[0].type == "image" and len(fig.layout.shapes) == 3
    box = fig.layout.shapes[0]
    assert box.x1 - box.x0 == 8 and box.y1 - box.y0 == 8  # the 2×2 patch of an 8×8 image enlarged 4× toward 32
    assert "classes b, b, a" in fig.layout.annotations[0].text
    assert len(figures.strongest(info(), images, ["a", "b", "c"]).layout.shapes) == 0
    assert "fires on no" in figures.strongest(info(top=0), images[:0], ["a"]).layout.title.text


def test_purity_and_split_figures():
    comp = features.Comparison(
        np.array([0.2, 0.3, np.nan]), np.array([0.9, 1.0, np.nan, 0.8]), 0.25, 0.9, 0, [(3, 0.4), (5, 0.3)],
        [(3, 2, 0.95)],
    )  # fmt: skip
    fig = figures.purity_figure(comp)
    assert [len(t.x) for t in fig.data] == [2, 3] and "0.25" in fig.data[0].name and "0.90" in fig.data[1].name
    split = figures.split_figure(comp, [str(i) for i in range(10)])
    assert list(split.data[0].x) == ["3", "5"] and list(split.data[0].text) == ["feature 2 (95% pure)", "no feature"]
    empty = features.Comparison(np.array([np.nan]), np.array([np.nan]), np.nan, np.nan, -1, [], [])
    assert "No neuron" in figures.purity_figure(empty).layout.title.text
    assert "No live neuron" in figures.split_figure(empty, []).layout.title.text


def test_steering_figure_puts_both_probabilities_per_class():
    s = features.Steering(2, 0.0, 1.5, np.array([0.7, 0.3]), np.array([0.2, 0.8]), np.array([2]), np.array([1.5]))
    fig = figures.steering_figure(s, ["a", "b"])
    assert [list(t.y) for t in fig.data] == [[0.7, 0.3], [0.2, 0.8]] and fig.data[1].name == "feature 2 off"
