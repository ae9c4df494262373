"""nnlab.figures.data and nnlab.figures.training, checked by structure: trace types, images, axes, counts."""

from __future__ import annotations

import base64
import io

import numpy as np
import plotly.graph_objects as go
import pytest
from PIL import Image

from nnlab.analysis.data import ClassCounts, ClassImages, Embedding, ValueHistogram
from nnlab.figures.data import (
    class_counts_figure,
    class_images_figure,
    embedding_figure,
    histogram_figure,
    plane_samples_figure,
    sample_grid_figure,
)
from nnlab.figures.training import bucket_mean, smooth, training_curves

NAMES = ["cat", "dog", "eel"]


def png_of(trace: go.Image) -> np.ndarray:
    """The image an Image trace sends, decoded from its PNG data URI."""
    assert trace.source.startswith("data:image/png;base64,") and trace.z is None
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(trace.source.split(",", 1)[1]))))


def test_sample_grid_is_one_png_with_a_row_per_class_named_on_the_side():
    images = np.arange(6 * 4 * 4, dtype=np.uint8).reshape(6, 4, 4)
    idx = np.array([[0, 1], [2, 3], [4, -1]])
    fig = sample_grid_figure(images, idx, NAMES)
    (trace,) = fig.data
    assert isinstance(trace, go.Image)
    img = png_of(trace)
    assert img.shape[:2] == (3 * 4 + 2, 2 * 4 + 1)  # 3 rows and 2 columns of 4×4 tiles, 1-pixel gaps
    np.testing.assert_array_equal(img[0:4, 0:4], images[0])
    np.testing.assert_array_equal(img[5:9, 5:9], images[3])
    assert (img[10:14, 5:9] == 255).all()  # the missing sample is blank
    assert list(fig.layout.yaxis.ticktext) == NAMES and len(fig.layout.yaxis.tickvals) == 3


def test_sample_grid_of_colour_images_and_of_nothing():
    rgb = np.zeros((2, 3, 3, 3), np.uint8)
    assert png_of(sample_grid_figure(rgb, np.array([[0, 1]]), ["a"]).data[0]).shape == (3, 7, 3)
    assert sample_grid_figure(rgb, np.zeros((0, 0), int), []).layout.title.text == "No samples to show"


def test_class_counts_figure_has_grouped_train_and_test_bars():
    fig = class_counts_figure(ClassCounts(np.array([5, 3, 1]), np.array([1, 1, 0])), NAMES)
    assert [t.type for t in fig.data] == ["bar", "bar"] and [t.name for t in fig.data] == ["train", "test"]
    assert list(fig.data[0].x) == NAMES and list(fig.data[0].y) == [5, 3, 1]
    assert fig.layout.barmode == "group" and fig.layout.yaxis.title.text == "samples"


def test_class_images_figure_shows_means_and_spreads_as_two_pngs():
    mean = np.stack([np.full((4, 4), v, np.float32) for v in (0, 128, 255)])
    std = np.stack([np.zeros((4, 4), np.float32), np.ones((4, 4), np.float32), np.zeros((4, 4), np.float32)])
    fig = class_images_figure(ClassImages(mean, std, np.array([2, 2, 2])), NAMES)
    assert [t.type for t in fig.data] == ["image", "image"]
    top, bottom = png_of(fig.data[0]), png_of(fig.data[1])
    assert top.shape[:2] == bottom.shape[:2] == (4, 3 * 4 + 2 * 1)
    assert top[0, 0] == 0 and top[0, 5] == 128 and top[0, 10] == 255
    assert bottom.shape[2] == 3 and not (bottom[0, 5] == bottom[0, 0]).all()  # the spread uses a colour scale
    assert list(fig.layout.xaxis.ticktext) == NAMES


def test_histogram_figure_has_one_trace_per_row_and_says_what_the_axis_is():
    hist = ValueHistogram(np.arange(257, dtype=np.float32), np.ones((3, 256), np.int64), ("red", "green", "blue"), True)
    fig = histogram_figure(hist)
    assert [t.name for t in fig.data] == ["red", "green", "blue"] and len(fig.data[0].x) == 256
    assert all(t.type == "bar" for t in fig.data) and fig.layout.yaxis.type == "log"
    assert "pixel value" in fig.layout.xaxis.title.text


