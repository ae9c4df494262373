"""Attribution: which parts of one input drive the score of one class, and the same averaged over each class.

Stage: run (weights of one snapshot, replayed) → analysis → `nnlab.figures.attribution`. `METHODS` is the one table
of methods (saliency, integrated gradients, Grad-CAM, occlusion): a new method is one `Method` entry there. Each
entry says what it needs (a point layout of the network, a kind of input) and computes with captum, imported only
when an attribution is asked for. The model is only read (Grad-CAM hooks one layer for the duration of a call).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import nn

from ..data.dataset import kind_of_shape
from ..models import ACTIVATIONS, Point, model_kind

INPUT_WORDS = {"image": "images", "plane": "2-D coordinates", "table": "rows of features"}  # a dataset's kind
LAYOUT_WORDS = {"map": "feature maps (channels × height × width)", "tokens": "tokens", "vector": "units"}


@dataclass(frozen=True)
class Method:
    """One attribution method: what its map says, where it comes from, what it needs and how it is computed."""

    name: str  # the key: "saliency", ...
    title: str  # "Saliency": what panels and pickers show
    meaning: str  # what its map says, in one line
    paper: str  # a link to the paper it comes from
    signed: bool  # True: positive speaks for the class, negative against it; False: never negative
    compute: Callable[..., torch.Tensor]  # (model, x (N, *shape), target, *, baseline, steps, window) → (N, *shape)
    layout: str | None = None  # the network needs a point of this layout ("map": feature maps)
    input: str | None = None  # the samples must be of this kind ("image")
    averaged: bool = True  # fast enough to average over hundreds of samples

    def why_not(self, run_or_points, dataset) -> str | None:
        """Why this method does not apply, in one sentence (None: it does). `run_or_points`: a `Run` or its points
        (None for a plain module: layouts unknown, not checked); `dataset`: a `Dataset` or its kind ("image", ...)."""
        points, network = _network(run_or_points)
        model_kind = getattr(run_or_points, "model_kind", None)  # a kind may say why in its own words
        reason = model_kind.skip_reason(f"attribution:{self.name}") if model_kind is not None else None
        if reason:
            return reason
        kind = dataset if isinstance(dataset, str) else dataset.kind
        if self.input and kind != self.input:
            return f"{self.title} needs {INPUT_WORDS[self.input]}, and these samples are {INPUT_WORDS.get(kind, kind)}."
        if self.layout and points is not None and not any(p.layout == self.layout for p in points):
            return f"{self.title} needs a layer of {LAYOUT_WORDS[self.layout]}, and {network} has none."
        return None


def _network(run_or_points) -> tuple[Sequence[Point] | None, str]:
    """The points of a `Run` (or the points given) and the network in words ("this MLP")."""
    if run_or_points is None or isinstance(run_or_points, Sequence):
        return run_or_points, "this network"
    kind = run_or_points.model_kind
    return run_or_points.points(), f"this {kind.title}" if kind else "this network"


def declared_points(model: nn.Module) -> list[Point] | None:
    """The points an nnlab network declares (no shapes); None for a plain module."""
    config = getattr(model, "config", None)
    return model_kind(config.kind).declare(config) if config is not None else None


def gradcam_layer(model: nn.Module) -> str | None:
    """The module Grad-CAM reads: the last activated feature map the network declares (else its last feature map);
    for a plain module, the activation right after the last convolution. None without feature maps."""
    points = declared_points(model)
    if points is not None:
        maps = [p for p in points if p.layout == "map" and p.module]
        last = [p for p in maps if p.role == "activated"] or maps
        return last[-1].module if last else None
    names = [(n, m) for n, m in model.named_modules() if n]
    convs = [i for i, (_, m) in enumerate(names) if isinstance(m, nn.Conv2d)]
    if not convs:
        return None
    i = convs[-1]
    for name, module in names[i + 1 : i + 3]:  # a batch norm may sit between the convolution and its activation
        if isinstance(module, tuple(ACTIVATIONS.values())):
            return name
    return names[i][0]


# --- how each method computes: x is a fresh float leaf (N, *shape), the model in eval mode ---------------------------
def _saliency(model, x, target, **_):
    from captum.attr import Saliency  # ~1 s to import: only when an attribution is asked for

    return Saliency(model).attribute(x.requires_grad_(), target=target, abs=True)


def _integrated_gradients(model, x, target, *, baseline, steps=32, **_):
    from captum.attr import IntegratedGradients

    ig = IntegratedGradients(model)
    return ig.attribute(x.requires_grad_(), baselines=baseline, target=target, n_steps=steps, internal_batch_size=4096)


def _grad_cam(model, x, target, **_):
    from captum.attr import LayerAttribution, LayerGradCam

    name = gradcam_layer(model)
    if name is None:
        raise ValueError(f"Grad-CAM needs a layer of {LAYOUT_WORDS['map']}, and this network has none.")
    cam = LayerGradCam(model, model.get_submodule(name)).attribute(x.requires_grad_(), target, relu_attributions=True)
    return LayerAttribution.interpolate(cam, tuple(x.shape[-2:]), "bilinear").clamp_min(0)  # (N, 1, H, W)


def _occlusion(model, x, target, *, baseline, window=4, **_):
    from captum.attr import Occlusion

    c, h, w = x.shape[1:]
    side = max(1, min(window, h, w))
    stride = (c, max(1, side // 2), max(1, side // 2))
    return Occlusion(model).attribute(x, (c, side, side), strides=stride, baselines=baseline, target=target)


METHODS = {  # the order is the page's
    m.name: m
    for m in (
        Method(
            "saliency",
            "Saliency",
            "how much a small change of each input value would move the score (|gradient|)",
            "https://arxiv.org/abs/1312.6034",
            False,
            _saliency,
        ),
        Method(
            "integrated_gradients",
            "Integrated gradients",
            "each input value's share of the score's rise from the baseline to this input",
            "https://arxiv.org/abs/1703.01365",
            True,
            _integrated_gradients,
        ),
        Method(
            "grad_cam",
            "Grad-CAM",
            "where in the last convolution's feature maps the evidence for the class sits",
            "https://arxiv.org/abs/1610.02391",
            False,
            _grad_cam,
            layout="map",
        ),
        Method(
            "occlusion",
            "Occlusion",
            "how much the score drops when a patch of the input is covered by the baseline",
            "https://arxiv.org/abs/1311.2901",
            True,
            _occlusion,
            input="image",
            averaged=False,  # one forward pass per patch position: too slow for hundreds of samples
        ),
    )
}


def find_method(name: str) -> Method:
    """The table's entry for `name`; ValueError naming the choices for an unknown one."""
    if name not in METHODS:
        raise ValueError(f"Unknown attribution method {name!r}; choose one of {', '.join(METHODS)}")
    return METHODS[name]


