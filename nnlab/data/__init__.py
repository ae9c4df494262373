"""Datasets: the `Dataset` record, the registry, and the built-in loaders."""

from . import synthetic  # noqa: F401  (registers the built-in sets)
from .dataset import DataConfig, Dataset, balanced_indices, normalisation_stats
from .registry import DatasetInfo, data_dir, dataset_info, list_datasets, load_dataset, register_dataset

__all__ = [
    "DataConfig", "Dataset", "DatasetInfo", "balanced_indices", "data_dir", "dataset_info",
    "list_datasets", "load_dataset", "normalisation_stats", "register_dataset",
]
