"""The dataset registry: a name → loader table that the app and the command line read.

Built-in sets register with `@register_dataset`; installed packages add theirs
through the `nnlab.datasets` entry-point group; files dropped into the data folder
are listed by `nnlab.data.files`, which is handed the registered names (`taken_names`)
so that a file never hides or doubles a built-in. `load_dataset(config)` is the one way in.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from . import files
from .budget import check_values
from .dataset import DataConfig, Dataset, DatasetInfo, normalise_kind

ENTRY_POINT_GROUP = "nnlab.datasets"


_BUILTINS: dict[str, DatasetInfo] = {}  # filled at import by the decorators below; read-only after


def register_dataset(
    name: str, *, description: str = "", kind: str = "image", source: str = "built-in", options: tuple[str, ...] = ()
):
    """Decorator: register `loader(**options) -> Dataset` under `name`.

    Example:
        @register_dataset("xor", kind="plane", options=("n_samples", "seed"))
        def xor(n_samples=400, seed=0) -> Dataset: ...

    `kind` is "image", "plane" (2-D samples) or "table" (feature vectors).
    """
    kind = normalise_kind(kind)

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


def taken_names() -> dict[str, str]:
    """The registered names (built-ins, then plug-ins) → their source; a user's file may not use any of them."""
    out = {n: info.source for n, info in _BUILTINS.items()}
    out.update({n: "plug-in" for n in _plugins() if n not in out})
    return out


def scan_data_folder(folder: Path | str | None = None) -> files.FolderScan:
    """The files in the data folder (default `data_dir()`): those listed, and those skipped with the reason."""
    return files.scan(Path(folder) if folder is not None else data_dir(), taken_names())


def discover(folder: Path | str | None = None) -> dict[str, DatasetInfo]:
    """The user's datasets in the data folder by name, under the same name rules as uploads."""
    return scan_data_folder(folder).found


def list_datasets() -> dict[str, DatasetInfo]:
    """Every dataset by name: built-ins, plug-ins, then the user's files in the data folder."""
    out = dict(_BUILTINS)
    out.update({k: v for k, v in _plugins().items() if k not in out})
    out.update({k: v for k, v in discover().items() if k not in out})
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
    check_values(ds.name, len(ds.y_train) + len(ds.y_test), int(np.prod(ds.input_shape)))  # plug-ins, too
    return ds.subset(config.train_subset, config.subset_seed)
