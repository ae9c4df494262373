"""Weight evolution: watch weights grow from noise into strokes and shapes over training.

Page 6. Widgets → cached passes over every snapshot (`nnlab.analysis.weights`) →
figures (`nnlab.figures.weight_movies`, `nnlab.figures.weights`) → charts, with a GIF of the animation to download.
"""

from __future__ import annotations

import math

import numpy as np
import pandas  # noqa: F401  (imported whole before plotly looks for it: another session may be importing it)
import streamlit as st

import appkit
from nnlab.analysis import weights as wa
from nnlab.figures import weight_movies as wm
from nnlab.figures import weights as wf
from nnlab.figures.gif import gif_bytes
from nnlab.runs import Run


def _stamp(run: Run) -> tuple[int, float]:
    """Cache key part: the number of snapshots and the manifest's mtime (a run still training grows)."""
    return len(run), (run.folder / "manifest.json").stat().st_mtime


def _snapshots(folder: str, n: int) -> tuple[list[dict], list[int]]:
    run = Run(folder, cache_size=1)
    return [run.snapshot(k) for k in range(n)], [s["step"] for s in run.snapshots[:n]]


@st.cache_data(max_entries=4, show_spinner="Reading this layer in every snapshot…")
def layer_record(folder: str, stamp: tuple, layer: str) -> tuple[np.ndarray, dict, np.ndarray]:
    """One layer over training: weights (T, ...) as float16, its histograms, and the steps (one pass)."""
    snaps, steps = _snapshots(folder, stamp[0])
    weights = wa.stack(snaps, f"param/{layer}.weight").astype(np.float16)
    return weights, wa.layer_histograms(snaps, steps, layer), np.asarray(steps)


@st.cache_data(max_entries=8, show_spinner="Measuring every snapshot…")
def norms_record(folder: str, stamp: tuple) -> wa.NormHistory:
    """Norms, update ratios and never-firing units of every layer over training (one pass)."""
    snaps, steps = _snapshots(folder, stamp[0])
    return wa.norm_history(snaps, steps)


@st.cache_data(max_entries=8, show_spinner="Drawing every snapshot…")
def encoded_movie(
    folder: str, stamp: tuple, layer: str, how: str, count: int, start: int, per_frame: bool
) -> tuple[wm.MovieFrames | None, list[str] | None, int | None, tuple | None]:
    """The chosen units' weight images at every snapshot, encoded once (with hover labels, columns, axes)."""
    tiles, labels, cols, axis = movie_tiles(folder, stamp, layer, how, count, start)
    return wm.movie_frames(tiles, per_frame=per_frame, cols=cols), labels, cols, axis


def movie_tiles(folder: str, stamp: tuple, name: str, how: str, count: int, start: int):
    """The tiles to animate for a layer (T, U, ...), their hover labels, columns per row and axis titles."""
    run = Run(folder)
    layers = wa.weight_layers(run.snapshot(-1))
    layer = {w.name: w for w in layers}[name]
    weights = layer_record(folder, stamp, name)[0].astype(np.float32)
    shape = tuple(run.manifest.get("dataset", {}).get("input_shape") or ())
    tiles, what = tiles_for(layer, weights, shape, first=name == layers[0].name)
    if what == "matrix":
        wide = layer.shape[0] <= layer.shape[1]
        axis = ("input", f"unit of {name}") if wide else (f"unit of {name}", "input")
        return (tiles if wide else np.swapaxes(tiles, -1, -2)), None, None, axis
    sel = wa.select_units(weights, how, n=count, start=start)
    if what == "kernel":  # every (filter, input channel) kernel of the chosen filters: one column per filter
        per, t = layer.shape[1], len(tiles)
        k = tiles.reshape(t, layer.shape[0], per, *tiles.shape[2:])[:, sel].swapaxes(1, 2)  # (T, I, O', kh, kw)
        labels = [f"filter {o} ← channel {i}" for i in range(per) for o in sel]
        return k.reshape(t, per * len(sel), *tiles.shape[2:]), labels, len(sel), None
    return tiles[:, sel], [f"{what} {i}" for i in sel], None, None


