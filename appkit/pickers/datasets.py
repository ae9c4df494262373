"""Choosing a dataset in a page: the selectbox with each generator's options, the one-click download panel, the
upload panel, the note on files in the data folder that the name rules skip, and a cache for a dataset's records.

Used by the Datasets and Train pages; imports only `caches` (the shared, cached datasets) and `links` (the address).
"""

from __future__ import annotations

import functools
import importlib
import inspect
import json

import streamlit as st

from appkit.caches import load_data
from appkit.session import links
from nnlab.data import DataConfig, Dataset

SOURCE_WORDS = {"built-in": "built in", "download": "downloaded once", "file": "your file", "plug-in": "plug-in"}
KIND_WORDS = {"plane": "2-D samples", "image": "images", "table": "features"}
OPTION_WIDGETS = {  # option → (label, min, max, step, help)
    "n_samples": ("Number of samples", 100, 5000, 100, "How many samples are generated (train and test together)."),
    "noise": ("Noise", 0.0, 1.0, 0.05, "How far samples scatter from their ideal position: more noise, more overlap."),
    "n_classes": ("Classes", 2, 8, 1, "How many classes (arms or clusters)."),
    "n_features": ("Features", 2, 40, 1, "How many features each sample has."),
    "sparsity": (
        "Sparsity",
        0.0,
        0.99,
        0.01,
        "The share of features that are zero in a sample: each is absent this often.",
    ),
}


def dataset_picker(prefix: str, *, default: str | None = None) -> DataConfig | None:
    """Dataset selectbox plus its generator options; None while a download is still needed (shown with a button)."""
    from nnlab.data import list_datasets

    table = list_datasets()
    names = list(table)
    key = f"{prefix}_dataset"
    if st.session_state.get(key) not in names:
        st.session_state[key] = default if default in names else names[0]

    def label(n: str) -> str:
        return f"{n} · {KIND_WORDS.get(table[n].kind, table[n].kind)}, {SOURCE_WORDS.get(table[n].source, '')}"

    name = links.pick(
        st.selectbox,
        "Dataset",
        names,
        key=key,
        param="dataset",
        what="dataset",
        format_func=label,
        help="Built-in sets work offline; MNIST, Fashion-MNIST and CIFAR-10 download once; "
        "your own .npz/.csv files in the data folder appear here too.",
    )
    info = table[name]
    if info.description:
        st.caption(info.description)
    try:
        params = inspect.signature(info.loader).parameters.items()
        defaults = {k: p.default for k, p in params if p.default is not inspect.Parameter.empty}
    except (TypeError, ValueError):  # a plug-in loader without a signature
        defaults = {}
    options = {}
    shown = [o for o in info.options if o in OPTION_WIDGETS]
    for col, opt in zip(st.columns(len(shown)) if shown else [], shown, strict=True):
        title, lo, hi, step, help_ = OPTION_WIDGETS[opt]
        cast = float if isinstance(step, float) else int
        value = min(max(cast(defaults.get(opt, lo)), cast(lo)), cast(hi))
        options[opt] = col.slider(
            title, cast(lo), cast(hi), value, cast(step), key=f"{prefix}_{name}_{opt}", help=help_
        )
    if info.source == "download" and not download_panel(name, prefix):
        return None
    options = {k: v for k, v in options.items() if v != defaults.get(k)}  # defaults left out: one config per set
    return DataConfig.make(name, **options)


def picked_dataset(prefix: str, *, default: str | None = None) -> tuple[DataConfig | None, Dataset | None]:
    """`dataset_picker` and its dataset, loaded; the dataset is None while a download is needed or when it fails."""
    data = dataset_picker(prefix, default=default)
    if data is None:
        return None, None  # a download is needed first: the picker says how
    try:
        return data, load_data(data)
    except (ValueError, OSError, KeyError) as e:
        st.error(f"This dataset cannot be loaded: {e}", icon=":material/error:")
        return data, None


