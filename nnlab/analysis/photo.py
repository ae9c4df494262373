"""A photo through a pretrained network: decoded, preprocessed step by step, classified, looked inside.

Stage: analysis (arrays in, small records out) for the Photo page and `python -m nnlab classify`; the figures are in
`nnlab.figures.photo`. Photos are untrusted: they are decoded from memory by `nnlab.data.own_input.read_image`
(formats, decompression bombs, truncation, CMYK, 16-bit, palettes, EXIF rotation) and never written anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch
from PIL import Image
from torch import nn

from ..data.own_input import read_image
from ..models import forward_points
from ..models.point import Point
from ..models.pretrained import Preprocess, PretrainedNet

MAX_SIDE = 1024  # a decoded photo is shrunk to at most this many pixels a side at once: the network sees 256


@dataclass(frozen=True)
class Photo:
    """A decoded photo: uint8 `(H, W, 3)` RGB (transparency on white), at most MAX_SIDE a side, and what was done."""

    rgb: np.ndarray
    notes: tuple[str, ...] = ()


def read_photo(data: bytes) -> Photo:
    """A photo's file bytes (in memory) → `Photo`. Raises `nnlab.data.own_input.OwnInputError` with the reason."""
    rgb, notes = read_image(data)  # float (H, W, 3) in 0..1
    image = Image.fromarray(np.round(rgb * 255).astype(np.uint8), "RGB")
    if max(image.size) > MAX_SIDE:
        image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    return Photo(np.asarray(image), notes)


def photo_of(rgb: np.ndarray) -> Photo:
    """A photo already in memory as uint8 `(H, W, 3)` (a bundled sample)."""
    return Photo(np.ascontiguousarray(rgb, dtype=np.uint8))


@dataclass(frozen=True)
class Steps:
    """The preprocessing of one photo, step by step."""

    photo: np.ndarray  # uint8 (H, W, 3): as given
    resized: np.ndarray  # uint8 (H', W', 3): shorter side = preprocess.resize
    box: tuple[int, int, int, int]  # (top, left, bottom, right) of the centre crop inside `resized`
    cropped: np.ndarray  # uint8 (crop, crop, 3)
    x: torch.Tensor  # float32 (1, 3, crop, crop): normalised, the network's input


def preprocess(rgb: np.ndarray, pre: Preprocess) -> Steps:
    """Resize the shorter side to `pre.resize` (antialiased), cut the centre `pre.crop` square, normalise."""
    h, w = rgb.shape[:2]
    scale = pre.resize / min(h, w)
    size = (max(pre.crop, round(w * scale)), max(pre.crop, round(h * scale)))  # Pillow's (width, height)
    resized = np.asarray(Image.fromarray(rgb, "RGB").resize(size, Image.Resampling.BILINEAR, reducing_gap=3.0))
    top, left = (resized.shape[0] - pre.crop) // 2, (resized.shape[1] - pre.crop) // 2
    box = (top, left, top + pre.crop, left + pre.crop)
    cropped = np.ascontiguousarray(resized[top : box[2], left : box[3]])
    x = pre.normalise(torch.from_numpy(cropped).permute(2, 0, 1)[None])  # (1, 3, crop, crop)
    return Steps(rgb, resized, box, cropped, x)


