"""Models built from frozen configs, with stable, readable names for every point.

Stage 2 of the pipeline. A `Net` is an `nn.Sequential` whose children are the
points a user can look at: `dense1` (raw), `relu1` (activated), ..., `out`
(logits); `softmax` is the last point, derived from `out`. The config is saved in
the run's manifest so that any snapshot can be rebuilt.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import asdict, dataclass

import torch
from torch import nn

ACTIVATIONS = {"relu": nn.ReLU, "leaky_relu": nn.LeakyReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "gelu": nn.GELU}


@dataclass(frozen=True)
class MLPConfig:
    """A multi-layer perceptron: flatten, then dense layers."""

    input_shape: tuple[int, ...] = (2,)  # one sample's shape, e.g. (2,) or (1, 28, 28)
    n_classes: int = 2
    hidden: tuple[int, ...] = (128, 64)  # widths of the hidden dense layers
    activation: str = "relu"  # one of ACTIVATIONS, used after every hidden layer
    dropout: float = 0.0  # dropout after each activation (0 = none)
    batch_norm: bool = False  # batch norm between each dense layer and its activation
    kind: str = "mlp"


@dataclass(frozen=True)
class CNNConfig:
    """A small convolutional network: conv blocks (conv, activation, pool), then dense layers."""

    input_shape: tuple[int, ...] = (1, 28, 28)  # (C, H, W)
    n_classes: int = 10
    channels: tuple[int, ...] = (16, 32)  # output channels of each conv block
    kernel: int = 3  # square kernel size, 'same' padding
    pool: str = "max"  # "max", "avg" or "none": 2×2 pooling after each block
    hidden: tuple[int, ...] = (64,)  # dense layers after the conv blocks
    activation: str = "relu"
    dropout: float = 0.0
    batch_norm: bool = False
    kind: str = "cnn"


ModelConfig = MLPConfig | CNNConfig


@dataclass(frozen=True)
class Point:
    """One addressable output inside the network."""

    name: str  # "dense1", "relu1", "pool1", "out", "softmax", ...
    role: str  # "raw" (before the activation), "norm", "activated", "pooled", "logits", "probs"
    layer: int  # 1-based layer index; raw and activated outputs of one layer share it
    shape: tuple[int, ...]  # one sample's output shape


def config_to_dict(cfg: ModelConfig) -> dict:
    return asdict(cfg)


def config_from_dict(d: dict) -> ModelConfig:
    d = dict(d)
    cls = {"mlp": MLPConfig, "cnn": CNNConfig}[d.pop("kind", "mlp")]
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})


class Net(nn.Sequential):
    """Sequential network whose children are named points; forward returns logits."""

    def __init__(self, config: ModelConfig, layers: OrderedDict):
        super().__init__(layers)
        self.config = config

    def points(self) -> list[Point]:
        return layer_points(self)


def _activation(name: str) -> nn.Module:
    if name not in ACTIVATIONS:
        raise ValueError(f"Unknown activation {name!r}; choose one of {', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[name]()


def build_model(config: ModelConfig) -> Net:
    """Build the network a config describes (weights from torch's default init, seed it first)."""
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    act = config.activation
    i = 0
    if isinstance(config, CNNConfig):
        if len(config.input_shape) != 3:
            raise ValueError(f"A CNN needs image input (channels, height, width); got shape {config.input_shape}")
        c, h, w = config.input_shape
        if config.kernel < 1 or config.kernel % 2 == 0:
            raise ValueError(f"The kernel size must be odd (3, 5, ...) to keep the image size; got {config.kernel}")
        if config.pool not in ("max", "avg", "none"):
            raise ValueError(f"Unknown pool {config.pool!r}; choose 'max', 'avg' or 'none'")
        n_pool = len(config.channels) if config.pool != "none" else 0
        if min(h, w) >> n_pool < 1:
            raise ValueError(f"A {h}×{w} input is too small for {n_pool} pooling blocks (each halves the size)")
        for ch in config.channels:
            i += 1
            layers[f"conv{i}"] = nn.Conv2d(c, ch, config.kernel, padding=config.kernel // 2)
            if config.batch_norm:
                layers[f"bn{i}"] = nn.BatchNorm2d(ch)
            layers[f"{act}{i}"] = _activation(act)
            if config.pool != "none":
                layers[f"pool{i}"] = (nn.MaxPool2d if config.pool == "max" else nn.AvgPool2d)(2)
                h, w = h // 2, w // 2
            if config.dropout:
                layers[f"drop{i}"] = nn.Dropout(config.dropout)
            c = ch
        width = c * h * w
    else:
        width = math.prod(config.input_shape)
    layers["flatten"] = nn.Flatten()
    for hid in config.hidden:
        i += 1
        layers[f"dense{i}"] = nn.Linear(width, hid)
        if config.batch_norm:
            layers[f"bn{i}"] = nn.BatchNorm1d(hid)
        layers[f"{act}{i}"] = _activation(act)
        if config.dropout:
            layers[f"drop{i}"] = nn.Dropout(config.dropout)
        width = hid
    layers["out"] = nn.Linear(width, config.n_classes)
    return Net(config, layers)


def _role(name: str, module: nn.Module) -> str | None:
    if isinstance(module, (nn.Linear, nn.Conv2d)):
        return "logits" if name == "out" else "raw"
    if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
        return "norm"
    if isinstance(module, tuple(ACTIVATIONS.values())):
        return "activated"
    if isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
        return "pooled"
    return None  # flatten, dropout: not points


def layer_points(model: Net) -> list[Point]:
    """Every point of the network in order, with one sample's output shape."""
    x = torch.zeros(1, *model.config.input_shape)
    points, layer = [], 0
    was_training = model.training
    model.eval()
    with torch.no_grad():
        for name, module in model.named_children():
            x = module(x)
            role = _role(name, module)
            if role is None:
                continue
            if role in ("raw", "logits"):
                layer += 1
            points.append(Point(name, role, layer, tuple(x.shape[1:])))
    model.train(was_training)
    points.append(Point("softmax", "probs", layer, points[-1].shape))
    return points


def forward_points(model: Net, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """Run `x` through the network child by child; every point's output (softmax included)."""
    out = {}
    for name, module in model.named_children():
        x = module(x)
        if _role(name, module) is not None:
            out[name] = x
    out["softmax"] = torch.softmax(x, dim=1)
    return out


def parameter_table(model: nn.Module) -> list[dict]:
    """One row per layer with parameters: name, type, output shape, parameter count."""
    shapes = {p.name: p.shape for p in layer_points(model)} if isinstance(model, Net) else {}
    rows = []
    for name, module in model.named_children():
        n = sum(p.numel() for p in module.parameters())
        if n or name in shapes:
            rows.append(
                {
                    "layer": name,
                    "type": type(module).__name__,
                    "output shape": "×".join(map(str, shapes.get(name, ()))),
                    "parameters": n,
                }
            )
    return rows


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
