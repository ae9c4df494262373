"""The superposition figures by their structure: shapes of z, bar lengths and colours, arrows, axis titles, and
the empty figure with a title for input they cannot draw (nnlab.figures.superposition)."""

from __future__ import annotations

import numpy as np

from nnlab.analysis import superposition
from nnlab.figures import superposition as figures

W = np.array([[1.0, 0.0, 0.6, 0.0], [0.0, 1.0, 0.6, 0.0]], np.float32)  # (m=2, n=4)


def test_gram_figure_is_the_matrix_centred_on_zero():
    fig = figures.gram_figure(superposition.gram(W), title="WᵀW at step 3")
    heat = fig.data[0]
    np.testing.assert_allclose(np.asarray(heat.z), superposition.gram(W), atol=1e-6)
    assert heat.zmid == 0 and heat.zmin == -heat.zmax
    assert list(heat.x) == ["0", "1", "2", "3"]
    assert fig.layout.title.text == "WᵀW at step 3"
    assert fig.layout.xaxis.title.text == "feature j" and fig.layout.yaxis.title.text == "feature i"


def test_norms_figure_bars_are_norms_coloured_by_superposition():
    info = superposition.info_of(W)
    fig = figures.norms_figure(info.norms, info.superposition)
    bar = fig.data[0]
    assert bar.orientation == "h" and list(bar.y) == ["0", "1", "2", "3"]
    np.testing.assert_allclose(np.asarray(bar.x), [1, 1, 0.6 * np.sqrt(2), 0], atol=1e-6)
    np.testing.assert_allclose(np.asarray(bar.marker.color), info.superposition, atol=1e-6)
    assert bar.marker.cmin == 0
    np.testing.assert_allclose(np.asarray(bar.marker.opacity), [1, 1, 1, 0.35])  # feature 3 is dropped: faint
    assert fig.layout.shapes[0].x0 == 0.5  # the "represented" line


def test_arrows_figure_draws_one_arrow_per_feature_in_the_plane():
    fig = figures.arrows_figure(W)
    assert len(fig.data) == 4
    for i, trace in enumerate(fig.data):
        assert list(trace.x) == [0.0, float(W[0, i])] and list(trace.y) == [0.0, float(W[1, i])]
        assert trace.name == f"feature {i}"
    assert fig.layout.yaxis.scaleanchor == "x"  # equal scales: angles are true angles


def test_norms_history_figure_has_a_line_per_feature():
    steps, norms = np.array([0, 10, 20]), np.array([[0.1, 0.2], [0.5, 0.1], [1.0, 0.0]])
    fig = figures.norms_history_figure(steps, norms, active_step=10)
    assert len(fig.data) == 2
    np.testing.assert_allclose(np.asarray(fig.data[0].y), [0.1, 0.5, 1.0])
    assert list(fig.data[1].x) == [0, 10, 20]
    assert fig.layout.shapes[0].x0 == 10


def test_figures_it_cannot_draw_are_empty_with_a_title():
    three_dims = np.ones((3, 4), np.float32)
    assert "m = 3" in figures.arrows_figure(three_dims).layout.title.text
    assert len(figures.arrows_figure(three_dims).data) == 0
    assert len(figures.gram_figure(np.zeros((0, 0))).data) == 0
    assert len(figures.norms_figure(np.zeros(0), np.zeros(0)).data) == 0
    assert len(figures.norms_history_figure(np.zeros(0), np.zeros((0, 2))).data) == 0