def download_panel(name: str, prefix: str) -> bool:
    """True if `name` is in the data folder; else a download button with a progress bar (and False)."""
    try:
        dl = importlib.import_module("nnlab.data.download")  # the module (nnlab.data.download is also a function)
    except ImportError:
        st.warning("Downloads are not available in this version of nnlab.")
        return False
    if dl.is_cached(name):
        return True
    spec = dl.DOWNLOADS[name]
    size = sum(f.size or 0 for f in spec.files) / 1e6
    st.info(
        f"**{name}** is not in the data folder yet. Download it once (about {size:.0f} MB) into "
        f"`{dl.cache_folder(name)}`; after that it loads offline.",
        icon=":material/download:",
    )
    if st.button(f"Download {name}", key=f"{prefix}_download_{name}", icon=":material/download:"):
        bar = st.progress(0.0, text=f"Connecting to download {name}…")

        def progress(done: int, total: int | None, filename: str) -> None:
            frac = min(done / total, 1.0) if total else 0.0
            of = f" of {total / 1e6:.1f}" if total else ""
            bar.progress(frac, text=f"{filename}: {done / 1e6:.1f}{of} MB")

        try:
            dl.download(name, progress=progress)
        except dl.DownloadError as e:
            bar.empty()
            st.error(str(e).replace("\n", "  \n"), icon=":material/cloud_off:")
            return False
        st.rerun()
    return False


def skipped_files_note() -> None:
    """One warning line per file in the data folder that is not listed, saying why (its name breaks a rule)."""
    from nnlab.data.registry import data_dir, scan_data_folder

    folder = data_dir()
    for file, why in scan_data_folder(folder).skipped.items():
        shown = file if file.isprintable() else ascii(file)
        st.warning(f"`{folder.name}/{shown}` is not shown: {why}.", icon=":material/visibility_off:")


def upload_panel(prefix: str) -> None:
    """Check an uploaded .npz/.csv completely, describe it, and save it into the data folder on request.

    Draw it before `dataset_picker(prefix)`: a file saved on the last run becomes the picker's choice.
    """
    from nnlab.data import DataFileError, data_dir, taken_names
    from nnlab.data.files import save_upload, validate_upload

    pending = f"{prefix}_pending_dataset"  # a just-saved upload to select on the next rerun
    if st.session_state.get(pending):
        st.session_state[f"{prefix}_dataset"] = st.session_state.pop(pending)
    st.markdown(
        "**.npz**: arrays `x_train`, `y_train` (and optionally `x_test`, `y_test`, `class_names`); images "
        "as `(N, H, W)`, `(N, H, W, C)` or `(N, C, H, W)`. **.csv**: one row per sample, a `label` column "
        "(or the last column), the features in the others."
    )
    up = st.file_uploader("Dataset file", type=["npz", "csv"], key=f"{prefix}_upload")
    if up is None:
        return
    checked = st.session_state.setdefault(f"{prefix}_upload_checked", {})
    if up.file_id not in checked:
        try:
            checked.clear()
            checked[up.file_id] = validate_upload(up.name, up.getvalue(), taken=taken_names())
        except DataFileError as e:
            checked[up.file_id] = str(e)
    summary = checked[up.file_id]
    if isinstance(summary, str):
        st.error(f"This file cannot be used: {summary}", icon=":material/error:")
        return
    st.success(
        f"**{summary['name']}**: {summary['n_train']:,} training and {summary['n_test']:,} test samples, "
        f"{summary['n_classes']} classes, input shape {tuple(summary['input_shape'])}."
    )
    if st.button("Save it to the data folder", key=f"{prefix}_save", type="primary"):
        try:
            save_upload(data_dir(), up.name, up.getvalue(), taken=taken_names())
        except DataFileError as e:
            st.error(str(e))
        else:
            st.session_state[pending] = summary["name"]
            st.rerun()


def data_key(config: DataConfig) -> tuple[str, str]:
    """A dataset as a cache key: its config as JSON and the data folder it is read from."""
    from nnlab.data import data_dir

    return json.dumps(config.to_dict(), sort_keys=True), str(data_dir().resolve())


def data_cached(fn, *, max_entries: int = 8, show_spinner: bool | str = False, ttl: float = 30 * 60):
    """`fn(dataset, *args)` as `call(config, *args)`, cached with `st.cache_data` per (`data_key`, args)."""

    def cached(config_json: str, folder: str, *args, **kwargs):
        return fn(load_data(DataConfig.from_dict(json.loads(config_json))), *args, **kwargs)

    # Streamlit keys a cache by the function's module, name and source: make this wrapper's key fn's own.
    cached.__module__, cached.__qualname__ = fn.__module__, f"{fn.__qualname__}@data"
    store = st.cache_data(max_entries=max_entries, show_spinner=show_spinner, ttl=ttl)(cached)  # ttl: page.CACHE_TTL

    @functools.wraps(fn)
    def call(config: DataConfig, *args, **kwargs):
        return store(*data_key(config), *args, **kwargs)

    call.clear = store.clear
    return call
