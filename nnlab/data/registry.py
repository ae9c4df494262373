"""The dataset registry: a name → loader table that the app and the command line read.

Built-in sets register with `@register_dataset`; installed packages add theirs
through the `nnlab.datasets` entry-point group; files dropped into the data folder
are listed by `nnlab.data.files`. `load_dataset(config)` is the one way in.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .dataset import DataConfig, Dataset

ENTRY_POINT_GROUP = "nnlab.datasets"


@dataclass(frozen=True)
class DatasetInfo:
    """What the registry knows about a dataset before loading it."""

    name: str
    loader: Callable[..., Dataset]
    description: str = ""
    kind: str = "image"  # "points" (2-D), "image", or "features"
    source: str = "built-in"  # "built-in", "download", "file", or "plug-in"
    options: tuple[str, ...] = ()  # option names the loader takes (noise, n_samples, ...)


_BUILTINS: dict[str, DatasetInfo] = {}  # filled at import by the decorators below; read-only after


def register_dataset(
    name: str, *, description: str = "", kind: str = "image", source: str = "built-in", options: tuple[str, ...] = ()
):
    """Decorator: register `loader(**options) -> Dataset` under `name`.

    Example:
        @register_dataset("xor", kind="points", options=("n_samples", "seed"))
        def xor(n_samples=400, seed=0) -> Dataset: ...
    """

    def wrap(loader):
        _BUILTINS[name] = DatasetInfo(name, loader, description, kind, source, options)
        return loader

    return wrap


def data_dir() -> Path:
    """The data folder: `$NNLAB_DATA_DIR`, default `datasets/`."""
    return Path(os.environ.get("NNLAB_DATA_DIR", "datasets"))


def _plugins() -> dict[str, DatasetInfo]:
    from importlib.metadata import entry_points

    found = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            obj = ep.load()
        except Exception:  # a broken plug-in must not take the app down
            continue
        if isinstance(obj, DatasetInfo):
            found[obj.name] = obj
        elif callable(obj):
            found[ep.name] = DatasetInfo(ep.name, obj, getattr(obj, "__doc__", "") or "", "image", "plug-in")
    return found


def list_datasets() -> dict[str, DatasetInfo]:
    """Every dataset by name: built-ins, plug-ins, then the user's files in the data folder."""
    from . import files

    out = dict(_BUILTINS)
    out.update({k: v for k, v in _plugins().items() if k not in out})
    out.update({k: v for k, v in files.discover(data_dir()).items() if k not in out})
    return out


def dataset_info(name: str) -> DatasetInfo:
    table = list_datasets()
    if name not in table:
        raise KeyError(f"Unknown dataset {name!r}. Available: {', '.join(sorted(table))}")
    return table[name]


def load_dataset(config: DataConfig | str, **options) -> Dataset:
    """Load a dataset by config (or by name and options), then take its training subset."""
    if isinstance(config, str):
        config = DataConfig.make(config, **options)
    ds = dataset_info(config.name).loader(**config.kwargs)
    return ds.subset(config.train_subset, config.subset_seed)
