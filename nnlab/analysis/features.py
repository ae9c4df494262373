"""Features: what each feature of a sparse autoencoder (`nnlab.analysis.sae`) responds to, against the neurons.

Stage: run (a snapshot's network and a saved SAE, replayed over the evaluation subset) → analysis → the Features
page. `feature_table` is one pass over the evaluation subset: every feature's and every neuron's value per sample
(a map's or a token point's: its largest over positions, and where), the SAE's quality there, and the network's
score with the layer replaced by its reconstruction (spliced in). From it: a feature's dashboard (`feature_info`),
its class purity (the share of its strongest responses, those at a quarter of its largest value or more, from its
most common class), its effect on the output (`logit_effects`: the class scores lost when the feature is switched
off on its strongest samples), a sentence written from those numbers, and the neurons against the features
(`neurons_vs_features`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..models.registry import task_of
from . import sae as sae_lib
from .units import BATCH, patch_box, receptive_field

STRONG = 0.25  # a unit's "strongest responses": the samples where it reaches at least this share of its largest value
MIN_FIRING = 5  # a unit with fewer strongest responses has no purity (too rare to say)
EFFECT_SAMPLES = 8  # strongest samples a feature is switched off on to measure its effect


@dataclass(frozen=True)
class FeatureTable:
    """Every feature and neuron of one point over the evaluation subset, and the SAE's quality there."""

    point: str
    layout: str
    acts: np.ndarray  # (N, F) each feature's value per sample (maps, tokens: its largest over positions)
    where: np.ndarray | None  # (N, F) the position of that value (row · W + column; a token's index); None: vectors
    neurons: np.ndarray  # (N, U) each neuron (unit, channel, dimension) per sample, reduced the same way
    indices: np.ndarray  # (N,) test indices
    labels: np.ndarray  # (N,)
    frequency: np.ndarray  # (F,) share of the evaluation vectors (every position) where the feature is active
    quality: sae_lib.Quality  # on the evaluation vectors
    metric: str  # "accuracy" or the task's metric in words
    intact: float | None  # the network's metric on the evaluation subset
    spliced: float | None  # the same with the point replaced by the SAE's reconstruction
    map_shape: tuple[int, ...] | None  # (h, w) of a map; (tokens,) for tokens

    @property
    def n_features(self) -> int:
        return self.acts.shape[1]


@contextmanager
def replaced(model: nn.Module, module: str, change):
    """Within the block, `module`'s output is `change(output)` (a forward hook, always removed)."""
    handle = dict(model.named_modules())[module].register_forward_hook(lambda m, i, out: change(out))
    try:
        yield
    finally:
        handle.remove()


def reduce_positions(layout: str, v: torch.Tensor, b: int) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Vectors `(B·P, X)` of `b` samples → each column's largest value per sample `(B, X)` and where `(B, X)`."""
    if layout not in ("map", "tokens"):
        return v, None
    values, where = v.reshape(b, -1, v.shape[1]).max(1)
    return values, where


