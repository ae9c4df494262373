"""Comparing runs: each run's learning curves, where its layers separate the classes, and its weights over training.

Stage: run folders (manifest, snapshots) → analysis → `nnlab.figures.compare`. One `RunComparison` per run, built
from what the recorder kept: the per-epoch metrics of the manifest, the per-class statistics of the last snapshot
(`nnlab.analysis.classes`) and the weights of every snapshot (`nnlab.analysis.weights`). Pure: arrays out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .classes import Separability, class_summary
from .weights import norm_history


@dataclass(frozen=True)
class RunComparison:
    """What one run contributes to a comparison."""

    label: str  # how the run is named in legends
    epochs: np.ndarray  # (E,) completed epochs
    train_loss: np.ndarray  # (E,) mean training loss of each epoch
    test_loss: np.ndarray  # (E,) test loss after each epoch (NaN where not measured)
    test_acc: np.ndarray  # (E,) test accuracy after each epoch (NaN where not measured)
    separability: Separability | None  # at the last snapshot; None for a run without nnlab's model config
    snapshot_epochs: np.ndarray  # (T,) epoch of each snapshot
    weight_norm: np.ndarray  # (T,) norm of all weight matrices and kernels together
    dead_share: np.ndarray  # (T,) share of units that fired on no evaluation sample, over every activated point


def epoch_curves(epochs: list[dict]) -> tuple[np.ndarray, ...]:
    """Epoch numbers, training loss, test loss and test accuracy from a manifest's `epochs` list."""

    def column(key: str) -> np.ndarray:
        return np.asarray([np.nan if e.get(key) is None else e[key] for e in epochs], np.float64)

    return column("epoch"), column("train_loss"), column("test_loss"), column("test_acc")


def overall_norm(weight_norm: np.ndarray) -> np.ndarray:
    """Per-layer norms `(L, T)` → the norm of all weights together `(T,)` (NaN-free layers only count)."""
    if weight_norm.size == 0:
        return np.zeros(weight_norm.shape[1:], np.float64)
    return np.sqrt(np.nansum(weight_norm**2, axis=0))


def mean_dead(dead: np.ndarray) -> np.ndarray:
    """Per-point dead shares `(P, T)` → their mean over points `(T,)`; NaN where nothing was recorded."""
    out = np.full(dead.shape[1:], np.nan)
    if dead.size:
        seen = ~np.isnan(dead).all(axis=0)
        out[seen] = np.nanmean(dead[:, seen], axis=0)
    return out


def compare_run(run, label: str | None = None) -> RunComparison:
    """Read one `nnlab.runs.Run` into a `RunComparison` (loads every snapshot once)."""
    epochs, train_loss, test_loss, test_acc = epoch_curves(run.epochs)
    snaps = [run.snapshot(k) for k in range(len(run))]
    norms = norm_history(snaps, [s["step"] for s in run.snapshots])
    separability = None
    if run.model_config is not None and snaps:
        separability = class_summary(run, len(snaps) - 1).profile
    return RunComparison(
        label or run.id,
        epochs,
        train_loss,
        test_loss,
        test_acc,
        separability,
        np.asarray([s["epoch"] for s in run.snapshots], np.float64),
        overall_norm(norms.weight_norm),
        mean_dead(norms.dead_share),
    )