def tiles_for(layer: wa.WeightLayer, w: np.ndarray, input_shape, first: bool) -> tuple[np.ndarray, str]:
    """What to draw for a layer's weights over time `w` (T, ...): tiles (T, U, ...) and what a tile is.

    Only the first layer reads the image itself: its units (dense) are drawn as images, and its
    filters (conv) in colour when the image has three channels.
    """
    if layer.kind == "conv":
        out, inp, kh, kw = layer.shape
        if inp == 1:
            return w[:, :, 0], "filter"  # (T, O, kh, kw)
        if inp == 3 and first and tuple(input_shape[:1]) == (3,):
            return wa.filter_images(w), "filter"  # (T, O, kh, kw, 3)
        return w.reshape(len(w), out * inp, kh, kw), "kernel"  # (T, O·I, kh, kw)
    if first and len(input_shape) == 3 and layer.shape[1] == math.prod(input_shape):
        return wa.unit_images(w, input_shape), "unit"
    return w[:, None], "matrix"


st.title("Weight evolution")
st.markdown(
    "A network starts from random weights. Training nudges every weight a little at each step; "
    "here you watch those nudges add up, from noise to the features the network uses."
)
run = appkit.require_run(needs_model=False)
snap = appkit.current_snapshot(run)
stamp = _stamp(run)
layers = wa.weight_layers(run.snapshot(snap))
if not layers:
    st.warning("This run holds no dense or convolutional weights to show.")
    st.stop()
input_shape = tuple(run.manifest.get("dataset", {}).get("input_shape") or ())
by_name = {layer.name: layer for layer in layers}
if st.session_state.get("weights_layer") not in by_name:
    st.session_state["weights_layer"] = layers[0].name
name = st.selectbox(
    "Layer",
    list(by_name),
    key="weights_layer",
    format_func=lambda n: f"{n} ({'×'.join(map(str, by_name[n].shape))} weights)",
    help="Every section of this page follows this layer; the curves at the bottom show all of them.",
)
layer = by_name[name]
weights, hists, steps = layer_record(str(run.folder), stamp, name)
what = tiles_for(layer, weights[:1].astype(np.float32), input_shape, first=name == layers[0].name)[1]

# --- 1. the animation ------------------------------------------------------------------
st.subheader("Weights over training")
how, count, start = "all", layer.shape[0], 0
if what != "matrix":
    n_units = layer.shape[0]
    c1, c2, c3 = st.columns(3)
    how = c1.radio(
        "Units",
        ["all", "changed", "range"],
        key="weights_units",
        horizontal=True,
        format_func={"all": "All", "changed": "Most changed", "range": "A range"}.get,
        help="Most changed: the units whose weights moved farthest from the start to the end of training.",
    )
    if how != "all":
        count = c2.slider("How many", 1, n_units, min(32, n_units), key="weights_count")
    if how == "range":
        start = c3.number_input("First unit", 0, max(n_units - count, 0), 0, key="weights_start")
per_frame = st.toggle(
    "Rescale the colours at each snapshot",
    key="weights_scale",
    help="Off: one colour scale for the whole of training, so you see the weights grow. "
    "On: each snapshot uses its own scale, so you see the pattern even while it is faint.",
)
movie, labels, cols, axis = encoded_movie(str(run.folder), stamp, name, how, int(count), int(start), per_frame)
fig = wm.weight_movie_figure(
    movie, steps, labels=labels, active=snap, axis_titles=axis, title=f"{name}: {len(steps)} snapshots"
)
st.plotly_chart(fig, key="weights_movie")
kept, total = fig.layout.meta["frames_kept"], fig.layout.meta["frames_total"]
if kept < total:
    st.info(
        f"To keep the page light, the animation holds {kept} of the {total} snapshots, evenly spread. "
        "Choose fewer units to see every snapshot; the GIF below always holds them all."
    )
