"""How the gradient methods of the table compute, with captum (imported only when an attribution is asked for).

Stage: analysis, called through `table.METHODS`. Each function takes the model (eval mode), `x` a fresh float leaf
`(N, *shape)`, the target class (one, or one per sample) and keyword settings, and returns `(N, *shape)` (Grad-CAM:
`(N, 1, H, W)`). captum removes every hook it sets before it returns; so does every hook set here (try/finally).

DeepLift works around captum 0.9's issue #1104 (fixed upstream, not released): where a ReLU feeds a max pool, its
ReLU hook and its max-pool hook land on the same tensor and the map is wrong (on the default CNN its shares missed
the score's difference by up to 7.4 where the difference was 6.5). A forward pre-hook hands each max pool a clone of
its input, so the two hooks sit on different tensors; the shares then add up to the difference (completeness).

Interior gradients (Sundararajan et al. 2016, "Gradients of counterfactuals") are the gradients at scaled inputs
`baseline + α·(x − baseline)` for α in (0, 1]: α·x itself where the baseline is zero (features: the average input),
the image dimmed toward black for images. LRP is captum's, with the epsilon rule on every layer with weights and the
gamma rule (γ = 0.25) on convolutions, its rules removed and its weights restored before it returns.
"""

from __future__ import annotations

import torch
from torch import nn

from .network import gradcam_layer

SMOOTHGRAD_SAMPLES = 16  # noisy copies per input
SMOOTHGRAD_NOISE = 0.15  # the noise's standard deviation, as a share of the batch's range (the paper's 10–20%)
INTERIOR_ALPHAS = (0.02, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0)  # the strip of interior gradients, dim to whole
INTERNAL_BATCH = 4096  # inputs through the network at once for the path methods, at most (see `copies_at_once`)
ATTRIBUTION_MEMORY = 256 * 2**20  # bytes of layer outputs and their gradients that one batch of copies may hold
LRP_EPSILON = 1e-6  # the epsilon rule's stabiliser: small, so that relevance is conserved where no bias takes a share
LRP_GAMMA = 0.25  # the gamma rule's extra weight on positive contributions, for convolutions


