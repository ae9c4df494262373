"""Attention: where a transformer's heads look, for one sample, combined through the blocks, per class, over training.

Stage: run (a snapshot's weights replayed on one sample; the recorder's per-class `attn/<point>/...` statistics of
every snapshot) → analysis → `nnlab.figures.attention`. Works on any network that declares points of the "attention"
layout `(H, N, N)` over 1 + P tokens (token 0 the class token, then the image patches row by row).
Pure: arrays in, small records of numpy arrays out; the info getters take a `Run`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ..models import Point, forward_points
from ..models.attention import attention_distance, attention_entropy, patch_distances


def attention_points(points: list[Point]) -> list[Point]:
    """The points that are attention weights, in network order."""
    return [p for p in points if p.layout == "attention"]


def patch_grid(input_shape: tuple[int, ...], n_tokens: int) -> tuple[int, int]:
    """(rows, columns) of square patches that tile an image of `input_shape` (…, H, W) into `n_tokens` - 1 patches."""
    h, w = input_shape[-2:]
    side = math.sqrt(h * w / max(n_tokens - 1, 1))
    return max(1, round(h / side)), max(1, round(w / side))


def run_grid(run, points: list[Point]) -> tuple[int, int]:
    """The patch grid of a `Run` whose network declares `points` (1 × 1 without attention points)."""
    att = attention_points(points)
    n_tokens = att[0].shape[-1] if att else 2
    return patch_grid(tuple(run.manifest["dataset"].get("input_shape") or (1, 1)), n_tokens)


def rollout(maps: np.ndarray, residual: float = 0.5) -> np.ndarray:
    """Attention rollout (Abnar & Zuidema 2020) of attention maps `(D, H, N, N)` → `(N, N)`.

    Each block's heads are averaged, the residual connection is added as `residual`·identity (and the attention
    scaled by 1 − `residual`), rows are renormalised, and the blocks are multiplied, first block rightmost: row i
    says how much of token i's final state traces back to each input token along attention paths.
    """
    maps = np.asarray(maps, np.float64)
    n = maps.shape[-1]
    out = np.eye(n)
    for block in maps:  # (H, N, N)
        a = residual * np.eye(n) + (1 - residual) * block.mean(0)
        a /= a.sum(-1, keepdims=True)
        out = a @ out
    return out.astype(np.float32)


def class_row(maps: np.ndarray, grid: tuple[int, int]) -> np.ndarray:
    """Where the class token looks over the patches: `(..., N, N)` → `(..., rows, cols)` (its own share left out)."""
    maps = np.asarray(maps)
    return maps[..., 0, 1:].reshape(*maps.shape[:-2], *grid)


@dataclass(frozen=True)
class SampleAttention:
    """One sample's attention at every block and head, and its rollout."""

    maps: np.ndarray  # (D, H, N, N) float32: row i of head h of block d is where token i looks
    blocks: tuple[str, ...]  # the attention points' names, one per block
    grid: tuple[int, int]  # patches down and across
    rollout: np.ndarray  # (N, N) attention rolled out through the blocks with the residual
    probs: np.ndarray  # (K,) the network's class probabilities for the sample

    @property
    def class_maps(self) -> np.ndarray:
        """(D, H, rows, cols) where the class token looks over the patches, per block and head."""
        return class_row(self.maps, self.grid)

    @property
    def rollout_map(self) -> np.ndarray:
        """(rows, cols) the rollout's class-token row over the patches, renormalised to sum to one."""
        r = class_row(self.rollout, self.grid)
        return r / max(float(r.sum()), 1e-12)


@torch.no_grad()
def sample_attention(model: torch.nn.Module, x: torch.Tensor, points: list[Point]) -> SampleAttention:
    """Every attention point of `model` (an nnlab network) for one prepared sample `x` `(1, C, H, W)`."""
    att = attention_points(points)
    outs = forward_points(model, x)
    maps = np.stack([outs[p.name][0].cpu().numpy() for p in att]).astype(np.float32)  # (D, H, N, N)
    grid = patch_grid(tuple(x.shape[1:]), maps.shape[-1])
    probs = outs["softmax"][0].cpu().numpy()
    return SampleAttention(maps, tuple(p.name for p in att), grid, rollout(maps), probs)


def sample_attention_info(run, k: int, x: torch.Tensor, *, model=None, points=None) -> SampleAttention:
    """One prepared sample's attention at snapshot `k` of a `Run` (`model`: that snapshot's network, `points`: the
    run's declared points, if at hand: building them runs the network on the meta device)."""
    model = model if model is not None else run.model_at(k)
    return sample_attention(model, x, points if points is not None else run.points())


