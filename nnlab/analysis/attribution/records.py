"""Attribution records: one input's map per method, the class averages, and the page's records of a run.

Stage: run (weights of one snapshot, replayed) → analysis → `nnlab.figures.attribution`. `attribute_batch` runs any
method of `table.METHODS` with its random draws seeded, so one input always gets the same map; the model is only
read (a method may hook one layer for the duration of a call).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import nn

from ...data.dataset import kind_of_shape
from . import gradients
from .table import METHODS, declared_points, find_method, reasons


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
    return Attribution(method, int(target), values, METHODS[method].signed)


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
    ((N, 1, H, W) for Grad-CAM). Raises ValueError with the reason when the method does not apply."""
    m = find_method(method)
    reason = m.why_not(declared_points(model), kind_of_shape(tuple(x.shape[1:])))  # a plain module: its input shape
    if reason:
        raise ValueError(reason)
    x = x.detach().float()  # a fresh leaf: captum differentiates it
    if isinstance(target, torch.Tensor):
        target = target.long().tolist()
    base = torch.zeros_like(x) if baseline is None else baseline.detach().float().expand_as(x)
    was_training = model.training
    model.eval()
    try:
        with torch.random.fork_rng(devices=[]):  # SmoothGrad's noise, LIME's and KernelSHAP's draws: seeded
            torch.manual_seed(0)
            out = m.compute(model, x, target, baseline=base, steps=steps, window=window)
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


# --- the page's records: a Run at one snapshot, and the run's dataset (normalised as in training) -------------------
def baseline(dataset) -> torch.Tensor | None:
    """The "nothing here" input, prepared: a black image for images; None (zeros: the training mean) otherwise."""
    if not dataset.is_image:
        return None
    return dataset.prepare(np.zeros((1, *dataset.input_shape), dtype=dataset.x_test.dtype))


def baseline_words(dataset) -> str:
    return "a black image" if dataset.is_image else "the average input"


def feature_names(dataset) -> list[str]:
    """The names of the input's features, for bars and heatmaps: a CSV header's, else numbered ([] for images)."""
    if dataset.is_image:
        return []
    if getattr(dataset, "feature_names", ()):
        return list(dataset.feature_names)
    if dataset.is_2d:
        return list(dataset.plane_axes)
    return [f"feature {i}" for i in range(int(np.prod(dataset.input_shape)))]


OCCLUSION_SIDES = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64)


