"""Hidden-layer embeddings on tiny seeded networks: the map of one point, and a PCA movie that never flips."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from nnlab.analysis import embeddings as E
from nnlab.models import MLPConfig, build_model


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    y = np.arange(120) % 3
    x = torch.from_numpy((rng.normal(size=(120, 5)) + 3 * np.eye(5)[y]).astype(np.float32))  # 3 separated clusters
    return x, y


def nets(n: int):
    torch.manual_seed(0)
    return [build_model(MLPConfig((5,), 3, (16, 8))) for _ in range(n)]


def test_a_layer_embedding_maps_a_balanced_subset_of_that_layers_outputs(data):
    x, y = data
    model = nets(1)[0]
    emb = E.layer_embedding(model, x, y, "relu1", n=60, dims=3)
    assert emb.coords.shape == (60, 3) and emb.method == "PCA"
    assert np.bincount(emb.labels).tolist() == [20, 20, 20] and np.array_equal(y[emb.indices], emb.labels)
    assert E.outputs(model, x[:4], "relu1").shape == (4, 16) and (E.outputs(model, x[:4], "relu1") >= 0).all()
    np.testing.assert_array_equal(E.outputs(model, x[:4], "input"), x[:4].numpy())
    # The input point's first PCA axis separates the clusters this data was built with.
    inp = E.layer_embedding(model, x, y, "input", n=120)
    means = [inp.coords[inp.labels == c].mean(0) for c in range(3)]
    assert min(np.linalg.norm(means[a] - means[b]) for a, b in ((0, 1), (0, 2), (1, 2))) > 1.0


def test_the_pca_movie_has_a_frame_per_network_of_equal_spread(data):
    x, y = data
    seen = []
    movie = E.pca_movie(iter(nets(4)), x, y, "dense2", n=60, progress=seen.append)
    assert movie.coords.shape == (4, 60, 2) and movie.explained.shape == (4, 2) and seen == [1, 2, 3, 4]
    spread = np.sqrt((movie.coords**2).sum(2).mean(1))
    np.testing.assert_allclose(spread, 1.0, rtol=1e-5)
    assert (movie.explained.sum(1) <= 1 + 1e-6).all() and movie.point == "dense2"


def test_the_same_network_twice_gives_the_same_frame_with_no_flipped_axis(data):
    x, y = data
    model = nets(1)[0]
    movie = E.pca_movie([model, model], x, y, "relu2", n=90)
    np.testing.assert_allclose(movie.coords[0], movie.coords[1], atol=1e-5)
    # The same outputs negated have the same shape; PCA's signs may turn, the movie turns them back.
    negated = copy.deepcopy(model)
    with torch.no_grad():
        negated.dense2.weight.neg_()
        negated.dense2.bias.neg_()
    again = E.pca_movie([model, negated], x, y, "dense2", n=90)
    np.testing.assert_allclose(again.coords[0], again.coords[1], atol=1e-5)


def test_fewer_units_than_dimensions_pad_with_zeros(data):
    x, y = data
    torch.manual_seed(1)
    narrow = build_model(MLPConfig((5,), 3, (1,)))
    movie = E.pca_movie([narrow], x, y, "dense1", n=30)
    assert movie.coords.shape == (1, 30, 2) and not movie.coords[0, :, 1].any()


def test_raw_samples_are_prepared_only_for_the_subset_and_indices_point_into_them(data):
    x, y = data
    raw = (x.numpy() * 10 + 100).astype(np.uint8)  # raw samples, as a dataset stores them
    seen = []

    def prepare(xs):
        seen.append(len(xs))
        return torch.from_numpy((xs.astype(np.float32) - 100) / 10)

    model = nets(1)[0]
    emb = E.layer_embedding(model, raw, y, "relu1", prepare=prepare, n=30)
    assert seen == [30] and np.array_equal(y[emb.indices], emb.labels)
    movie = E.pca_movie(nets(2), raw, y, "relu1", prepare=prepare, n=30)
    assert seen == [30, 30] and np.array_equal(movie.indices, emb.indices)  # the same seeded subset
