"""The dataset record every loader returns, the config that names one, and what the registry knows of it.

Stage 1 of the pipeline: data ─► model ─► train ─► run folder. A `Dataset` holds
train/test arrays in memory; images stay uint8 (the display copy), and `prepare`
turns any slice into the normalised float32 tensor the model sees. This module
imports no other module of `nnlab.data`; the others build on it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch

KINDS = ("image", "plane", "table")  # (C, H, W) images; 2-D samples (moons and friends); feature vectors
KIND_ALIASES = {"points": "plane", "features": "table"}  # the names plug-ins registered with before `kind`
STATS_CHUNK = 1 << 20  # values per block when computing normalisation statistics (8 MB as float64)


@dataclass(frozen=True)
class DataConfig:
    """Names a dataset and the options its loader was called with (JSON-friendly, hashable)."""

    name: str = "moons"  # registry name, e.g. "moons", "digits", "fashion-mnist"
    options: tuple[tuple[str, Any], ...] = ()  # loader options, sorted (noise, n_samples, ...)
    train_subset: int | None = None  # train on a seeded, class-balanced subset of this size
    subset_seed: int = 0  # seed of the training subset (a loader's own `seed` option goes in options)

    @classmethod
    def make(cls, name: str, *, train_subset: int | None = None, subset_seed: int = 0, **options) -> DataConfig:
        """Build a config from keyword options (kept sorted so equal configs compare equal)."""
        return cls(name, tuple(sorted(options.items())), train_subset, subset_seed)

    @property
    def kwargs(self) -> dict[str, Any]:
        return dict(self.options)

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "options": self.kwargs,
            "train_subset": self.train_subset,
            "subset_seed": self.subset_seed,
        }

    @classmethod
    def from_dict(cls, d: dict) -> DataConfig:
        return cls.make(
            d["name"], train_subset=d.get("train_subset"), subset_seed=d.get("subset_seed", 0), **d.get("options", {})
        )

    def label(self) -> str:
        """A short human label: `moons (noise=0.2)`."""
        opts = ", ".join(f"{k}={v}" for k, v in self.options)
        sub = f", {self.train_subset} train" if self.train_subset else ""
        return f"{self.name}{f' ({opts}{sub})' if opts or sub else ''}"


@dataclass(frozen=True, eq=False)
class Dataset:
    """Train/test arrays with their class names and input shape.

    Images are stored as uint8 `(N, C, H, W)`; 2-D samples and feature tables as float32 `(N, D)`.
    Labels are int64 in `0..len(class_names)-1`. `kind` says which: "image", "plane" (2-D samples
    that can be drawn in the plane) or "table" (feature vectors); left empty, it follows the shape.
    """

    name: str
    x_train: np.ndarray  # (N, *input_shape) uint8 images or float32 features
    y_train: np.ndarray  # (N,) int64
    x_test: np.ndarray  # (M, *input_shape)
    y_test: np.ndarray  # (M,) int64
    class_names: tuple[str, ...]
    description: str = ""
    mean: np.ndarray | None = field(default=None, repr=False)  # broadcastable to input_shape
    std: np.ndarray | None = field(default=None, repr=False)
    kind: str = ""  # "image", "plane" or "table"; "" infers it from input_shape
    feature_names: tuple[str, ...] = ()  # a table's or plane's feature names (a CSV's header); () when unnamed

    def __post_init__(self):
        kind = normalise_kind(self.kind) if self.kind else kind_of_shape(self.input_shape)
        expected = kind_of_shape(self.input_shape)
        if kind != expected and not (kind == "table" and expected == "plane"):
            raise ValueError(f"{self.name}: kind {kind!r} does not fit samples of shape {self.input_shape}")
        object.__setattr__(self, "kind", kind)
        names = tuple(str(n) for n in self.feature_names)
        if names and (kind == "image" or len(names) != int(np.prod(self.input_shape))):
            raise ValueError(f"{self.name}: {len(names)} feature names for samples of shape {self.input_shape}")
        object.__setattr__(self, "feature_names", names)
        if self.mean is None or self.std is None:
            mean, std = normalisation_stats(self.x_train)
            object.__setattr__(self, "mean", mean)
            object.__setattr__(self, "std", std)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def is_image(self) -> bool:
        return self.kind == "image"

    @property
    def is_2d(self) -> bool:
        """2-D samples that can be drawn as dots in the plane (and a decision boundary behind them)."""
        return self.kind == "plane"

    @property
    def plane_axes(self) -> tuple[str, str]:
        """The names of a 2-D dataset's two features, for axes and hovers: a CSV header's, else x₁ and x₂."""
        return tuple(self.feature_names[:2]) if len(self.feature_names) >= 2 else ("x₁", "x₂")

    def prepare(self, x: np.ndarray) -> torch.Tensor:
        """Normalise raw samples `(N, *input_shape)` into the float32 tensor the model takes."""
        x = np.asarray(x)
        scale = 255.0 if x.dtype == np.uint8 else 1.0
        out = (x.astype(np.float32) / scale - self.mean) / self.std
        return torch.from_numpy(np.ascontiguousarray(out, dtype=np.float32))

    def display_images(self, x: np.ndarray) -> np.ndarray:
        """uint8 `(N, H, W)` or `(N, H, W, 3)` images for drawing; only for image datasets."""
        x = np.asarray(x)
        if x.dtype != np.uint8:
            lo, hi = float(x.min()), float(x.max())
            x = ((x - lo) / (hi - lo or 1.0) * 255).astype(np.uint8)
        x = np.moveaxis(x, 1, -1)  # (N, H, W, C)
        return x[..., 0] if x.shape[-1] == 1 else x

    def subset(self, n: int | None, seed: int = 0) -> Dataset:
        """A seeded, class-balanced subset of the training split (the test split is kept)."""
        if n is None or n >= len(self.y_train):
            return self
        idx = balanced_indices(self.y_train, n, seed)
        return replace(self, x_train=self.x_train[idx], y_train=self.y_train[idx])

    def class_counts(self, split: str = "train") -> np.ndarray:
        y = self.y_train if split == "train" else self.y_test
        return np.bincount(y, minlength=self.n_classes)

    def stats_dict(self) -> dict:
        """Normalisation statistics as JSON (saved in a run's manifest)."""
        return {"mean": self.mean.tolist(), "std": self.std.tolist(), "shape": list(self.mean.shape)}

    def manifest(self) -> dict:
        """What a run's manifest keeps of its dataset (under "dataset"): names, shapes, sizes, statistics."""
        return {
            "name": self.name,
            "class_names": list(self.class_names),
            "input_shape": list(self.input_shape),
            "n_train": len(self.y_train),
            "n_test": len(self.y_test),
            "is_image": self.is_image,
            "kind": self.kind,
            "stats": self.stats_dict(),
        }


def kind_of_shape(input_shape: tuple[int, ...]) -> str:
    """The kind samples of this shape get by default: image for (C, H, W), plane for (2,), else table."""
    return "image" if len(input_shape) == 3 else "plane" if tuple(input_shape) == (2,) else "table"


def normalise_kind(kind: str) -> str:
    """A kind by its name now ("points" → "plane", "features" → "table"); raises for an unknown one."""
    kind = KIND_ALIASES.get(kind, kind)
    if kind not in KINDS:
        raise ValueError(f"Unknown dataset kind {kind!r}; expected one of {', '.join(KINDS)}")
    return kind


@dataclass(frozen=True)
class DatasetInfo:
    """What the registry knows about a dataset before loading it."""

    name: str
    loader: Callable[..., Dataset]
    description: str = ""
    kind: str = "image"  # "image", "plane" (2-D samples) or "table" ("points", "features": older names)
    source: str = "built-in"  # "built-in", "download", "file", or "plug-in"
    options: tuple[str, ...] = ()  # option names the loader takes (noise, n_samples, ...)

    def __post_init__(self):
        object.__setattr__(self, "kind", KIND_ALIASES.get(self.kind, self.kind))


def normalisation_stats(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean/std for images `(N, C, H, W)`, per-feature otherwise, on the [0, 1] scale for uint8.

    Computed in blocks of samples (two passes), so the float64 temporaries stay small whatever the size of `x`.
    """
    scale = 255.0 if x.dtype == np.uint8 else 1.0
    axes = (0, 2, 3) if x.ndim == 4 else 0
    step = max(1, STATS_CHUNK // max(1, int(np.prod(x.shape[1:]))))
    blocks = [x[i : i + step] for i in range(0, len(x), step)]
    count = x.size // (x.shape[1] if x.ndim == 4 else int(np.prod(x.shape[1:])))  # values behind each statistic
    mean = sum(b.sum(axis=axes, dtype=np.float64) for b in blocks) / count
    centre = mean.reshape(-1, 1, 1) if x.ndim == 4 else mean
    var = sum(_squared_deviation(b, centre).sum(axis=axes) for b in blocks) / count
    mean, std = mean / scale, np.sqrt(var) / scale
    if x.ndim == 4:
        mean, std = mean.reshape(-1, 1, 1), std.reshape(-1, 1, 1)
    std = np.where(std < 1e-6, 1.0, std)
    return mean.astype(np.float32), std.astype(np.float32)


def _squared_deviation(block: np.ndarray, centre: np.ndarray) -> np.ndarray:
    d = block - centre  # float64, one block
    return np.multiply(d, d, out=d)


def split(x: np.ndarray, y: np.ndarray, test_fraction: float = 0.2, seed: int = 0):
    """A seeded, stratified train/test split: `test_fraction` of each class (at least one sample) goes to test."""
    rng = np.random.default_rng(seed)
    test = np.zeros(len(y), bool)
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        test[idx[: max(1, round(len(idx) * test_fraction))]] = True
    return x[~test], y[~test], x[test], y[test]


def balanced_indices(y: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """`n` indices spread as evenly over the classes as their sizes allow, seeded, sorted."""
    rng = np.random.default_rng(seed)
    classes = np.unique(y)
    pools = {c: rng.permutation(np.flatnonzero(y == c)) for c in classes}
    take = {c: 0 for c in classes}
    left = min(n, len(y))
    while left > 0:  # round-robin share, so small classes give what they have
        open_ = [c for c in classes if take[c] < len(pools[c])]
        share = max(1, left // len(open_))
        for c in open_:
            k = min(share, len(pools[c]) - take[c], left)
            take[c] += k
            left -= k
            if left == 0:
                break
    return np.sort(np.concatenate([pools[c][: take[c]] for c in classes]))


def stats_from_dict(d: dict) -> tuple[np.ndarray, np.ndarray]:
    shape = tuple(d["shape"])
    return (np.asarray(d["mean"], np.float32).reshape(shape), np.asarray(d["std"], np.float32).reshape(shape))
