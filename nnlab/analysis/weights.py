"""Weights over training: what each layer's weights are, their tiles over time, histograms, norms, dead units.

Analysis for the weight-evolution page (learning over time). The getters take a `nnlab.runs.Run`
(`weight_layers`, `layer_history`, `norms_info`) or the layer record one returned (`movie_info`,
`matrix_info`); the helpers under them take snapshot arrays (key → array or tensor, as `Run.snapshot(k)`
returns them). Small records of numpy arrays out; `nnlab.figures.weights` and `.weight_movies` draw them.
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


WEIGHTED_ROLES = ("raw", "logits")  # points made by a layer whose weight maps its input to its units (dense, conv)
TILES = {  # what one tile of a layer's movie can be
    "unit": "one unit of the first layer, drawn as an image of the input it reads",
    "filter": "one convolution filter (grey for one input channel, in colour for an RGB image)",
    "kernel": "the kernel one filter applies to one of its input channels",
    "matrix": "the whole weight matrix (out, in), as one tile",
}


@dataclass(frozen=True)
class WeightLayer:
    """A layer whose weight maps its input to its units, and what one tile of its movie is."""

    name: str  # the module's dotted name: "dense1", "conv2", "out"
    layout: str  # the layout of the point it makes: "map" (a conv: weight (out, in, kh, kw)) or "vector" ((out, in))
    shape: tuple[int, ...]  # the weight's shape
    has_bias: bool
    reads: tuple[int, ...] = ()  # the input's (C, H, W) when this layer reads the image itself (the first layer)

    @property
    def units(self) -> int:
        return self.shape[0]

    @property
    def tile(self) -> str:
        """What one tile of this layer's movie is: one of TILES."""
        if self.layout == "map":
            colour = self.reads[:1] == (3,) and self.shape[1] == 3
            return "filter" if self.shape[1] == 1 or colour else "kernel"
        return "unit" if self.reads and self.shape[1] == math.prod(self.reads) else "matrix"


def _undeclared(snapshot: Mapping) -> list[tuple[str, str]]:
    """(module, layout) of every weight of your own module, which declares no points: PyTorch's conventions
    make a 2-D weight a dense layer's (out, in) and a 4-D one a convolution's (out, in, kh, kw)."""
    found = []
    for key, value in snapshot.items():
        if key.startswith("param/") and key.endswith(".weight") and len(value.shape) in (2, 4):
            found.append((key[len("param/") : -len(".weight")], "vector" if len(value.shape) == 2 else "map"))
    return sorted(found, key=lambda f: _natural_key(f[0]))


def _with_inner(found: list, every: list, modules: list[str]) -> list:
    """`found` and the weight matrices inside the points' modules that no point names (a transformer block's
    attention and MLP; a ViT's patch embedding, a convolution), each after the point whose module holds it."""
    named = {name for name, _ in found}

    def place(name: str) -> int:
        holders = [i for i, m in enumerate(modules) if name == m or name.startswith(m + ".")]
        return holders[-1] if holders else len(modules)

    extra = [(n, layout) for n, layout in every if n not in named and place(n) < len(modules)]
    return sorted(found + extra, key=lambda f: (place(f[0]), f[0] not in named))


def weight_layers(run) -> list[WeightLayer]:
    """The layers of `run` whose weights can be drawn, in network order.

    A network nnlab built declares them: its raw and logit points whose module has a weight, a map point's
    being a convolution. The first of them reads the input, so its tiles are images when the samples are.
    """
    snap = run.snapshot(0)
    if run.model_kind is None:
        found = _undeclared(snap)
    else:
        points = run.points()
        found = [(p.module, p.layout) for p in points if p.role in WEIGHTED_ROLES and p.module]
        found = [(name, layout) for name, layout in found if f"param/{name}.weight" in snap]
        found = _with_inner(found, _undeclared(snap), [p.module for p in points if p.module])
    info = run.manifest.get("dataset", {})
    shape = tuple(info.get("input_shape") or ())
    image = shape if len(shape) == 3 and info.get("is_image", True) else ()  # (C, H, W) samples
    return [
        WeightLayer(
            name,
            layout,
            tuple(snap[f"param/{name}.weight"].shape),
            f"param/{name}.bias" in snap,
            image if i == 0 else (),
        )
        for i, (name, layout) in enumerate(found)
    ]


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


def norm_history(
    snapshots: Sequence[Mapping], steps: Sequence[int], *, layers: Sequence[str] | None = None
) -> NormHistory:
    """Norms, update-to-weight ratios and the share of never-firing units of `layers`, from every snapshot.

    `layers` defaults to every dense and conv weight the last snapshot holds, by PyTorch's shape conventions.
    """
    t_count = len(snapshots)
    if layers is None:
        layers = [name for name, _ in _undeclared(snapshots[-1])] if snapshots else []
    layers = tuple(layers)
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


