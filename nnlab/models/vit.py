"""The small vision transformer: image patches become tokens, a class token reads them through attention blocks.

Its children, in order (a sequential `Net`, so every view can run it up to any of them): `embed` (patches → tokens,
plus the class token and learned position embeddings), `block1` … `blockD` (pre-norm: attention, then an MLP with
GELU, each added back to the residual stream), `norm` (final LayerNorm), `cls` (the class token), `out` (the head).
Its points: `embed` and each `block<i>` (tokens), each block's attention `attn<i>` (heads × tokens × tokens), `cls`,
`out` and `softmax`.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import torch
from torch import nn

from .attention import AttentionStats, SelfAttention
from .blocks import MAX_WIDTH, Net
from .points import Point
from .registry import Field, register_model

PATCHES = {28: 7, 32: 4, 8: 2}  # the patch side chosen for an image side (4×4, 8×8 and 4×4 patches)


def auto_patch(h: int, w: int) -> int:
    """A patch side that tiles an h×w image: the table's, else the largest leaving at least 4 patches a side."""
    if h == w and h in PATCHES:
        return PATCHES[h]
    sides = [p for p in range(1, min(h, w) + 1) if h % p == 0 and w % p == 0 and min(h, w) // p >= 4]
    return max(sides) if sides else 1


@dataclass(frozen=True)
class ViTConfig:
    """A small vision transformer: patches, a class token, `depth` attention blocks, a linear head."""

    input_shape: tuple[int, ...] = (1, 28, 28)  # (C, H, W)
    n_classes: int = 10
    patch: int = 0  # side of a square patch in pixels; 0: one that tiles the image (7 for 28×28, 2 for 8×8)
    width: int = 64  # the embedding (residual stream) width
    depth: int = 4  # attention blocks
    heads: int = 4  # attention heads per block; they split the width
    mlp_ratio: float = 2.0  # the MLP of a block is this many times wider than the stream
    dropout: float = 0.0  # after the attention weights and in the MLPs
    kind: str = "vit"

    def __post_init__(self):
        if len(self.input_shape) != 3 or any(not isinstance(s, int) or s < 1 for s in self.input_shape):
            raise ValueError(f"A ViT needs image input (channels, height, width); got shape {self.input_shape}")
        if not isinstance(self.n_classes, int) or self.n_classes < 2:
            raise ValueError(f"A classifier needs at least 2 classes; got {self.n_classes}")
        _, h, w = self.input_shape
        if self.patch == 0:
            object.__setattr__(self, "patch", auto_patch(h, w))
        if not isinstance(self.patch, int) or self.patch < 1 or h % self.patch or w % self.patch:
            raise ValueError(
                f"The patches must tile the {h}×{w} image: choose a side that divides both; got {self.patch}"
            )
        for what, n, high in (("width", self.width, MAX_WIDTH), ("depth", self.depth, 64), ("heads", self.heads, 64)):
            if not isinstance(n, int) or not 1 <= n <= high:
                raise ValueError(f"The {what} must be a whole number from 1 to {high:,}; got {n!r}")
        if self.width % self.heads:
            raise ValueError(f"The heads split the width: {self.width} is not a multiple of {self.heads} heads")
        if not 0.25 <= self.mlp_ratio <= 16:
            raise ValueError(f"The MLP ratio must be from 0.25 to 16; got {self.mlp_ratio}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"Dropout is a probability from 0 to below 1; got {self.dropout}")

    @property
    def grid(self) -> tuple[int, int]:
        """Patches down and across."""
        return self.input_shape[1] // self.patch, self.input_shape[2] // self.patch

    def describe(self) -> str:
        p = self.patch
        return f"ViT {self.depth}×{self.width}, {self.heads} heads, {p}×{p} patches"


class PatchEmbed(nn.Module):
    """Image `(B, C, H, W)` → tokens `(B, 1 + P, E)`: the class token, then each patch's linear embedding, all plus
    a learned position embedding."""

    def __init__(self, cfg: ViTConfig):
        super().__init__()
        c, p, n = cfg.input_shape[0], cfg.patch, cfg.grid[0] * cfg.grid[1]
        self.proj = nn.Conv2d(c, cfg.width, p, stride=p)  # one linear map per patch (a conv with stride = its size)
        self.cls = nn.Parameter(torch.zeros(1, 1, cfg.width))  # the class token
        self.pos = nn.Parameter(torch.randn(1, 1 + n, cfg.width) * 0.02)  # position embeddings

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        patches = self.proj(x).flatten(2).transpose(1, 2)  # (B, P, E), patches row by row
        return torch.cat([self.cls.expand(len(x), -1, -1), patches], 1) + self.pos  # (B, 1 + P, E)


class Block(nn.Module):
    """Pre-norm transformer block: x + attn(norm(x)), then x + mlp(norm(x))."""

    def __init__(self, cfg: ViTConfig):
        super().__init__()
        e, hidden = cfg.width, max(1, round(cfg.width * cfg.mlp_ratio))
        self.norm1 = nn.LayerNorm(e)
        self.attn = SelfAttention(e, cfg.heads, cfg.dropout)
        self.norm2 = nn.LayerNorm(e)
        self.mlp = nn.Sequential(
            OrderedDict(
                fc1=nn.Linear(e, hidden),
                gelu=nn.GELU(),
                drop1=nn.Dropout(cfg.dropout),
                fc2=nn.Linear(hidden, e),
                drop2=nn.Dropout(cfg.dropout),
            )
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))  # (B, N, E)
        return x + self.mlp(self.norm2(x))


class ClassToken(nn.Module):
    """Tokens `(B, N, E)` → the class token `(B, E)`, what the head reads."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, 0]


def vit_points(cfg: ViTConfig) -> list[Point]:
    points = [Point("embed", "raw", 1, module="embed", layout="tokens")]
    for i in range(1, cfg.depth + 1):
        points += [
            Point(f"attn{i}", "attention", i + 1, module=f"block{i}.attn.weights", layout="attention"),
            Point(f"block{i}", "residual", i + 1, module=f"block{i}", layout="tokens"),
        ]
    last = cfg.depth + 2
    return points + [
        Point("cls", "pooled", last, module="cls"),
        Point("out", "logits", last + 1, module="out"),
        Point("softmax", "probs", last + 1),
    ]


def vit_stats(cfg: ViTConfig, n_classes: int) -> AttentionStats:
    """The recorder's extra statistics of a ViT: every head's attention and every block's tokens, per class."""
    return AttentionStats(vit_points(cfg), n_classes, cfg.grid)


FORM = (
    Field(
        "patch", "Patch side (pixels)", "int", low=1, high=64, help="The patches must tile the image: 7 or 4 for 28×28."
    ),
    Field("width", "Width", "int", low=4, high=1024, help="The length of every token's embedding."),
    Field("depth", "Blocks", "int", low=1, high=12, help="Attention blocks, one after the other."),
    Field(
        "heads", "Heads per block", "int", low=1, high=16, help="Each head attends on its own; they split the width."
    ),
    Field("mlp_ratio", "MLP ratio", "slider", low=1.0, high=4.0, step=0.5, help="How much wider each block's MLP is."),
    Field(
        "dropout", "Dropout", "slider", low=0.0, high=0.8, step=0.05, help="Share of units switched off in training."
    ),
)

SKIPS = {
    "attribution:grad_cam": "Grad-CAM needs a convolution; see attention rollout on the Attention page.",
}


@register_model(
    "vit",
    config=ViTConfig,
    points=vit_points,
    title="ViT",
    help="A small vision transformer: image patches become tokens that attend to each other.",
    form=FORM,
    skips=SKIPS,
    extra_stats=vit_stats,
)
def build_vit(cfg: ViTConfig) -> Net:
    layers = OrderedDict(embed=PatchEmbed(cfg))
    layers.update((f"block{i}", Block(cfg)) for i in range(1, cfg.depth + 1))
    layers.update(norm=nn.LayerNorm(cfg.width), cls=ClassToken(), out=nn.Linear(cfg.width, cfg.n_classes))
    return Net(cfg, layers)
