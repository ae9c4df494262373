"""Every attribution method against its definition (issue 25), on small seeded networks of each kind that the method
applies to: an MLP, the default CNN (max-pool), a CNN without pooling and a ViT.

- DeepLift and integrated gradients: completeness, the shares add up to f(x) − f(baseline) for the target (DeepLift
  to 1e-4 relative, with captum issue #1104 worked around; integrated gradients to their discretisation error,
  which falls as the steps grow);
- LRP: conservation (the shares add up to f(x) where no bias takes a share), and the gamma rule written out by hand;
- Grad-CAM and Grad-CAM++ against their formulas, CAM against the GAP head it reads;
- occlusion against a loop over patches, saliency and input × gradient against autograd, SmoothGrad's noise scale;
- interior gradients against autograd at each scaled input, and their mean as integrated gradients;
- LIME and KernelSHAP recovering the patch sums of a linear model's weights;
- where a method does not apply, the table refuses it with its reason.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from nnlab.analysis import attribution as A
from nnlab.analysis.attribution import gradients
from nnlab.models import CNNConfig, MLPConfig, ViTConfig, build_model

CONFIGS = {
    "mlp": MLPConfig((6,), 3, (8, 5)),
    "cnn": CNNConfig(),  # the default CNN: 1×28×28, 16-32 channels, 2×2 max pools, a dense layer of 64
    "nopool": CNNConfig((2, 8, 8), 3, (4, 6), 3, "none", (8,)),
    "vit": ViTConfig((1, 8, 8), 3, width=16, depth=2, heads=2),
}


def net(name: str, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return build_model(CONFIGS[name]).eval()


def inputs(name: str, n: int = 3, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Seeded random inputs and baselines of the network's input shape."""
    g = torch.Generator().manual_seed(seed)
    shape = CONFIGS[name].input_shape
    return torch.randn(n, *shape, generator=g), torch.randn(n, *shape, generator=g)


def rise(model, x, base, target) -> torch.Tensor:
    with torch.no_grad():
        return model(x)[:, target] - model(base)[:, target]


def no_hooks(model) -> bool:
    return not any(m._forward_hooks or m._forward_pre_hooks or m._backward_hooks for m in model.modules())


def applies(name: str, method: str) -> bool:
    kind = "image" if len(CONFIGS[name].input_shape) == 3 else "table"
    return A.METHODS[method].why_not(A.declared_points(net(name)), kind) is None


# --- completeness: DeepLift, integrated gradients ----------------------------------------------------------------
@pytest.mark.parametrize("name", ["cnn", "nopool", "mlp"])
def test_deeplift_shares_add_up_to_the_scores_difference(name):
    """Completeness to 1e-4 relative; on the default CNN captum 0.9 alone missed by more than the difference."""
    model = net(name, seed=1)
    for seed in range(3):
        x, base = inputs(name, 4, seed)
        target = seed % 3
        a = A.attribute_batch(model, x, target, "deeplift", base)
        d = rise(model, x, base, target).numpy()
        np.testing.assert_allclose(a.reshape(len(x), -1).sum(1), d, rtol=1e-4, atol=1e-6)
    assert no_hooks(model)  # the max pools' pre-hooks are gone


def test_deeplift_on_a_small_max_pool_cnn_and_with_each_activation_it_has_a_rule_for():
    cases = [CNNConfig((1, 8, 8), 10, (4,), 3, "max", (8,)), CNNConfig((2, 8, 8), 3, (4, 6), 3, "max", (8,), "tanh")]
    cases += [MLPConfig((5,), 3, (8, 6), activation=a) for a in ("relu", "leaky_relu", "tanh", "sigmoid")]
    for i, cfg in enumerate(cases):
        torch.manual_seed(i)
        model = build_model(cfg).eval()
        g = torch.Generator().manual_seed(i)
        x, base = torch.randn(4, *cfg.input_shape, generator=g), torch.randn(4, *cfg.input_shape, generator=g)
        assert (
            A.METHODS["deeplift"].why_not(A.declared_points(model), "image" if len(x.shape) == 4 else "table") is None
        )
        a = A.attribute_batch(model, x, 1, "deeplift", base)
        np.testing.assert_allclose(a.reshape(4, -1).sum(1), rise(model, x, base, 1).numpy(), rtol=1e-4, atol=1e-6)


