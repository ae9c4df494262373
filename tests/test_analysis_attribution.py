"""Attribution on tiny seeded networks whose right answers are known: a linear model's gradient is its weight row,
integrated gradients add up to the score's rise, occlusion of one value is that value's share of a linear score."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nnlab.analysis import attribution as A
from nnlab.models import CNNConfig, MLPConfig, build_model


@pytest.fixture
def linear():
    torch.manual_seed(0)
    return build_model(MLPConfig((6,), 3, ()))  # no hidden layer: logits = W x + b


@pytest.fixture
def cnn():
    torch.manual_seed(1)
    return build_model(CNNConfig((2, 8, 8), 3, (4, 6), 3, "max", (8,)))


def test_saliency_of_a_linear_model_is_its_weight_row(linear):
    x = torch.randn(1, 6)
    a = A.attribute(linear, x, 2, "saliency")
    assert a.values.shape == (6,) and not a.signed and a.target == 2
    np.testing.assert_allclose(a.values, linear.out.weight[2].detach().abs().numpy(), rtol=1e-6)


def test_integrated_gradients_add_up_to_the_rise_of_the_score(linear, cnn):
    x, base = torch.randn(1, 6), torch.randn(1, 6)
    a = A.attribute(linear, x, 1, "integrated_gradients", baseline=base)
    w = linear.out.weight[1].detach()
    np.testing.assert_allclose(a.values, ((x - base)[0] * w).numpy(), rtol=1e-4, atol=1e-6)  # exact for linear
    assert a.signed
    # Completeness holds for a ReLU network too, up to the path integral's error.
    xi = torch.randn(1, 2, 8, 8)
    b = A.attribute(cnn, xi, 0, "integrated_gradients", steps=256)
    with torch.no_grad():
        rise = float(cnn(xi)[0, 0] - cnn(torch.zeros_like(xi))[0, 0])
    assert b.values.sum() == pytest.approx(rise, rel=0.05, abs=0.02)


def test_occlusion_of_single_pixels_is_each_pixels_share_of_a_linear_score():
    torch.manual_seed(2)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 2))
    x = torch.randn(1, 1, 4, 4)
    a = A.attribute(model, x, 1, "occlusion", window=1)
    w = model[1].weight[1].detach().reshape(1, 4, 4)
    np.testing.assert_allclose(a.values, (x[0] * w).numpy(), rtol=1e-4, atol=1e-6)
    # A 2×2 window with stride 1 spreads each patch's drop over its pixels: still the linear shares, summed 4 times.
    b = A.attribute(model, x, 1, "occlusion", window=2)
    assert b.values.shape == (1, 4, 4) and np.isfinite(b.values).all()


def test_grad_cam_reads_the_activation_after_the_last_convolution(cnn, linear):
    assert A.gradcam_layer(cnn) == "relu2"
    assert A.gradcam_layer(linear) is None
    bn = build_model(CNNConfig((1, 8, 8), 2, (3,), 3, "none", (), batch_norm=True))
    assert A.gradcam_layer(bn) == "relu1"  # past the batch norm
    a = A.attribute(cnn, torch.randn(1, 2, 8, 8), 1, "grad_cam")
    assert a.values.shape == (1, 8, 8) and (a.values >= 0).all() and a.summed().shape == (8, 8)


def test_the_methods_offered_fit_the_model_and_the_input(cnn, linear):
    assert A.methods_for(cnn, torch.zeros(1, 2, 8, 8)) == list(A.METHODS)
    assert A.methods_for(linear, torch.zeros(1, 6)) == ["saliency", "integrated_gradients"]
    with pytest.raises(ValueError, match="needs a convolution"):
        A.attribute(linear, torch.zeros(1, 6), 0, "grad_cam")
    with pytest.raises(ValueError, match="needs image input"):
        A.attribute(linear, torch.zeros(1, 6), 0, "occlusion")
    with pytest.raises(ValueError, match="Unknown attribution method"):
        A.attribute(linear, torch.zeros(1, 6), 0, "magic")


def test_attribution_leaves_the_model_as_it_was(cnn):
    cnn.train()
    before = {k: v.clone() for k, v in cnn.state_dict().items()}
    for method in A.METHODS:
        A.attribute(cnn, torch.randn(1, 2, 8, 8), 0, method)
    assert cnn.training and all(torch.equal(before[k], v) for k, v in cnn.state_dict().items())
    assert all(p.grad is None for p in cnn.parameters())
    assert not cnn.relu2._forward_hooks  # Grad-CAM's hook is gone


def test_class_average_is_the_mean_of_each_class_own_attributions(cnn):
    torch.manual_seed(3)
    x = torch.randn(7, 2, 8, 8)
    labels = np.array([0, 1, 0, 1, 0, 1, 1])
    avg = A.class_average(cnn, x, labels, "saliency", 3, batch=3)  # batches that cut through the classes
    assert avg.shape == (3, 8, 8)
    one = [A.attribute(cnn, x[i : i + 1], int(labels[i]), "saliency").summed() for i in range(7)]
    np.testing.assert_allclose(avg[0], np.mean([one[i] for i in (0, 2, 4)], axis=0), rtol=1e-5)
    np.testing.assert_allclose(avg[1], np.mean([one[i] for i in (1, 3, 5, 6)], axis=0), rtol=1e-5)
    assert not avg[2].any()  # class 2 has no samples
    assert A.class_average(cnn, x[:0], labels[:0], "saliency", 3).shape == (3, 8, 8)  # no samples at all


def test_class_samples_are_seeded_and_capped_per_class():
    labels = np.array([0] * 10 + [1] * 3 + [2] * 6)
    idx = A.class_samples(labels, 4, seed=5)
    assert np.array_equal(idx, A.class_samples(labels, 4, seed=5)) and np.all(np.diff(idx) > 0)
    assert np.bincount(labels[idx]).tolist() == [4, 3, 4]
