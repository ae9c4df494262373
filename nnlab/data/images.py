"""The downloaded image datasets: MNIST, Fashion-MNIST and CIFAR-10 (binary version).

Stage 1 of the pipeline (data). Each loader reads its files from the data folder in
torchvision's layout, downloading what is missing first (`nnlab.data.download`), and
returns a `Dataset` of uint8 `(N, C, H, W)` images with int64 labels.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .budget import check_values
from .dataset import Dataset
from .download import Progress, cache_folder, download
from .formats import (
    CIFAR_BATCHES,
    CIFAR_PER_BATCH,
    CIFAR_RECORD,
    DataFileError,
    idx_pair,
    parse_cifar_batch,
    parse_cifar_meta,
    read_file,
    read_idx_dims,
)
from .registry import register_dataset

MNIST_CLASSES = tuple(str(i) for i in range(10))
FASHION_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
CIFAR_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


def idx_file(folder: Path, name: str) -> Path:
    """The decompressed IDX file if present (torchvision keeps both), else the .gz."""
    plain = folder / name
    return plain if plain.is_file() else folder / f"{name}.gz"


def read_idx_split(folder: Path, prefix: str) -> tuple[np.ndarray, np.ndarray]:
    """Read `<prefix>-images-idx3-ubyte` and `<prefix>-labels-idx1-ubyte` → uint8 `(N, 1, 28, 28)`, int64 `(N,)`."""
    paths = idx_file(folder, f"{prefix}-images-idx3-ubyte"), idx_file(folder, f"{prefix}-labels-idx1-ubyte")
    try:
        return idx_pair(read_file(paths[0]), read_file(paths[1]), (paths[0].name, paths[1].name))
    except DataFileError as e:
        raise DataFileError(f"{e} (in {folder}; delete the file to download it again)") from None


def check_idx_budget(folder: Path, name: str) -> None:
    """Refuse an IDX pair whose image headers declare more values than the dataset budget (nothing is read yet)."""
    try:
        dims = [read_idx_dims(idx_file(folder, f"{p}-images-idx3-ubyte")) for p in ("train", "t10k")]
    except DataFileError as e:
        raise DataFileError(f"{e} (in {folder}; delete the file to download it again)") from None
    check_values(name, sum(d[0] for d in dims), max(int(np.prod(d[1:], dtype=object)) for d in dims))


def _idx_dataset(name: str, classes: tuple[str, ...], description: str, root, progress) -> Dataset:
    folder = download(name, root, progress)
    check_idx_budget(folder, name)
    x_train, y_train = read_idx_split(folder, "train")
    x_test, y_test = read_idx_split(folder, "t10k")
    return Dataset(name, x_train, y_train, x_test, y_test, classes, description)


@register_dataset(
    "mnist",
    kind="image",
    source="download",
    description="70,000 handwritten digits, 28×28 grey (60k train, 10k test); downloaded on first use.",
)
def mnist(root: Path | str | None = None, progress: Progress | None = None) -> Dataset:
    """MNIST from `root/MNIST/raw` (default data folder), downloaded first if missing."""
    return _idx_dataset("mnist", MNIST_CLASSES, "Handwritten digits 0–9 (LeCun et al.).", root, progress)


@register_dataset(
    "fashion-mnist",
    kind="image",
    source="download",
    description="70,000 Zalando clothing photos, 28×28 grey, 10 kinds; downloaded on first use.",
)
def fashion_mnist(root: Path | str | None = None, progress: Progress | None = None) -> Dataset:
    """Fashion-MNIST from `root/FashionMNIST/raw`, downloaded first if missing."""
    return _idx_dataset("fashion-mnist", FASHION_CLASSES, "Clothing photos (Xiao et al., Zalando).", root, progress)


def read_cifar_folder(folder: Path, per_batch: int = CIFAR_PER_BATCH):
    """Read `cifar-10-batches-bin/` → x_train, y_train, x_test, y_test, class names (each batch holds `per_batch`)."""
    sizes = [(folder / b).stat().st_size if (folder / b).is_file() else 0 for b in CIFAR_BATCHES]
    check_values(folder.name, sum(sizes) // CIFAR_RECORD, CIFAR_RECORD - 1)  # before any batch is read
    parts = []
    for batch in CIFAR_BATCHES:
        parts.append(
            parse_cifar_batch(read_file(folder / batch, limit=40 * 2**20), f"{folder.name}/{batch}", per_batch)
        )
    meta = folder / "batches.meta.txt"
    classes = parse_cifar_meta(read_file(meta, 4096).decode("ascii", "replace")) if meta.is_file() else CIFAR_CLASSES
    x_train = np.concatenate([x for x, _ in parts[:5]])  # (50000, 3, 32, 32)
    y_train = np.concatenate([y for _, y in parts[:5]])
    return x_train, y_train, parts[5][0], parts[5][1], classes


@register_dataset(
    "cifar-10",
    kind="image",
    source="download",
    description="60,000 colour photos, 32×32, 10 classes (binary version); downloaded on first use.",
)
def cifar10(root: Path | str | None = None, progress: Progress | None = None) -> Dataset:
    """CIFAR-10 from `root/cifar-10-batches-bin`, downloaded (and safely extracted) first if missing."""
    download("cifar-10", root, progress)
    x_train, y_train, x_test, y_test, classes = read_cifar_folder(cache_folder("cifar-10", root))
    return Dataset("cifar-10", x_train, y_train, x_test, y_test, classes, "Small colour photos (Krizhevsky, 2009).")
