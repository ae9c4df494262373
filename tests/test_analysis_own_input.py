"""Analysis of your own input: its attribution (any prepared tensor) and its place on a hidden-layer map."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from nnlab import CNNConfig, DataConfig, RecordConfig, TrainConfig, train_run
from nnlab.analysis import attribution as A
from nnlab.analysis import embeddings as E
from nnlab.analysis.data import Embedding
from nnlab.data import own_input as O
from nnlab.figures.data import embedding_figure
from nnlab.figures.embeddings import with_input


@pytest.fixture(scope="module")
def cnn_run(tmp_path_factory):
    """A tiny CNN on digits, one epoch, two snapshots."""
    return train_run(
        DataConfig.make("digits", train_subset=300),
        CNNConfig(input_shape=(1, 8, 8), n_classes=10, channels=(4,), hidden=(8,)),
        TrainConfig(batch_size=50, epochs=1, seed=0),
        RecordConfig(snapshots=2, eval_size=50),
        root=tmp_path_factory.mktemp("own-input-cnn"),
        name="cnn",
    )


def test_the_attribution_of_an_input_equals_that_of_the_same_test_sample(cnn_run):
    ds = cnn_run.dataset()
    by_index = A.attribution_info(cnn_run, 1, ds, 7, 3, ["saliency", "occlusion"], window=2)
    x = ds.prepare(ds.x_test[7:8])
    own = A.input_attribution_info(cnn_run, 1, ds, x, 3, ["saliency", "occlusion"], window=2)
    assert own.index == -1 and by_index.index == 7 and own.image is None
    for a, b in zip(own.maps, by_index.maps, strict=True):
        np.testing.assert_allclose(a.values, b.values, rtol=1e-5, atol=1e-6)


def test_a_drawing_gets_every_method(cnn_run):
    ds = cnn_run.dataset()
    canvas = np.zeros((100, 100, 4), np.uint8)
    canvas[10:90, 45:55] = (0, 0, 0, 255)  # a "1"
    own = O.from_canvas(canvas, ds)
    info = A.input_attribution_info(cnn_run, 1, ds, own.tensor, 1, image=own.display)
    assert len(info.maps) == 4 and info.image.shape == (8, 8)


class Identity(nn.Module):
    def forward(self, x):
        return x


def test_pca_projects_an_input_where_its_twin_sample_lies():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 1, (60, 5)), rng.normal(4, 1, (60, 5))]).astype(np.float32)
    y = np.repeat([0, 1], 60)
    model = Identity()
    emb = E.layer_embedding(model, x, y, "input", n=80)
    row = int(np.flatnonzero(emb.labels == 1)[3])
    twin = torch.from_numpy(x[emb.indices[row]][None])
    place = E.place_input(model, x, emb, twin, "input", n_classes=2)
    assert place.exact and place.neighbours[0] == row
    np.testing.assert_allclose(place.coords, emb.coords[row], atol=1e-4)
    assert place.majority == 1 and place.counts.sum() == E.NEIGHBOURS
    assert (
        place.words(["0", "1"]) == f"your drawing lands among the 1s ({place.counts[1]} of its 10 nearest neighbours)"
    )


def test_a_tsne_map_places_an_input_at_its_neighbours_centre():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(30, 4)).astype(np.float32)
    emb = Embedding(rng.normal(size=(30, 2)).astype(np.float32), np.arange(30) % 3, np.arange(30), "t-SNE")
    place = E.place_input(Identity(), x, emb, torch.from_numpy(x[:1]), "input", k=5)
    assert not place.exact and place.neighbours[0] == 0 and len(place.neighbours) == 5
    np.testing.assert_allclose(place.coords, emb.coords[place.neighbours].mean(0), atol=1e-6)


def test_an_empty_map_places_nothing():
    emb = Embedding(np.zeros((0, 2), np.float32), np.zeros(0, np.int64), np.zeros(0, np.int64), "PCA")
    place = E.place_input(Identity(), np.zeros((0, 3), np.float32), emb, torch.zeros(1, 3), "input", n_classes=2)
    assert len(place.neighbours) == 0 and place.counts.tolist() == [0, 0]


def test_the_map_figure_gets_a_star_and_lines_to_the_neighbours(cnn_run):
    ds = cnn_run.dataset()
    emb = E.embedding_info(cnn_run, 1, ds, "relu2", n=200)
    bar = np.zeros((100, 100, 4), np.uint8)
    bar[20:80, 44:56, 3] = 255  # a black "1" on a transparent canvas
    own = O.from_canvas(bar, ds)
    place = E.input_place_info(cnn_run, 1, ds, emb, own.tensor, "relu2")
    fig = with_input(embedding_figure(emb, list(ds.class_names)), place, emb.coords, label="your drawing")
    star, lines = fig.data[-1], fig.data[-2]
    assert star.name == "your drawing" and star.marker.symbol == "star"
    assert len(lines.x) == 3 * E.NEIGHBOURS  # (input, neighbour, gap) for each