def test_plane_samples_figure_draws_train_and_test_of_each_class():
    x = np.array([[0, 0], [1, 1], [2, 2]], np.float32)
    fig = plane_samples_figure(x, np.array([0, 1, 2]), x[:1], np.array([0]), NAMES)
    assert len(fig.data) == 6 and all(t.type == "scattergl" for t in fig.data)
    assert fig.data[0].name == "cat (train)" and fig.data[1].name == "cat (test)"
    assert fig.layout.yaxis.scaleanchor == "x"


def test_embedding_figure_2d_has_density_contours_under_the_points():
    coords = np.random.default_rng(0).normal(size=(30, 2)).astype(np.float32)
    emb = Embedding(coords, np.arange(30) % 3, np.arange(30), "PCA", np.array([0.5, 0.2], np.float32))
    fig = embedding_figure(emb, NAMES)
    assert [t.type for t in fig.data] == ["histogram2dcontour"] * 3 + ["scattergl"] * 3
    assert fig.layout.xaxis.title.text == "PC 1 (50% of the variance)"
    assert [t.type for t in embedding_figure(emb, NAMES, contours=False).data] == ["scattergl"] * 3
    assert list(fig.data[3].customdata) == list(range(0, 30, 3))  # hover names the sample


def test_embedding_figure_3d_uses_a_scene():
    emb = Embedding(np.zeros((6, 3), np.float32), np.array([0, 0, 1, 1, 2, 2]), np.arange(6), "t-SNE")
    fig = embedding_figure(emb, NAMES)
    assert [t.type for t in fig.data] == ["scatter3d"] * 3
    assert fig.layout.scene.zaxis.title.text == "t-SNE 3"


def test_empty_embedding_gives_a_titled_empty_figure():
    emb = Embedding(np.zeros((0, 2), np.float32), np.zeros(0, int), np.zeros(0, int), "UMAP")
    fig = embedding_figure(emb, NAMES)
    assert not fig.data and "Too few" in fig.layout.title.text


# --- training curves ---------------------------------------------------------------------------------------------
def test_bucket_mean_averages_equal_buckets_and_skips_nan():
    pos, means = bucket_mean(np.array([1, 3, 5, np.nan, 2, 2], float), 3)
    np.testing.assert_allclose(means, [2, 5, 2])
    np.testing.assert_allclose(pos, [0.5, 2.5, 4.5])
    pos, means = bucket_mean(np.array([1.0, 2.0]), 10)
    np.testing.assert_allclose(means, [1, 2])


def test_smooth_is_a_trailing_mean():
    np.testing.assert_allclose(smooth(np.array([1.0, 3.0, 5.0, 7.0]), 2), [1, 2, 4, 6])
    np.testing.assert_allclose(smooth(np.array([1.0, np.nan, 3.0]), 3), [1, 1, 2])


def test_training_curves_show_steps_smoothed_and_test_points_against_epochs():
    loss, acc = np.linspace(2, 0.1, 50), np.linspace(0.3, 1, 50)
    epochs = [{"epoch": 1, "test_loss": 0.9, "test_acc": 0.7}, {"epoch": 2, "test_loss": 0.3, "test_acc": 0.9}]
    fig = training_curves(loss, acc, epochs, steps_per_epoch=25, total_epochs=4)
    assert len(fig.data) == 6  # (faint, smoothed, test) × (loss, accuracy)
    assert list(fig.data[4].x) == [1, 2] and list(fig.data[4].y) == [0.9, 0.3]
    assert fig.data[0].x[-1] == pytest.approx(2.0)  # step 50 is the end of epoch 2
    assert fig.layout.xaxis.title.text == "epoch" and tuple(fig.layout.xaxis.range) == (0, 4)
    assert fig.layout.yaxis2.tickformat == ".0%"


def test_training_curves_thin_long_runs_and_survive_empty_or_diverged_ones():
    fig = training_curves(np.ones(10_000), np.ones(10_000), steps_per_epoch=100, max_points=200)
    assert len(fig.data[0].x) == 200
    assert len(training_curves(np.zeros(0), np.zeros(0)).data) == 0
    diverged = training_curves(np.array([1.0, 0.5, np.nan]), np.array([0.5, 0.6, 0.0]), steps_per_epoch=3)
    assert len(diverged.data) == 4
