"""Built-in datasets that need no download: generated 2-D sets (moons and friends) and scikit-learn's digits.

Stage 1 of the pipeline (data). Each generator checks its sample count against the dataset
budget before it draws anything. None imports scikit-learn: a training worker would pay about 100 MB for it.
"""

from __future__ import annotations

import numpy as np

from .budget import check_values
from .dataset import Dataset, split
from .registry import register_dataset

PLANE_OPTIONS = ("n_samples", "noise", "seed")


def plane(name: str, x: np.ndarray, y: np.ndarray, seed: int, description: str) -> Dataset:
    """A generated 2-D set, split into train and test (seeded, stratified)."""
    x_tr, y_tr, x_te, y_te = split(x.astype(np.float32), y.astype(np.int64), seed=seed)
    names = tuple(f"class {c}" for c in range(int(y.max()) + 1))
    return Dataset(name, x_tr, y_tr, x_te, y_te, names, description, kind="plane")


def _shuffled_with_noise(x: np.ndarray, n_first: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Class 0 for the first `n_first` rows of `x`, 1 after; shuffled, then Gaussian noise, as scikit-learn's
    `make_moons` and `make_circles` do with `random_state=seed` (the same numbers: `tests/test_data_dataset.py`).

    Drawn with numpy alone, so a training worker does not import scikit-learn (about a second of CPU) for them."""
    rng = np.random.RandomState(seed)
    y = np.repeat(np.array([0, 1], dtype=np.intp), [n_first, len(x) - n_first])
    order = np.arange(len(x))
    rng.shuffle(order)
    x, y = x[order], y[order]
    return x + rng.normal(scale=noise, size=x.shape), y


@register_dataset(
    "moons",
    kind="plane",
    options=PLANE_OPTIONS,
    description="Two interleaving half circles: the smallest problem a straight line cannot solve.",
)
def moons(n_samples: int = 1000, noise: float = 0.2, seed: int = 0) -> Dataset:
    check_values("moons", n_samples, 2)
    n_out = n_samples // 2
    a_out, a_in = np.linspace(0, np.pi, n_out), np.linspace(0, np.pi, n_samples - n_out)
    x = np.concatenate([np.c_[np.cos(a_out), np.sin(a_out)], np.c_[1 - np.cos(a_in), 0.5 - np.sin(a_in)]])
    return plane("moons", *_shuffled_with_noise(x, n_out, noise, seed), seed, "")


@register_dataset(
    "circles", kind="plane", options=PLANE_OPTIONS, description="A ring around a disc: needs a curved boundary."
)
def circles(n_samples: int = 1000, noise: float = 0.1, seed: int = 0) -> Dataset:
    check_values("circles", n_samples, 2)
    n_out = n_samples // 2
    a_out = np.linspace(0, 2 * np.pi, n_out, endpoint=False)
    a_in = np.linspace(0, 2 * np.pi, n_samples - n_out, endpoint=False)
    x = np.concatenate([np.c_[np.cos(a_out), np.sin(a_out)], 0.5 * np.c_[np.cos(a_in), np.sin(a_in)]])
    x, y = _shuffled_with_noise(x, n_out, noise, seed)
    return plane("circles", x * 1.5, y, seed, "")


@register_dataset(
    "spirals",
    kind="plane",
    options=(*PLANE_OPTIONS, "n_classes"),
    description="Interleaved spiral arms, one per class: hard for a small network.",
)
def spirals(n_samples: int = 1500, noise: float = 0.2, seed: int = 0, n_classes: int = 3) -> Dataset:
    check_values("spirals", n_samples, 2)
    rng = np.random.default_rng(seed)
    per = n_samples // n_classes
    t = np.sqrt(rng.uniform(0, 1, (n_classes, per))) * 3 * np.pi  # (K, per) angle along the arm
    offset = (2 * np.pi * np.arange(n_classes) / n_classes)[:, None]
    r = t / np.pi
    x = np.stack([r * np.cos(t + offset), r * np.sin(t + offset)], -1).reshape(-1, 2)
    x += rng.normal(0, noise, x.shape)
    y = np.repeat(np.arange(n_classes), per)
    return plane("spirals", x, y, seed, "")


@register_dataset(
    "blobs",
    kind="plane",
    options=(*PLANE_OPTIONS, "n_classes"),
    description="Gaussian clusters, one per class: nearly linearly separable.",
)
def blobs(n_samples: int = 1000, noise: float = 1.0, seed: int = 0, n_classes: int = 4) -> Dataset:
    check_values("blobs", n_samples, 2)
    # scikit-learn's make_blobs(n_samples, centers=n_classes, cluster_std=noise, random_state=seed), drawn with numpy
    # alone in its order (the same numbers: tests/test_data_dataset.py): centres, each class's points, the shuffle
    rng = np.random.RandomState(seed)
    centers = rng.uniform(-10.0, 10.0, size=(n_classes, 2))
    counts = [n_samples // n_classes + (c < n_samples % n_classes) for c in range(n_classes)]
    x = np.concatenate([rng.normal(c, noise, size=(n, 2)) for c, n in zip(centers, counts, strict=True)])
    y = np.repeat(np.arange(n_classes), counts)
    order = np.arange(n_samples)
    rng.shuffle(order)
    return plane("blobs", x[order], y[order], seed, "")


@register_dataset(
    "digits",
    kind="image",
    options=("seed",),
    description="scikit-learn's 1,797 handwritten digits, 8×8 pixels: bundled, works offline.",
)
def digits(seed: int = 0) -> Dataset:
    images, target = _digits_file()
    x = (images * (255 / 16)).round().astype(np.uint8)[:, None]  # (N, 1, 8, 8), 0..16 → 0..255
    x_tr, y_tr, x_te, y_te = split(x, target.astype(np.int64), seed=seed)
    return Dataset("digits", x_tr, y_tr, x_te, y_te, tuple(str(i) for i in range(10)), "")


def _digits_file() -> tuple[np.ndarray, np.ndarray]:
    """The images `(N, 8, 8)` and labels of scikit-learn's digits, read from the file it ships as `load_digits` does
    (the same arrays: `tests/test_data_dataset.py`), without importing scikit-learn: its import (pandas, scipy)
    costs a training worker about 100 MB and seconds of CPU."""
    import gzip
    from importlib.util import find_spec
    from pathlib import Path

    spec = find_spec("sklearn")  # finds the package without running it
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("The digits dataset is the one scikit-learn ships: install scikit-learn")
    path = Path(spec.submodule_search_locations[0]) / "datasets" / "data" / "digits.csv.gz"
    with gzip.open(path, "rt") as f:
        data = np.loadtxt(f, delimiter=",")
    return data[:, :-1].reshape(-1, 8, 8), data[:, -1].astype(int)
