"""Weights over training: unit images, weight histograms, norms and units that never fire.

Analysis for the weight-evolution page (learning over time). Pure: snapshot arrays
(mappings of key → array or tensor, as `Run.snapshot(k)` returns them) in, small
records of numpy arrays out. The figures live in `nnlab.figures.weights`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

MOMENTUM_KEYS = ("exp_avg", "momentum_buffer")  # Adam's first moment, SGD's momentum buffer


def to_numpy(value) -> np.ndarray:
    """A float32 numpy copy of a tensor (bfloat16 included) or array."""
    if hasattr(value, "detach"):
        value = value.detach().float().cpu().numpy()
    return np.asarray(value, dtype=np.float32)


def _natural_key(name: str):
    """Sort key: layers by their number (conv1 < dense2 < dense10), `out` last."""
    parts = [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name)]
    nums = [p for p in parts if isinstance(p, int)]
    return (name == "out", nums or [math.inf], parts)


@dataclass(frozen=True)
class WeightLayer:
    """A layer with a weight matrix or convolution kernel."""

    name: str  # module name: "dense1", "conv2", "out"
    kind: str  # "dense" (weight (out, in)) or "conv" (weight (out, in, kh, kw))
    shape: tuple[int, ...]  # the weight's shape
    has_bias: bool


def weight_layers(snapshot: Mapping) -> list[WeightLayer]:
    """Every dense or conv layer of a snapshot (keys `param/<module>.weight`), in layer order."""
    found = []
    for key, value in snapshot.items():
        if key.startswith("param/") and key.endswith(".weight") and len(value.shape) in (2, 4):
            name = key[len("param/") : -len(".weight")]
            kind = "dense" if len(value.shape) == 2 else "conv"
            found.append(WeightLayer(name, kind, tuple(value.shape), f"param/{name}.bias" in snapshot))
    return sorted(found, key=lambda layer: _natural_key(layer.name))


def momentum_key(snapshot: Mapping, param: str) -> str | None:
    """The key of `param`'s momentum in a snapshot (Adam's exp_avg or SGD's buffer), or None."""
    for k in MOMENTUM_KEYS:
        if f"opt/{param}/{k}" in snapshot:
            return f"opt/{param}/{k}"
    return None


# --- weights as images ---------------------------------------------------------------


def unit_images(weights: np.ndarray, input_shape: Sequence[int]) -> np.ndarray:
    """First-layer weights `(..., U, D)` → one image per unit, `(..., U, H, W)` or `(..., U, H, W, 3)`.

    `input_shape` is one sample's shape: `(C, H, W)` for images (C = 1 or 3), or `(H, W)`.
    """
    w = np.asarray(weights, np.float32)
    shape = tuple(input_shape)
    if len(shape) == 3 and shape[0] == 1:
        shape = shape[1:]
    if math.prod(shape) != w.shape[-1]:
        raise ValueError(
            f"Each unit has {w.shape[-1]} weights; they do not fill an input of shape {tuple(input_shape)}"
        )
    out = w.reshape(*w.shape[:-1], *shape)
    if len(shape) == 3:  # (C, H, W) → (H, W, C) for colour
        out = np.moveaxis(out, -3, -1)
    return out


def filter_images(kernels: np.ndarray) -> np.ndarray:
    """Conv kernels `(..., O, I, kh, kw)` → images: `(..., O, kh, kw, 3)` for I = 3, else `(..., O, I, kh, kw)`."""
    k = np.asarray(kernels, np.float32)
    if k.shape[-3] == 3:
        return np.moveaxis(k, -3, -1)
    return k


def select_units(history: np.ndarray, how: str = "all", *, n: int | None = None, start: int = 0) -> np.ndarray:
    """Indices of the units to draw from weights over time `(T, U, ...)`.

    how: "all" (every unit, first `n` if given), "changed" (the `n` units whose weights moved
    farthest from the first snapshot to the last, farthest first), or "range" (`n` units from `start`).
    """
    h = np.asarray(history)
    units = h.shape[1] if h.ndim >= 2 else 0
    n = units if n is None else max(0, min(int(n), units))
    if how == "all":
        return np.arange(n)
    if how == "range":
        start = max(0, min(int(start), units - n))
        return np.arange(start, start + n)
    if how == "changed":
        change = np.sqrt(((h[-1] - h[0]).reshape(units, -1).astype(np.float64) ** 2).sum(1))
        return np.argsort(-change, kind="stable")[:n]
    raise ValueError(f"Unknown unit selection {how!r}: use 'all', 'changed' or 'range'")


def stack(snapshots: Sequence[Mapping], key: str) -> np.ndarray:
    """One array of every snapshot stacked: `(T, *shape)` float32 (a missing one is all NaN)."""
    present = [s[key] for s in snapshots if key in s]
    if not present:
        raise KeyError(f"No snapshot holds {key!r}")
    shape = tuple(present[0].shape)
    out = np.full((len(snapshots), *shape), np.nan, np.float32)
    for t, s in enumerate(snapshots):
        if key in s:
            out[t] = to_numpy(s[key])
    return out


# --- distributions over time ---------------------------------------------------------


@dataclass(frozen=True)
class HistogramHistory:
    """The distribution of one array's values at every snapshot, on shared bins."""

    name: str  # what the values are: "dense1.weight", "gradient of dense1.weight", ...
    steps: np.ndarray  # (T,) training step of each snapshot
    edges: np.ndarray  # (B+1,) bin edges shared by every snapshot
    share: np.ndarray  # (T, B) share of the values in each bin (rows sum to 1; NaN row: not recorded)
    clipped: np.ndarray  # (T,) share of values beyond the edges, counted in the end bins

    @property
    def centers(self) -> np.ndarray:
        return (self.edges[:-1] + self.edges[1:]) / 2


