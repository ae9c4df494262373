"""The hidden-layer movie: a trace per class, a frame per snapshot with its step, fixed square axes."""

from __future__ import annotations

import numpy as np

from nnlab.analysis.embeddings import EmbeddingMovie
from nnlab.figures.embeddings import embedding_movie_figure


def test_a_frame_per_snapshot_and_a_trace_per_class():
    rng = np.random.default_rng(0)
    labels = np.array([0, 0, 2, 2, 2])  # class 1 has no sample: no trace
    movie = EmbeddingMovie(
        rng.normal(size=(3, 5, 2)).astype(np.float32), labels, np.arange(10, 15), np.ones((3, 2)), "relu1"
    )
    fig = embedding_movie_figure(movie, ["a", "b", "c"], [0, 10, 20], active=1)
    assert [t.name for t in fig.data] == ["a", "c"] and len(fig.frames) == 3
    assert list(fig.data[1].customdata) == [12, 13, 14]  # hover names each test sample
    np.testing.assert_allclose(fig.data[0].x, np.round(movie.coords[1, :2, 0], 3))  # starts at the active frame
    assert fig.frames[2].layout.title.text == "relu1 at step 20: PCA of its outputs"
    assert [s.label for s in fig.layout.sliders[0].steps] == ["step 0", "step 10", "step 20"]
    assert fig.layout.sliders[0].active == 1 and fig.layout.yaxis.scaleanchor == "x"
    lim = fig.layout.xaxis.range[1]
    assert lim >= np.abs(movie.coords).max() and fig.layout.yaxis.range[1] == lim


def test_an_empty_movie_says_so():
    empty = EmbeddingMovie(np.zeros((0, 0, 2), np.float32), np.zeros(0, int), np.zeros(0, int), np.zeros((0, 2)), "x")
    assert embedding_movie_figure(empty, ["a"], []).layout.title.text == "Nothing to animate"
