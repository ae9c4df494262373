"""Attribution on tiny seeded networks whose right answers are known: a linear model's gradient is its weight row,
integrated gradients add up to the score's rise, occlusion of one value is that value's share of a linear score."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nnlab.analysis import attribution as A
from nnlab.models import CNNConfig, MLPConfig, Point, build_model


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


def test_one_table_says_which_methods_apply_from_the_points_layouts_and_the_input(cnn, linear):
    assert A.DEFAULTS == ("saliency", "integrated_gradients", "grad_cam", "occlusion")  # the page's first four
    assert set(A.METHODS) >= {"smoothgrad", "guided_backprop", "input_x_gradient", "deeplift", "lime", "kernel_shap"}
    assert {"cam", "grad_cam_pp"} <= set(A.METHODS)
    assert all(m.paper.startswith("https://") and m.title and m.meaning for m in A.METHODS.values())
    assert [m for m, why in A.reasons(A.declared_points(cnn), "image").items() if why] == ["cam"]  # a dense head
    why = A.reasons(A.declared_points(linear), "table")
    assert why["saliency"] is None and why["integrated_gradients"] is None and why["kernel_shap"] is None
    assert (
        why["grad_cam"]
        == "Grad-CAM needs a layer of feature maps (channels × height × width), and this network has none."
    )
    assert why["occlusion"] == "Occlusion needs images, and these samples are rows of features."
    # A network of tokens has no feature maps either; a plain module's layouts are unknown, so not refused.
    tokens = [Point("embed", "activated", 1, layout="tokens", module="embed")]
    assert A.METHODS["grad_cam"].why_not(tokens, "image").startswith("Grad-CAM needs a layer of feature maps")
    assert A.METHODS["grad_cam"].why_not(None, "image") is None
    with pytest.raises(ValueError, match="needs a layer of feature maps"):
        A.attribute(linear, torch.zeros(1, 6), 0, "grad_cam")
    with pytest.raises(ValueError, match="needs images"):
        A.attribute(linear, torch.zeros(1, 6), 0, "occlusion")
    with pytest.raises(ValueError, match="Unknown attribution method"):
        A.attribute(linear, torch.zeros(1, 6), 0, "magic")


def test_attribution_leaves_the_model_as_it_was(cnn):
    cnn.train()
    before = {k: v.clone() for k, v in cnn.state_dict().items()}
    for method, why in A.reasons(A.declared_points(cnn), "image").items():
        if why is None:
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


@pytest.fixture(scope="module")
def cnn_run(tmp_path_factory):
    """A tiny CNN on digits (8×8 images, 10 classes), one epoch, two snapshots."""
    from nnlab import DataConfig, RecordConfig, TrainConfig, train_run

    return train_run(
        DataConfig.make("digits", train_subset=200),
        CNNConfig(input_shape=(1, 8, 8), n_classes=10, channels=(4,), hidden=(8,)),
        TrainConfig(batch_size=50, epochs=1, seed=0),
        RecordConfig(snapshots=2, eval_size=50),
        root=tmp_path_factory.mktemp("attribution-cnn"),
        name="cnn",
    )


def test_the_reasons_name_the_runs_kind(tiny_run, cnn_run):
    why = A.reasons(tiny_run, tiny_run.dataset())
    assert (
        why["grad_cam"] == "Grad-CAM needs a layer of feature maps (channels × height × width), and this MLP has none."
    )
    assert why["occlusion"] == "Occlusion needs images, and these samples are 2-D coordinates."
    assert [m for m, why in A.reasons(cnn_run, "image").items() if why] == ["cam"]


def test_attribution_info_of_a_cnn_run_gives_every_method_beside_the_image(cnn_run):
    ds = cnn_run.dataset()
    info = A.attribution_info(cnn_run, 1, ds, 3, 7, steps=8, window=2)
    assert [a.method for a in info.maps] == list(A.DEFAULTS) and all(a.target == 7 for a in info.maps)
    assert info.image.shape == (8, 8) and info.image.dtype == np.uint8 and info.features == []
    assert info.baseline == "a black image" and info.index == 3
    # The same as attributing by hand at that snapshot, from a black image.
    x, base = ds.prepare(ds.x_test[3:4]), A.baseline(ds)
    own = A.attribute(cnn_run.model_at(1), x, 7, "integrated_gradients", baseline=base, steps=8)
    np.testing.assert_allclose(info.maps[1].values, own.values, rtol=1e-5, atol=1e-7)
    assert float(base.max()) < 0  # black, after normalisation: below the mean


def test_attribution_info_of_an_mlp_run_gives_bars_of_named_features(tiny_run):
    ds = tiny_run.dataset()
    info = A.attribution_info(tiny_run, -1, ds, 0, 1)
    assert [a.method for a in info.maps] == ["saliency", "integrated_gradients"]
    assert info.image is None and info.features == ["x₁", "x₂"] and info.baseline == "the average input"
    assert all(a.values.shape == (2,) for a in info.maps)
    with pytest.raises(ValueError, match="this network has none"):
        A.attribution_info(tiny_run, -1, ds, 0, 1, ["grad_cam"])


def test_class_average_info_is_the_class_average_of_the_seeded_samples(tiny_run, cnn_run):
    ds = cnn_run.dataset()
    info = A.class_average_info(cnn_run, 1, ds, "grad_cam", per_class=3)
    assert info.method == "grad_cam" and info.values.shape == (10, 8, 8) and info.features == []
    idx = A.class_samples(ds.y_test, 3)
    own = A.class_average(cnn_run.model_at(1), ds.prepare(ds.x_test[idx]), ds.y_test[idx], "grad_cam", 10)
    np.testing.assert_allclose(info.values, own, rtol=1e-5, atol=1e-7)
    moons = A.class_average_info(tiny_run, 0, tiny_run.dataset(), "saliency", per_class=5)
    assert moons.values.shape == (2, 2) and moons.features == ["x₁", "x₂"]


def test_a_new_method_is_one_entry_of_the_table(monkeypatch, tiny_run):
    def gradient_times_input(model, x, target, **_):
        from captum.attr import InputXGradient

        return InputXGradient(model).attribute(x.requires_grad_(), target=target)

    entry = A.Method(
        "x_grad",
        "Input × gradient",
        "the gradient weighted by the input",
        "https://arxiv.org/abs/1605.01713",
        True,
        gradient_times_input,
        default=True,
    )
    monkeypatch.setitem(A.METHODS, "x_grad", entry)
    info = A.attribution_info(tiny_run, -1, tiny_run.dataset(), 0, 1)
    assert [a.method for a in info.maps] == ["saliency", "integrated_gradients", "x_grad"] and info.maps[-1].signed