def histogram_history(
    arrays: Sequence[np.ndarray | None], steps: Sequence[int], *, name: str = "", bins: int = 60, clip: float = 0.5
) -> HistogramHistory:
    """Histograms of each array on one set of `bins` bins spanning the pooled values.

    The range is the [clip, 100 - clip] percentiles of all values pooled, so that one outlier does
    not squeeze the rest into a single bin; values beyond are counted in the end bins. None (e.g.
    no gradient before the first step) gives a row of NaN.
    """
    flat = [None if a is None else to_numpy(a).ravel() for a in arrays]
    flat = [None if a is None else a[np.isfinite(a)] for a in flat]
    pooled = np.concatenate([a for a in flat if a is not None and a.size] or [np.zeros(0, np.float32)])
    if pooled.size:
        sample = pooled if pooled.size <= 200_000 else pooled[:: pooled.size // 200_000 + 1]
        lo, hi = (float(v) for v in np.percentile(sample, [clip, 100 - clip]))
        if lo == hi:
            lo, hi = float(pooled.min()), float(pooled.max())
    else:
        lo, hi = -1.0, 1.0
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    edges = np.linspace(lo, hi, bins + 1)
    share = np.full((len(flat), bins), np.nan, np.float32)
    clipped = np.full(len(flat), np.nan, np.float32)
    for t, a in enumerate(flat):
        if a is None or a.size == 0:
            continue
        counts, _ = np.histogram(np.clip(a.astype(np.float64), lo, hi), edges)  # float64: the end values stay in
        share[t] = counts / a.size
        clipped[t] = np.mean((a < lo) | (a > hi))
    return HistogramHistory(name, np.asarray(steps), edges, share, clipped)


def layer_histograms(
    snapshots: Sequence[Mapping], steps: Sequence[int], layer: str, *, bins: int = 60
) -> dict[str, HistogramHistory]:
    """Weights, biases, gradients and momentum of one layer over time: "weights", "biases", "gradients", "momentum"."""
    out = {}
    for label, key, name in (
        ("weights", f"param/{layer}.weight", f"{layer}.weight"),
        ("biases", f"param/{layer}.bias", f"{layer}.bias"),
        ("gradients", f"grad/{layer}.weight", f"gradient of {layer}.weight"),
    ):
        if any(key in s for s in snapshots):
            out[label] = histogram_history([s.get(key) for s in snapshots], steps, name=name, bins=bins)
    mom = [momentum_key(s, f"{layer}.weight") for s in snapshots]
    if any(mom):
        kind = "Adam's first moment" if any(k and k.endswith("exp_avg") for k in mom) else "momentum buffer"
        out["momentum"] = histogram_history(
            [s[k] if k else None for s, k in zip(snapshots, mom, strict=True)],
            steps,
            name=f"{kind} of {layer}.weight",
            bins=bins,
        )
    return out


# --- norms and dead units over time --------------------------------------------------


@dataclass(frozen=True)
class NormHistory:
    """Per-layer size of the weights, gradients and updates, and units that never fire, over time."""

    steps: np.ndarray  # (T,)
    layers: tuple[str, ...]  # weight layers, in order
    weight_norm: np.ndarray  # (L, T) Frobenius norm of each layer's weight
    grad_norm: np.ndarray  # (L, T) norm of its gradient (NaN where not recorded, e.g. at step 0)
    update_ratio: np.ndarray  # (L, T) ‖W_t − W_{t−1}‖ / ‖W_{t−1}‖ between consecutive snapshots (NaN at t = 0)
    points: tuple[str, ...]  # activated points with a firing record
    dead_share: np.ndarray  # (P, T) share of units that fired on no evaluation sample


def norm_history(snapshots: Sequence[Mapping], steps: Sequence[int]) -> NormHistory:
    """Norms, update-to-weight ratios and the share of never-firing units, from every snapshot."""
    t_count = len(snapshots)
    layers = tuple(w.name for w in weight_layers(snapshots[-1])) if snapshots else ()
    points = tuple(sorted({k[5:] for s in snapshots for k in s if k.startswith("fire/")}, key=_natural_key))
    wn, gn, ur = (np.full((len(layers), t_count), np.nan) for _ in range(3))
    dead = np.full((len(points), t_count), np.nan)
    prev: dict[str, np.ndarray] = {}
    for t, snap in enumerate(snapshots):
        for i, name in enumerate(layers):
            w = snap.get(f"param/{name}.weight")
            if w is None:
                continue
            w = to_numpy(w)
            wn[i, t] = np.linalg.norm(w)
            g = snap.get(f"grad/{name}.weight")
            if g is not None:
                gn[i, t] = np.linalg.norm(to_numpy(g))
            if name in prev:
                base = np.linalg.norm(prev[name])
                ur[i, t] = np.linalg.norm(w - prev[name]) / base if base > 0 else np.nan
            prev[name] = w
        for j, point in enumerate(points):
            fire = snap.get(f"fire/{point}")
            if fire is not None:
                dead[j, t] = float(np.mean(to_numpy(fire) <= 0))
    return NormHistory(np.asarray(steps), layers, wn, gn, ur, points, dead)