# --- the heads over training -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class HeadHistory:
    """Every head's mean attention distance and entropy over the evaluation subset, at every snapshot."""

    steps: np.ndarray  # (S,) training step of each snapshot
    blocks: tuple[str, ...]  # the attention points, one per block
    distance: np.ndarray  # (S, D, H) mean attention distance in patches
    entropy: np.ndarray  # (S, D, H) mean entropy of the attention rows, in nats
    uniform_distance: float  # the distance of a head that looks everywhere alike (the mean patch distance)
    uniform_entropy: float  # log N: the entropy of a head that looks everywhere alike

    def change(self) -> np.ndarray:
        """(D, H) how much each head changed from the first snapshot to the last: its distance change as a share
        of the uniform head's, plus its entropy change as a share of log N."""
        if len(self.steps) == 0:
            return np.zeros(self.distance.shape[1:], np.float32)
        dd = np.abs(self.distance[-1] - self.distance[0]) / max(self.uniform_distance, 1e-12)
        de = np.abs(self.entropy[-1] - self.entropy[0]) / max(self.uniform_entropy, 1e-12)
        return (dd + de).astype(np.float32)

    def most_changed(self) -> tuple[int, int]:
        """(block index, head) of the head that changed most."""
        c = self.change()
        return tuple(int(i) for i in np.unravel_index(int(np.argmax(c)), c.shape)) if c.size else (0, 0)


def _class_weighted(per_class: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Per-class means `(K, ...)` → their mean over the samples `(...)` (classes weighted by their counts)."""
    w = np.asarray(counts, np.float64)
    w = w / w.sum() if w.sum() > 0 else np.full(len(w), 1 / len(w))
    return np.tensordot(w, np.asarray(per_class, np.float64), axes=1)


def head_history(run, *, points=None) -> HeadHistory:
    """Each head's attention distance and entropy at every snapshot of a `Run` (from its recorded statistics)."""
    points = points if points is not None else run.points()
    blocks = tuple(p.name for p in attention_points(points))
    grid = run_grid(run, points)
    dist, ent = [], []
    for k in range(len(run)):
        snap = run.snapshot(k)
        counts = snap["confusion"].numpy().sum(1)
        dist.append([_class_weighted(snap[f"attn/{b}/distance"].numpy(), counts) for b in blocks])
        ent.append([_class_weighted(snap[f"attn/{b}/entropy"].numpy(), counts) for b in blocks])
    p = grid[0] * grid[1]
    uniform = torch.full((1, 1, 1 + p, 1 + p), 1 / (1 + p), dtype=torch.float64)
    shape = (len(run), len(blocks), -1)
    return HeadHistory(
        np.array([s["step"] for s in run.snapshots[: len(run)]]),
        blocks,
        np.asarray(dist, np.float32).reshape(shape),
        np.asarray(ent, np.float32).reshape(shape),
        float(attention_distance(uniform, grid)),
        float(attention_entropy(uniform)),
    )


def describe_head(history: HeadHistory) -> str:
    """The head that changed most, in words ("Head 3 of attn2 …: it learned to look locally")."""
    if len(history.steps) < 2 or not history.blocks:
        return ""
    d, h = history.most_changed()
    d0, d1 = history.distance[0, d, h], history.distance[-1, d, h]
    e0, e1 = history.entropy[0, d, h], history.entropy[-1, d, h]
    how = "locally" if d1 < 0.75 * history.uniform_distance else "globally" if d1 > d0 else "more narrowly"
    sharp = "more sharply" if e1 < e0 else "more broadly"
    return (
        f"Head {h + 1} of {history.blocks[d]} changed most: its attention distance went from {d0:.2f} to {d1:.2f} "
        f"patches (a head looking everywhere alike: {history.uniform_distance:.2f}) and its entropy from {e0:.2f} to "
        f"{e1:.2f} nats (at most {history.uniform_entropy:.2f}): it learned to look {how} and {sharp}."
    )


# --- per class -----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ClassAttention:
    """Each class's mean class-token attention over the patches at one block (or rolled out), at one snapshot."""

    maps: np.ndarray  # (K, rows, cols) float32, each summing to one
    block: str  # an attention point's name, or "rollout"
    step: int


def class_attention_info(run, k: int, block: str = "rollout", *, points=None) -> ClassAttention:
    """The per-class mean attention of snapshot `k` of a `Run`: the class token's row, averaged over the heads, at
    the attention point `block`, or rolled out through every block ("rollout") from each class's mean maps."""
    snap = run.snapshot(k)
    points = points if points is not None else run.points()
    att = attention_points(points)
    means = {p.name: snap[f"attn/{p.name}/map"].numpy() for p in att}  # each (K, H, N, N)
    grid = run_grid(run, points)
    if block == "rollout":
        stacked = np.stack([means[p.name] for p in att], 1)  # (K, D, H, N, N)
        rows = np.stack([class_row(rollout(m), grid) for m in stacked])
    else:
        rows = class_row(means[block].mean(1), grid)
    rows = rows / np.maximum(rows.sum((1, 2), keepdims=True), 1e-12)
    return ClassAttention(rows.astype(np.float32), block, int(run.snapshots[k]["step"]))


def mean_patch_distance(grid: tuple[int, int]) -> float:
    """The mean distance in patches between two patches of the grid (the same patch twice included)."""
    return float(patch_distances(grid).mean())


def class_mean_images(images: np.ndarray, labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Each class's mean image `(K, H, W[, 3])` uint8 from images `(N, H, W[, 3])` uint8 (black for an empty class)."""
    images, labels = np.asarray(images, np.float32), np.asarray(labels)
    out = np.zeros((n_classes, *images.shape[1:]), np.float32)
    for c in range(n_classes):
        if np.any(labels == c):
            out[c] = images[labels == c].mean(0)
    return out.round().astype(np.uint8)
