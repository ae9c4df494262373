"""Weights over training on hand-made snapshots: layers, unit images, histograms, norms, dead units."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nnlab.analysis import weights as wa


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


def test_weight_layers_in_layer_order_with_kinds():
    s = {
        "param/out.weight": torch.zeros(2, 3),
        "param/dense10.weight": torch.zeros(3, 3),
        "param/dense2.weight": torch.zeros(3, 4),
        "param/conv1.weight": torch.zeros(4, 1, 3, 3),
        "param/conv1.bias": torch.zeros(4),
        "param/bn2.weight": torch.zeros(3),
        "mean/dense2": torch.zeros(1, 3),
    }
    layers = wa.weight_layers(s)
    assert [w.name for w in layers] == ["conv1", "dense2", "dense10", "out"]
    assert [w.kind for w in layers] == ["conv", "dense", "dense", "dense"]
    assert layers[0].shape == (4, 1, 3, 3) and layers[0].has_bias and not layers[1].has_bias


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
