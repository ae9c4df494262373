"""Self-attention written out, and what the recorder keeps of it: where each head looks, how far, how sharply.

Part of stage 2 (models) and 3 (recording). `SelfAttention` computes softmax(q·kᵀ/√d) in a few lines, through a
child `weights` (a softmax) whose output is a declared point. `attention_distance` and `attention_entropy` measure
one batch of attention maps; `AttentionStats` is the per-class accumulator the ViT kind hands the recorder.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .points import Point


class SelfAttention(nn.Module):
    """Multi-head self-attention over tokens `(B, N, E)`; the child `weights` outputs the attention `(B, H, N, N)`."""

    def __init__(self, width: int, heads: int, dropout: float = 0.0):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(width, 3 * width)  # queries, keys and values of every head at once
        self.weights = nn.Softmax(dim=-1)  # its output is the attention point: row i is where token i looks
        self.drop = nn.Dropout(dropout)
        self.proj = nn.Linear(width, width)  # mixes the heads' outputs back into the residual stream

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, e = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, e // self.heads)  # (B, N, 3, H, d)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)  # each (B, H, N, d)
        scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (B, H, N, N): how well query i matches key j
        a = self.weights(scores)  # (B, H, N, N), every row sums to 1
        out = self.drop(a) @ v  # (B, H, N, d): each token's weighted mean of the values
        return self.proj(out.transpose(1, 2).reshape(b, n, e))  # (B, N, E)


def patch_distances(grid: tuple[int, int]) -> torch.Tensor:
    """`(P, P)` distances, in patches, between the centres of the patches of a `grid` (rows, columns), row by row."""
    rows, cols = torch.meshgrid(torch.arange(grid[0]), torch.arange(grid[1]), indexing="ij")
    xy = torch.stack([rows.flatten(), cols.flatten()], 1).float()  # (P, 2)
    return torch.cdist(xy, xy)


def attention_distance(a: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
    """Mean attention distance in patches `(..., H)` of attention maps `(..., H, N, N)` over 1 + P tokens.

    Token 0 is the class token and has no place: each patch's attention over the other patches is renormalised to
    sum to one, the distances it spans are weighted by it, and the patches are averaged. A head that looks only at
    itself scores 0; one that looks everywhere alike scores the mean distance between two patches.
    """
    d = patch_distances(grid).to(a.device, a.dtype)  # (P, P)
    patches = a[..., 1:, 1:]  # (..., H, P, P)
    patches = patches / patches.sum(-1, keepdim=True).clamp(min=1e-12)
    return (patches * d).sum(-1).mean(-1)


def attention_entropy(a: torch.Tensor) -> torch.Tensor:
    """Mean entropy in nats `(..., H)` of the rows of attention maps `(..., H, N, N)`: 0 looks at one token,
    log N looks at every token alike."""
    return -(a * a.clamp(min=1e-12).log()).sum(-1).mean(-1)


class AttentionStats:
    """Per-class sums over the evaluation subset of a ViT's attention and block outputs → the snapshot's `attn/...`
    and `tokens/...` tensors (the recorder calls `add` per batch and `tensors` once)."""

    def __init__(self, points: list[Point], n_classes: int, grid: tuple[int, int]):
        self.k, self.grid = n_classes, grid
        self.attention = [p.name for p in points if p.layout == "attention"]
        self.tokens = [p.name for p in points if p.role == "residual"]
        self.counts = torch.zeros(n_classes, dtype=torch.float64)
        self.sums: dict[str, torch.Tensor] = {}

    def _add(self, key: str, value: torch.Tensor) -> None:
        self.sums[key] = self.sums[key] + value if key in self.sums else value

    def add(self, outputs: dict[str, torch.Tensor], y: torch.Tensor) -> None:
        onehot = nn.functional.one_hot(y.cpu(), self.k).to(torch.float64).T  # (K, B)
        self.counts += onehot.sum(1)
        for name in self.attention:
            a = outputs[name].detach().to("cpu", torch.float64)  # (B, H, N, N)
            self._add(f"attn/{name}/map", torch.einsum("kb,bhij->khij", onehot, a))
            self._add(f"attn/{name}/distance", onehot @ attention_distance(a, self.grid))  # (K, H)
            self._add(f"attn/{name}/entropy", onehot @ attention_entropy(a))
        for name in self.tokens:
            t = outputs[name].detach().to("cpu", torch.float64)  # (B, N, E)
            self._add(f"tokens/{name}/mean", torch.einsum("kb,bne->kne", onehot, t))
            self._add(f"tokens/{name}/sq", torch.einsum("kb,bne->kne", onehot, t**2))

    def tensors(self) -> dict[str, torch.Tensor]:
        out = {}
        for key, total in self.sums.items():
            n = self.counts.clamp(min=1).reshape(-1, *[1] * (total.ndim - 1))
            out[key] = total / n
        for name in self.tokens:
            mean, sq = out.pop(f"tokens/{name}/mean"), out.pop(f"tokens/{name}/sq")
            out[f"tokens/{name}/mean"] = mean  # (K, N, E) each class's mean output of every token
            out[f"tokens/{name}/std"] = (sq - mean**2).clamp(min=0).sqrt()
        return {key: v.float() for key, v in out.items()}
