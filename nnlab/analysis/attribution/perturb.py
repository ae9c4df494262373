"""LIME and KernelSHAP: switch parts of the input to the baseline, watch the score, fit a linear model to it.

Stage: analysis, called through `table.METHODS` (captum, imported only when asked). The parts of an image are its
superpixels when it is photo-sized (at least SUPERPIXEL_SIDE pixels a side: about 49 regions of like colour, found
by SLIC, as LIME's paper cuts photos), else square patches (about 7×7 of them); every colour channel together. Rows of
features: single features.
Both fit an ordinary weighted linear model, so for a linear network they give exactly weight × (input − baseline).
Random draws are seeded by the caller (`records.attribute_batch`), so the same input gives the same map.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .gradients import copies_at_once

SAMPLES = 256  # switched-off copies per input
PATCHES_PER_SIDE = 7  # about this many patches along each side of an image
SUPERPIXEL_SIDE = 64  # images at least this many pixels a side are cut into superpixels, smaller ones into patches
SUPERPIXELS = PATCHES_PER_SIDE**2  # about this many superpixels
COMPACTNESS = 1.0  # SLIC's weight of position against colour: one grid step apart weighs as one colour spread


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


def superpixels(image: torch.Tensor, n: int = SUPERPIXELS, *, iterations: int = 8) -> torch.Tensor:
    """SLIC superpixels (Achanta et al. 2012) of one image `(C, H, W)` → ids `(H, W)` int64, 0..m-1, m near `n`.

    Seeds on a grid of step S; each round every pixel joins the nearest seed within 2S rows and columns by
    ‖Δcolour‖² / σ² + COMPACTNESS² · ‖Δposition‖² / S² (σ: the image's spread of values) and each seed moves to its
    pixels' mean. Then each region keeps its largest 4-connected piece; the other pieces go to a neighbouring region.
    A large image is first averaged down in blocks to about SUPERPIXEL_SIDE pixels a side, each block then taking
    its region (224 pixels: 4×4 blocks; a hundred times faster, the edges 4 pixels coarse)."""
    from scipy import ndimage

    full = image.shape[1:]
    shrink = max(1, min(full) // SUPERPIXEL_SIDE)  # found on the image averaged down to about 64 pixels a side
    small = torch.nn.functional.avg_pool2d(image.detach().float()[None], shrink)[0] if shrink > 1 else image
    c, h, w = small.shape
    colour = small.detach().float().reshape(c, -1).T.numpy().astype(np.float64)  # (h·w, C)
    colour = colour / max(float(colour.std()), 1e-6)
    step = max(1.0, math.sqrt(h * w / max(1, n)))
    rows, cols = np.mgrid[0:h, 0:w]
    pos = np.stack([rows.ravel(), cols.ravel()], 1).astype(np.float64)  # (H·W, 2)
    seed_r = np.arange(step / 2, h, step)
    seed_c = np.arange(step / 2, w, step)
    centres = np.array([(r, q) for r in seed_r for q in seed_c])  # (K, 2)
    index = np.minimum(centres.round().astype(int), [h - 1, w - 1])
    centre_colour = colour[index[:, 0] * w + index[:, 1]]  # (K, C)
    for _ in range(iterations):
        near = np.abs(pos[:, None, :] - centres[None, :, :]).max(2) <= 2 * step  # (H·W, K)
        d = ((colour[:, None, :] - centre_colour[None]) ** 2).sum(2)
        d += COMPACTNESS**2 * ((pos[:, None, :] - centres[None]) ** 2).sum(2) / step**2
        label = np.where(near, d, np.inf).argmin(1)  # (H·W,)
        counts = np.bincount(label, minlength=len(centres))
        kept = counts > 0
        for dim in range(2):
            centres[kept, dim] = np.bincount(label, pos[:, dim], len(centres))[kept] / counts[kept]
        for ch in range(c):
            centre_colour[kept, ch] = np.bincount(label, colour[:, ch], len(centres))[kept] / counts[kept]
    label = label.reshape(h, w)
    ids = np.full((h, w), -1, np.int64)
    for region in np.unique(label):
        pieces, found = ndimage.label(label == region)  # 4-connected
        if found:
            sizes = np.bincount(pieces.ravel())[1:]
            ids[pieces == 1 + int(sizes.argmax())] = region
    while (ids < 0).any():  # stray pieces take a neighbour's region, one pixel ring at a time
        for shift in ((1, 0), (-1, 0), (1, 1), (-1, 1)):
            moved = np.roll(ids, shift[0], axis=shift[1])
            edge = [slice(None)] * 2
            edge[shift[1]] = 0 if shift[0] == 1 else -1
            moved[tuple(edge)] = -1  # nothing wraps round the image
            ids = np.where((ids < 0) & (moved >= 0), moved, ids)
    ids = np.unique(ids, return_inverse=True)[1].reshape(h, w)
    rows = np.minimum(np.arange(full[0]) // shrink, h - 1)  # each pixel takes its averaged block's region
    cols = np.minimum(np.arange(full[1]) // shrink, w - 1)
    return torch.from_numpy(ids[rows[:, None], cols[None, :]].astype(np.int64))


def mask_of(x_one: torch.Tensor) -> torch.Tensor | None:
    """Which part each value of one input `(1, *shape)` belongs to: superpixels of a photo-sized image, square
    patches of a smaller one (ids shared by the colour channels), None (each value its own part) for features."""
    shape = tuple(x_one.shape[1:])
    if len(shape) == 3 and min(shape[1:]) >= SUPERPIXEL_SIDE:
        return superpixels(x_one[0]).expand(shape)[None].contiguous()
    return feature_mask(shape)


def _each(explainer, x, target, baseline, model, **kwargs):
    """captum's perturbation explainers take one sample at a time: `(N, *shape)` from N calls."""
    targets = target if isinstance(target, list) else [target] * len(x)
    at_once = min(SAMPLES, copies_at_once(model, x, grad=False))  # switched-off copies through the network at once
    out = [
        explainer.attribute(
            x[i : i + 1],
            baselines=baseline[i : i + 1],
            target=int(targets[i]),
            feature_mask=mask_of(x[i : i + 1]),
            n_samples=SAMPLES,
            perturbations_per_eval=at_once,
            **kwargs,
        )
        for i in range(len(x))
    ]
    return torch.cat(out) if out else torch.zeros_like(x)


def lime(model, x, target, *, baseline, **_):
    from captum._utils.models.linear_model import SkLearnLinearRegression
    from captum.attr import Lime

    return _each(Lime(model, interpretable_model=SkLearnLinearRegression()), x, target, baseline, model)


def kernel_shap(model, x, target, *, baseline, **_):
    from captum.attr import KernelShap

    return _each(KernelShap(model), x, target, baseline, model)
