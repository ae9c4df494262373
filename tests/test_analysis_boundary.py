"""Decision boundaries of hand-set networks whose boundary can be drawn on paper, PCA planes, and the info getters."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest
import torch
from torch import nn

from nnlab.analysis import boundary as ba
from nnlab.models import CNNConfig, MLPConfig, Point, build_model


def diagonal_net() -> nn.Sequential:
    """Two inputs → two logits (x − y, y − x): class 0 where x > y, class 1 where y > x."""
    out = nn.Linear(2, 2)
    with torch.no_grad():
        out.weight.copy_(torch.tensor([[1.0, -1.0], [-1.0, 1.0]]))
        out.bias.zero_()
    return nn.Sequential(OrderedDict(flatten=nn.Flatten(), out=out))


def identity(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.asarray(x, np.float32))


def test_plane_grid_covers_the_samples_with_a_margin():
    g = ba.plane_grid(np.array([[0.0, 10.0], [4.0, 20.0]]), 100, margin=0.25)
    assert g.shape == (100, 100) and g.xy.shape == (10_000, 2)
    assert g.xs[0] == pytest.approx(-1.0) and g.xs[-1] == pytest.approx(5.0)
    assert g.ys[0] == pytest.approx(7.5) and g.ys[-1] == pytest.approx(22.5)
    assert (g.xy[:100, 1] == g.ys[0]).all()  # row 0 is the lowest y


def test_boundary_2d_of_the_line_x_equals_y():
    grid = ba.plane_grid(np.array([[-1.0, -1.0], [1.0, 1.0]]), 101, margin=0)
    probs = ba.boundary_2d(diagonal_net(), identity, grid)  # (H, W, 2)
    assert probs.shape == (101, 101, 2)
    np.testing.assert_allclose(probs.sum(-1), 1.0, rtol=1e-5)
    gx, gy = np.meshgrid(grid.xs, grid.ys)
    pred = probs.argmax(-1)
    assert (pred[gx > gy + 1e-6] == 0).all() and (pred[gy > gx + 1e-6] == 1).all()
    assert probs[50, 50] == pytest.approx([0.5, 0.5])  # on the line: undecided
    assert probs[0, -1, 0] > 0.98  # (x=1, y=-1): far on class 0's side


def test_boundary_2d_goes_through_the_dataset_normalisation():
    """The network's boundary is x = 0 in normalised units; the data is centred at x = 5 with spread 2."""
    net = nn.Sequential(OrderedDict(out=nn.Linear(2, 2)))
    with torch.no_grad():
        net.out.weight.copy_(torch.tensor([[-1.0, 0.0], [1.0, 0.0]]))  # class 1 where normalised x > 0
        net.out.bias.zero_()
    prepare = lambda x: torch.from_numpy((np.asarray(x, np.float32) - 5.0) / 2.0)
    grid = ba.plane_grid(np.array([[2.0, -1.0], [8.0, 1.0]]), 100)
    pred = ba.boundary_2d(net, prepare, grid).argmax(-1)
    assert (pred[:, grid.xs < 4.99] == 0).all() and (pred[:, grid.xs > 5.01] == 1).all()


def test_unit_maps_of_hand_set_hidden_units():
    hidden = nn.Linear(2, 2)
    with torch.no_grad():
        hidden.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, -1.0]]))  # unit 0 = x, unit 1 = −y
        hidden.bias.zero_()
    net = nn.Sequential(OrderedDict(dense1=hidden, relu1=nn.ReLU(), out=nn.Linear(2, 2)))
    grid = ba.plane_grid(np.array([[-2.0, -2.0], [2.0, 2.0]]), 9, margin=0)
    maps = ba.unit_maps(net, identity, grid, "relu1")  # (U, H, W)
    assert maps.shape == (2, 9, 9)
    gx, gy = np.meshgrid(grid.xs, grid.ys)
    np.testing.assert_allclose(maps[0], np.maximum(gx, 0), atol=1e-6)
    np.testing.assert_allclose(maps[1], np.maximum(-gy, 0), atol=1e-6)
    np.testing.assert_allclose(ba.unit_maps(net, identity, grid, "dense1")[1], -gy, atol=1e-6)


