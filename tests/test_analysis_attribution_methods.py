"""The methods the table gained (issue 17): each on a hand-set network with its answer worked out on paper, CAM
against Grad-CAM on a global-average-pooling network, Grad-CAM++ against the paper's closed form, and the model
randomisation check (which must leave the trained network as it was)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nnlab.analysis import attribution as A
from nnlab.analysis.attribution import perturb
from nnlab.models import CNNConfig, MLPConfig, build_model, layer_points


@pytest.fixture
def linear():
    """logits = W x + b, hand-set: W = [[1, -2, 3], [0.5, 0, -1]], b = [0.1, -0.2]."""
    model = build_model(MLPConfig((3,), 2, ()))
    with torch.no_grad():
        model.out.weight.copy_(torch.tensor([[1.0, -2.0, 3.0], [0.5, 0.0, -1.0]]))
        model.out.bias.copy_(torch.tensor([0.1, -0.2]))
    return model


X = torch.tensor([[2.0, 1.0, -1.0]])
W0 = np.array([1.0, -2.0, 3.0])


@pytest.mark.parametrize("method", ["input_x_gradient", "deeplift", "lime", "kernel_shap"])
def test_each_share_of_a_linear_score_is_weight_times_input(linear, method):
    """Input × gradient is w·x; DeepLift, LIME and KernelSHAP against a zero baseline are w·(x − 0) too."""
    a = A.attribute(linear, X, 0, method)
    np.testing.assert_allclose(a.values, W0 * X[0].numpy(), atol=1e-4)
    assert a.signed and A.METHODS[method].paper.startswith("https://arxiv.org/")


def test_shares_against_another_baseline_are_weight_times_the_difference(linear):
    base = torch.tensor([[1.0, 1.0, 1.0]])
    for method in ("deeplift", "lime", "kernel_shap"):
        a = A.attribute(linear, X, 0, method, baseline=base)
        np.testing.assert_allclose(a.values, W0 * (X - base)[0].numpy(), atol=1e-4)


def test_guided_backprop_and_smoothgrad_of_a_linear_model_are_its_weight_row(linear):
    np.testing.assert_allclose(A.attribute(linear, X, 0, "guided_backprop").values, W0, atol=1e-6)
    np.testing.assert_allclose(
        A.attribute(linear, X, 0, "smoothgrad").values, np.abs(W0), atol=1e-5
    )  # noise moves no gradient


def test_guided_backprop_stops_negative_signals_at_a_relu():
    """One hidden ReLU unit h = relu(x1 + x2), score = -h: the gradient is -1 per input, guided backprop stops it."""
    model = build_model(MLPConfig((2,), 2, (1,)))
    with torch.no_grad():
        model.dense1.weight.fill_(1.0)
        model.dense1.bias.zero_()
        model.out.weight.copy_(torch.tensor([[-1.0], [1.0]]))
        model.out.bias.zero_()
    x = torch.tensor([[1.0, 2.0]])
    np.testing.assert_allclose(A.attribute(model, x, 1, "guided_backprop").values, [1.0, 1.0])
    np.testing.assert_allclose(A.attribute(model, x, 0, "guided_backprop").values, [0.0, 0.0])
    np.testing.assert_allclose(A.attribute(model, x, 0, "input_x_gradient").values, [-1.0, -2.0])


def test_random_methods_give_the_same_map_twice():
    torch.manual_seed(0)
    model = build_model(CNNConfig((1, 8, 8), 3, (4,), 3, "max", (6,)))
    x = torch.randn(1, 1, 8, 8)
    for method in ("smoothgrad", "lime", "kernel_shap"):
        np.testing.assert_array_equal(A.attribute(model, x, 1, method).values, A.attribute(model, x, 1, method).values)


def test_lime_and_kernel_shap_give_each_image_patch_one_value():
    torch.manual_seed(0)
    model = build_model(CNNConfig((3, 14, 14), 3, (4,), 3, "max", ()))
    mask = perturb.feature_mask((3, 14, 14))
    assert mask.shape == (1, 3, 14, 14) and len(mask.unique()) == 49  # 7×7 patches of 2×2, channels together
    a = A.attribute(model, torch.randn(1, 3, 14, 14), 0, "kernel_shap").values
    assert np.allclose(a[:, :2, :2], a[0, 0, 0]) and len(np.unique(a.round(6))) <= 49


@pytest.fixture
def gap_cnn():
    torch.manual_seed(2)
    return build_model(CNNConfig((2, 8, 8), 4, (3, 5), 3, "none", (), head="gap"))


def test_the_gap_head_pools_each_channel_and_declares_its_point(gap_cnn):
    points = {p.name: p for p in layer_points(gap_cnn)}
    assert points["gap"].shape == (5,) and points["gap"].role == "pooled" and points["out"].shape == (4,)
    assert [p.name for p in A.cam_head(list(points.values()))] == ["relu2", "gap", "out"]
    x = torch.randn(3, 2, 8, 8)
    relu2 = gap_cnn.relu2(gap_cnn.conv2(gap_cnn.relu1(gap_cnn.conv1(x))))
    torch.testing.assert_close(gap_cnn(x), gap_cnn.out(relu2.mean((2, 3))))
    assert "global average pool" in gap_cnn.config.describe()
    with pytest.raises(ValueError, match="Unknown head"):
        CNNConfig(head="flat")


def test_cam_applies_only_to_a_gap_head_then_the_output_layer(gap_cnn):
    assert A.METHODS["cam"].why_not(A.declared_points(gap_cnn), "image") is None
    hidden = build_model(CNNConfig((2, 8, 8), 4, (3,), 3, "none", (6,), head="gap"))  # a dense layer after the pool
    dense = build_model(CNNConfig((2, 8, 8), 4, (3,), 3, "none", (6,)))
    for model in (hidden, dense):
        why = A.METHODS["cam"].why_not(A.declared_points(model), "image")
        assert why.startswith("CAM needs global average pooling right before the output layer") and "'gap'" in why
    with pytest.raises(ValueError, match="CAM needs"):
        A.attribute(dense, torch.randn(1, 2, 8, 8), 0, "cam")


def test_cam_equals_grad_cam_up_to_a_positive_scale_on_a_gap_network(gap_cnn):
    torch.manual_seed(5)
    x = torch.randn(4, 2, 8, 8)
    peaks = []
    for target in range(4):
        cam = A.attribute_batch(gap_cnn, x, target, "cam")
        grad_cam = A.attribute_batch(gap_cnn, x, target, "grad_cam")
        assert cam.shape == grad_cam.shape == (4, 1, 8, 8)
        np.testing.assert_allclose(grad_cam, cam / (8 * 8), rtol=1e-4, atol=1e-7)  # Grad-CAM's weights: w / (h·w)
        peaks.append(cam.max())
    assert sum(p > 0 for p in peaks) >= 2  # not a comparison of blank maps


def test_grad_cam_pp_matches_the_papers_closed_form():
    """conv (one 1×1 kernel per channel) → relu → flatten → linear, hand-set: the score is Σ V[c,i,j]·A[c,i,j], so
    ∂score/∂A = V and the paper's eq. 19 can be written out in numpy."""
    model = build_model(CNNConfig((1, 3, 3), 2, (2,), 1, "none", ()))
    torch.manual_seed(0)
    v = torch.randn(2, 2, 3, 3)  # the output layer's weights as (class, channel, row, column)
    with torch.no_grad():
        model.conv1.weight.copy_(torch.tensor([1.0, -0.5]).view(2, 1, 1, 1))
        model.conv1.bias.copy_(torch.tensor([0.2, 0.3]))
        model.out.weight.copy_(v.flatten(1))
        model.out.bias.zero_()
    x = torch.tensor([[[[1.0, -2.0, 0.5], [0.0, 3.0, -1.0], [2.0, 1.0, -0.5]]]])
    a = torch.relu(model.conv1(x))[0].detach().numpy()  # (C, 3, 3)
    for target in (0, 1):
        g = v[target].numpy()
        alpha = g**2 / np.where((d := 2 * g**2 + a.sum((1, 2), keepdims=True) * g**3) != 0, d, 1)
        weights = (alpha * np.maximum(g, 0)).sum((1, 2))
        expected = np.maximum((weights[:, None, None] * a).sum(0), 0)
        got = A.attribute(model, x, target, "grad_cam_pp").values[0]
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7)  # 3×3 maps on a 3×3 input: no resizing