def test_deeplift_removes_its_pre_hooks_when_captum_fails(monkeypatch):
    from captum.attr import DeepLift

    model = net("cnn")

    def fail(self, *args, **kwargs):
        assert any(m._forward_pre_hooks for m in model.modules())  # set for the call
        raise RuntimeError("captum failed")

    monkeypatch.setattr(DeepLift, "attribute", fail)
    with pytest.raises(RuntimeError, match="captum failed"):
        A.attribute_batch(model, torch.zeros(1, 1, 28, 28), 0, "deeplift")
    assert no_hooks(model)


IG_STEPS = (8, 32, 128)


def ig_errors(name: str) -> list[float]:
    """Integrated gradients' completeness error at each step count in IG_STEPS: the largest |Σ shares − rise| over
    8 seeded inputs, as a share of the largest |rise| among them (an untrained network's rises can be near zero,
    so each one's own is no scale)."""
    model = net(name, seed=2)
    x, base = inputs(name, 8, seed=4)
    x = 3 * x  # farther from the baseline: rises well above the float error
    d = rise(model, x, base, 1).numpy()
    out = []
    for steps in IG_STEPS:
        a = A.attribute_batch(model, x, 1, "integrated_gradients", base, steps=steps)
        out.append(float(np.abs(a.reshape(len(x), -1).sum(1) - d).max() / np.abs(d).max()))
    return out


@pytest.mark.parametrize("name", ["mlp", "cnn", "nopool", "vit"])
def test_integrated_gradients_add_up_to_the_rise_within_their_discretisation_error(name, record_property):
    """Completeness up to the path integral's error, which is reported per step count (pytest's junit properties;
    bench/attribution_completeness.py prints the table) and is smaller at 128 steps than at 8."""
    errors = ig_errors(name)
    for steps, err in zip(IG_STEPS, errors, strict=True):
        record_property(f"ig_relative_error_{steps}_steps", err)
    assert errors[-1] < 0.1, errors  # 128 steps: within 10% of the largest rise on every network (kinks of ReLUs)
    assert errors[-1] < errors[0] or errors[0] < 1e-5, errors  # more steps, a more exact sum


# --- conservation: LRP -------------------------------------------------------------------------------------------
def without_biases(model: nn.Module) -> nn.Module:
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Linear, nn.Conv2d)) and m.bias is not None:
                m.bias.zero_()
    return model


@pytest.mark.parametrize(
    "cfg",
    [
        MLPConfig((6,), 3, (8, 5)),
        CNNConfig(),
        CNNConfig((2, 8, 8), 3, (4, 6), 3, "none", (8,)),
        CNNConfig((2, 8, 8), 4, (3, 5), 3, "max", (), head="gap"),
        CNNConfig((1, 8, 8), 3, (4,), 3, "avg", (6,), dropout=0.2),
    ],
    ids=["mlp", "cnn", "nopool", "gap", "avg"],
)
def test_lrp_conserves_the_score_where_no_bias_takes_a_share(cfg):
    torch.manual_seed(3)
    model = without_biases(build_model(cfg).eval())
    x = torch.randn(3, *cfg.input_shape, generator=torch.Generator().manual_seed(5))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    for target in range(2):
        r = A.attribute_batch(model, x, target, "lrp")
        with torch.no_grad():
            score = model(x)[:, target].numpy()
        np.testing.assert_allclose(r.reshape(len(x), -1).sum(1), score, rtol=1e-4, atol=1e-5)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # the gamma rule's weights undone
    assert no_hooks(model) and not any(hasattr(m, "rule") for m in model.modules())