def _every_snapshot(run) -> tuple[list[Mapping], np.ndarray]:
    """Every snapshot of `run` (as many as it has now) and their steps."""
    n = len(run)
    return [run.snapshot(k) for k in range(n)], np.asarray([s["step"] for s in run.snapshots[:n]])


# --- the getters of the weights page -------------------------------------------------


@dataclass(frozen=True)
class LayerHistory:
    """One layer over training: its weights at every snapshot and the distributions of its arrays."""

    layer: WeightLayer
    steps: np.ndarray  # (T,) training step of each snapshot
    weights: np.ndarray  # (T, *layer.shape) float16: enough for a picture, and half the memory of a cached record
    histograms: dict[str, HistogramHistory]  # "weights", "biases", "gradients", "momentum": those recorded


def layer_history(run, layer: str) -> LayerHistory:
    """Layer `layer` (a name from `weight_layers`) in every snapshot of `run`, in one pass."""
    found = {w.name: w for w in weight_layers(run)}[layer]
    snaps, steps = _every_snapshot(run)
    weights = stack(snaps, f"param/{layer}.weight").astype(np.float16)
    return LayerHistory(found, steps, weights, layer_histograms(snaps, steps, layer))


@dataclass(frozen=True)
class WeightMovie:
    """What `nnlab.figures.weight_movies` animates for one layer: its tiles at every snapshot, and their names."""

    tiles: np.ndarray  # (T, U, h, w), (T, U, h, w, 3) for colour, or one matrix (T, 1, rows, cols); float32
    labels: tuple[str, ...] | None  # hover text per tile; None for a matrix, read by its axes
    cols: int | None  # tiles per row (None: as square as fits)
    axis_titles: tuple[str, str] | None  # (x, y) of a matrix; None for tiles
    units: np.ndarray  # the units drawn


def _matrix_axes(layer: WeightLayer) -> tuple[bool, tuple[str, str]]:
    """Whether a weight matrix is laid on its side (it is taller than wide), and its (x, y) titles then."""
    tall = layer.shape[0] > layer.shape[1]
    unit = f"unit of {layer.name}"
    return tall, ((unit, "input") if tall else ("input", unit))


def movie_info(history: LayerHistory, how: str = "all", count: int | None = None, start: int = 0) -> WeightMovie:
    """The tiles of `history`'s layer to animate, with the units chosen as in `select_units` (a matrix: all)."""
    layer, w = history.layer, history.weights.astype(np.float32)  # (T, O, ...)
    what = layer.tile
    if what == "matrix":
        tall, axes = _matrix_axes(layer)
        tiles = w[:, None]  # (T, 1, out, in)
        return WeightMovie(np.swapaxes(tiles, -1, -2) if tall else tiles, None, None, axes, np.arange(layer.units))
    sel = select_units(w, how, n=count, start=start)
    if what == "kernel":  # every (filter, input channel) kernel of the chosen filters: one column per filter
        per = layer.shape[1]
        k = w[:, sel].swapaxes(1, 2)  # (T, I, O', kh, kw)
        labels = tuple(f"filter {o} ← channel {i}" for i in range(per) for o in sel)
        return WeightMovie(k.reshape(len(w), per * len(sel), *k.shape[3:]), labels, len(sel), None, sel)
    if what == "unit":
        tiles = unit_images(w[:, sel], layer.reads)  # (T, U', H, W) or (T, U', H, W, 3)
    else:
        tiles = filter_images(w[:, sel]) if layer.shape[1] == 3 else w[:, sel, 0]  # (T, O', kh, kw[, 3])
    return WeightMovie(tiles, tuple(f"{what} {i}" for i in sel), None, None, sel)


@dataclass(frozen=True)
class WeightMatrix:
    """One dense layer's weights at one snapshot, as a heatmap shows them (tall matrices on their side)."""

    values: np.ndarray  # (rows, cols) float32
    x_title: str
    y_title: str
    step: int


def matrix_info(history: LayerHistory, k: int, *, change: bool = False) -> WeightMatrix:
    """The weight matrix at snapshot `k`, or (`change`) what training added to it since the start."""
    w = history.weights[k].astype(np.float32) - (history.weights[0].astype(np.float32) if change else 0)
    tall, (x, y) = _matrix_axes(history.layer)
    return WeightMatrix(w.T if tall else w, x, y, int(history.steps[k]))


def norms_info(run) -> NormHistory:
    """Norms, update ratios and never-firing units of every drawn layer of `run`, over training (one pass)."""
    snaps, steps = _every_snapshot(run)
    return norm_history(snaps, steps, layers=[w.name for w in weight_layers(run)])
