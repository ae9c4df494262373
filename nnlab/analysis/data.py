"""What a dataset looks like before any network sees it: samples, class balance, averages, embeddings.

Stage: data (a `Dataset`'s arrays) → analysis → `nnlab.figures.data`, for the Datasets page.
Pure: arrays in, small records of numpy arrays out; the `*_info` getters at the end take a whole
`Dataset` and give each section of the page its record. `embed` also serves hidden layers
(any `(N, ...)` array); UMAP is imported only when it is asked for.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..data import Dataset, balanced_indices

METHODS = ("PCA", "t-SNE", "UMAP")  # embedding methods; PCA is instant, the others run in the background


def sample_indices(labels: np.ndarray, n_classes: int, per_class: int = 8, seed: int = 0) -> np.ndarray:
    """`(n_classes, per_class)` indices of seeded random samples of each class; -1 where a class has fewer."""
    rng = np.random.default_rng(seed)
    out = np.full((n_classes, per_class), -1, dtype=np.int64)
    for c in range(n_classes):
        pool = np.flatnonzero(labels == c)
        take = rng.permutation(pool)[:per_class]
        out[c, : len(take)] = take
    return out


@dataclass(frozen=True)
class ClassCounts:
    """Samples per class in each split."""

    train: np.ndarray  # (K,) int64
    test: np.ndarray  # (K,) int64

    @property
    def imbalance(self) -> float:
        """Largest over smallest training class (1.0 = balanced; inf if a class is empty)."""
        lo = self.train.min() if len(self.train) else 0
        return float(self.train.max() / lo) if lo else float("inf")


def class_counts(y_train: np.ndarray, y_test: np.ndarray, n_classes: int) -> ClassCounts:
    return ClassCounts(
        np.bincount(y_train, minlength=n_classes).astype(np.int64),
        np.bincount(y_test, minlength=n_classes).astype(np.int64),
    )


@dataclass(frozen=True)
class ClassImages:
    """The mean and the spread (standard deviation) of each class's images, pixel by pixel."""

    mean: np.ndarray  # (K, H, W) or (K, H, W, 3) float32 on the 0..255 scale
    std: np.ndarray  # same shape, float32
    counts: np.ndarray  # (K,) samples each average was taken over


def class_images(
    images: np.ndarray, labels: np.ndarray, n_classes: int, *, max_per_class: int | None = 2000, seed: int = 0
) -> ClassImages:
    """Per-class mean and std of display images `(N, H, W[, 3])` (over at most `max_per_class` seeded samples)."""
    rng = np.random.default_rng(seed)
    shape = images.shape[1:]
    mean = np.zeros((n_classes, *shape), np.float32)
    std = np.zeros((n_classes, *shape), np.float32)
    counts = np.zeros(n_classes, np.int64)
    for c in range(n_classes):
        idx = np.flatnonzero(labels == c)
        if max_per_class is not None and len(idx) > max_per_class:
            idx = np.sort(rng.choice(idx, max_per_class, replace=False))
        if len(idx) == 0:
            continue
        x = images[idx].astype(np.float32)  # (n, H, W[, 3])
        mean[c], std[c], counts[c] = x.mean(0), x.std(0), len(idx)
    return ClassImages(mean, std, counts)


@dataclass(frozen=True)
class ValueHistogram:
    """Histogram of input values: one row per channel (images) or per feature (≤ 3 features), else pooled."""

    edges: np.ndarray  # (B + 1,) bin edges
    counts: np.ndarray  # (R, B) int64 counts per row
    rows: tuple[str, ...]  # row names: "grey", "red", ..., "x1", "x2", or "all features"
    pixels: bool  # True: uint8 pixel values 0..255


