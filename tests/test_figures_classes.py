"""Tests of nnlab.figures.classes, by structure: heatmap shapes, scales, axes, the clickable confusion cells."""

from __future__ import annotations

import json
import re

import numpy as np

from nnlab.analysis import classes as A
from nnlab.figures import classes as F

NAMES = ["T-shirt", "Shirt", "Coat"]


def theme_placeholders(fig) -> list[str]:
    """Colours the Streamlit theme rewrites in the browser (#000001, #000002, ...): a scale must not use them.

    The theme's own template (set once streamlit is imported) is left out: it holds them on purpose.
    """
    spec = fig.to_plotly_json()
    spec["layout"].pop("template", None)
    return re.findall(r'"#0000[0-9a-f]{2}"', json.dumps(spec, default=str).lower())


def means(signed=True, per_channel=False):
    m = np.array([[1.0, -2.0, 0.0, 4.0], [0.0, 3.0, 1.0, -1.0], [2.0, 0.0, 0.0, 0.0]])
    return A.ClassMeans("dense1", "raw", 1, m if signed else np.abs(m), np.ones_like(m), signed, per_channel)


def test_class_heatmap_is_classes_by_units():
    cm = means()
    fig = F.class_heatmap(cm, NAMES)
    heat = fig.data[0]
    assert heat.type == "heatmap" and np.asarray(heat.z).shape == (3, 4)
    assert list(heat.y) == NAMES and heat.zmid == 0 and heat.zmin == -4 and heat.zmax == 4
    assert fig.layout.yaxis.title.text == "true class" and fig.layout.xaxis.title.text == "unit"
    order = np.array([3, 0, 1, 2])
    grouped = F.class_heatmap(cm, NAMES, order=order)
    np.testing.assert_array_equal(np.asarray(grouped.data[0].z)[:, 0], cm.mean[:, 3])  # columns follow `order`
    assert list(grouped.layout.xaxis.ticktext) == ["3", "0", "1", "2"]
    seq = F.class_heatmap(means(signed=False, per_channel=True), NAMES)
    assert seq.data[0].zmid is None and seq.data[0].zmin == 0 and seq.layout.xaxis.title.text == "channel"


def test_pair_figure_shows_two_classes_and_their_difference():
    cm = means()
    fig = F.pair_figure(A.pair_difference(cm, 0, 1), NAMES, signed=True)
    both, diff = fig.data
    assert np.asarray(both.z).shape == (2, 4) and list(both.y) == ["T-shirt", "Shirt"]
    np.testing.assert_array_equal(np.asarray(diff.z), [[1.0, -5.0, -1.0, 5.0]])
    assert diff.zmid == 0 and diff.zmin == -5 and diff.yaxis is None and both.yaxis == "y2"
    assert "T-shirt and Shirt" in fig.layout.title.text


def test_separability_figures():
    prof = A.Separability(("input", "dense1", "relu1"), np.array([0.2, 0.5, 3.0]))
    fig = F.separability_figure(prof)
    line = fig.data[0]
    assert list(line.x) == ["input", "dense1", "relu1"] and fig.layout.yaxis.type == "log"
    assert line.marker.color[2] != line.marker.color[1]  # the first separating point stands out
    assert fig.layout.shapes[0].y0 == 1.0 and fig.layout.annotations[-1].text == "classes apart"
    hist = A.SeparabilityHistory(("dense1", "relu1"), np.array([0.0, 0.5, 1.0]), np.array([[0.1, 1, 10], [1, 10, 100]]))
    hfig = F.separability_history_figure(hist, current_epoch=0.5)
    z = np.asarray(hfig.data[0].z)
    assert z.shape == (2, 3) and z[1, 2] == 2.0  # log10 colour
    assert list(hfig.data[0].colorbar.ticktext) == ["0.1", "1", "10", "100"]
    assert hfig.layout.shapes[0].x0 == 0.5 and hfig.layout.xaxis.title.text == "epoch"
    assert theme_placeholders(hfig) == [] and theme_placeholders(fig) == []
    assert list(fig.layout.yaxis.ticktext) == ["0.1", "0.2", "0.5", "1", "2", "5"]  # written out on the log axis
    assert F.separability_history_figure(A.separability_history([], [])).data == ()


def test_confusion_figure_has_a_clickable_point_per_cell():
    confusion = np.array([[8, 2, 0], [5, 5, 0], [0, 1, 9]])
    fig = F.confusion_figure(confusion, NAMES, selected=(1, 0))
    heat, cells = fig.data
    np.testing.assert_allclose(np.asarray(heat.z)[1], [0.5, 0.5, 0.0])  # share of the true class
    np.testing.assert_array_equal(np.asarray(heat.text), confusion)
    assert heat.zmin == 0 and heat.zmax == 1
    assert cells.type == "scatter" and len(cells.x) == 9 and cells.marker.opacity == 0
    i = 3  # the point of row 1 (Shirt), column 0 (T-shirt)
    assert (cells.y[i], cells.x[i]) == (1, 0) and cells.text[i].startswith("Shirt predicted as T-shirt: 5")
    event = {"selection": {"points": [{"x": int(cells.x[i]), "y": int(cells.y[i]), "point_index": i}]}}
    assert A.cell_from_selection(event) == (1, 0)
    rect = fig.layout.shapes[0]
    assert (rect.x0, rect.x1, rect.y0, rect.y1) == (-0.5, 0.5, 0.5, 1.5)
    assert fig.layout.xaxis.title.text == "predicted class" and list(fig.layout.yaxis.ticktext) == NAMES
    assert fig.layout.yaxis.range == (2.5, -0.5)  # true class 0 on top


def test_class_learning_figure_draws_a_line_per_class_the_learned_rule_and_the_snapshot_shown():
    epochs = np.array([0.0, 0.5, 1.0])
    acc = np.array([[0.1, 0.95, 1.0], [0.2, 0.5, 0.92], [0.0, 0.1, 0.3]])
    info = A.ClassLearning(epochs, acc, np.array([0.5, 1.0, np.nan]))
    fig = F.class_learning_figure(info, NAMES, current_epoch=0.5)
    assert [t.name for t in fig.data] == NAMES and np.allclose(fig.data[1].y, acc[1])
    rule, now = fig.layout.shapes
    assert (rule.y0, rule.y1, rule.xref, rule.line.dash) == (A.LEARNED, A.LEARNED, "paper", "dot")
    assert (now.x0, now.x1, now.yref) == (0.5, 0.5, "paper")
    assert len(F.class_learning_figure(info, NAMES).layout.shapes) == 1  # no snapshot marked
    assert not theme_placeholders(fig)