def test_lrp_with_biases_misses_the_score_by_what_the_biases_took():
    model = net("mlp")
    x, _ = inputs("mlp", 2)
    r = A.attribute_batch(model, x, 0, "lrp")
    with torch.no_grad():
        score = model(x)[:, 0].numpy()
    assert np.abs(r.sum(1) - score).max() > 1e-3  # the words say so: the map adds up to the score less the biases'


def test_lrp_uses_the_gamma_rule_on_a_convolution_and_the_epsilon_rule_above_it():
    """conv (2 channels, 3×3, no bias) → relu → flatten → linear (no bias), relevance written out by hand: the
    linear layer's share of unit j is a_j·w_j (its score is Σ_j a_j·w_j), passed through the ReLU unchanged, then
    split by the gamma rule: R_p = Σ_{c,q} x_p·K'_{c,q−p} / z'_{c,q} · R_{c,q}, K' = K + γ·max(K, 0)."""
    torch.manual_seed(0)
    model = without_biases(build_model(CNNConfig((1, 4, 4), 2, (2,), 3, "none", ())).eval())
    x = torch.rand(1, 1, 4, 4) + 0.1  # positive pixels: the gamma rule's denominators stay away from zero
    a = torch.relu(model.conv1(x))[0].detach()  # (2, 4, 4)
    w = model.out.weight[1].detach().view(2, 4, 4)
    r_maps = a * w  # (2, 4, 4)
    k = model.conv1.weight.detach()[:, 0]  # (2, 3, 3)
    k2 = k + gradients.LRP_GAMMA * k.clamp_min(0)
    xp = F.pad(x[0, 0], (1, 1, 1, 1))  # (6, 6): 'same' padding
    expected = torch.zeros(6, 6)
    for c in range(2):
        for i in range(4):
            for j in range(4):
                contrib = xp[i : i + 3, j : j + 3] * k2[c]
                z = contrib.sum()
                expected[i : i + 3, j : j + 3] += contrib / z * r_maps[c, i, j]
    got = A.attribute_batch(model, x, 1, "lrp")[0, 0]
    np.testing.assert_allclose(got, expected[1:5, 1:5].numpy(), rtol=1e-4, atol=1e-6)


# --- Grad-CAM, Grad-CAM++, CAM -------------------------------------------------------------------------------------
def maps_and_gradient(model, x, target):
    """The activations Grad-CAM reads and the target score's gradient there, by a hook of this test's own."""
    layer = model.get_submodule(A.gradcam_layer(model))
    kept = {}
    handle = layer.register_forward_hook(lambda m, i, out: kept.setdefault("a", out))
    try:
        score = model(x)[:, target].sum()
    finally:
        handle.remove()
    (g,) = torch.autograd.grad(score, kept["a"])
    return kept["a"].detach(), g


@pytest.mark.parametrize("name", ["cnn", "nopool"])
def test_grad_cam_is_its_formula(name):
    """relu(Σ_c mean_ij(∂y/∂A_c) · A_c), bilinearly resized to the input (14×14 → 28×28 on the default CNN)."""
    model = net(name)
    x, _ = inputs(name, 2)
    for target in (0, 2):
        a, g = maps_and_gradient(model, x, target)
        cam = torch.relu(torch.einsum("nchw,nc->nhw", a, g.mean((2, 3))))
        expected = F.interpolate(cam[:, None], size=x.shape[-2:], mode="bilinear", align_corners=False)
        np.testing.assert_allclose(A.attribute_batch(model, x, target, "grad_cam"), expected.numpy(), atol=1e-6)


