"""nnlab.analysis.data on tiny arrays with answers worked out by hand."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from nnlab.analysis.data import (
    class_counts,
    class_counts_info,
    class_images,
    class_images_info,
    dataset_map_info,
    embed,
    features,
    map_sizes,
    sample_grid_info,
    sample_indices,
    sample_table_info,
    value_histogram,
    value_histogram_info,
)
from nnlab.data import Dataset


def test_sample_indices_pick_each_class_and_mark_missing_places():
    y = np.array([0, 1, 0, 2, 0, 1])
    idx = sample_indices(y, 4, per_class=2, seed=0)
    assert idx.shape == (4, 2)
    assert set(idx[0]) <= {0, 2, 4} and len(set(idx[0])) == 2
    assert sorted(idx[1]) == [1, 5]
    assert idx[2, 0] == 3 and idx[2, 1] == -1  # class 2 has one sample
    assert (idx[3] == -1).all()  # class 3 has none
    assert (y[idx[idx >= 0]] == np.nonzero(idx >= 0)[0]).all()  # every index has the row's class
    np.testing.assert_array_equal(idx, sample_indices(y, 4, per_class=2, seed=0))  # seeded


def test_class_counts_and_imbalance():
    c = class_counts(np.array([0, 0, 0, 1]), np.array([1, 1]), 3)
    np.testing.assert_array_equal(c.train, [3, 1, 0])
    np.testing.assert_array_equal(c.test, [0, 2, 0])
    assert c.imbalance == float("inf")
    assert class_counts(np.array([0, 0, 1]), np.array([0]), 2).imbalance == 2.0


def test_class_images_mean_and_spread_per_pixel():
    images = np.array([[[0, 10]], [[20, 10]], [[100, 200]]], dtype=np.uint8)  # (3, 1, 2)
    ci = class_images(images, np.array([0, 0, 1]), 3)
    np.testing.assert_allclose(ci.mean[0], [[10, 10]])
    np.testing.assert_allclose(ci.std[0], [[10, 0]])
    np.testing.assert_allclose(ci.mean[1], [[100, 200]])
    np.testing.assert_allclose(ci.std[1], [[0, 0]])
    assert (ci.mean[2] == 0).all() and list(ci.counts) == [2, 1, 0]


def test_class_images_take_at_most_max_per_class():
    images = np.arange(10, dtype=np.uint8).reshape(10, 1, 1)
    ci = class_images(images, np.zeros(10, int), 1, max_per_class=4, seed=0)
    assert ci.counts[0] == 4 and 0 <= ci.mean[0, 0, 0] <= 9


def test_value_histogram_counts_grey_levels_and_rgb_channels():
    grey = np.array([[[[0, 0], [255, 7]]]], dtype=np.uint8)  # (1, 1, 2, 2)
    h = value_histogram(grey)
    assert h.pixels and h.rows == ("grey",) and h.counts.shape == (1, 256) and len(h.edges) == 257
    assert h.counts[0, 0] == 2 and h.counts[0, 255] == 1 and h.counts[0, 7] == 1 and h.counts.sum() == 4
    rgb = np.zeros((2, 3, 1, 1), np.uint8)
    rgb[:, 2] = 9
    h = value_histogram(rgb)
    assert h.rows == ("red", "green", "blue") and h.counts[0, 0] == 2 and h.counts[2, 9] == 2


def test_value_histogram_of_points_has_one_row_per_feature():
    x = np.array([[0.0, 1.0], [1.0, 1.0], [0.5, 1.0]], np.float32)
    h = value_histogram(x, bins=2)
    assert not h.pixels and h.rows == ("x1", "x2") and h.counts.shape == (2, 2)
    np.testing.assert_array_equal(h.counts[0], [1, 2])  # 0 | 0.5, 1 (the last bin holds its right edge)
    assert h.counts[1].sum() == 3
    many = value_histogram(np.arange(40, dtype=np.float32).reshape(10, 4), bins=4)
    assert many.rows == ("all features",) and many.counts.sum() == 40


def test_features_scale_pixels_and_standardise_the_rest():
    px = features(np.array([[[[0, 255]]]], np.uint8))
    np.testing.assert_allclose(px, [[0.0, 1.0]])
    f = features(np.array([[1.0, 5.0], [3.0, 5.0]], np.float32))
    np.testing.assert_allclose(f, [[-1.0, 0.0], [1.0, 0.0]])  # a constant feature stays at zero


def test_pca_embedding_finds_the_direction_that_separates_two_classes():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 50)
    x = rng.normal(0, 0.1, (100, 5)).astype(np.float32)
    x[:, 3] += np.where(y == 1, 5.0, -5.0)  # the classes differ along feature 3 only
    emb = embed(x, y, "PCA", dims=2, n=60, seed=0, prepare=lambda a: a)  # raw features: no standardising
    assert emb.coords.shape == (60, 2) and emb.dims == 2 and emb.method == "PCA"
    assert np.bincount(emb.labels).tolist() == [30, 30]  # class-balanced subset
    np.testing.assert_array_equal(emb.labels, y[emb.indices])
    assert emb.explained[0] > 0.9 and emb.explained.sum() <= 1 + 1e-6
    pc1 = emb.coords[:, 0]
    assert (np.sign(pc1[emb.labels == 0]) != np.sign(pc1[emb.labels == 1][0])).all()  # PC 1 splits the classes


def test_pca_pads_when_there_are_fewer_features_than_dimensions():
    x = np.random.default_rng(0).normal(size=(20, 2)).astype(np.float32)
    emb = embed(x, np.arange(20) % 2, "PCA", dims=3)
    assert emb.coords.shape == (20, 3) and (emb.coords[:, 2] == 0).all() and emb.explained[2] == 0


def test_tsne_embedding_has_the_asked_shape_and_is_seeded():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(40, 10)).astype(np.float32)
    y = np.arange(40) % 2
    a = embed(x, y, "t-SNE", dims=2, n=30, seed=3)
    b = embed(x, y, "t-SNE", dims=2, n=30, seed=3)
    assert a.coords.shape == (30, 2) and a.explained is None
    np.testing.assert_allclose(a.coords, b.coords)


def test_embed_rejects_unknown_methods_and_dimensions_and_degenerate_input():
    x, y = np.zeros((10, 3), np.float32), np.zeros(10, int)
    with pytest.raises(ValueError, match="method"):
        embed(x, y, "MDS")
    with pytest.raises(ValueError, match="2 or 3"):
        embed(x, y, dims=4)
    assert embed(x[:2], y[:2]).coords.shape == (0, 2)


def test_umap_is_imported_only_when_asked_for():
    code = (
        "import sys, numpy as np\nfrom nnlab.analysis.data import embed\n"
        "embed(np.random.rand(30, 4).astype('float32'), np.arange(30) % 3, 'PCA')\n"
        "print('umap' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "False"


# --- the getters: a whole Dataset in, one section's record out ------------------------------------------------------
def _images() -> Dataset:
    """Five 1×2×2 grey images: three of class "a", one of "b", none of "c"."""
    x = np.arange(20, dtype=np.uint8).reshape(5, 1, 2, 2) * 10  # (N, C, H, W)
    y = np.array([0, 1, 0, 0, 1])
    return Dataset("tiny", x[:4], y[:4], x[4:], y[4:], ("a", "b", "c"))


def test_sample_grid_info_lays_each_class_in_a_row_with_gaps_marked():
    ds = _images()
    g = sample_grid_info(ds, 2, seed=0)
    assert g.images.shape == (6, 2, 2) and g.images.dtype == np.uint8  # (K * per, H, W)
    assert g.grid.shape == (3, 2) and (g.grid[1] == [2, -1]).all() and (g.grid[2] == -1).all()
    idx = sample_indices(ds.y_train, 3, 2, seed=0)
    np.testing.assert_array_equal(g.images[g.grid[0, 0]], ds.x_train[idx[0, 0], 0])


def test_sample_table_info_has_the_class_then_at_most_30_features():
    x = np.arange(8 * 40, dtype=np.float32).reshape(8, 40)
    y = np.array([0, 1] * 4)
    cols = sample_table_info(Dataset("wide", x, y, x[:2], y[:2], ("even", "odd")))
    assert list(cols)[:2] == ["class", "x1"] and len(cols) == 31
    assert sorted(cols["class"]) == ["even"] * 3 + ["odd"] * 3
    np.testing.assert_array_equal(cols["x1"] % 80 // 40, [0 if c == "even" else 1 for c in cols["class"]])


def test_the_section_getters_match_the_functions_they_call():
    ds = _images()
    np.testing.assert_array_equal(class_counts_info(ds).train, [3, 1, 0])
    np.testing.assert_array_equal(class_counts_info(ds).test, [0, 1, 0])
    ci = class_images_info(ds)
    assert ci.mean.shape == (3, 2, 2) and list(ci.counts) == [3, 1, 0]
    assert value_histogram_info(ds).counts.sum() == 16 and value_histogram_info(ds).pixels
    emb = dataset_map_info(ds, "PCA", dims=2, n=4)
    assert emb.coords.shape == (4, 2) and emb.method == "PCA"


def test_map_sizes_are_round_numbers_below_the_whole_then_the_whole():
    assert map_sizes(150) == [150]
    assert map_sizes(1797) == [200, 500, 1000, 1797]
    assert map_sizes(60000) == [200, 500, 1000, 2000, 5000, 60000]
