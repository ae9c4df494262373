"""Decision boundaries of hand-set networks whose boundary can be drawn on paper, and PCA planes."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest
import torch
from torch import nn

from nnlab.analysis import boundary as ba
from nnlab.models import CNNConfig, MLPConfig, build_model


def diagonal_net() -> nn.Sequential:
    """Two inputs → two logits (x − y, y − x): class 0 where x > y, class 1 where y > x."""
    out = nn.Linear(2, 2)
    with torch.no_grad():
        out.weight.copy_(torch.tensor([[1.0, -1.0], [-1.0, 1.0]]))
        out.bias.zero_()
    return nn.Sequential(OrderedDict(flatten=nn.Flatten(), out=out))


def identity(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.asarray(x, np.float32))


def test_plane_grid_covers_the_points_with_a_margin():
    g = ba.plane_grid(np.array([[0.0, 10.0], [4.0, 20.0]]), 100, margin=0.25)
    assert g.shape == (100, 100) and g.points.shape == (10_000, 2)
    assert g.xs[0] == pytest.approx(-1.0) and g.xs[-1] == pytest.approx(5.0)
    assert g.ys[0] == pytest.approx(7.5) and g.ys[-1] == pytest.approx(22.5)
    assert (g.points[:100, 1] == g.ys[0]).all()  # row 0 is the lowest y


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
    with pytest.raises(KeyError, match="no point"):
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
        lifted = torch.from_numpy(plane.lift(grid.points)).reshape(-1, *h.shape[1:])
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
    pts = np.array([[-1.0, 0.5], [1.0, -0.5]], np.float32)
    m2 = ba.points_movie(
        [diagonal_net()] * 2, identity, pts, np.array([1, 0]), np.array([False, True]), [0, 9], resolution=30
    )
    assert m2.n_frames == 2 and m2.probs.dtype == np.float16 and m2.coords.shape == (1, 2, 2)


def test_region_agreement_compares_regions_with_real_predictions():
    pts = np.array([[-1.0, 0.5], [1.0, -0.5]], np.float32)  # first above the line x = y, second below
    movie = ba.points_movie(
        [diagonal_net()], identity, pts, np.array([1, 0]), np.array([False, True]), [0], resolution=50
    )
    assert ba.region_at(movie, 0, pts).tolist() == [1, 0]
    assert ba.region_agreement(movie, 0, np.array([1, 0])) == 1.0
    assert ba.region_agreement(movie, 0, np.array([0, 0])) == 0.5