def reasons(run_or_points, dataset) -> dict[str, str | None]:
    """Every method's `why_not` for this network and data, in the table's order (None: it applies)."""
    return {name: m.why_not(run_or_points, dataset) for name, m in METHODS.items()}


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
    """The names of the input's features, for bars and heatmaps ([] for images)."""
    if dataset.is_image:
        return []
    return ["x₁", "x₂"] if dataset.is_2d else [f"feature {i}" for i in range(int(np.prod(dataset.input_shape)))]


def occlusion_windows(dataset) -> tuple[list[int], int]:
    """The occlusion patch sides worth offering for an image dataset (up to half the image), and the default."""
    side = min(dataset.input_shape[1:])
    return [s for s in (1, 2, 3, 4, 6, 8, 12, 16) if s <= max(1, side // 2)], min(4, max(1, side // 4))


@dataclass(frozen=True)
class AttributionInfo:
    """What the page draws for one sample: each method's map of one class score."""

    index: int  # the test sample (-1: an input of your own)
    target: int  # the class whose score is explained
    maps: list[Attribution]  # one per method, in the table's order
    image: np.ndarray | None  # the sample as uint8 (H, W) or (H, W, 3) for images; None for features
    features: list[str]  # the input features' names ([] for images)
    baseline: str  # the "nothing here" input, in words


def attribution_info(
    run, k: int, dataset, index: int, target: int, methods: Sequence[str] | None = None, *, steps=32, window=4
) -> AttributionInfo:
    """Snapshot `k` of a `Run`: each method's attribution of class `target` for test sample `index` of `dataset`.

    `methods`: names from METHODS (default: every one that applies); `steps`, `window`: as for `attribute`.
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
        methods = [name for name, why in reasons(run, dataset).items() if why is None]
    model = run.model_at(k)  # a private copy: Grad-CAM hooks a layer of it
    base = baseline(dataset)
    maps = [attribute(model, x, target, m, baseline=base, steps=steps, window=window) for m in methods]
    return AttributionInfo(-1, int(target), maps, image, feature_names(dataset), baseline_words(dataset))


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