@pytest.mark.parametrize("name", ["cnn", "nopool"])
def test_grad_cam_pp_is_its_formula(name):
    """Chattopadhyay et al. eq. 19 written in numpy from the maps and their gradient."""
    model = net(name)
    x, _ = inputs(name, 2)
    a, g = (t.numpy().astype(np.float64) for t in maps_and_gradient(model, x, 1))
    d = 2 * g**2 + a.sum((2, 3), keepdims=True) * g**3
    alpha = np.where(d != 0, g**2 / np.where(d != 0, d, 1), 0)
    weights = (alpha * np.maximum(g, 0)).sum((2, 3))
    cam = torch.from_numpy(np.maximum(np.einsum("nchw,nc->nhw", a, weights), 0)).float()
    expected = F.interpolate(cam[:, None], size=x.shape[-2:], mode="bilinear", align_corners=False).clamp_min(0)
    np.testing.assert_allclose(A.attribute_batch(model, x, 1, "grad_cam_pp"), expected.numpy(), rtol=1e-4, atol=1e-6)


def test_cam_reads_the_gap_head_and_grad_cam_the_maps_before_the_pool():
    """On a max-pool CNN with a GAP head: the logit is the mean over positions of Σ_c W[t,c]·A_c plus the bias (A: the
    pooled maps CAM reads), CAM is relu of that sum; Grad-CAM is the same formula on the maps before the pool divided
    by their h·w, so the two differ (what cam.py's docstring says)."""
    torch.manual_seed(4)
    model = build_model(CNNConfig((1, 8, 8), 4, (3, 5), 3, "max", (), head="gap")).eval()
    x = torch.randn(3, 1, 8, 8)
    maps, _, out = A.cam_head(A.declared_points(model))
    assert (maps.module, A.gradcam_layer(model)) == ("pool2", "relu2")
    kept = {}
    hooks = [
        model.get_submodule(n).register_forward_hook(lambda m, i, o, n=n: kept.__setitem__(n, o.detach()))
        for n in ("pool2", "relu2")
    ]
    with torch.no_grad():
        logits = model(x)
    for h in hooks:
        h.remove()
    w, b = model.out.weight.detach(), model.out.bias.detach()
    for t in range(4):
        s = torch.einsum("nchw,c->nhw", kept["pool2"], w[t])  # (3, 2, 2)
        torch.testing.assert_close(s.mean((1, 2)) + b[t], logits[:, t])  # the GAP head
        cam = F.interpolate(torch.relu(s)[:, None], size=(8, 8), mode="bilinear", align_corners=False)
        np.testing.assert_allclose(A.attribute_batch(model, x, t, "cam"), cam.numpy(), rtol=1e-5, atol=1e-7)
        grad_cam = torch.relu(torch.einsum("nchw,c->nhw", kept["relu2"], w[t]))[:, None] / (4 * 4)  # relu2: 4×4
        grad_cam = F.interpolate(grad_cam, size=(8, 8), mode="bilinear", align_corners=False)
        np.testing.assert_allclose(A.attribute_batch(model, x, t, "grad_cam"), grad_cam.numpy(), rtol=1e-4, atol=1e-7)
    assert not np.allclose(A.attribute_batch(model, x, 0, "grad_cam") * 16, A.attribute_batch(model, x, 0, "cam"))