def test_the_new_methods_leave_the_model_as_it_was(gap_cnn):
    gap_cnn.train()
    before = {k: v.clone() for k, v in gap_cnn.state_dict().items()}
    for method, why in A.reasons(A.declared_points(gap_cnn), "image").items():
        assert why is None, why  # every method applies to a GAP CNN on images
        A.attribute(gap_cnn, torch.randn(1, 2, 8, 8), 0, method)
    assert gap_cnn.training and all(torch.equal(before[k], v) for k, v in gap_cnn.state_dict().items())
    assert all(p.grad is None for p in gap_cnn.parameters())
    assert not any(m._forward_hooks or m._backward_hooks for m in gap_cnn.modules())


def test_the_reasons_for_activations_and_inputs():
    tanh = build_model(MLPConfig((4,), 2, (5,), activation="tanh"))
    why = A.reasons(A.declared_points(tanh), "table")
    assert (
        why["guided_backprop"] == "Guided backpropagation changes how gradients pass ReLUs, and this network uses tanh."
    )
    assert (
        why["deeplift"] is None and why["lime"] is None and why["cam"].startswith("CAM needs a layer of feature maps")
    )
    gelu = build_model(MLPConfig((4,), 2, (5,), activation="gelu"))
    assert (
        A.reasons(A.declared_points(gelu), "table")["deeplift"]
        == "DeepLift has no rule for GELU, which this network uses."
    )