def transformed(rgb: np.ndarray, *, rotate: float = 0.0, keep: float = 1.0, flip: bool = False) -> np.ndarray:
    """A changed copy of a photo: rotated by `rotate` degrees (counter-clockwise, the corners filled white), then
    only its centre `keep` share (0.2..1 of each side) kept, then mirrored left-right if `flip`."""
    image = Image.fromarray(rgb, "RGB")
    if rotate:
        image = image.rotate(rotate, Image.Resampling.BILINEAR, fillcolor=(255, 255, 255))
    keep = float(np.clip(keep, 0.2, 1.0))
    if keep < 1.0:
        w, h = image.size
        cw, ch = max(1, round(w * keep)), max(1, round(h * keep))
        image = image.crop(((w - cw) // 2, (h - ch) // 2, (w - cw) // 2 + cw, (h - ch) // 2 + ch))
    if flip:
        image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return np.asarray(image)


def shaped(model: nn.Module, points: list[Point], input_shape: tuple[int, ...]) -> list[Point]:
    """`points` with their one-sample shapes from one forward pass of zeros. For a pretrained network this replaces
    `layer_points`, whose dry run builds the network a second time (its weights read again)."""
    with torch.no_grad():
        out = forward_points(model, torch.zeros(1, *input_shape))
    return [replace(p, shape=tuple(out[p.name].shape[1:])) for p in points]


@dataclass(frozen=True)
class Seen:
    """What the network made of one photo: every declared map point's output and the class probabilities."""

    maps: dict[str, np.ndarray]  # point name → float32 (C, h, w)
    probs: np.ndarray  # float32 (n_classes,)


def look(model: nn.Module, x: torch.Tensor, points: list[Point]) -> Seen:
    """One forward pass of `x` `(1, 3, H, W)` with every map point captured."""
    with torch.no_grad():
        out = forward_points(model, x)
    maps = {p.name: out[p.name][0].float().numpy() for p in points if p.layout == "map"}
    probs = next(out[p.name] for p in points if p.role == "probs")[0].float().numpy()
    return Seen(maps, probs)


@dataclass(frozen=True)
class Ranked:
    """The top classes of one photo, best first."""

    index: np.ndarray  # int (k,)
    names: tuple[str, ...]
    probs: np.ndarray  # float32 (k,)


def top_classes(probs: np.ndarray, classes: tuple[str, ...], k: int = 5) -> Ranked:
    k = max(1, min(int(k), len(probs)))
    index = np.argsort(-probs, kind="stable")[:k]
    return Ranked(index, tuple(classes[i] for i in index), probs[index])


def classify(net: PretrainedNet, model: nn.Module, rgb: np.ndarray, k: int = 5) -> Ranked:
    """A photo's `k` most likely classes under the pretrained network `net` (its module `model`)."""
    x = preprocess(rgb, net.preprocess).x
    with torch.no_grad():
        probs = torch.softmax(model(x), dim=1)[0].numpy()
    return top_classes(probs, net.classes, k)


@dataclass(frozen=True)
class StageMaps:
    """One stage's feature maps for one photo, channels strongest first."""

    name: str  # the point's name
    maps: np.ndarray  # float32 (n, h, w): the `n` strongest channels, in order
    channels: np.ndarray  # int (n,): their indices in the point
    strength: np.ndarray  # float32 (n,): each one's mean activated value (the order)
    total: int  # channels the stage has
    signed: bool  # raw values (either sign) or activated (≥ 0)


def stage_maps(seen: Seen, raw: str, activated: str, *, show: str = "activated", n: int = 32) -> StageMaps:
    """The `n` strongest channels of a stage (strength: mean of the activated map), drawn `show`n raw or activated;
    raw and activated come in the same order, so a channel keeps its place when the view switches."""
    act = seen.maps[activated]  # (C, h, w)
    strength = act.reshape(len(act), -1).mean(1)  # (C,)
    order = np.argsort(-strength, kind="stable")[: max(1, n)]
    values = seen.maps[raw if show == "raw" else activated][order]
    return StageMaps(raw if show == "raw" else activated, values, order, strength[order], len(act), show == "raw")


def stages(points: list[Point]) -> list[tuple[Point, Point]]:
    """The (raw, activated) map points of each layer, in network order: the stages a photo page shows."""
    pairs = []
    for p in points:
        if p.layout == "map" and p.role == "activated":
            raw = [q for q in points if q.layer == p.layer and q.role == "raw" and q.layout == "map"]
            pairs.append((raw[-1] if raw else p, p))
    return pairs


def grad_cam(model: nn.Module, x: torch.Tensor, target: int) -> np.ndarray:
    """Grad-CAM of class `target` for `x` `(1, 3, H, W)` on the network's last activated maps → float32 `(H, W)`,
    scaled to 0..1 (all zero when nothing speaks for the class).

    The same map as the Attribution page's Grad-CAM (captum's `LayerGradCam`, relu, bilinear upsampling), but the
    graph starts at the maps: the input needs no gradient, so the forward pass keeps no activation before them
    (on EfficientNet-Lite0 that is most of the memory and time Grad-CAM would cost).
    """
    from torch.nn import functional

    from .attribution import gradcam_layer

    kept = {}

    def hook(module, inputs, out):
        kept["maps"] = out.detach().requires_grad_()  # the graph starts here
        return kept["maps"]

    handle = model.get_submodule(gradcam_layer(model)).register_forward_hook(hook)
    try:
        with torch.enable_grad():
            logits = model(x.detach())  # (1, classes)
            (grad,) = torch.autograd.grad(logits[0, int(target)], kept["maps"])  # (1, C, h, w)
    finally:
        handle.remove()
    maps = kept["maps"].detach()
    cam = torch.relu((grad.mean((2, 3), keepdim=True) * maps).sum(1, keepdim=True))  # (1, 1, h, w)
    cam = functional.interpolate(cam, size=tuple(x.shape[-2:]), mode="bilinear", align_corners=False)
    cam = cam[0, 0].clamp_min(0).numpy()  # (H, W)
    top = float(cam.max())
    return (cam / top if top > 0 else cam).astype(np.float32)
