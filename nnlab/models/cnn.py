"""The small convolutional network: conv blocks (conv → [batch norm] → activation → [pool] → [dropout]), then dense.

Its points: `conv1` (raw), `relu1` (activated), `pool1` (pooled): feature maps (C×H×W); then the dense
layers' vectors, `out` and `softmax`. Every conv keeps the image size ('same' padding); each pool halves it.
The head is "dense" (flatten the last maps) or "gap" (global average pooling: one number per channel, the point
`gap`), the head CAM needs when no dense layer follows it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .blocks import ACTIVATIONS, Net, Plan, activation, build_plan, check_common, dense_stack, plan_points, step
from .points import Point
from .registry import Field, register_model

POOLS = {"max": nn.MaxPool2d, "avg": nn.AvgPool2d, "none": None}
KERNELS = (3, 5, 7)  # what the Train page offers; any odd size works
HEADS = ("dense", "gap")  # how the last feature maps reach the dense layers: flattened, or averaged per channel


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
    head: str = "dense"  # "dense": flatten the last maps; "gap": average each channel over positions (for CAM)
    kind: str = "cnn"

    def __post_init__(self):
        if len(self.input_shape) != 3:
            raise ValueError(f"A CNN needs image input (channels, height, width); got shape {self.input_shape}")
        check_common(self)
        if not isinstance(self.kernel, int) or self.kernel < 1 or self.kernel % 2 == 0:
            raise ValueError(f"The kernel size must be odd (3, 5, ...) to keep the image size; got {self.kernel}")
        if self.pool not in POOLS:
            raise ValueError(f"Unknown pool {self.pool!r}; choose 'max', 'avg' or 'none'")
        if self.head not in HEADS:
            raise ValueError(f"Unknown head {self.head!r}; choose 'dense' or 'gap' (global average pooling)")
        _, h, w = self.input_shape
        n_pool = len(self.channels) if self.pool != "none" else 0
        if min(h, w) >> n_pool < 1:
            raise ValueError(f"A {h}×{w} input is too small for {n_pool} pooling blocks (each halves the size)")

    def describe(self) -> str:
        dense = "-".join(map(str, self.hidden)) or "no hidden layer"
        gap = " → global average pool" if self.head == "gap" else ""
        return f"CNN {'-'.join(map(str, self.channels))}{gap} → {dense} ({self.activation})"


class GlobalAveragePool(nn.Module):
    """Each channel's mean over all positions: (N, C, H, W) → (N, C)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean((2, 3))


def _plan(cfg: CNNConfig) -> Plan:
    plan: Plan = []
    act, (c, h, w) = cfg.activation, cfg.input_shape
    for i, ch in enumerate(cfg.channels, 1):
        step(
            plan,
            f"conv{i}",
            lambda c=c, ch=ch: nn.Conv2d(c, ch, cfg.kernel, padding=cfg.kernel // 2),
            "raw",
            i,
            layout="map",
        )
        if cfg.batch_norm:
            step(plan, f"bn{i}", lambda ch=ch: nn.BatchNorm2d(ch), "norm", i, layout="map")
        step(plan, f"{act}{i}", lambda: activation(act), "activated", i, layout="map", activation=act)
        if POOLS[cfg.pool] is not None:
            step(plan, f"pool{i}", lambda: POOLS[cfg.pool](2), "pooled", i, layout="map", activation=act)
            h, w = h // 2, w // 2
        if cfg.dropout:
            step(plan, f"drop{i}", lambda: nn.Dropout(cfg.dropout), None, i)
        c = ch
    if cfg.head == "gap":
        step(plan, "gap", GlobalAveragePool, "pooled", len(cfg.channels), activation=act)
        dense_stack(plan, cfg, c, len(cfg.channels))
    else:
        step(plan, "flatten", nn.Flatten, None, len(cfg.channels))
        dense_stack(plan, cfg, c * h * w, len(cfg.channels))
    return plan


def cnn_points(cfg: CNNConfig) -> list[Point]:
    return plan_points(_plan(cfg))


FORM = (
    Field("channels", "Conv channels per block", "ints", help="Comma-separated, e.g. 16, 32: one conv block each."),
    Field("kernel", "Kernel size", "choice", choices=KERNELS),
    Field("pool", "Pooling after each block", "choice", choices=tuple(POOLS)),
    Field("hidden", "Dense widths after the conv blocks", "ints", help="Comma-separated, e.g. 64. Empty for none."),
    Field("activation", "Activation", "choice", choices=tuple(ACTIVATIONS)),
    Field(
        "dropout", "Dropout", "slider", low=0.0, high=0.8, step=0.05, help="Share of units switched off in training."
    ),
    Field("batch_norm", "Batch norm", "toggle", help="Normalise each layer's raw output over the batch."),
    Field(
        "head",
        "Head",
        "choice",
        choices=HEADS,
        help="dense: flatten the last feature maps into the dense layers. gap: average each channel over the image "
        "first (global average pooling); with no dense layers after it, the head CAM explains.",
    ),
)


@register_model(
    "cnn",
    order=10,
    config=CNNConfig,
    points=cnn_points,
    title="CNN",
    help="Convolutions that look at small patches of the image, then dense layers.",
    form=FORM,
)
def build_cnn(cfg: CNNConfig) -> Net:
    return build_plan(cfg, _plan(cfg))
