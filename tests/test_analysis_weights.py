"""Weights over training: the page's getters on tiny recorded runs, the helpers on hand-made snapshots."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from nnlab import CNNConfig, MLPConfig, Run, build_model
from nnlab.analysis import weights as wa
from nnlab.loop import record_loop
from nnlab.record import RecordConfig


def recorded(folder, model: nn.Module, input_shape: tuple[int, ...], steps: int = 4) -> Run:
    """`model` trained `steps` Adam steps on 32 random samples of `input_shape` (2 classes), recorded twice."""
    torch.manual_seed(0)
    x, y = torch.randn(32, *input_shape), torch.arange(32) % 2
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    rec_cfg = RecordConfig(snapshots=2, eval_size=32)
    with record_loop(
        model, opt, folder, x, y, ["a", "b"], total_steps=steps, steps_per_epoch=steps, record=rec_cfg
    ) as rec:
        for _ in range(steps):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            rec.step_done(loss.item())
        rec.epoch(train_loss=loss.item())
    return Run(folder)


def nnlab_run(folder, config) -> Run:
    torch.manual_seed(0)
    return recorded(folder, build_model(config), config.input_shape)


@pytest.fixture(scope="module")
def cnn_run(tmp_path_factory):
    """A grey 8×8 CNN: conv1 (3 filters of 1 channel), conv2 (4 of 3), dense3, out."""
    cfg = CNNConfig(input_shape=(1, 8, 8), n_classes=2, channels=(3, 4), hidden=(6,), batch_norm=True)
    return nnlab_run(tmp_path_factory.mktemp("w") / "cnn", cfg)


@pytest.fixture(scope="module")
def mlp_run(tmp_path_factory):
    """An MLP on 4×4 images: dense1 (5 units of 16 weights), out (2 of 5)."""
    return nnlab_run(tmp_path_factory.mktemp("w") / "mlp", MLPConfig(input_shape=(1, 4, 4), hidden=(5,)))


def test_weight_layers_come_from_the_declared_points(cnn_run, mlp_run, tmp_path):
    layers = wa.weight_layers(cnn_run)  # batch norm has a weight too, but its point is no linear map
    assert [(w.name, w.layout, w.tile) for w in layers] == [
        ("conv1", "map", "filter"),
        ("conv2", "map", "kernel"),
        ("dense3", "vector", "matrix"),
        ("out", "vector", "matrix"),
    ]
    assert layers[0].reads == (1, 8, 8) and layers[1].reads == () and layers[1].shape == (4, 3, 3, 3)
    assert layers[0].units == 3 and layers[0].has_bias
    assert [(w.name, w.tile) for w in wa.weight_layers(mlp_run)] == [("dense1", "unit"), ("out", "matrix")]
    rgb = nnlab_run(tmp_path / "rgb", CNNConfig(input_shape=(3, 6, 6), n_classes=2, channels=(2,), hidden=()))
    assert [(w.name, w.tile) for w in wa.weight_layers(rgb)] == [("conv1", "filter"), ("out", "matrix")]
    plane = nnlab_run(tmp_path / "plane", MLPConfig(input_shape=(2,), hidden=(3,)))
    assert [w.tile for w in wa.weight_layers(plane)] == ["matrix", "matrix"]  # 2-D samples are no image


def test_weight_layers_of_your_own_module_follow_pytorch_shapes(tmp_path):
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.LayerNorm(72), nn.Linear(72, 2))
    run = recorded(tmp_path / "own", model, (1, 8, 8))
    assert run.model_kind is None
    assert [(w.name, w.layout, w.tile) for w in wa.weight_layers(run)] == [
        ("0", "map", "filter"),
        ("4", "vector", "matrix"),
    ]
    assert wa.norms_info(run).layers == ("0", "4")


def test_layer_history_reads_every_snapshot(cnn_run):
    h = wa.layer_history(cnn_run, "conv2")
    t = len(cnn_run)
    assert h.layer.name == "conv2" and h.steps.tolist() == [s["step"] for s in cnn_run.snapshots]
    assert h.weights.dtype == np.float16 and h.weights.shape == (t, 4, 3, 3, 3)
    np.testing.assert_allclose(h.weights[-1], cnn_run.snapshot(-1)["param/conv2.weight"].numpy(), atol=1e-3)
    assert list(h.histograms) == ["weights", "biases", "gradients", "momentum"]
    with pytest.raises(KeyError):
        wa.layer_history(cnn_run, "bn1")


def test_movie_info_of_kernels_filters_and_units(cnn_run, mlp_run):
    h = wa.layer_history(cnn_run, "conv2")
    w = h.weights.astype(np.float32)
    m = wa.movie_info(h, "range", 2, 1)  # filters 1 and 2, each with its 3 input channels
    assert m.units.tolist() == [1, 2] and m.cols == 2 and m.axis_titles is None
    assert m.tiles.shape == (len(w), 3 * 2, 3, 3)
    np.testing.assert_array_equal(m.tiles[:, 2 * 2 + 1], w[:, 2, 2])  # row: input channel 2, column: filter 2
    assert m.labels[2 * 2 + 1] == "filter 2 ← channel 2"
    grey = wa.movie_info(wa.layer_history(cnn_run, "conv1"))
    assert grey.tiles.shape == (len(w), 3, 3, 3) and grey.labels == ("filter 0", "filter 1", "filter 2")
    units = wa.movie_info(wa.layer_history(mlp_run, "dense1"), "changed", 2)
    assert units.tiles.shape == (len(w), 2, 4, 4) and units.labels == tuple(f"unit {i}" for i in units.units)


def test_movie_and_matrix_of_a_dense_layer_lie_wide(mlp_run):
    h = wa.layer_history(mlp_run, "out")  # weight (2, 5): wide, as it is
    m = wa.movie_info(h, "changed", 1)  # a matrix shows every unit
    assert m.tiles.shape == (len(h.steps), 1, 2, 5) and m.labels is None and m.axis_titles == ("input", "unit of out")
    now = wa.matrix_info(h, 1)
    assert now.values.shape == (2, 5) and now.step == h.steps[1] and (now.x_title, now.y_title) == m.axis_titles
    assert not wa.matrix_info(h, 0, change=True).values.any()
    tall = wa.LayerHistory(wa.WeightLayer("d", "vector", (5, 2), True), h.steps, np.ones((2, 5, 2), np.float16), {})
    assert wa.movie_info(tall).tiles.shape == (2, 1, 2, 5) and wa.matrix_info(tall, 0).x_title == "unit of d"


def test_norms_info_measures_the_drawn_layers(cnn_run):
    n = wa.norms_info(cnn_run)
    assert n.layers == ("conv1", "conv2", "dense3", "out") and n.weight_norm.shape == (4, len(cnn_run))
    assert np.isfinite(n.weight_norm).all() and n.points == ("relu1", "relu2", "relu3")


def snap(w1, *, grad=None, fire=None, opt=None, w2=None):
    """A hand-made snapshot dict shaped like `Run.snapshot(k)`."""
    s = {"param/dense1.weight": torch.tensor(w1, dtype=torch.float32), "param/dense1.bias": torch.zeros(len(w1))}
    if w2 is not None:
        s["param/out.weight"] = torch.tensor(w2, dtype=torch.float32)
    if grad is not None:
        s["grad/dense1.weight"] = torch.tensor(grad).to(torch.bfloat16)
    if opt is not None:
        s[f"opt/dense1.weight/{opt[0]}"] = torch.tensor(opt[1]).to(torch.bfloat16)
    if fire is not None:
        s["fire/relu1"] = torch.tensor(fire, dtype=torch.float32)
    return s


def test_undeclared_weights_are_dense_and_conv_layers_in_layer_order():
    s = {
        "param/out.weight": torch.zeros(2, 3),
        "param/dense10.weight": torch.zeros(3, 3),
        "param/dense2.weight": torch.zeros(3, 4),
        "param/conv1.weight": torch.zeros(4, 1, 3, 3),
        "param/conv1.bias": torch.zeros(4),
        "param/bn2.weight": torch.zeros(3),
        "mean/dense2": torch.zeros(1, 3),
    }
    assert wa.norm_history([s], [0]).layers == ("conv1", "dense2", "dense10", "out")
    assert wa.norm_history([s], [0], layers=["dense2"]).layers == ("dense2",)


def test_unit_images_put_each_weight_where_its_pixel_is():
    w = np.arange(2 * 6, dtype=np.float32).reshape(2, 6)  # 2 units, inputs of shape (1, 2, 3)
    img = wa.unit_images(w, (1, 2, 3))
    assert img.shape == (2, 2, 3)
    assert img[1, 1, 2] == w[1, 5] and img[0, 0, 1] == w[0, 1]
    colour = wa.unit_images(np.arange(12, dtype=np.float32)[None], (3, 2, 2))  # one unit, RGB 2×2
    assert colour.shape == (1, 2, 2, 3)
    assert colour[0, 1, 0, 2] == 2 * 4 + 2  # channel 2, row 1, column 0 → flat index c·HW + r·W + col
    with pytest.raises(ValueError, match="do not fill"):
        wa.unit_images(w, (1, 28, 28))


def test_select_units_all_range_and_most_changed():
    h = np.zeros((3, 4, 2), np.float32)
    h[-1, 2] = 5.0  # unit 2 moves most, then unit 0
    h[-1, 0] = 1.0
    assert wa.select_units(h, "all").tolist() == [0, 1, 2, 3]
    assert wa.select_units(h, "changed", n=2).tolist() == [2, 0]
    assert wa.select_units(h, "range", n=2, start=3).tolist() == [2, 3]  # clamped to the last units
    with pytest.raises(ValueError):
        wa.select_units(h, "best")


def test_stack_fills_a_missing_array_with_nan_and_converts_bfloat16():
    snaps = [snap([[1.0, 2.0]]), snap([[3.0, 4.0]], grad=[[0.5, -0.5]])]
    g = wa.stack(snaps, "grad/dense1.weight")
    assert g.dtype == np.float32 and np.isnan(g[0]).all()
    np.testing.assert_array_equal(g[1], [[0.5, -0.5]])
    with pytest.raises(KeyError):
        wa.stack(snaps, "grad/nothing")


def test_histogram_history_counts_shares_on_shared_bins():
    a = np.array([0.0, 0.0, 1.0, 1.0])
    b = np.array([0.0, 1.0, 1.0, 1.0])
    h = wa.histogram_history([None, a, b], [0, 10, 20], bins=2, clip=0)
    np.testing.assert_allclose(h.edges, [0.0, 0.5, 1.0])
    assert np.isnan(h.share[0]).all()  # not recorded at step 0
    np.testing.assert_allclose(h.share[1:], [[0.5, 0.5], [0.25, 0.75]])
    np.testing.assert_allclose(h.centers, [0.25, 0.75])
    assert h.share.shape == (3, 2) and h.steps.tolist() == [0, 10, 20]


def test_histogram_history_clips_outliers_into_the_end_bins():
    values = np.r_[np.linspace(-1, 1, 999), 1000.0]
    h = wa.histogram_history([values], [0], bins=40, clip=0.5)
    assert h.edges[-1] < 10  # the outlier does not stretch the range
    assert h.share[0].sum() == pytest.approx(1.0)
    assert h.clipped[0] > 0


def test_layer_histograms_finds_weights_biases_gradients_and_momentum():
    steps = [0, 5]
    adam = [snap([[1.0, -1.0]]), snap([[2.0, -2.0]], grad=[[0.1, 0.2]], opt=("exp_avg", [[0.01, 0.02]]))]
    h = wa.layer_histograms(adam, steps, "dense1", bins=30)
    assert list(h) == ["weights", "biases", "gradients", "momentum"]
    assert "Adam" in h["momentum"].name and h["weights"].share.shape == (2, 30)
    sgd = [snap([[1.0, -1.0]], opt=("momentum_buffer", [[0.3, 0.3]]))]
    assert "momentum buffer" in wa.layer_histograms(sgd, [0], "dense1")["momentum"].name
    assert "momentum" not in wa.layer_histograms([snap([[1.0]])], [0], "dense1")


def test_norm_history_on_hand_set_weights():
    w0 = [[3.0, 0.0], [0.0, 4.0]]  # ‖W‖ = 5
    w1 = [[3.0, 0.0], [0.0, 4.0 + 5.0]]  # moved by 5: ratio 5 / 5 = 1
    snaps = [
        snap(w0, fire=[0.0, 0.5], w2=[[1.0, 0.0]]),
        snap(w1, grad=[[0.0, 3.0], [4.0, 0.0]], fire=[0.0, 0.0], w2=[[1.0, 0.0]]),
    ]
    n = wa.norm_history(snaps, [0, 100])
    assert n.layers == ("dense1", "out") and n.points == ("relu1",)
    np.testing.assert_allclose(n.weight_norm[0], [5.0, np.sqrt(9 + 81)])
    assert np.isnan(n.grad_norm[0, 0]) and n.grad_norm[0, 1] == pytest.approx(5.0)
    assert np.isnan(n.update_ratio[0, 0]) and n.update_ratio[0, 1] == pytest.approx(1.0)
    assert n.update_ratio[1, 1] == 0.0  # `out` did not move
    np.testing.assert_allclose(n.dead_share[0], [0.5, 1.0])  # one of two units never fires, then both


def test_on_a_recorded_run(tiny_run):
    snaps = [tiny_run.snapshot(k) for k in range(len(tiny_run))]
    steps = [s["step"] for s in tiny_run.snapshots]
    n = wa.norm_history(snaps, steps)
    assert n.weight_norm.shape == (3, len(tiny_run)) and np.isfinite(n.weight_norm).all()
    assert np.isnan(n.grad_norm[:, 0]).all() and np.isfinite(n.grad_norm[:, 1:]).all()
    h = wa.layer_histograms(snaps, steps, "dense1")
    assert h["weights"].share.shape == (len(tiny_run), 60)
    np.testing.assert_allclose(np.nansum(h["weights"].share, axis=1), 1.0, rtol=1e-5)