reading = {
    "unit": "each square is one unit of the first layer: its weight on every input pixel, drawn where that pixel "
    "is. Red pixels push the unit up, blue pixels push it down, white ones do not matter. Press ▶ to "
    "watch the noise of the initialisation turn into strokes and blobs that match parts of the inputs.",
    "filter": "each square is one convolution filter: the pattern it slides over the image. Red weights respond "
    "to bright pixels, blue ones to dark pixels.",
    "kernel": "each column is one filter of this layer and each row one of its input channels: the small kernel "
    "that filter applies to that channel. Red is positive, blue negative.",
    "matrix": "each pixel is one weight: how strongly one input of this layer drives one of its units (see the "
    "axes). Red is positive, blue negative, white near zero. A stripe along a unit means it reads many inputs.",
}[what]
appkit.how_to_read(reading + " The colour scale is centred on zero.")


def make_gif() -> bytes:
    tiles, _, gif_cols, _ = movie_tiles(str(run.folder), stamp, name, how, int(count), int(start))
    frames = wm.gif_frames(tiles, per_frame=per_frame, cols=gif_cols)
    scale = max(1, 480 // max(frames[0].shape[1], 1)) if frames else 1
    return gif_bytes(frames, fps=4, scale=scale, labels=[f"{name} · step {s}" for s in steps])


st.download_button(
    "Download the animation as a GIF",
    data=make_gif,
    file_name=f"{run.id}-{name}.gif",
    mime="image/gif",
    icon=":material/gif_box:",
    on_click="ignore",
    key="weights_gif",
)

# --- 2. one snapshot up close ----------------------------------------------------------
if layer.kind == "dense" and what == "matrix":
    st.subheader("The weight matrix at this snapshot")
    mode = st.radio(
        "Show",
        ["weights", "change"],
        key="weights_matrix_mode",
        horizontal=True,
        format_func={"weights": "Weights", "change": "Change since the start"}.get,
    )
    w_now = weights[snap].astype(np.float32) - (weights[0].astype(np.float32) if mode == "change" else 0)
    titles = {"x_title": "input", "y_title": f"unit of {name}"}
    if w_now.shape[0] > w_now.shape[1]:  # lay a tall matrix on its side, like the animation above
        w_now, titles = w_now.T, {"x_title": f"unit of {name}", "y_title": "input"}
    st.plotly_chart(wf.matrix_figure(w_now, title=f"{name} at step {steps[snap]}", **titles), key="weights_matrix")
    appkit.how_to_read(
        "Hover a cell for its value. “Change since the start” subtracts the initial weights, so "
        "what training added stands out from the random start."
    )

# --- 3. distributions ------------------------------------------------------------------
st.subheader("How the values are spread, over training")
st.plotly_chart(wf.histograms_figure(hists, title=f"Distributions in {name}"), key="weights_hists")
appkit.how_to_read(
    "Each column is a histogram at one snapshot (60 bins), bright where many values fall (each column "
    "is scaled to its own peak; hover a cell for the true share). A band "
    "that widens means the weights spread out as they learn; gradients shrink towards zero as the "
    "loss falls; momentum is the optimizer's running average of the gradients. Values beyond the "
    "0.5–99.5% range are counted in the top and bottom bins. No gradient exists before the first "
    "step, so that column is empty."
)

# --- 4. norms and dead units -----------------------------------------------------------
st.subheader("Sizes and dead units, every layer")
norms = norms_record(str(run.folder), stamp)
st.plotly_chart(wf.norms_figure(norms), key="weights_norms")
appkit.how_to_read(
    "Top: the size (Frobenius norm) of each layer's weights and of its gradient. Bottom left: how "
    "far the weights moved between two snapshots, relative to their size (log scale): large early, "
    "small once learning settles. Bottom right: the share of units that gave 0 or less on every "
    "evaluation sample; a unit that never fires passes no gradient back and stops learning."
)

appkit.show_code(
    wa.stack, wa.select_units, wa.unit_images, wa.histogram_history, wa.norm_history, wm.weight_movie_figure
)