def copies_at_once(model, x, limit: int = INTERNAL_BATCH, *, grad: bool = True) -> int:
    """How many inputs shaped like `x[0]` go through the network at once: as many (up to `limit`) as keep within
    ATTRIBUTION_MEMORY what a pass holds, counted on one pass of one input: with `grad`, every layer's output (what
    autograd keeps for the backward pass); without, three times the largest one (a layer's input, its output and a
    skip connection). A small network takes thousands at once; a photo through EfficientNet-Lite0 (20 M values of
    layer outputs, the largest 1.2 M) 3 with gradients, 17 without."""
    values = []

    def count(module, inputs, output):
        if torch.is_tensor(output) and not list(module.children()):
            values.append(output[0].numel())

    handles = [m.register_forward_hook(count) for m in model.modules()]
    try:
        with torch.no_grad():
            model(x[:1].detach())
    finally:
        for h in handles:
            h.remove()
    per_copy = 4 * (sum(values) if grad else 3 * max(values, default=0))
    return int(max(1, min(limit, ATTRIBUTION_MEMORY // max(1, per_copy))))


def saliency(model, x, target, **_):
    from captum.attr import Saliency  # ~1 s to import: only when an attribution is asked for

    return Saliency(model).attribute(x.requires_grad_(), target=target, abs=True)


def integrated_gradients(model, x, target, *, baseline, steps=32, **_):
    from captum.attr import IntegratedGradients

    ig = IntegratedGradients(model)
    return ig.attribute(
        x.requires_grad_(),
        baselines=baseline,
        target=target,
        n_steps=steps,
        internal_batch_size=copies_at_once(model, x),
    )


def grad_cam(model, x, target, **_):
    from captum.attr import LayerAttribution, LayerGradCam

    name = gradcam_layer(model)
    if name is None:
        raise ValueError(
            "Grad-CAM needs a layer of feature maps (channels × height × width), and this network has none."
        )
    cam = LayerGradCam(model, model.get_submodule(name)).attribute(x.requires_grad_(), target, relu_attributions=True)
    return LayerAttribution.interpolate(cam, tuple(x.shape[-2:]), "bilinear").clamp_min(0)  # (N, 1, H, W)


def occlusion(model, x, target, *, baseline, window=4, **_):
    from captum.attr import Occlusion

    c, h, w = x.shape[1:]
    side = max(1, min(window, h, w))
    stride = (c, max(1, side // 2), max(1, side // 2))
    at_once = max(
        1, copies_at_once(model, x, grad=False) // len(x)
    )  # patches covered at once, each over the whole batch
    return Occlusion(model).attribute(
        x, (c, side, side), strides=stride, baselines=baseline, target=target, perturbations_per_eval=at_once
    )


def smoothgrad(model, x, target, **_):
    """The noise's standard deviation is SMOOTHGRAD_NOISE of the whole batch's value range (max − min over every
    input of `x`), one scale for all of them, not each input's own range."""
    from captum.attr import NoiseTunnel, Saliency

    spread = float(x.max() - x.min()) or 1.0
    return NoiseTunnel(Saliency(model)).attribute(
        x.requires_grad_(),
        nt_type="smoothgrad",
        nt_samples=SMOOTHGRAD_SAMPLES,
        nt_samples_batch_size=max(1, min(SMOOTHGRAD_SAMPLES, copies_at_once(model, x) // len(x))),
        stdevs=SMOOTHGRAD_NOISE * spread,
        target=target,
        abs=True,
    )


def guided_backprop(model, x, target, **_):
    import warnings

    from captum.attr import GuidedBackprop

    with warnings.catch_warnings():  # captum warns that it sets backward hooks on the ReLUs (and removes them)
        warnings.simplefilter("ignore", UserWarning)
        return GuidedBackprop(model).attribute(x.requires_grad_(), target=target)


def input_x_gradient(model, x, target, **_):
    from captum.attr import InputXGradient

    return InputXGradient(model).attribute(x.requires_grad_(), target=target)


def _clone_input(module, inputs):
    return tuple(i.clone() if torch.is_tensor(i) else i for i in inputs)


def deeplift(model, x, target, *, baseline, **_):
    import warnings

    from captum.attr import DeepLift

    pools = [m for m in model.modules() if isinstance(m, (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d))]
    handles = [m.register_forward_pre_hook(_clone_input) for m in pools]  # captum issue #1104 (module docstring)
    try:
        with warnings.catch_warnings():  # captum warns that it sets backward hooks, and about the model's eval mode
            warnings.simplefilter("ignore", UserWarning)
            return DeepLift(model).attribute(x.requires_grad_(), baselines=baseline, target=target)
    finally:
        for h in handles:
            h.remove()


def scaled_inputs(x, baseline, alphas) -> torch.Tensor:
    """`baseline + α·(x − baseline)` for each α: `(A, N, *shape)`."""
    a = torch.as_tensor(alphas, dtype=x.dtype).view(-1, *([1] * x.dim()))
    return baseline[None] + a * (x - baseline)[None]


def interior_strip(model, x, target, *, baseline, alphas=INTERIOR_ALPHAS) -> tuple[torch.Tensor, torch.Tensor]:
    """The interior gradients of the target's score at each α: `(A, N, *shape)`, and the score there `(A, N)`."""
    n = len(x)
    targets = torch.as_tensor(target if isinstance(target, list) else [target] * n, dtype=torch.long)
    scaled = scaled_inputs(x.detach(), baseline.detach(), alphas).reshape(-1, *x.shape[1:])  # (A·N, *shape)
    targets = targets.repeat(len(alphas))
    grads, scores, at_once = [], [], copies_at_once(model, x)
    for i in range(0, len(scaled), at_once):  # as integrated gradients: at most this many copies at once
        part = scaled[i : i + at_once].clone().requires_grad_()
        with torch.enable_grad():
            score = model(part).gather(1, targets[i : i + at_once, None])[:, 0]
            (g,) = torch.autograd.grad(score.sum(), part)  # each score depends on its own copy alone (eval mode)
        grads.append(g.detach())
        scores.append(score.detach())
    return torch.cat(grads).reshape(len(alphas), *x.shape), torch.cat(scores).reshape(len(alphas), n)


def interior_gradients(model, x, target, *, baseline, steps=32, **_):
    """One map per input for the side-by-side panel: the interior gradient at the α (of 1/steps, 2/steps, …, 1)
    where the score rises most steeply, the stretch of the path where the network's evidence comes in."""
    alphas = [i / steps for i in range(steps + 1)]  # α = 0 only for the score at the baseline
    grads, scores = interior_strip(model, x, target, baseline=baseline, alphas=alphas)
    steepest = 1 + torch.diff(scores, dim=0).argmax(0)  # (N,): the end of each input's steepest stretch
    return grads[steepest, torch.arange(len(x))]


LRP_RULES = {  # leaf modules LRP passes relevance through, and the rule each gets ("gamma" or "epsilon")
    nn.Conv2d: "gamma",
    nn.Linear: "epsilon",
    nn.BatchNorm1d: "epsilon",
    nn.BatchNorm2d: "epsilon",
    nn.MaxPool2d: "epsilon",
    nn.AvgPool2d: "epsilon",
    nn.Flatten: "epsilon",
}
LRP_PASSED = (nn.ReLU, nn.Dropout, nn.Identity)  # relevance passes these unchanged


def _lrp_rule(module: nn.Module) -> str | None:
    if type(module) in LRP_RULES:
        return LRP_RULES[type(module)]
    if type(module).__name__ == "GlobalAveragePool":  # nnlab's CNN head (models.cnn): an average, as AvgPool2d
        return "epsilon"
    return None


def lrp(model, x, target, **_):
    import warnings

    from captum.attr import LRP
    from captum.attr._utils.lrp_rules import EpsilonRule, GammaRule

    leaves = [m for m in model.modules() if not list(m.children())]
    unknown = sorted({type(m).__name__ for m in leaves if _lrp_rule(m) is None and not isinstance(m, LRP_PASSED)})
    if unknown:
        raise ValueError(f"LRP has no rule for {', '.join(unknown)}, which this network uses.")
    for m in leaves:
        if (rule := _lrp_rule(m)) is not None:
            m.rule = GammaRule(gamma=LRP_GAMMA) if rule == "gamma" else EpsilonRule(epsilon=LRP_EPSILON)
    state = {k: v.clone() for k, v in model.state_dict().items()}  # the gamma rule changes weights while it runs
    try:
        with warnings.catch_warnings():  # captum warns that it sets backward hooks on the ReLUs (and removes them)
            warnings.simplefilter("ignore", UserWarning)
            return LRP(model).attribute(x.requires_grad_(), target=target)
    finally:
        for m in leaves:
            for attr in ("rule", "activations"):
                if attr in m.__dict__:
                    delattr(m, attr)
        model.load_state_dict(state)