def test_split_at_a_point_and_unknown_points():
    net = build_model(MLPConfig(hidden=(4,)))
    prefix, suffix = ba.split_at(net, "relu1")
    assert len(prefix) == 3 and isinstance(suffix[0], nn.Linear)
    assert ba.split_at(net, ba.INPUT)[0] == []
    with pytest.raises(KeyError, match="not a layer"):
        ba.split_at(net, "relu9")


def test_fit_plane_recovers_a_plane_and_lifts_back_onto_it():
    rng = np.random.default_rng(0)
    basis = np.linalg.qr(rng.normal(size=(6, 2)))[0].T  # (2, 6) orthonormal
    coef = rng.normal(size=(200, 2)) * [3.0, 1.0]
    h = 7.0 + coef @ basis  # 200 samples on a 2-D plane in 6-D
    plane = ba.fit_plane(h)
    assert plane.explained.sum() == pytest.approx(1.0, abs=1e-5) and plane.explained[0] > plane.explained[1]
    np.testing.assert_allclose(plane.lift(plane.coords), h, atol=1e-4)  # nothing off the plane is lost
    np.testing.assert_allclose(plane.coords.std(0), 1.0, rtol=1e-3)  # units of one standard deviation
    flipped = ba.fit_plane(-h, reference=plane)
    assert (np.sum(flipped.axes * plane.axes, axis=1) > 0).all()  # signs follow the reference


def test_fit_plane_with_more_dimensions_than_samples():
    rng = np.random.default_rng(1)
    h = rng.normal(size=(20, 50))
    plane = ba.fit_plane(h)
    from sklearn.decomposition import PCA

    pca = PCA(2).fit(h)
    np.testing.assert_allclose(np.abs(np.sum(plane.axes * pca.components_, axis=1)), 1.0, atol=1e-5)
    np.testing.assert_allclose(plane.explained, pca.explained_variance_ratio_, rtol=1e-4)


@pytest.mark.parametrize(
    "config",
    [
        MLPConfig(input_shape=(1, 4, 4), hidden=(8, 6), n_classes=3),
        CNNConfig(input_shape=(1, 4, 4), channels=(3,), hidden=(5,), n_classes=3),
    ],
)
def test_plane_boundary_equals_feeding_each_lifted_grid_point(config):
    torch.manual_seed(0)
    net = build_model(config).eval()
    x = torch.randn(40, 1, 4, 4)
    grid = ba.plane_grid(np.array([[-2.0, -2.0], [2.0, 2.0]]), 12)
    for point in (ba.INPUT, "relu1"):
        prefix, _ = ba.split_at(net, point)
        h = ba.run_modules(prefix, x)
        plane = ba.fit_plane(h.flatten(1).numpy(), point)
        fast = ba.plane_boundary(net, plane, grid, tuple(h.shape[1:]))
        _, suffix = ba.split_at(net, point)
        lifted = torch.from_numpy(plane.lift(grid.xy)).reshape(-1, *h.shape[1:])
        slow = torch.softmax(ba.run_modules(suffix, lifted), 1).numpy().reshape(12, 12, 3)
        np.testing.assert_allclose(fast, slow, atol=1e-5)


def test_movies_have_one_frame_per_model():
    torch.manual_seed(0)
    models = [build_model(MLPConfig(input_shape=(1, 3, 3), hidden=(4,), n_classes=2)).eval() for _ in range(3)]
    x, labels = torch.randn(30, 1, 3, 3), np.arange(30) % 2
    still = ba.plane_movie(models, x, labels, [0, 1, 2], ba.INPUT, resolution=20)
    assert still.probs.shape == (3, 20, 20, 2) and still.coords.shape == (1, 30, 2)
    moving = ba.plane_movie(models, x, labels, [0, 1, 2], "relu1", resolution=20)
    assert moving.coords.shape == (3, 30, 2) and moving.explained.shape == (3, 2)
    xy = np.array([[-1.0, 0.5], [1.0, -0.5]], np.float32)
    m2 = ba.data_movie(
        [diagonal_net()] * 2, identity, xy, np.array([1, 0]), np.array([False, True]), [0, 9], resolution=30
    )
    assert m2.n_frames == 2 and m2.probs.dtype == np.float16 and m2.coords.shape == (1, 2, 2)


