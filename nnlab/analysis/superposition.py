"""Superposition in a toy model: where each feature sits in the hidden space, and how much it shares it.

Stage: run (a snapshot's weights) → analysis → `nnlab.figures.superposition`. After Elhage et al. 2022, "Toy
Models of Superposition": with W the (m, n) matrix whose column Wᵢ is feature i's direction, WᵀW says which
features interfere (its diagonal holds ‖Wᵢ‖²), ‖Wᵢ‖ ≈ 1 means feature i is represented (≈ 0: dropped), and the
superposition measure Σ_{j≠i} (Ŵᵢ·Wⱼ)² is 0 for a feature alone in its direction and grows as others share it.
A kind whose config names a `feature_weight` parameter (the toy model's `hidden.weight`) has these pictures.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

REPRESENTED = 0.5  # a feature whose direction is at least this long counts as represented (the paper's pictures)
TINY = 1e-8  # below this norm a feature has no direction (its Ŵᵢ is taken as 0)


def gram(weights: np.ndarray) -> np.ndarray:
    """`(n, n)` WᵀW of `(m, n)` weights: entry (i, j) is Wᵢ·Wⱼ, the diagonal ‖Wᵢ‖²."""
    w = np.asarray(weights, np.float64)
    return w.T @ w


def feature_norms(weights: np.ndarray) -> np.ndarray:
    """`(n,)` ‖Wᵢ‖: how strongly each feature is represented."""
    return np.linalg.norm(np.asarray(weights, np.float64), axis=0)


def superposition(weights: np.ndarray) -> np.ndarray:
    """`(n,)` Σ_{j≠i} (Ŵᵢ·Wⱼ)²: how much of the other features lies along feature i's direction (0: alone)."""
    g = gram(weights)  # (n, n)
    norms = np.sqrt(np.clip(np.diag(g), 0, None))
    unit = np.where(norms > TINY, 1 / np.maximum(norms, TINY), 0.0)
    projected = g * unit[:, None]  # row i: Ŵᵢ·Wⱼ for every j
    np.fill_diagonal(projected, 0.0)
    return (projected**2).sum(1)


def dimensionality(weights: np.ndarray) -> np.ndarray:
    """`(n,)` Dᵢ = ‖Wᵢ‖² / Σⱼ (Ŵᵢ·Wⱼ)²: the share of a hidden dimension feature i has (1: one of its own; 1/2:
    it shares one with another feature, as antipodal pairs do; 0: not represented)."""
    norms_sq = feature_norms(weights) ** 2
    total = norms_sq + superposition(weights)  # the j = i term is ‖Wᵢ‖²
    return np.where(total > TINY, norms_sq / np.maximum(total, TINY), 0.0)


@dataclass(frozen=True)
class SuperpositionInfo:
    """One snapshot of a toy model, feature by feature."""

    weights: np.ndarray  # (m, n) column i: feature i's direction
    gram: np.ndarray  # (n, n) WᵀW
    norms: np.ndarray  # (n,) ‖Wᵢ‖
    superposition: np.ndarray  # (n,) Σ_{j≠i} (Ŵᵢ·Wⱼ)²
    dimensionality: np.ndarray  # (n,) Dᵢ
    bias: np.ndarray | None  # (n,) the output bias b (None when the network has none)
    step: int

    @property
    def n_features(self) -> int:
        return self.weights.shape[1]

    @property
    def dims(self) -> int:
        return self.weights.shape[0]

    @property
    def represented(self) -> np.ndarray:
        """`(n,)` bool: ‖Wᵢ‖ ≥ REPRESENTED."""
        return self.norms >= REPRESENTED

    @property
    def n_represented(self) -> int:
        return int(self.represented.sum())

    @property
    def n_superposed(self) -> int:
        """Represented features that share their direction (superposition measure ≥ 0.1 of their own ‖Wᵢ‖²)."""
        return int((self.represented & (self.superposition >= 0.1 * self.norms**2)).sum())


def info_of(weights: np.ndarray, bias: np.ndarray | None = None, step: int = 0) -> SuperpositionInfo:
    """Every measure of `(m, n)` weights (and the output bias)."""
    w = np.asarray(weights, np.float64)
    return SuperpositionInfo(
        w.astype(np.float32),
        gram(w).astype(np.float32),
        feature_norms(w).astype(np.float32),
        superposition(w).astype(np.float32),
        dimensionality(w).astype(np.float32),
        None if bias is None else np.asarray(bias, np.float32),
        int(step),
    )


def feature_weight(run) -> str | None:
    """The parameter whose columns are the features' directions (the kind's config names it), or None."""
    kind = run.model_kind
    return getattr(kind.config, "feature_weight", None) if kind is not None else None


def applies(run) -> bool:
    """Whether `run`'s network is a toy model of superposition (its kind names a `feature_weight`)."""
    return feature_weight(run) is not None


def superposition_info(run, k: int) -> SuperpositionInfo:
    """The measures at snapshot `k` of a run whose kind names a `feature_weight`; ValueError for any other."""
    name = feature_weight(run)
    if name is None:
        raise ValueError("Superposition pictures need a toy model of superposition (model: toy, on sparse-features)")
    snap = run.snapshot(k)
    bias_name = getattr(run.model_kind.config, "feature_bias", None)  # the output bias b, when the kind names it
    bias = snap.get(f"param/{bias_name}") if bias_name else None
    return info_of(
        snap[f"param/{name}"].float().numpy(),
        None if bias is None else bias.float().numpy(),
        run.snapshots[k]["step"] if k < len(run.snapshots) else 0,
    )


def norms_history(run) -> tuple[np.ndarray, np.ndarray]:
    """`(S,)` steps and `(S, n)` ‖Wᵢ‖ at every snapshot: features joining (or leaving) the hidden space."""
    name = feature_weight(run)
    if name is None:
        raise ValueError("Superposition pictures need a toy model of superposition (model: toy, on sparse-features)")
    steps = np.array([s["step"] for s in run.snapshots], np.int64)
    norms = np.stack([feature_norms(run.snapshot(k)[f"param/{name}"].float().numpy()) for k in range(len(run))])
    return steps, norms.astype(np.float32)


# --- the same in a real network: one unit, several classes -----------------------------------------------------
@dataclass(frozen=True)
class MixedUnit:
    """The unit of a layer whose strongest responses are the most mixed across classes."""

    unit: int
    classes: int  # distinct classes among its `top` strongest responses
    purity: float  # share of those responses from its most common class
    top: int  # how many strongest responses were read (the Units page shows 9)


def mixed_unit(values: np.ndarray, labels: np.ndarray, top: int = 9) -> MixedUnit | None:
    """Of the live units of `values` `(N, U)` (above zero on some sample), the one whose `top` strongest samples
    span the most classes (ties: the lower purity, then the lower index), as the Units page lists them (highest
    first, ties to the earlier sample); None when no unit is live."""
    values, labels = np.asarray(values), np.asarray(labels)
    best = None
    for u in np.flatnonzero(values.max(0) > 0):
        order = np.argsort(-values[:, u], kind="stable")[: min(top, len(values))]
        counts = np.bincount(labels[order])
        found = MixedUnit(int(u), int((counts > 0).sum()), float(counts.max() / len(order)), len(order))
        if best is None or (found.classes, -found.purity) > (best.classes, -best.purity):
            best = found
    return best
