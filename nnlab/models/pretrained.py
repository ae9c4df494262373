"""The pretrained kind: a network trained elsewhere, shipped with its weights, its preprocessing and its class names.

Stage 2 of the pipeline, without stage 3: nothing here is trained, so a pretrained network has no run and no history.
Each network is registered by name (`register_pretrained`: EfficientNet-Lite0 in `lite0.py`, or your own torch module);
the kind "pretrained" builds it from `PretrainedConfig(name=...)` with its weights loaded and declares its points, so
`build_model`, `forward_points` and `layer_points` work on it as on any kind.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache

import torch
from torch import nn

from .point import Point
from .registry import register_model


@dataclass(frozen=True)
class Preprocess:
    """How a photo becomes the network's input: shorter side resized, centre-cropped, (x − mean) / std per channel."""

    resize: int = 256  # the shorter side after resizing, in pixels (antialiased, aspect kept)
    crop: int = 224  # the side of the square cut from the centre: the network's input size
    mean: tuple[float, float, float] = (127.0, 127.0, 127.0)  # subtracted per channel (R, G, B), on the 0..255 scale
    std: tuple[float, float, float] = (128.0, 128.0, 128.0)  # divided per channel, on the 0..255 scale

    def __post_init__(self):
        if not 1 <= self.crop <= self.resize:
            raise ValueError(f"The crop ({self.crop}) must be from 1 to the resized side ({self.resize}) pixels")
        if len(self.mean) != 3 or len(self.std) != 3 or min(self.std) <= 0:
            raise ValueError("A preprocessing needs three means and three positive standard deviations (R, G, B)")

    def normalise(self, crop: torch.Tensor) -> torch.Tensor:
        """uint8-valued `(N, 3, H, W)` → float32 network input `(N, 3, H, W)`."""
        mean = torch.tensor(self.mean, dtype=torch.float32).view(1, 3, 1, 1)
        std = torch.tensor(self.std, dtype=torch.float32).view(1, 3, 1, 1)
        return (crop.float() - mean) / std


@dataclass(frozen=True)
class PretrainedNet:
    """One registered pretrained network: how to build it (weights loaded), its points, preprocessing and classes."""

    name: str  # the config's `name`: "efficientnet-lite0"
    title: str  # "EfficientNet-Lite0 (ImageNet-1k)"
    build: Callable[[], nn.Module]  # () → the module in eval mode, weights loaded (no download: files on disk only)
    points: tuple[Point, ...]  # its points in network order (shapes left empty: `layer_points` fills them)
    preprocess: Preprocess
    classes: tuple[str, ...]  # the class names, index = output unit
    help: str = ""  # one sentence: what it is, what it was trained on
    source: str = ""  # where the weights come from (a package, a file), in words

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return (3, self.preprocess.crop, self.preprocess.crop)


_NETWORKS: dict[str, PretrainedNet] = {}  # filled by `register_pretrained` at import; read-only after


def register_pretrained(
    name: str,
    *,
    build: Callable[[], nn.Module],
    points: Sequence[Point],
    classes: Sequence[str],
    preprocess: Preprocess = Preprocess(),
    title: str = "",
    help: str = "",
    source: str = "",
) -> PretrainedNet:
    """Register your own pretrained torch module so `build_model(PretrainedConfig(name))` and the Photo page use it.

    Args:
        name: the network's name (the config's `name`).
        build: () → the module with its weights loaded, returning logits for `(N, 3, crop, crop)` input.
        points: where to look inside it: `Point`s whose `module` is a dotted name in `module.named_modules()`;
            end with an `out` point (role "logits") and a `softmax` point (role "probs", module None).
        classes: one name per output unit.
        preprocess: resize, crop and per-channel normalisation of a photo (0..255 scale).
    Returns: the registered record.
    """
    if not points or points[-1].role != "probs":
        raise ValueError("A pretrained network's points must end with the class probabilities (role 'probs')")
    net = PretrainedNet(name, title or name, build, tuple(points), preprocess, tuple(classes), help, source)
    _NETWORKS[name] = net
    return net


ENTRY_POINT_GROUP = "nnlab.pretrained"  # installed packages name a function that calls `register_pretrained`


@cache
def _plugins() -> tuple[str, ...]:
    """Call every `nnlab.pretrained` entry point once per process (a broken one is skipped: it must not take the app
    down); the names of those that ran."""
    from importlib.metadata import entry_points

    ran = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            ep.load()()
        except Exception:
            continue
        ran.append(ep.name)
    return tuple(ran)


def pretrained_networks() -> dict[str, PretrainedNet]:
    """Every registered pretrained network by name, in registration order (installed plug-ins included)."""
    _plugins()
    return dict(_NETWORKS)


def pretrained_network(name: str) -> PretrainedNet:
    if name not in _NETWORKS:
        _plugins()
    if name not in _NETWORKS:
        raise ValueError(f"No pretrained network {name!r}; nnlab has {', '.join(_NETWORKS) or 'none'}")
    return _NETWORKS[name]


@dataclass(frozen=True)
class PretrainedConfig:
    """A pretrained network, by the name it was registered under; its input and classes come from the registration."""

    name: str = "efficientnet-lite0"  # a name given to `register_pretrained`
    input_shape: tuple[int, ...] = field(default=(), compare=False)  # filled in: (3, crop, crop)
    n_classes: int = field(default=0, compare=False)  # filled in: the number of class names
    kind: str = "pretrained"

    def __post_init__(self):
        net = pretrained_network(self.name)
        given = tuple(self.input_shape), self.n_classes
        if given != ((), 0) and given != (net.input_shape, len(net.classes)):
            shape = "×".join(map(str, net.input_shape))
            raise ValueError(
                f"{net.title} is already trained, on {shape} photos of {len(net.classes)} classes: "
                "it cannot be trained again here (open it on the Photo page)"
            )
        object.__setattr__(self, "input_shape", tuple(net.input_shape))
        object.__setattr__(self, "n_classes", len(net.classes))

    def describe(self) -> str:
        return f"{pretrained_network(self.name).title}, pretrained"


def _declare(cfg: PretrainedConfig) -> list[Point]:
    return list(pretrained_network(cfg.name).points)


NO_HISTORY = "it was trained elsewhere, so nnlab has no training history of it"
SKIPS = {
    "classes": "class averages need its training set, which does not ship with it",
    "weights": f"{NO_HISTORY}: its weights did not move here",
    "boundary": "it reads photos, not points of a plane",
    "compare": f"{NO_HISTORY} to compare",
    "backprop": f"{NO_HISTORY}: no training step to follow",
    "latent": "it has no code: it is a classifier, not an autoencoder",
    "hidden": "a map of a layer's outputs needs hundreds of samples with their classes, and its samples are a few "
    "photos with none",
    "features": "a sparse autoencoder learns from a layer's outputs over thousands of samples and is saved in the "
    "run's folder; a pretrained network opened on a few photos has neither",
}


@register_model(
    "pretrained",
    order=90,
    config=PretrainedConfig,
    points=_declare,
    title="Pretrained network",
    help="A network trained elsewhere on a large dataset, shipped with its weights: nothing to train.",
    skips=SKIPS,
)
def build_pretrained(cfg: PretrainedConfig) -> nn.Module:
    """The registered network with its weights; on the meta device (a dry run for shapes) only its architecture."""
    meta = torch.empty(0).device.type == "meta"
    if meta:
        with torch.device("cpu"):
            module = pretrained_network(cfg.name).build()
        return module.to("meta").eval()
    return pretrained_network(cfg.name).build().eval()
