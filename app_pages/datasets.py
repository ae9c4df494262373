"""Datasets: look at the data before any network does: samples, class balance, averages, values, a map."""

import streamlit as st

import appkit
from appkit.frame.gate import end_page
from appkit.pickers.datasets import data_cached, data_key, picked_dataset, skipped_files_note, upload_panel
from appkit.pickers.maps import map_controls
from nnlab.analysis import data as data_analysis
from nnlab.figures import data as data_figures

class_images = data_cached(data_analysis.class_images_info, show_spinner="Averaging each class…")
value_histogram = data_cached(data_analysis.value_histogram_info)
pca_map = data_cached(data_analysis.dataset_map_info, max_entries=16, show_spinner="Computing PCA…")
STILL = {"displayModeBar": False}  # charts without the zoom and pan toolbar

st.title("Datasets")
st.caption(
    "Look at the data before any network does: what the samples look like, how many there are of each "
    "class, what a typical sample of each class is, and how the classes sit next to each other."
)
pick_col, upload_col = st.columns([3, 2], gap="large")
with upload_col, st.expander("Add your own dataset (.npz or .csv)", icon=":material/upload_file:"):
    upload_panel("data")
skipped_files_note()
with pick_col:
    data, ds = picked_dataset("data")
if ds is None:
    end_page()  # a download is needed first, or the dataset does not load: the picker says which
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
    grid = data_analysis.sample_grid_info(ds, per, seed=st.session_state.get("data_seed", 0))
    st.plotly_chart(data_figures.sample_grid_figure(grid.images, grid.grid, names), width="stretch", config=STILL)
    appkit.how_to_read(
        "each row holds random training samples of one class (its name on the left). Look for "
        "what stays the same within a row and what differs between rows: that is what a network "
        "has to learn."
    )
elif not ds.is_2d:
    st.subheader("Samples of each class", anchor=False)
    st.dataframe(data_analysis.sample_table_info(ds), hide_index=True)
    st.caption("Three training samples per class (at most the first 30 features).")

if ds.is_2d:
    st.subheader("The samples", anchor=False)
    ax, ay = ds.plane_axes  # a CSV's column names, else x₁ and x₂
    fig = data_figures.plane_samples_figure(ds.x_train, ds.y_train, ds.x_test, ds.y_test, names, axes=(ax, ay))
    st.plotly_chart(fig, width="stretch")
    appkit.how_to_read(
        f"each dot is one sample at its two input values {ax} and {ay}, coloured by class; hollow dots "
        "are the test split, kept apart to check the network. A network has to draw a boundary "
        "between the colours: a straight line is enough only if the colours can be split by one."
    )

st.subheader("How many of each class", anchor=False)
counts = data_analysis.class_counts_info(ds)
st.plotly_chart(data_figures.class_counts_figure(counts, names), width="stretch", config=STILL)
appkit.how_to_read(
    "bars of equal height mean a balanced dataset, where always guessing one class scores "
    f"{1 / ds.n_classes:.0%}. Here the largest class has {counts.imbalance:.1f}× the samples of the "
    "smallest" + (": accuracy alone can flatter the network." if counts.imbalance > 1.5 else ".")
)

if ds.is_image:
    st.subheader("The average image of each class, and its spread", anchor=False)
    st.plotly_chart(data_figures.class_images_figure(class_images(data), names), width="stretch", config=STILL)
    appkit.how_to_read(
        "the top row averages up to 2,000 training images per class, pixel by pixel: a blurry "
        "prototype. The bottom row shows the spread (standard deviation) of each pixel: yellow where "
        "samples of that class disagree, dark blue where they all agree."
    )

st.subheader("Input values", anchor=False)
st.plotly_chart(data_figures.histogram_figure(value_histogram(data)), width="stretch", config=STILL)
appkit.how_to_read(
    "how often each input value occurs over up to 5,000 training samples (for images on a log scale: "
    "the background's black pixels outnumber the rest). Networks learn best from "
    "inputs centred near zero with a spread near one, so nnlab normalises every input with the "
    "training split's mean and standard deviation before the first layer."
)

if not ds.is_2d:
    st.subheader("A map of the dataset", anchor=False)
    choice = map_controls(
        "data",
        data_analysis.map_sizes(len(ds.y_train)),
        default_n=2000,
        help_n="A class-balanced random subset of the training split.",
    )
    method, dims, n, contours = choice.method, choice.dims, choice.n, choice.contours
    if method == "PCA":
        emb = pca_map(data, method, dims=dims, n=n)
    else:  # seconds to minutes: in the background, shared by every session
        emb = appkit.background_result(
            ("data-embed", *data_key(data), method, n, dims, 0),
            data_analysis.dataset_map_info,
            ds,
            method,
            dims=dims,
            n=n,
            what=f"{method} of {n:,} samples",
            hint="It runs once per setting; later visits show it at once.",
        )
    if emb is not None:
        st.plotly_chart(data_figures.embedding_figure(emb, names, contours=contours), width="stretch")
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

appkit.show_code(
    data_analysis.sample_indices, data_analysis.class_images, data_analysis.embed, data_figures.class_images_figure
)