@torch.inference_mode()
def feature_table(model: nn.Module, sae: sae_lib.TopKSae, x: torch.Tensor, point, indices, labels) -> FeatureTable:
    """One pass over prepared inputs `x` (the evaluation subset): the table of `sae`'s features at `point`."""
    model.eval()
    task = task_of(model)
    y_all = torch.as_tensor(np.asarray(labels))
    acts, where, neurons, intact, spliced = [], [], [], 0.0, 0.0
    err = total = active = 0.0
    fired = torch.zeros(sae.width)
    n_vectors, sums, sq = 0, torch.zeros(sae.d_in, dtype=torch.float64), 0.0
    for i in range(0, len(x), BATCH):
        xb, yb = x[i : i + BATCH], y_all[i : i + BATCH]
        seen = {}

        def keep(out, seen=seen):
            seen["out"] = out
            return out

        with replaced(model, point.module, keep):
            final = model(xb)
        out = seen["out"].float()
        v = sae_lib.to_vectors(point.layout, out)  # (B·P, d)
        z = sae.codes(v)  # (B·P, F)
        recon = sae.decode(z) / sae.scale
        a, w = reduce_positions(point.layout, z, len(xb))
        acts.append(a)
        neurons.append(reduce_positions(point.layout, v, len(xb))[0])
        if w is not None:
            where.append(w)
        nz = z > 0
        active += float(nz.sum())
        fired += nz.sum(0)
        err += float(((recon - v).double() ** 2).sum())
        n_vectors += len(v)
        sums += v.double().sum(0)
        sq += float((v.double() ** 2).sum())
        shape = out.shape
        with replaced(model, point.module, lambda o, r=recon, s=shape: sae_lib.from_vectors(point.layout, r, s)):
            final_spliced = model(xb)
        intact += task.score(final, xb, yb)
        spliced += task.score(final_spliced, xb, yb)
    n = len(x)
    total = sq - float((sums**2).sum()) / max(n_vectors, 1)  # the vectors' summed squared deviation
    freq = (fired / max(n_vectors, 1)).numpy()
    q = sae_lib.Quality(
        1 - err / total if total > 0 else 0.0,
        active / max(n_vectors, 1),
        float(np.mean(freq == 0)),
        float(np.mean(freq > sae_lib.DENSE)),
        freq,
    )
    map_shape = tuple(shape[2:]) if point.layout == "map" else (shape[1],) if point.layout == "tokens" else None
    return FeatureTable(
        point.name,
        point.layout,
        torch.cat(acts).numpy(),
        torch.cat(where).numpy() if where else None,
        torch.cat(neurons).numpy(),
        np.asarray(indices),
        np.asarray(labels),
        freq,
        q,
        task.metric_info.label,
        intact / n if n else None,
        spliced / n if n else None,
        map_shape,
    )


# --- purity --------------------------------------------------------------------------------------------------------
def strong_rows(v: np.ndarray, strong: float = STRONG) -> np.ndarray:
    """The rows of one column `v` (N,) among its strongest responses: at least `strong` × its largest value (which
    must be above zero), strongest first; empty for a column that never goes above zero."""
    top = float(v.max()) if len(v) else 0.0
    if top <= 0:
        return np.zeros(0, np.int64)
    rows = np.flatnonzero(v >= strong * top)
    return rows[np.argsort(-v[rows], kind="stable")]


def purity(values: np.ndarray, labels: np.ndarray, n_classes: int, *, strong: float = STRONG):
    """Each column's class purity: the share of its strongest responses (`strong_rows`) from its most common class;
    NaN when it has fewer than MIN_FIRING of them. Returns (purity (X,), top class (X,), class shares (X, K))."""
    cols = values.shape[1]
    pur = np.full(cols, np.nan)
    best = np.full(cols, -1)
    shares = np.zeros((cols, n_classes))
    for j in range(cols):
        rows = strong_rows(values[:, j], strong)
        if len(rows) < MIN_FIRING:
            continue
        counts = np.bincount(labels[rows], minlength=n_classes)[:n_classes]
        shares[j] = counts / counts.sum()
        best[j] = int(counts.argmax())
        pur[j] = float(shares[j].max())
    return pur, best, shares


@dataclass(frozen=True)
class Comparison:
    """Neurons against features on the same point."""

    neuron_purity: np.ndarray  # (U,) NaN for a constant neuron
    feature_purity: np.ndarray  # (F,) NaN for a feature too rare to say
    neuron_median: float
    feature_median: float
    neuron: int  # the most polysemantic live neuron (lowest purity)
    neuron_classes: list[tuple[int, float]]  # its main classes and their shares of its strongest samples
    splitters: list[tuple[int, int, float]]  # (class, the feature that carries the neuron on it, that feature's purity)


