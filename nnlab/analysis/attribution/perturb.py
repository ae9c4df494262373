"""LIME and KernelSHAP: switch parts of the input to the baseline, watch the score, fit a linear model to it.

Stage: analysis, called through `table.METHODS` (captum, imported only when asked). The parts are square patches
of an image (superpixel-like, about 7×7 of them, every colour channel together) and single features otherwise.
Both fit an ordinary weighted linear model, so for a linear network they give exactly weight × (input − baseline).
Random draws are seeded by the caller (`records.attribute_batch`), so the same input gives the same map.
"""

from __future__ import annotations

import math

import torch

SAMPLES = 256  # switched-off copies per input
PATCHES_PER_SIDE = 7  # about this many patches along each side of an image


def patch_side(shape: tuple[int, ...]) -> int:
    """The side of LIME's and KernelSHAP's square patches for an image of `shape` (C, H, W)."""
    return max(1, math.ceil(min(shape[-2:]) / PATCHES_PER_SIDE))


def feature_mask(shape: tuple[int, ...]) -> torch.Tensor | None:
    """Which part each input value belongs to, `(1, *shape)`: one id per square patch of an image (shared by its
    channels); None (each value its own part) for features."""
    if len(shape) != 3:
        return None
    c, h, w = shape
    side = patch_side(shape)
    rows, cols = torch.arange(h) // side, torch.arange(w) // side
    ids = rows[:, None] * (-(-w // side)) + cols[None, :]  # (H, W)
    return ids.expand(c, h, w)[None].contiguous()


def _each(explainer, x, target, baseline, **kwargs):
    """captum's perturbation explainers take one sample at a time: `(N, *shape)` from N calls."""
    mask = feature_mask(tuple(x.shape[1:]))
    targets = target if isinstance(target, list) else [target] * len(x)
    out = [
        explainer.attribute(
            x[i : i + 1],
            baselines=baseline[i : i + 1],
            target=int(targets[i]),
            feature_mask=mask,
            n_samples=SAMPLES,
            perturbations_per_eval=SAMPLES,
            **kwargs,
        )
        for i in range(len(x))
    ]
    return torch.cat(out) if out else torch.zeros_like(x)


def lime(model, x, target, *, baseline, **_):
    from captum._utils.models.linear_model import SkLearnLinearRegression
    from captum.attr import Lime

    return _each(Lime(model, interpretable_model=SkLearnLinearRegression()), x, target, baseline)


def kernel_shap(model, x, target, *, baseline, **_):
    from captum.attr import KernelShap

    return _each(KernelShap(model), x, target, baseline)