def occlusion_windows(dataset) -> tuple[list[int], int]:
    """The occlusion patch sides worth offering for an image dataset (up to half the image), and the default: 4
    pixels on small images (at most a quarter of the side); on photos (64 pixels a side or more) about a quarter of
    the side (48 on 224: 81 patch positions at a stride of 24, where 4 pixels would cover 12,000, a forward pass
    each)."""
    side = min(dataset.input_shape[1:])
    sides = [s for s in OCCLUSION_SIDES if s <= max(1, side // 2)]
    if side >= 64:
        return sides, max(s for s in sides if s <= side // 4)
    return sides, min(4, max(1, side // 4))


@dataclass(frozen=True)
class InteriorStrip:
    """Interior gradients of one input: the gradient of one class score at each scaled input baseline + α·(x −
    baseline), α in (0, 1] (Sundararajan et al. 2016)."""

    target: int  # the class whose score is differentiated
    alphas: np.ndarray  # (A,) increasing, the last 1 (the input itself)
    maps: np.ndarray  # (A, H, W) for images (channels summed), (A, F) for features: signed gradients
    scores: np.ndarray  # (A,) the class score (logit) at each scaled input


def interior_strip(
    model: nn.Module,
    x: torch.Tensor,
    target: int,
    *,
    baseline: torch.Tensor | None = None,
    alphas: Sequence[float] = gradients.INTERIOR_ALPHAS,
) -> InteriorStrip:
    """The interior gradients of `model`'s score of class `target` for one prepared input `x` `(1, *shape)`, from
    `baseline` (default zeros, as `attribute`); the model is only read."""
    x = x.detach().float()
    base = torch.zeros_like(x) if baseline is None else baseline.detach().float().expand_as(x)
    was_training = model.training
    model.eval()
    try:
        grads, scores = gradients.interior_strip(model, x, int(target), baseline=base, alphas=list(alphas))
    finally:
        model.train(was_training)
    maps = grads[:, 0].numpy().astype(np.float32)  # (A, *shape)
    if maps.ndim == 4:
        maps = maps.sum(axis=1)  # an image's channels summed
    return InteriorStrip(int(target), np.asarray(alphas, np.float32), maps, scores[:, 0].numpy().astype(np.float32))


@dataclass(frozen=True)
class AttributionInfo:
    """What the page draws for one sample: each method's map of one class score."""

    index: int  # the test sample (-1: an input of your own)
    target: int  # the class whose score is explained
    maps: list[Attribution]  # one per method, in the table's order
    image: np.ndarray | None  # the sample as uint8 (H, W) or (H, W, 3) for images; None for features
    features: list[str]  # the input features' names ([] for images)
    baseline: str  # the "nothing here" input, in words
    strip: InteriorStrip | None = None  # interior gradients over α, when they are among the methods


def attribution_info(
    run, k: int, dataset, index: int, target: int, methods: Sequence[str] | None = None, *, steps=32, window=4
) -> AttributionInfo:
    """Snapshot `k` of a `Run`: each method's attribution of class `target` for test sample `index` of `dataset`.

    `methods`: names from METHODS (default: the default ones that apply); `steps`, `window`: as for `attribute`.
    """
    x = dataset.prepare(dataset.x_test[index : index + 1])  # (1, *shape)
    image = dataset.display_images(dataset.x_test[index : index + 1])[0] if dataset.is_image else None
    info = input_attribution_info(run, k, dataset, x, target, methods, image=image, steps=steps, window=window)
    return replace(info, index=int(index))


def input_attribution_info(
    run,
    k: int,
    dataset,
    x: torch.Tensor,
    target: int,
    methods: Sequence[str] | None = None,
    *,
    image: np.ndarray | None = None,
    steps=32,
    window=4,
) -> AttributionInfo:
    """As `attribution_info`, for any prepared input `x` `(1, *shape)` (your own drawing, say); `image` is how it
    looks (uint8, for image data). The record's `index` is -1."""
    if methods is None:
        methods = [name for name, why in reasons(run, dataset).items() if why is None and METHODS[name].default]
    model = run.model_at(k)  # a private copy: Grad-CAM hooks a layer of it
    base = baseline(dataset)
    maps = [attribute(model, x, target, m, baseline=base, steps=steps, window=window) for m in methods]
    strip = interior_strip(model, x, target, baseline=base) if "interior_gradients" in methods else None
    return AttributionInfo(-1, int(target), maps, image, feature_names(dataset), baseline_words(dataset), strip)


@dataclass(frozen=True)
class ClassAverageInfo:
    """Each class's mean attribution to its own class."""

    method: str  # a key of METHODS
    values: np.ndarray  # (K, H, W) for images (channels summed), (K, F) for features
    features: list[str]  # the input features' names ([] for images)


def class_average_info(run, k: int, dataset, method: str, per_class: int = 20, *, seed: int = 0) -> ClassAverageInfo:
    """Snapshot `k` of a `Run`: `method`'s mean attribution over up to `per_class` seeded test samples of each class
    (the same samples at every snapshot), each toward its own class."""
    idx = class_samples(dataset.y_test, per_class, seed)
    x = dataset.prepare(dataset.x_test[idx])  # (n, *shape)
    values = class_average(
        run.model_at(k), x, dataset.y_test[idx], method, dataset.n_classes, baseline=baseline(dataset)
    )
    return ClassAverageInfo(method, values, feature_names(dataset))


@dataclass(frozen=True)
class FeatureShareInfo:
    """KernelSHAP for rows of features: one sample's signed values, and each class's mean absolute value."""

    index: int  # the test sample
    target: int  # the class whose score the sample's values explain
    values: np.ndarray  # (F,) signed: the sample's Shapley value per feature
    per_class: np.ndarray  # (K, F): mean |value| over each class's samples, each toward its own class
    features: list[str]  # the features' names
    per_class_n: int  # samples per class behind `per_class`


def feature_share_info(run, k: int, dataset, index: int, target: int, per_class: int = 5, *, seed: int = 0):
    """Snapshot `k` of a `Run` on features: KernelSHAP of class `target` for test sample `index`, and the mean
    absolute KernelSHAP value of each feature over up to `per_class` seeded test samples of each class."""
    model, base = run.model_at(k), baseline(dataset)
    x = dataset.prepare(dataset.x_test[index : index + 1])
    one = attribute_batch(model, x, int(target), "kernel_shap", base)[0]
    idx = class_samples(dataset.y_test, per_class, seed)
    labels = dataset.y_test[idx]
    x = dataset.prepare(dataset.x_test[idx])  # (n, F)
    values = np.abs(attribute_batch(model, x, torch.as_tensor(labels), "kernel_shap", base))
    out = np.zeros((dataset.n_classes, values.shape[1]), np.float32)
    for c in range(dataset.n_classes):
        if (labels == c).any():
            out[c] = values[labels == c].mean(axis=0)
    return FeatureShareInfo(int(index), int(target), one, out, feature_names(dataset), per_class)
