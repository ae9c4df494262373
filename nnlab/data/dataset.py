"""The dataset record every loader returns, and the config that names one.

Stage 1 of the pipeline: data ─► model ─► train ─► run folder. A `Dataset` holds
train/test arrays in memory; images stay uint8 (the display copy), and `prepare`
turns any slice into the normalised float32 tensor the model sees.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch


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

    Images are stored as uint8 `(N, C, H, W)`; points and features as float32 `(N, D)`.
    Labels are int64 in `0..len(class_names)-1`.
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

    def __post_init__(self):
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
        return len(self.input_shape) == 3

    @property
    def is_2d(self) -> bool:
        return self.input_shape == (2,)

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


def normalisation_stats(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean/std for images `(N, C, H, W)`, per-feature otherwise, on the [0, 1] scale for uint8."""
    scale = 255.0 if x.dtype == np.uint8 else 1.0
    if x.ndim == 4:
        c = x.shape[1]
        flat = np.moveaxis(x, 1, 0).reshape(c, -1)
        mean = np.array([row.mean(dtype=np.float64) for row in flat]) / scale
        std = np.array([row.std(dtype=np.float64) for row in flat]) / scale
        mean, std = mean.reshape(c, 1, 1), std.reshape(c, 1, 1)
    else:
        mean = x.mean(axis=0, dtype=np.float64) / scale
        std = x.std(axis=0, dtype=np.float64) / scale
    std = np.where(std < 1e-6, 1.0, std)
    return mean.astype(np.float32), std.astype(np.float32)


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
