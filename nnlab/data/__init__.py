"""Datasets: the `Dataset` record, the registry, and the built-in loaders."""

from . import synthetic  # noqa: F401, I001  (registers the built-in sets; listed first)
from . import images  # noqa: F401  (registers mnist, fashion-mnist, cifar-10: downloaded on first use)
from . import sparse_features  # noqa: F401  (registers the toy model of superposition's data)
from .budget import max_dataset_values
from .dataset import DataConfig, Dataset, DatasetInfo, balanced_indices, normalisation_stats, split
from .download import DOWNLOADS, DownloadError, download, is_cached
from .formats import DataFileError
from .registry import data_dir, dataset_info, list_datasets, load_dataset, register_dataset, taken_names

__all__ = [
    "DOWNLOADS",
    "DataConfig",
    "DataFileError",
    "Dataset",
    "DatasetInfo",
    "DownloadError",
    "balanced_indices",
    "data_dir",
    "dataset_info",
    "download",
    "is_cached",
    "list_datasets",
    "load_dataset",
    "max_dataset_values",
    "normalisation_stats",
    "register_dataset",
    "split",
    "taken_names",
]
