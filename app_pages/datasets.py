"""Datasets: look at the data before any network does: samples, class balance, averages, values, a map."""

import json

import numpy as np
import streamlit as st

import appkit
from appkit.datasets import skipped_files_note
from nnlab.analysis.data import class_counts, class_images, embed, sample_indices, value_histogram
from nnlab.data import DataConfig, data_dir
from nnlab.figures.data import (
    class_counts_figure,
    class_images_figure,
    embedding_figure,
    histogram_figure,
    plane_samples_figure,
    sample_grid_figure,
)

PENDING = "data_pending_dataset"  # a just-saved upload to select on the next rerun


@st.cache_data(max_entries=8, show_spinner="Averaging each class…")
def cached_class_images(config_json: str, data_folder: str):
    ds = appkit.load_data(DataConfig.from_dict(json.loads(config_json)))
    return class_images(ds.display_images(ds.x_train), ds.y_train, ds.n_classes)


@st.cache_data(max_entries=8, show_spinner=False)
def cached_histogram(config_json: str, data_folder: str):
    ds = appkit.load_data(DataConfig.from_dict(json.loads(config_json)))
    return value_histogram(ds.x_train)


@st.cache_data(max_entries=16, show_spinner="Computing PCA…")
def cached_pca(config_json: str, data_folder: str, n: int, dims: int, seed: int):
    ds = appkit.load_data(DataConfig.from_dict(json.loads(config_json)))
    return embed(ds.x_train, ds.y_train, "PCA", dims=dims, n=n, seed=seed)


def upload_panel() -> None:
    """Check an uploaded .npz/.csv completely, describe it, and save it into the data folder on request."""
    from nnlab.data import DataFileError, taken_names
    from nnlab.data.files import save_upload, validate_upload

    st.markdown(
        "**.npz**: arrays `x_train`, `y_train` (and optionally `x_test`, `y_test`, `class_names`); images "
        "as `(N, H, W)`, `(N, H, W, C)` or `(N, C, H, W)`. **.csv**: one row per sample, a `label` column "
        "(or the last column), the features in the others."
    )
    up = st.file_uploader("Dataset file", type=["npz", "csv"], key="data_upload")
    if up is None:
        return
    cache = st.session_state.setdefault("data_upload_checked", {})
    if up.file_id not in cache:
        try:
            cache.clear()
            cache[up.file_id] = validate_upload(up.name, up.getvalue(), taken=taken_names())
        except DataFileError as e:
            cache[up.file_id] = str(e)
    summary = cache[up.file_id]
    if isinstance(summary, str):
        st.error(f"This file cannot be used: {summary}", icon=":material/error:")
        return
    st.success(
        f"**{summary['name']}**: {summary['n_train']:,} training and {summary['n_test']:,} test samples, "
        f"{summary['n_classes']} classes, input shape {tuple(summary['input_shape'])}."
    )
    if st.button("Save it to the data folder", key="data_save", type="primary"):
        try:
            save_upload(data_dir(), up.name, up.getvalue(), taken=taken_names())
        except DataFileError as e:
            st.error(str(e))
        else:
            st.session_state[PENDING] = summary["name"]
            st.rerun()


st.title("Datasets")
st.caption(
    "Look at the data before any network does: what the samples look like, how many there are of each "
    "class, what a typical sample of each class is, and how the classes sit next to each other."
)
if st.session_state.get(PENDING):
    st.session_state["data_dataset"] = st.session_state.pop(PENDING)

pick_col, upload_col = st.columns([3, 2], gap="large")
with upload_col, st.expander("Add your own dataset (.npz or .csv)", icon=":material/upload_file:"):
    upload_panel()
skipped_files_note()
with pick_col:
    data = appkit.dataset_picker("data")
if data is None:
    st.stop()  # a download is needed first: the picker says how
try:
    ds = appkit.load_data(data)
except (ValueError, OSError, KeyError) as e:
    st.error(f"This dataset cannot be loaded: {e}", icon=":material/error:")
    st.stop()
key = json.dumps(data.to_dict(), sort_keys=True)
folder = str(data_dir().resolve())
names = list(ds.class_names)

c = st.columns(4)
c[0].metric("Training samples", f"{len(ds.y_train):,}")
c[1].metric("Test samples", f"{len(ds.y_test):,}")
c[2].metric("Classes", ds.n_classes)
c[3].metric("One sample", " × ".join(map(str, ds.input_shape)) + (" pixels" if ds.is_image else " numbers"))

if ds.is_image:
    st.subheader("Samples of each class", anchor=False)
    c1, c2, _ = st.columns([2, 1, 3], vertical_alignment="bottom")
    per = c1.slider("Samples per class", 4, 24, 12, key="data_per_class")
    if c2.button("Other samples", key="data_shuffle", icon=":material/shuffle:"):
        st.session_state["data_seed"] = st.session_state.get("data_seed", 0) + 1
    idx = sample_indices(ds.y_train, ds.n_classes, per, seed=st.session_state.get("data_seed", 0))
    shown = np.clip(idx, 0, None).reshape(-1)
    images = ds.display_images(ds.x_train[shown])  # (K*per, H, W[, 3]) uint8
    st.plotly_chart(
        sample_grid_figure(images, np.where(idx >= 0, np.arange(idx.size).reshape(idx.shape), -1), names),
        width="stretch",
        config={"displayModeBar": False},
    )
    appkit.how_to_read(
        "each row holds random training samples of one class (its name on the left). Look for "
        "what stays the same within a row and what differs between rows: that is what a network "
        "has to learn."
    )
