"""Sparse features: the data of the toy model of superposition (Elhage et al. 2022, "Toy Models of Superposition").

Stage 1 of the pipeline (data). Each sample has `n_features` values; each is 0 with probability `sparsity`, else
uniform in [0, 1], independently. Fed as they are (no normalisation: a zero must stay a zero), they are what the
toy model (`nnlab.models.toy`) squeezes into fewer dimensions and rebuilds. The label of a sample is its strongest
feature ("feature 3"), or "none" when every feature is zero: labels only colour the views and score the probe.
"""

from __future__ import annotations

import numbers

import numpy as np

from .budget import check_values
from .dataset import Dataset, split
from .registry import register_dataset

MAX_FEATURES = 1000


def _check(n_samples, n_features, sparsity) -> None:
    """Refuse in words the options that cannot make this dataset (before anything is drawn)."""
    problems = []
    if (
        isinstance(n_features, bool)
        or not isinstance(n_features, numbers.Integral)
        or not 2 <= n_features <= MAX_FEATURES
    ):
        problems.append(f"n_features {n_features!r} must be a whole number from 2 to {MAX_FEATURES:,}")
    if isinstance(n_samples, bool) or not isinstance(n_samples, numbers.Integral) or n_samples < 10:
        problems.append(f"n_samples {n_samples!r} must be a whole number of at least 10")
    if isinstance(sparsity, bool) or not isinstance(sparsity, numbers.Real) or not 0 <= sparsity < 1:
        problems.append(f"sparsity {sparsity!r} must be a number from 0 up to (not including) 1")
    if problems:
        raise ValueError("sparse-features: " + "; ".join(problems))


def draw_features(n_samples: int, n_features: int, sparsity: float, seed: int) -> np.ndarray:
    """`(n_samples, n_features)` float32: each value 0 with probability `sparsity`, else uniform in [0, 1]."""
    rng = np.random.default_rng(seed)
    values = rng.uniform(0.0, 1.0, (n_samples, n_features))
    present = rng.uniform(0.0, 1.0, (n_samples, n_features)) >= sparsity
    return (values * present).astype(np.float32)


def strongest_feature(x: np.ndarray) -> np.ndarray:
    """`(N,)` int64 labels: the index of each sample's largest feature, or `n_features` ("none") when all are 0."""
    label = x.argmax(1)
    return np.where(x.max(1) > 0, label, x.shape[1]).astype(np.int64)


@register_dataset(
    "sparse-features",
    kind="table",
    options=("n_features", "sparsity", "n_samples", "seed"),
    description="The toy model of superposition's data: each feature is 0 with probability `sparsity`, else "
    "uniform in [0, 1]. Labelled by the strongest feature.",
)
def sparse_features(n_features: int = 5, sparsity: float = 0.9, n_samples: int = 5000, seed: int = 0) -> Dataset:
    _check(n_samples, n_features, sparsity)
    check_values("sparse-features", n_samples, n_features)
    x = draw_features(int(n_samples), int(n_features), float(sparsity), int(seed))
    y = strongest_feature(x)
    x_tr, y_tr, x_te, y_te = split(x, y, seed=seed)
    names = (*(f"feature {i}" for i in range(n_features)), "none")
    return Dataset(
        "sparse-features",
        x_tr,
        y_tr,
        x_te,
        y_te,
        names,
        f"{n_features} features, each zero with probability {sparsity:g}",
        mean=np.zeros(n_features, np.float32),  # no normalisation: the model sees the features as they are
        std=np.ones(n_features, np.float32),
        kind="table",
        feature_names=tuple(f"x{i}" for i in range(n_features)),
    )