def value_histogram(x: np.ndarray, *, bins: int = 64, max_samples: int = 5000, seed: int = 0) -> ValueHistogram:
    """Histogram of raw inputs `(N, C, H, W)` uint8 images or `(N, D)` features, over a seeded subset."""
    if len(x) > max_samples:
        x = x[np.sort(np.random.default_rng(seed).choice(len(x), max_samples, replace=False))]
    if x.dtype == np.uint8 and x.ndim == 4:
        edges = np.arange(257, dtype=np.float32)  # one bin per grey level
        chans = np.moveaxis(x, 1, 0).reshape(x.shape[1], -1)  # (C, N*H*W)
        counts = np.stack([np.bincount(ch, minlength=256) for ch in chans])
        names = ("grey",) if x.shape[1] == 1 else ("red", "green", "blue")[: x.shape[1]]
        return ValueHistogram(edges, counts.astype(np.int64), names, True)
    flat = x.reshape(len(x), -1).astype(np.float64)
    finite = flat[np.isfinite(flat)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    edges = np.linspace(lo, hi if hi > lo else lo + 1.0, bins + 1)
    if flat.shape[1] <= 3:
        counts = np.stack([np.histogram(col, edges)[0] for col in flat.T])
        names = tuple(f"x{i + 1}" for i in range(flat.shape[1]))
    else:
        counts, names = np.histogram(finite, edges)[0][None], ("all features",)
    return ValueHistogram(edges.astype(np.float32), counts.astype(np.int64), names, False)


@dataclass(frozen=True)
class Embedding:
    """Samples placed in 2-D or 3-D so that similar samples land close together."""

    coords: np.ndarray  # (n, dims) float32
    labels: np.ndarray  # (n,) int64 class of each sample
    indices: np.ndarray  # (n,) index of each sample in the array that was embedded
    method: str  # "PCA", "t-SNE" or "UMAP"
    explained: np.ndarray | None = None  # (dims,) PCA only: share of the variance along each axis

    @property
    def dims(self) -> int:
        return self.coords.shape[1]


def features(x: np.ndarray) -> np.ndarray:
    """`(N, ...)` inputs → `(N, D)` float32: uint8 pixels scaled to [0, 1], other features standardised."""
    flat = x.reshape(len(x), -1)
    if flat.dtype == np.uint8:
        return flat.astype(np.float32) / 255.0
    flat = flat.astype(np.float32)
    std = flat.std(0)
    return (flat - flat.mean(0)) / np.where(std > 1e-8, std, 1.0)


def embed(
    x: np.ndarray,
    labels: np.ndarray,
    method: str = "PCA",
    *,
    dims: int = 2,
    n: int = 2000,
    seed: int = 0,
    prepare: Callable[[np.ndarray], np.ndarray] = features,
) -> Embedding:
    """Embed a class-balanced, seeded subset of `n` samples of `x` into `dims` (2 or 3) dimensions.

    Args:
        x: `(N, ...)` samples (raw inputs, or a hidden layer's outputs).
        labels: `(N,)` class of each sample.
        method: "PCA" (linear, instant), "t-SNE" or "UMAP" (non-linear: seconds to minutes).
        dims: 2 or 3.
        n: how many samples to embed.
        seed: picks the subset and seeds the method.
        prepare: turns the subset into `(n, D)` float features (default: scale pixels, standardise features).
    Returns: an `Embedding`; empty (no rows) when there are too few samples.
    """
    if method not in METHODS:
        raise ValueError(f"Unknown embedding method {method!r}; choose one of {', '.join(METHODS)}")
    if dims not in (2, 3):
        raise ValueError(f"An embedding has 2 or 3 dimensions, not {dims}")
    idx = balanced_indices(labels, n, seed) if n < len(labels) else np.arange(len(labels))
    feats = prepare(x[idx])  # (n, D)
    if len(idx) <= dims + 1 or feats.shape[1] < 1:
        return Embedding(np.zeros((0, dims), np.float32), labels[idx[:0]], idx[:0], method)
    explained = None
    if method == "PCA":
        from sklearn.decomposition import PCA

        k = min(dims, feats.shape[1])
        pca = PCA(n_components=k, random_state=seed)
        coords = pca.fit_transform(feats)
        explained = pca.explained_variance_ratio_.astype(np.float32)
        if k < dims:  # fewer features than dimensions: pad with zeros
            coords = np.pad(coords, ((0, 0), (0, dims - k)))
            explained = np.pad(explained, (0, dims - k))
    else:
        if feats.shape[1] > 50:  # the usual first step: PCA to 50 dimensions keeps the neighbours, runs faster
            from sklearn.decomposition import PCA

            feats = PCA(n_components=50, random_state=seed).fit_transform(feats)
        if method == "t-SNE":
            from sklearn.manifold import TSNE

            coords = TSNE(
                n_components=dims,
                perplexity=min(30.0, (len(idx) - 1) / 3),
                init="pca",
                learning_rate="auto",
                random_state=seed,
            ).fit_transform(feats)
        else:
            import umap  # imported only here: it is slow to import

            coords = umap.UMAP(n_components=dims, n_neighbors=min(15, len(idx) - 1), random_state=seed).fit_transform(
                feats
            )
    return Embedding(
        np.asarray(coords, np.float32), labels[idx].astype(np.int64), idx.astype(np.int64), method, explained
    )


# --- a dataset's records, one getter per section of the Datasets page --------------------------------------------
@dataclass(frozen=True)
class SampleGrid:
    """Random training images of each class, for a grid with one row per class."""

    images: np.ndarray  # (K * per, H, W[, 3]) uint8 display images, row by row
    grid: np.ndarray  # (K, per) index into `images`, -1 where a class has fewer samples


def sample_grid_info(ds: Dataset, per_class: int, seed: int = 0) -> SampleGrid:
    """`per_class` seeded random training images of each class of an image dataset."""
    idx = sample_indices(ds.y_train, ds.n_classes, per_class, seed=seed)  # (K, per)
    images = ds.display_images(ds.x_train[np.clip(idx, 0, None).reshape(-1)])
    return SampleGrid(images, np.where(idx >= 0, np.arange(idx.size).reshape(idx.shape), -1))


def sample_table_info(ds: Dataset, per_class: int = 3, *, max_features: int = 30) -> dict[str, list | np.ndarray]:
    """Columns of a table of `per_class` training samples of each class: "class", then x1, x2, ... (at most 30)."""
    idx = sample_indices(ds.y_train, ds.n_classes, per_class, seed=0).reshape(-1)
    idx = idx[idx >= 0]
    flat = ds.x_train.reshape(len(ds.x_train), -1)
    columns = {f"x{j + 1}": flat[idx, j] for j in range(min(flat.shape[1], max_features))}
    return {"class": [ds.class_names[y] for y in ds.y_train[idx]], **columns}


def class_counts_info(ds: Dataset) -> ClassCounts:
    """Samples per class in the training and the test split."""
    return class_counts(ds.y_train, ds.y_test, ds.n_classes)


def class_images_info(ds: Dataset) -> ClassImages:
    """The mean and spread of each class's training images."""
    return class_images(ds.display_images(ds.x_train), ds.y_train, ds.n_classes)


def value_histogram_info(ds: Dataset) -> ValueHistogram:
    """How often each raw input value occurs in the training split."""
    return value_histogram(ds.x_train)


def map_sizes(n_samples: int) -> list[int]:
    """The subset sizes a map of the dataset offers: round numbers below `n_samples`, then all of them."""
    return [s for s in (200, 500, 1000, 2000, 5000) if s < n_samples] + [n_samples]


def dataset_map_info(ds: Dataset, method: str = "PCA", *, dims: int = 2, n: int = 2000, seed: int = 0) -> Embedding:
    """A map of `n` class-balanced training samples by `method` (see `embed`)."""
    return embed(ds.x_train, ds.y_train, method, dims=dims, n=n, seed=seed)