def neurons_vs_features(table: FeatureTable, sae: sae_lib.TopKSae, n_classes: int) -> Comparison:
    """Purity of the neurons and of the features, and the most polysemantic neuron with the features that split it:
    for each of its main classes (those with a tenth of its strongest responses or more, at least its two largest,
    at most four), the feature that adds most to the neuron (its value × its decoder's weight on the
    neuron) over the neuron's strongest samples of that class."""
    labels = table.labels
    n_pur, _, n_shares = purity(table.neurons, labels, n_classes)
    f_pur, _, _ = purity(table.acts, labels, n_classes)
    live = np.flatnonzero(~np.isnan(n_pur))
    neuron = int(live[np.argmin(n_pur[live])]) if len(live) else -1
    classes, splitters = [], []
    if neuron >= 0:
        shares = n_shares[neuron]
        order = [int(c) for c in np.argsort(-shares, kind="stable") if shares[c] > 0]
        main = [c for c in order if shares[c] >= 0.1][:4]
        classes = [(c, float(shares[c])) for c in (main if len(main) >= 2 else order[:2])]  # its two largest at least
        rows = strong_rows(table.neurons[:, neuron])
        weight = sae.directions()[:, neuron].numpy()  # (F,) what one unit of each feature adds to the neuron
        for c, _ in classes:
            mine = rows[labels[rows] == c]
            adds = (table.acts[mine] * weight).sum(0)  # (F,)
            f = int(np.argmax(adds))
            if adds[f] > 0:
                splitters.append((c, f, float(f_pur[f])))
    return Comparison(
        n_pur,
        f_pur,
        float(np.nanmedian(n_pur)) if live.size else float("nan"),
        float(np.nanmedian(f_pur)) if (~np.isnan(f_pur)).any() else float("nan"),
        neuron,
        classes,
        splitters,
    )


# --- the effect on the output --------------------------------------------------------------------------------------
@torch.inference_mode()
def logit_effects(
    model: nn.Module, sae: sae_lib.TopKSae, x: torch.Tensor, table: FeatureTable, point, features=None
) -> np.ndarray | None:
    """(len(features), K): each feature's effect on the class scores: the logits minus the logits with the feature
    switched off (its value × its decoder direction taken out of the point, at every position) on its
    EFFECT_SAMPLES strongest samples, averaged, centred over the classes (a softmax ignores a common shift). Positive:
    the feature raises that class. NaN rows for a feature that never fires; None when the network has no classes."""
    if task_of(model).name != "classification":
        return None
    features = range(table.n_features) if features is None else features
    dirs = sae.directions()  # (F, d)
    jobs = []  # (row in x, feature)
    for f in features:
        rows = np.argsort(-table.acts[:, f], kind="stable")[:EFFECT_SAMPLES]
        jobs += [(int(r), int(f)) for r in rows if table.acts[r, f] > 0]
    n_classes = int(model(x[:1]).shape[1])
    sums, counts = np.zeros((len(features), n_classes)), np.zeros(len(features))
    slot = {f: i for i, f in enumerate(features)}
    for i in range(0, len(jobs), BATCH):
        rows = torch.tensor([r for r, _ in jobs[i : i + BATCH]])
        feats = torch.tensor([f for _, f in jobs[i : i + BATCH]])
        xb = x[rows]

        def off(o, feats=feats):
            v = sae_lib.to_vectors(point.layout, o.float())  # (B·P, d)
            per = len(v) // len(feats)
            f_rep = feats.repeat_interleave(per)
            z = sae.codes(v).gather(1, f_rep[:, None])  # (B·P, 1) the feature's value at each position
            return sae_lib.from_vectors(point.layout, v - z * dirs[f_rep], o.shape).to(o.dtype)

        intact = model(xb)
        with replaced(model, point.module, off):
            without = model(xb)
        diff = (intact - without).double()
        diff -= diff.mean(1, keepdim=True)
        for (_, f), d in zip(jobs[i : i + BATCH], diff.numpy(), strict=True):
            sums[slot[f]] += d
            counts[slot[f]] += 1
    with np.errstate(invalid="ignore", divide="ignore"):
        return (sums / counts[:, None]).astype(np.float32)