# --- the model randomisation check ------------------------------------------------------------------------------
def test_the_cascade_randomises_from_the_top_and_leaves_the_model_untouched():
    torch.manual_seed(0)
    model = build_model(CNNConfig((1, 8, 8), 3, (4, 6), 3, "max", (8,), batch_norm=True))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x = torch.randn(1, 1, 8, 8)
    rng = torch.get_rng_state()
    seen = []
    layers, maps, corr = A.randomisation_cascade(
        model.eval(), x, 1, A.DEFAULTS, window=2, progress=lambda f, w: seen.append(f)
    )
    assert layers == ["out", "bn3", "dense3", "bn2", "conv2", "bn1", "conv1"] == A.cascade_layers(model)
    assert maps.shape == (8, 4, 8, 8) and corr.shape == (8, 4)
    np.testing.assert_allclose(corr[0], 1.0)
    assert seen[-1] == 1.0 and seen == sorted(seen)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # the original is untouched
    assert torch.equal(torch.get_rng_state(), rng)  # and so is torch's random state
    again = A.randomisation_cascade(model, torch.randn(1, 1, 8, 8), 1, ["saliency"])[1]
    assert again.shape == (8, 1, 8, 8)


def test_rank_correlation_compares_magnitudes_by_rank():
    a = np.array([[1.0, -2.0], [3.0, 0.5]])
    assert A.rank_correlation(a, a**3) == pytest.approx(1.0)  # same order of |values|
    assert A.rank_correlation(a, -a) == pytest.approx(1.0)  # a sign flip keeps the magnitudes
    assert A.rank_correlation(a, 1 / np.abs(a)) == pytest.approx(-1.0)
    assert np.isnan(A.rank_correlation(a, np.zeros_like(a)))


def test_cascade_info_of_a_run_says_in_words_which_maps_changed_little(cnn_run):
    ds = cnn_run.dataset()
    info = A.cascade_info(cnn_run, 1, ds, 3, 7, A.DEFAULTS, steps=8, window=2)
    assert info.layers == ["out", "dense2", "conv1"] and info.maps.shape == (4, 4, 8, 8)
    assert info.image.shape == (8, 8) and info.baseline == "a black image"
    words = info.words()
    for m in A.DEFAULTS:
        assert A.METHODS[m].title in words
    faked = A.CascadeInfo(
        0, 0, ["saliency", "grad_cam"], ["out"], info.maps[:2, :2], np.array([[1, 1], [0.9, 0.1]]), None, [], "x"
    )
    assert faked.changed_little() == ["saliency"]
    assert faked.words().startswith("**Saliency changed little**") and "Grad-CAM changed a lot" in faked.words()


@pytest.fixture(scope="module")
def cnn_run(tmp_path_factory):
    from nnlab import DataConfig, RecordConfig, TrainConfig, train_run

    return train_run(
        DataConfig.make("digits", train_subset=200),
        CNNConfig(input_shape=(1, 8, 8), n_classes=10, channels=(4,), hidden=(8,)),
        TrainConfig(batch_size=50, epochs=1, seed=0),
        RecordConfig(snapshots=2, eval_size=50),
        root=tmp_path_factory.mktemp("attribution-methods"),
        name="cnn",
    )


def test_feature_shares_of_a_table_run(tiny_run):
    ds = tiny_run.dataset()
    info = A.feature_share_info(tiny_run, -1, ds, 0, 1, per_class=3)
    assert info.values.shape == (2,) and info.per_class.shape == (2, 2) and (info.per_class >= 0).all()
    assert info.features == ["x₁", "x₂"] and info.per_class_n == 3
    own = A.attribute(tiny_run.model_at(-1), ds.prepare(ds.x_test[:1]), 1, "kernel_shap", baseline=A.baseline(ds))
    np.testing.assert_allclose(info.values, own.values, rtol=1e-5)