def test_region_agreement_compares_regions_with_real_predictions():
    xy = np.array([[-1.0, 0.5], [1.0, -0.5]], np.float32)  # first above the line x = y, second below
    movie = ba.data_movie([diagonal_net()], identity, xy, np.array([1, 0]), np.array([False, True]), [0], resolution=50)
    assert ba.region_at(movie, 0, xy).tolist() == [1, 0]
    assert ba.region_agreement(movie, 0, np.array([1, 0])) == 1.0
    assert ba.region_agreement(movie, 0, np.array([0, 0])) == 0.5


def test_unit_maps_reach_a_module_inside_a_block():
    """A point need not be a child of a sequential network: its dotted module is captured on a full pass."""
    block = nn.Sequential(OrderedDict(dense=nn.Linear(2, 3), act=nn.ReLU()))
    net = nn.Sequential(OrderedDict(block=block, out=nn.Linear(3, 2)))
    grid = ba.plane_grid(np.array([[-1.0, -1.0], [1.0, 1.0]]), 5, margin=0)
    maps = ba.unit_maps(net, identity, grid, "block.act")
    expected = torch.relu(net.block.dense(torch.from_numpy(grid.xy))).T.reshape(3, 5, 5)
    np.testing.assert_allclose(maps, expected.detach().numpy(), atol=1e-6)


def test_which_points_may_be_a_plane_or_have_unit_maps():
    points = [
        Point("conv1", "raw", 1, module="conv1", layout="map"),
        Point("relu1", "activated", 1, module="relu1", layout="map"),
        Point("pool1", "pooled", 1, module="pool1", layout="map"),
        Point("dense2", "raw", 2, module="dense2"),
        Point("relu2", "activated", 2, module="relu2"),
        Point("act", "activated", 3, module="block.act"),  # inside a block: the rest of the network is not a suffix
        Point("out", "logits", 4, module="out"),
        Point("softmax", "probs", 4),
    ]
    assert [p.name for p in ba.plane_points(points)] == ["relu1", "pool1", "relu2"]
    assert [p.name for p in ba.unit_map_points(points)] == ["dense2", "relu2", "act"]  # one value per unit


def test_data_plane_movie_of_a_recorded_run(tiny_run):
    movie = ba.data_plane_movie(tiny_run, 12)
    ds = tiny_run.dataset()
    n = len(ds.y_train) + len(ds.y_test)
    assert movie.probs.shape == (len(tiny_run), 12, 12, 2) and movie.coords.shape == (1, n, 2)
    assert movie.steps.tolist() == [s["step"] for s in tiny_run.snapshots] and movie.point == ""
    assert movie.is_test.sum() == len(ds.y_test)
    last = ba.boundary_2d(tiny_run.model_at(len(tiny_run) - 1), ds.prepare, ba.plane_grid(movie.coords[0], 12))
    np.testing.assert_allclose(movie.probs[-1], last, atol=1e-3)  # float16 frames of the same boundary


def test_pca_plane_movie_of_a_recorded_run(tiny_run):
    idx, labels = tiny_run.eval_set()
    still = ba.pca_plane_movie(tiny_run, ba.INPUT, 10)
    assert still.point == ba.INPUT and still.dims == 2 and still.coords.shape == (1, len(idx), 2)
    moving = ba.pca_plane_movie(tiny_run, "relu1", 10)
    assert moving.point == "relu1" and moving.dims == 8 and moving.coords.shape == (len(tiny_run), len(idx), 2)
    assert moving.labels.tolist() == labels.tolist() and moving.is_test.all()
    with pytest.raises(KeyError, match="no point 'relu9'"):
        ba.pca_plane_movie(tiny_run, "relu9", 10)


def test_unit_maps_info_of_a_recorded_run(tiny_run):
    k = len(tiny_run) - 1
    info = ba.unit_maps_info(tiny_run, k, "dense1", 7)
    assert info.maps.shape == (8, 7, 7) and info.point == "dense1" and info.step == tiny_run.snapshots[k]["step"]
    assert info.signed  # raw outputs go below zero
    relu = ba.unit_maps_info(tiny_run, k, "relu1", 7)
    assert not relu.signed and (relu.maps >= 0).all()
    np.testing.assert_allclose(relu.maps, np.maximum(info.maps, 0), atol=1e-6)