# --- one feature ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FeatureInfo:
    """One feature's dashboard."""

    feature: int
    top: np.ndarray  # test indices of its strongest samples, strongest first
    top_values: np.ndarray
    top_labels: np.ndarray
    boxes: np.ndarray | None  # (n, 4) input rows/columns where it fires most on each (images at maps and tokens)
    frequency: float  # share of evaluation vectors where it is active
    sample_share: float  # share of evaluation samples where it is active somewhere
    histogram: tuple[np.ndarray, np.ndarray]  # (counts, edges) of its non-zero values over the samples
    purity: float  # NaN: too rare to say
    top_class: int  # -1: none
    shares: np.ndarray  # (K,) class shares of its strongest samples
    effect: np.ndarray | None  # (K,) what it adds to each class score (None: no classes)
    sentence: str


def token_box(token: int, n_tokens: int, image_hw: tuple[int, int]) -> tuple[int, int, int, int]:
    """The input rows and columns of a ViT token (token 0, the class token, sees the whole image)."""
    h, w = image_hw
    patch = int(round(math.sqrt(h * w / max(n_tokens - 1, 1))))
    if token == 0 or patch < 1 or h % patch or w % patch:
        return 0, h, 0, w
    row, col = divmod(token - 1, w // patch)
    return row * patch, (row + 1) * patch, col * patch, (col + 1) * patch


def boxes_of(table: FeatureTable, rows, f: int, *, field=None, image_hw=None) -> np.ndarray | None:
    """Where feature `f` fires most on each of `rows`, as input boxes (maps: from the receptive `field`)."""
    if table.where is None or image_hw is None:
        return None
    if table.layout == "map":
        if field is None:
            return None
        found = [patch_box(field, table.where[r, f], table.map_shape[1], image_hw) for r in rows]
    else:
        found = [token_box(int(table.where[r, f]), table.map_shape[0], image_hw) for r in rows]
    return np.array(found, dtype=np.int64).reshape(-1, 4)


def place(boxes: np.ndarray, image_hw: tuple[int, int]) -> str:
    """Where boxes sit on the image in words ("at the top left"), or "" when they spread everywhere."""
    h, w = image_hw
    cy = float(((boxes[:, 0] + boxes[:, 1]) / 2).mean()) / h
    cx = float(((boxes[:, 2] + boxes[:, 3]) / 2).mean()) / w
    vert = "top" if cy < 0.38 else "bottom" if cy > 0.62 else ""
    horiz = "left" if cx < 0.38 else "right" if cx > 0.62 else ""
    spot = " ".join(s for s in (vert, horiz) if s)
    return f"mostly at the {spot} of the image" if spot else "mostly near the middle of the image"


def sentence(
    feature: int,
    shares: np.ndarray,
    pur: float,
    sample_share: float,
    effect: np.ndarray | None,
    class_names: Sequence[str],
    where: str = "",
) -> str:
    """The feature in one sentence, written from its numbers (no language model)."""
    name = lambda c: str(class_names[c]) if c < len(class_names) else str(c)  # noqa: E731
    if sample_share == 0:
        return f"Feature {feature} never fires on the evaluation samples (a dead feature)."
    if math.isnan(pur):
        said = f"Feature {feature} fires rarely (on {sample_share:.1%} of the samples), too rarely to name its class"
    else:
        main = [c for c in np.argsort(-shares, kind="stable") if shares[c] >= 0.15][:3]
        classes = " and ".join(f"{name(c)} ({shares[c]:.0%})" for c in main)
        kind = "one class" if pur >= 0.8 else "a few classes" if pur >= 0.5 else "many classes"
        said = (
            f"Feature {feature} fires on {classes} of its strongest samples ({kind}); "
            f"active on {sample_share:.0%} of the samples"
        )
    if where:
        said += f", {where}"
    if effect is not None and np.isfinite(effect).all() and len(effect):
        order = np.argsort(-effect, kind="stable")
        up = [name(c) for c in order[:2] if effect[c] > 0.05 * np.abs(effect).max()]
        down = [name(c) for c in order[::-1][:2] if effect[c] < -0.05 * np.abs(effect).max()]
        if up:
            said += f"; raises {' and '.join(up)}"
        if down:
            said += f"{';' if not up else ','} lowers {' and '.join(down)}"
    return said + "."


def feature_info(
    table: FeatureTable,
    f: int,
    class_names: Sequence[str],
    *,
    effect: np.ndarray | None = None,
    n: int = 9,
    field=None,
    image_hw=None,
) -> FeatureInfo:
    """Feature `f`'s dashboard from the table (and its row of `logit_effects`)."""
    if not 0 <= f < table.n_features:
        raise IndexError(f"The SAE has {table.n_features} features; there is no feature {f}")
    v = table.acts[:, f]
    rows = np.argsort(-v, kind="stable")[:n]
    rows = rows[v[rows] > 0]
    k = max(len(class_names), int(table.labels.max()) + 1 if len(table.labels) else 0)
    pur, best, shares = purity(v[:, None], table.labels, k)
    nonzero = v[v > 0]
    counts, edges = np.histogram(nonzero, bins=20) if len(nonzero) else (np.zeros(0, np.int64), np.zeros(0))
    boxes = boxes_of(table, rows, f, field=field, image_hw=image_hw)
    share = float(np.mean(v > 0)) if len(v) else 0.0
    where = place(boxes, image_hw) if boxes is not None and len(boxes) else ""
    return FeatureInfo(
        int(f),
        table.indices[rows],
        v[rows],
        table.labels[rows],
        boxes,
        float(table.frequency[f]),
        share,
        (counts, edges),
        float(pur[0]),
        int(best[0]),
        shares[0],
        effect,
        sentence(int(f), shares[0], float(pur[0]), share, effect, class_names, where),
    )


def image_field(model: nn.Module, point, dataset):
    """(receptive field, image (h, w)) for a map point of an image network; (None, image (h, w) or None) else."""
    hw = tuple(dataset.input_shape[1:]) if dataset.is_image else None
    field = receptive_field(model, point.module) if point.layout == "map" and hw is not None else None
    return field, hw


# --- steering: one sample with a feature scaled ---------------------------------------------------------------------
@dataclass(frozen=True)
class Steering:
    """One sample's class probabilities with one feature scaled, against the intact network's."""

    feature: int
    factor: float  # 0: switched off; 1: as it is; 2: doubled
    value: float  # the feature's value on this sample (its largest over positions)
    before: np.ndarray  # (K,) probabilities, intact
    after: np.ndarray  # (K,) probabilities with the feature scaled
    active: np.ndarray  # the features active on this sample, strongest first
    active_values: np.ndarray


@torch.inference_mode()
def steer(model: nn.Module, sae: sae_lib.TopKSae, x: torch.Tensor, point, feature: int, factor: float) -> Steering:
    """Prepared input `x` `(1, ...)` run with feature `feature` scaled by `factor` at `point`: its value × (factor − 1)
    × its decoder direction added to the point's output at every position (the rest of the output, the SAE's error
    included, is left as it is)."""
    if not 0 <= feature < sae.width:
        raise IndexError(f"The SAE has {sae.width} features; there is no feature {feature}")
    model.eval()
    direction = sae.directions()[feature]  # (d,)
    seen = {}

    def scale(o):
        v = sae_lib.to_vectors(point.layout, o.float())  # (P, d)
        z = sae.codes(v)  # (P, F)
        seen["z"] = z
        changed = v + (factor - 1) * z[:, feature : feature + 1] * direction
        return sae_lib.from_vectors(point.layout, changed, o.shape).to(o.dtype)

    before = model(x)
    with replaced(model, point.module, scale):
        after = model(x)
    z = seen["z"].max(0).values  # (F,) each feature's largest over positions
    active = torch.nonzero(z > 0).flatten()
    active = active[z[active].argsort(descending=True)]
    return Steering(
        int(feature),
        float(factor),
        float(z[feature]),
        torch.softmax(before.float(), 1)[0].numpy(),
        torch.softmax(after.float(), 1)[0].numpy(),
        active.numpy(),
        z[active].numpy(),
    )
