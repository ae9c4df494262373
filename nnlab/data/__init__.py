"""Datasets: the `Dataset` record, the registry, and the built-in loaders."""

from . import synthetic  # noqa: F401, I001  (registers the built-in sets; listed first)
from . import images  # noqa: F401  (registers mnist, fashion-mnist, cifar-10: downloaded on first use)
from .dataset import DataConfig, Dataset, balanced_indices, normalisation_stats
from .download import DOWNLOADS, DownloadError, download, is_cached
from .formats import DataFileError
from .registry import DatasetInfo, data_dir, dataset_info, list_datasets, load_dataset, register_dataset

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
    "normalisation_stats",
    "register_dataset",
]
