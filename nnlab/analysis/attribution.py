"""Attribution: which parts of one input drive the score of one class (saliency, integrated gradients, Grad-CAM,
occlusion), and the same averaged over the samples of each class.

Stage: run (weights of one snapshot, replayed) → analysis → `nnlab.figures.attribution`. The methods are captum's,
imported only when an attribution is asked for. Pure: a model and prepared inputs in, numpy arrays out; the model is
only read (Grad-CAM hooks one layer for the duration of a call, so give each thread its own model).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..models import ACTIVATIONS

METHODS = {  # name → (title, what it says); the order is the page's
    "saliency": ("Saliency", "how much a small change of each input value would move the score (|gradient|)"),
    "integrated_gradients": (
        "Integrated gradients",
        "each input value's share of the score's rise from the baseline to this input",
    ),
    "grad_cam": ("Grad-CAM", "where in the last convolution's feature maps the evidence for the class sits"),
    "occlusion": ("Occlusion", "how much the score drops when a patch of the input is covered by the baseline"),
}
SIGNED = {"integrated_gradients", "occlusion"}  # the rest are never negative


@dataclass(frozen=True)
class Attribution:
    """One method's attribution of one class score to one input."""

    method: str  # a key of METHODS
    target: int  # the class whose score is explained
    values: np.ndarray  # one input's shape: (C, H, W) for images (Grad-CAM: (1, H, W)), (F,) for features
    signed: bool  # True: positive values speak for the class, negative against it (draw centred on zero)

    def summed(self) -> np.ndarray:
        """Values with an image's colour channels summed: (H, W) for images, (F,) for features."""
        return self.values.sum(axis=0) if self.values.ndim == 3 else self.values


def gradcam_layer(model: nn.Module) -> str | None:
    """The layer Grad-CAM reads: the activation right after the last convolution (else that convolution); None
    without convolutions."""
    names = [(n, m) for n, m in model.named_modules() if n]
    convs = [i for i, (_, m) in enumerate(names) if isinstance(m, nn.Conv2d)]
    if not convs:
        return None
    i = convs[-1]
    for name, module in names[i + 1 : i + 3]:  # a batch norm may sit between the convolution and its activation
        if isinstance(module, tuple(ACTIVATIONS.values())):
            return name
    return names[i][0]


def methods_for(model: nn.Module, x: torch.Tensor) -> list[str]:
    """The methods that apply: Grad-CAM needs a convolution, occlusion an image."""
    return [
        m
        for m in METHODS
        if not (m == "grad_cam" and gradcam_layer(model) is None) and not (m == "occlusion" and x.dim() != 4)
    ]


def attribute(
    model: nn.Module,
    x: torch.Tensor,
    target: int,
    method: str,
    *,
    baseline: torch.Tensor | None = None,
    steps: int = 32,
    window: int = 4,
) -> Attribution:
    """Attribute `model`'s score (logit) of class `target` for one prepared input `x` `(1, *shape)` with `method`.

    `baseline` `(1, *shape)` is the "nothing here" input that integrated gradients start from and occlusion paints
    over the input (default zeros: the mean input, after normalisation). `steps`: integrated gradients' path steps;
    `window`: occlusion's square patch side (stride half of it).
    """
    values = attribute_batch(model, x, int(target), method, baseline, steps, window)[0]
    return Attribution(method, int(target), values, method in SIGNED)


def attribute_batch(
    model: nn.Module,
    x: torch.Tensor,
    target: int | torch.Tensor,
    method: str,
    baseline: torch.Tensor | None = None,
    steps: int = 32,
    window: int = 4,
) -> np.ndarray:
    """`attribute` for a batch `x` `(N, *shape)` (targets: one class or one per sample); returns `(N, *shape)`
    ((N, 1, H, W) for Grad-CAM)."""
    import captum.attr as ca  # ~1 s to import: only when an attribution is asked for

    if method not in METHODS:
        raise ValueError(f"Unknown attribution method {method!r}; choose one of {', '.join(METHODS)}")
    if method not in methods_for(model, x):
        raise ValueError(f"{METHODS[method][0]} needs {'a convolution' if method == 'grad_cam' else 'image input'}")
    x = x.detach().float().requires_grad_(method != "occlusion")  # a fresh leaf: captum differentiates it
    if isinstance(target, torch.Tensor):
        target = target.long().tolist()
    base = torch.zeros_like(x) if baseline is None else baseline.detach().float().expand_as(x)
    was_training = model.training
    model.eval()
    try:
        if method == "saliency":
            out = ca.Saliency(model).attribute(x, target=target, abs=True)
        elif method == "integrated_gradients":
            ig = ca.IntegratedGradients(model)
            out = ig.attribute(x, baselines=base, target=target, n_steps=steps, internal_batch_size=4096)
        elif method == "grad_cam":
            layer = model.get_submodule(gradcam_layer(model))
            cam = ca.LayerGradCam(model, layer).attribute(x, target=target, relu_attributions=True)
            out = ca.LayerAttribution.interpolate(cam, tuple(x.shape[-2:]), "bilinear").clamp_min(0)
        else:
            c, h, w = x.shape[1:]
            side = max(1, min(window, h, w))
            stride = (c, max(1, side // 2), max(1, side // 2))
            occ = ca.Occlusion(model)
            out = occ.attribute(x, sliding_window_shapes=(c, side, side), strides=stride, baselines=base, target=target)
    finally:
        model.train(was_training)
    return out.detach().cpu().numpy().astype(np.float32)


def class_average(
    model: nn.Module,
    x: torch.Tensor,
    labels: np.ndarray,
    method: str,
    n_classes: int,
    *,
    baseline: torch.Tensor | None = None,
    batch: int = 256,
    **kwargs,
) -> np.ndarray:
    """The mean attribution of each class's samples to their own class: `(n_classes, *shape)`, channels summed for
    images (`(n_classes, H, W)`); a class without samples is all zeros."""
    labels = np.asarray(labels)
    maps = []
    for i in range(0, len(x), batch):
        a = attribute_batch(model, x[i : i + batch], torch.as_tensor(labels[i : i + batch]), method, baseline, **kwargs)
        maps.append(a.sum(axis=1) if a.ndim == 4 else a)  # an image's channels summed
    shape = x.shape[2:] if x.dim() == 4 else x.shape[1:]
    maps = np.concatenate(maps) if maps else np.zeros((0, *shape), np.float32)
    out = np.zeros((n_classes, *maps.shape[1:]), np.float32)
    for k in range(n_classes):
        if (labels == k).any():
            out[k] = maps[labels == k].mean(axis=0)
    return out


def class_samples(labels: np.ndarray, per_class: int, seed: int = 0) -> np.ndarray:
    """Up to `per_class` seeded indices of each class, in index order."""
    rng = np.random.default_rng(seed)
    labels = np.asarray(labels)
    picks = [rng.permutation(np.flatnonzero(labels == k))[:per_class] for k in np.unique(labels)]
    return np.sort(np.concatenate(picks)) if picks else np.zeros(0, np.int64)
