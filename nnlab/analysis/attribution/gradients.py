"""How the gradient methods of the table compute, with captum (imported only when an attribution is asked for).

Stage: analysis, called through `table.METHODS`. Each function takes the model (eval mode), `x` a fresh float leaf
`(N, *shape)`, the target class (one, or one per sample) and keyword settings, and returns `(N, *shape)` (Grad-CAM:
`(N, 1, H, W)`). captum removes every hook it sets before it returns.
"""

from __future__ import annotations

from .network import gradcam_layer

SMOOTHGRAD_SAMPLES = 16  # noisy copies per input
SMOOTHGRAD_NOISE = 0.15  # the noise's standard deviation, as a share of the input's range (the paper's 10–20%)


def saliency(model, x, target, **_):
    from captum.attr import Saliency  # ~1 s to import: only when an attribution is asked for

    return Saliency(model).attribute(x.requires_grad_(), target=target, abs=True)


def integrated_gradients(model, x, target, *, baseline, steps=32, **_):
    from captum.attr import IntegratedGradients

    ig = IntegratedGradients(model)
    return ig.attribute(x.requires_grad_(), baselines=baseline, target=target, n_steps=steps, internal_batch_size=4096)


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
    return Occlusion(model).attribute(x, (c, side, side), strides=stride, baselines=baseline, target=target)


def smoothgrad(model, x, target, **_):
    from captum.attr import NoiseTunnel, Saliency

    spread = float(x.max() - x.min()) or 1.0
    return NoiseTunnel(Saliency(model)).attribute(
        x.requires_grad_(),
        nt_type="smoothgrad",
        nt_samples=SMOOTHGRAD_SAMPLES,
        nt_samples_batch_size=SMOOTHGRAD_SAMPLES,
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


def deeplift(model, x, target, *, baseline, **_):
    import warnings

    from captum.attr import DeepLift

    with warnings.catch_warnings():  # captum warns that it sets backward hooks, and about the model's eval mode
        warnings.simplefilter("ignore", UserWarning)
        return DeepLift(model).attribute(x.requires_grad_(), baselines=baseline, target=target)