elif not ds.is_2d:
    st.subheader("Samples of each class", anchor=False)
    idx = sample_indices(ds.y_train, ds.n_classes, 3, seed=0).reshape(-1)
    idx = idx[idx >= 0]
    st.dataframe(
        {
            "class": [names[y] for y in ds.y_train[idx]],
            **{f"x{j + 1}": ds.x_train[idx, j] for j in range(min(ds.input_shape[0], 30))},
        },
        hide_index=True,
    )
    st.caption("Three training samples per class (at most the first 30 features).")

if ds.is_2d:
    st.subheader("The points", anchor=False)
    st.plotly_chart(plane_samples_figure(ds.x_train, ds.y_train, ds.x_test, ds.y_test, names), width="stretch")
    appkit.how_to_read(
        "each dot is one sample at its two input values x₁ and x₂, coloured by class; hollow dots "
        "are the test split, kept apart to check the network. A network has to draw a boundary "
        "between the colours: a straight line is enough only if the colours can be split by one."
    )

st.subheader("How many of each class", anchor=False)
counts = class_counts(ds.y_train, ds.y_test, ds.n_classes)
st.plotly_chart(class_counts_figure(counts, names), width="stretch", config={"displayModeBar": False})
appkit.how_to_read(
    "bars of equal height mean a balanced dataset, where always guessing one class scores "
    f"{1 / ds.n_classes:.0%}. Here the largest class has {counts.imbalance:.1f}× the samples of the "
    "smallest" + (": accuracy alone can flatter the network." if counts.imbalance > 1.5 else ".")
)

if ds.is_image:
    st.subheader("The average image of each class, and its spread", anchor=False)
    st.plotly_chart(
        class_images_figure(cached_class_images(key, folder), names), width="stretch", config={"displayModeBar": False}
    )
    appkit.how_to_read(
        "the top row averages up to 2,000 training images per class, pixel by pixel: a blurry "
        "prototype. The bottom row shows the spread (standard deviation) of each pixel: yellow where "
        "samples of that class disagree, dark blue where they all agree."
    )

st.subheader("Input values", anchor=False)
st.plotly_chart(histogram_figure(cached_histogram(key, folder)), width="stretch", config={"displayModeBar": False})
appkit.how_to_read(
    "how often each input value occurs over up to 5,000 training samples (for images on a log scale: "
    "the background's black pixels outnumber the rest). Networks learn best from "
    "inputs centred near zero with a spread near one, so nnlab normalises every input with the "
    "training split's mean and standard deviation before the first layer."
)

if not ds.is_2d:
    st.subheader("A map of the dataset", anchor=False)
    c1, c2, c3, c4 = st.columns([2, 1, 2, 1], vertical_alignment="bottom")
    method = c1.segmented_control(
        "Method",
        ["PCA", "t-SNE", "UMAP"],
        default="PCA",
        key="data_method",
        required=True,
        help="PCA: a linear projection, instant. t-SNE and UMAP: non-linear "
        "maps that keep neighbours close, seconds to minutes.",
    )
    dims = c2.segmented_control("Dimensions", [2, 3], default=2, key="data_dims", required=True)
    n_max = len(ds.y_train)
    sizes = [s for s in (200, 500, 1000, 2000, 5000) if s < n_max] + [n_max]
    n = c3.select_slider(
        "Samples",
        sizes,
        value=min(2000, n_max),
        key="data_embed_n",
        help="A class-balanced random subset of the training split.",
    )
    contours = c4.checkbox("Density", True, key="data_contours", help="Contour lines of each class's density (2-D).")
    method, dims = method or "PCA", dims or 2
    if method == "PCA":
        emb = cached_pca(key, folder, n, dims, 0)
    else:
        emb = appkit.background_result(
            ("data-embed", key, folder, method, n, dims, 0),
            embed,
            ds.x_train,
            ds.y_train,
            method,
            dims=dims,
            n=n,
            seed=0,
            what=f"{method} of {n:,} samples",
            hint="It runs once per setting; later visits show it at once.",
        )
    if emb is not None:
        st.plotly_chart(embedding_figure(emb, names, contours=contours), width="stretch")
        appkit.how_to_read(
            {
                "PCA": "each dot is a training sample, placed by its two (or three) strongest directions of variation "
                "in input space. Classes that form separate clouds even here are easy; overlapping clouds need "
                "the network's non-linear layers to pull them apart.",
            }.get(
                method,
                f"each dot is a training sample; {method} places samples that are similar in input space "
                "close together, so clusters are groups of look-alikes. Distances between clusters and "
                "their sizes mean little; which samples sit together means a lot.",
            )
            + " The lines are density contours of each class."
        )

appkit.show_code(sample_indices, class_images, embed, class_images_figure)