# --- photo-sized inputs (issue 26): superpixels, copies within a memory budget, occlusion's patch ---------------------
def two_colours(side: int = 64) -> torch.Tensor:
    """A (3, side, side) image: red on the left third, blue elsewhere, with a little seeded noise."""
    image = torch.zeros(3, side, side)
    image[0, :, : side // 3] = 1.0
    image[2, :, side // 3 :] = 1.0
    return image + 0.01 * torch.randn(3, side, side, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("side", [64, 224])
def test_superpixels_follow_colour_edges_and_are_each_one_piece(side):
    from scipy import ndimage

    ids = perturb.superpixels(two_colours(side)).numpy()
    assert ids.shape == (side, side) and ids.min() == 0 and sorted(np.unique(ids)) == list(range(ids.max() + 1))
    assert 25 <= ids.max() + 1 <= 80  # about 49
    block = max(1, side // perturb.SUPERPIXEL_SIDE)  # found on blocks of this many pixels a side (224: 3)
    columns = np.broadcast_to(np.arange(side), (side, side))
    edge = side // 3  # red left of it, blue from it on
    straddled = edge // block if edge % block else -1  # the block the colour edge runs through (-1: none)
    for region in np.unique(ids):
        inside = ids == region
        left = columns[inside] < edge
        minority = left if left.sum() <= (~left).sum() else ~left
        assert np.all(columns[inside][minority] // block == straddled)  # across the edge only inside its block
        assert ndimage.label(inside)[1] == 1  # one 4-connected piece


def test_photo_sized_images_get_superpixels_and_small_ones_patches():
    assert perturb.mask_of(torch.zeros(1, 3, 63, 63)).unique().numel() == 49  # 9-pixel patches, 7 a side
    mask = perturb.mask_of(two_colours(64)[None])
    assert mask.shape == (1, 3, 64, 64) and torch.equal(mask[0, 0], perturb.superpixels(two_colours(64)))
    assert torch.equal(mask[0, 0], mask[0, 2])  # the colour channels together
    assert perturb.mask_of(torch.zeros(1, 5)) is None


@pytest.mark.parametrize("method", ["lime", "kernel_shap"])
def test_lime_and_kernel_shap_recover_a_linear_models_superpixel_sums(method):
    """For logits = W·x + b, switching a superpixel to the baseline moves the score by Σ_superpixel w·(x − b): both
    fits recover it, each pixel of a superpixel carrying the superpixel's value."""
    torch.manual_seed(6)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 64 * 64, 2)).eval()
    x, base = two_colours()[None], torch.zeros(1, 3, 64, 64)
    ids = perturb.superpixels(x[0]).numpy()
    share = (model[1].weight[1].detach().view(3, 64, 64) * (x - base)[0]).sum(0).numpy()  # (64, 64)
    expected = np.zeros_like(share)
    for region in np.unique(ids):
        expected[ids == region] = share[ids == region].sum()
    got = A.attribute_batch(model, x, 1, method, base)[0]
    np.testing.assert_allclose(got[0], expected, atol=2e-3)  # float32 fits of 256 draws


def test_copies_at_once_keeps_a_batch_within_the_memory_budget(monkeypatch):
    from nnlab.analysis.attribution import gradients

    model = torch.nn.Sequential(torch.nn.Linear(10, 1000), torch.nn.ReLU(), torch.nn.Linear(1000, 2))
    x = torch.zeros(7, 10)
    assert gradients.copies_at_once(model, x) == gradients.INTERNAL_BATCH  # a small network: the cap
    monkeypatch.setattr(gradients, "ATTRIBUTION_MEMORY", 4 * 2002 * 10)  # outputs of 1000 + 1000 + 2 values a copy
    assert gradients.copies_at_once(model, x) == 10
    assert gradients.copies_at_once(model, x, grad=False) == 6  # 3 × the largest output (1000 values)
    monkeypatch.setattr(gradients, "ATTRIBUTION_MEMORY", 1)
    assert gradients.copies_at_once(model, x) == 1


@pytest.mark.parametrize("method", ["integrated_gradients", "occlusion", "interior_gradients", "lime"])
def test_a_method_gives_the_same_map_a_few_copies_at_a_time(method, monkeypatch):
    """(SmoothGrad is left out: captum draws its noise batch by batch, so other batches draw other noise.)"""
    from nnlab.analysis.attribution import gradients

    torch.manual_seed(0)
    model = build_model(CNNConfig((1, 8, 8), 3, (4,), 3, "max", (6,)))
    x = torch.randn(2, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    whole = A.attribute_batch(model, x, 1, method)
    monkeypatch.setattr(gradients, "ATTRIBUTION_MEMORY", 1)  # one copy at a time
    np.testing.assert_allclose(A.attribute_batch(model, x, 1, method), whole, atol=1e-5)  # float32, other batches


def test_occlusion_patches_scale_with_the_image():
    def windows(side):
        return A.occlusion_windows(type("D", (), {"input_shape": (3, side, side)})())

    assert windows(8) == ([1, 2, 3, 4], 2) and windows(28)[1] == 4 and windows(32)[1] == 4
    sides, default = windows(224)
    assert default == 48 and max(sides) == 64  # 9 × 9 positions at a stride of 24, not 111 × 111
    assert windows(64)[1] == 16