# --- occlusion, saliency, input × gradient, SmoothGrad -----------------------------------------------------------
def occlusion_by_hand(model, x, base, target, side):
    """Cover each square (all channels, stride side // 2, the last one cut at the edge) with the baseline; each
    pixel gets the mean score drop of the squares that cover it."""
    _, _, h, w = x.shape
    stride = max(1, side // 2)
    total, count = torch.zeros(h, w), torch.zeros(h, w)
    with torch.no_grad():
        score = model(x)[0, target]
        for i in range(0, h - side + stride, stride):
            for j in range(0, w - side + stride, stride):
                covered = x.clone()
                covered[..., i : i + side, j : j + side] = base[..., i : i + side, j : j + side]
                total[i : i + side, j : j + side] += score - model(covered)[0, target]
                count[i : i + side, j : j + side] += 1
    return (total / count).expand(x.shape[1], h, w)


@pytest.mark.parametrize(("name", "side"), [("cnn", 4), ("cnn", 6), ("nopool", 3), ("vit", 2), ("vit", 3)])
def test_occlusion_is_a_loop_over_patches(name, side):
    model = net(name)
    x, base = inputs(name, 1)
    got = A.attribute_batch(model, x, 1, "occlusion", base, window=side)[0]
    np.testing.assert_allclose(got, occlusion_by_hand(model, x, base, 1, side).numpy(), rtol=1e-4, atol=1e-6)


def autograd_gradient(model, x, target):
    x = x.clone().requires_grad_()
    (g,) = torch.autograd.grad(model(x)[:, target].sum(), x)
    return g


@pytest.mark.parametrize("name", list(CONFIGS))
def test_saliency_and_input_x_gradient_are_the_gradient(name):
    model = net(name)
    x, _ = inputs(name, 2)
    g = autograd_gradient(model, x, 2)
    np.testing.assert_allclose(A.attribute_batch(model, x, 2, "saliency"), g.abs().numpy(), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(A.attribute_batch(model, x, 2, "input_x_gradient"), (x * g).numpy(), atol=1e-6)


def test_smoothgrad_noise_is_scaled_by_the_batchs_range(monkeypatch):
    from captum.attr import NoiseTunnel

    seen = {}
    real = NoiseTunnel.attribute

    def spy(self, inputs, **kwargs):
        seen["stdevs"] = kwargs["stdevs"]
        return real(self, inputs, **kwargs)

    monkeypatch.setattr(NoiseTunnel, "attribute", spy)
    model = net("nopool")
    x = torch.stack([torch.full((2, 8, 8), 0.5), torch.linspace(-3, 5, 128).view(2, 8, 8)])  # ranges 0 and 8
    A.attribute_batch(model, x, 0, "smoothgrad")
    assert seen["stdevs"] == pytest.approx(gradients.SMOOTHGRAD_NOISE * 8.0)  # one scale for both, the batch's
    assert (
        "whole batch" in A.METHODS["smoothgrad"].meaning
        and "not of each input's own range" in A.METHODS["smoothgrad"].meaning
    )


# --- interior gradients --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(CONFIGS))
def test_interior_gradients_are_the_gradients_at_scaled_inputs(name):
    model = net(name)
    x, base = inputs(name, 1)
    strip = A.interior_strip(model, x, 1, baseline=base)
    assert list(strip.alphas) == pytest.approx(gradients.INTERIOR_ALPHAS) and strip.alphas[-1] == 1
    for alpha, m, s in zip(strip.alphas, strip.maps, strip.scores, strict=True):
        scaled = base + float(alpha) * (x - base)
        g = autograd_gradient(model, scaled, 1)[0]
        np.testing.assert_allclose(m, (g.sum(0) if g.dim() == 3 else g).numpy(), rtol=1e-4, atol=1e-6)
        with torch.no_grad():
            assert s == pytest.approx(float(model(scaled)[0, 1]), rel=1e-5, abs=1e-6)
    # The panel: the gradient at the end of the stretch where the score climbs most steeply.
    steps = 16
    alphas = np.arange(steps + 1) / steps
    with torch.no_grad():
        scores = np.array([float(model(base + float(a) * (x - base))[0, 1]) for a in alphas])
    best = alphas[1 + np.argmax(np.diff(scores))]
    panel = A.attribute_batch(model, x, 1, "interior_gradients", base, steps=steps)[0]
    np.testing.assert_allclose(panel, autograd_gradient(model, base + best * (x - base), 1)[0], rtol=1e-4, atol=1e-6)


def test_interior_gradients_averaged_over_the_path_times_the_step_are_integrated_gradients():
    """(x − b)·mean_α ∇f(b + α(x − b)) is the Riemann sum of integrated gradients: it adds up to the rise as α's
    grid gets finer (the discretisation error falls)."""
    model = net("cnn", seed=2)
    x, base = inputs("cnn", 1, seed=4)
    d = float(rise(model, x, base, 1)[0])
    errors = []
    for steps in (4, 64):
        alphas = [(i + 0.5) / steps for i in range(steps)]  # the midpoints
        grads, _ = gradients.interior_strip(model, x, 1, baseline=base, alphas=alphas)
        errors.append(abs(float(((x - base) * grads.mean(0)).sum()) - d) / abs(d))
    assert errors[1] < 0.05 and errors[1] < errors[0], errors


# --- LIME and KernelSHAP on a linear model -------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["lime", "kernel_shap"])
def test_lime_and_kernel_shap_recover_a_linear_models_patch_sums(method):
    """For logits = W·x + b, switching a patch to the baseline moves the score by Σ_patch w·(x − b): exactly linear
    in the patches, so both fits recover it, each pixel of a patch carrying the patch's value."""
    torch.manual_seed(6)
    model = nn.Sequential(nn.Flatten(), nn.Linear(2 * 14 * 14, 3)).eval()
    x, base = torch.randn(1, 2, 14, 14), torch.randn(1, 2, 14, 14)
    w = model[1].weight[2].detach().view(2, 14, 14)
    share = (w * (x - base)[0]).sum(0)  # (14, 14)
    expected = F.avg_pool2d(share[None, None], 2)[0, 0] * 4  # each 2×2 patch's sum
    got = A.attribute_batch(model, x, 2, method, base)[0]
    assert np.allclose(got[0], got[1])  # channels together
    expected = expected.repeat_interleave(2, 0).repeat_interleave(2, 1).numpy()
    np.testing.assert_allclose(got[0], expected, atol=1e-3)  # float32 fits of 256 draws


# --- where a method does not apply ---------------------------------------------------------------------------------
def test_the_table_refuses_on_a_vit_what_cannot_hold_there_with_the_reason():
    why = A.reasons(A.declared_points(net("vit")), "image")
    refused = {m for m, reason in why.items() if reason}
    assert refused == {"grad_cam", "cam", "grad_cam_pp", "guided_backprop", "deeplift", "lrp"}
    assert why["deeplift"].startswith("DeepLift has no rule for attention") and "would not add up" in why["deeplift"]
    assert why["lrp"].startswith("LRP here has rules for dense, convolution") and "attention" in why["lrp"]
    assert "has none (its blocks use GELU)" in why["guided_backprop"]
    for method in ("deeplift", "lrp", "guided_backprop"):
        with pytest.raises(ValueError, match=why[method][:20]):
            A.attribute_batch(net("vit"), torch.zeros(1, 1, 8, 8), 0, method)


def test_deeplift_on_a_vit_would_break_completeness_which_is_why_it_is_refused():
    from captum.attr import DeepLift

    model = net("vit")
    x, base = inputs("vit", 2)
    a = DeepLift(model).attribute(x.clone().requires_grad_(), baselines=base, target=1).detach()
    assert np.abs(a.reshape(2, -1).sum(1).numpy() - rise(model, x, base, 1).numpy()).max() > 1e-2


def test_lrp_is_refused_for_activations_it_has_no_rule_for():
    for act in ("tanh", "sigmoid", "gelu", "leaky_relu"):
        why = A.METHODS["lrp"].why_not(
            A.declared_points(build_model(MLPConfig((4,), 2, (5,), activation=act))), "table"
        )
        assert why == f"LRP here passes relevance through ReLUs only, and this network uses {act}."
    with pytest.raises(ValueError, match="LRP has no rule for Tanh"):  # a plain module: refused when computed
        A.attribute_batch(nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)), torch.zeros(1, 3), 0, "lrp")


@pytest.mark.parametrize("name", list(CONFIGS))
def test_every_method_that_applies_runs_and_leaves_the_network_as_it_was(name):
    model = net(name)
    x, base = inputs(name, 2)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    ran = []
    for method in A.METHODS:
        if applies(name, method):
            out = A.attribute_batch(model, x, 1, method, base, steps=8, window=2)
            assert out.shape[0] == 2 and np.isfinite(out).all(), method
            ran.append(method)
    assert {"saliency", "integrated_gradients", "interior_gradients", "lime", "kernel_shap"} <= set(ran)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert no_hooks(model) and all(p.grad is None for p in model.parameters())
