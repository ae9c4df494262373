"""Weight evolution: watch weights grow from noise into strokes and shapes over training.

Reads every snapshot of the sidebar's run (any network, your own module included) through the getters of
`nnlab.analysis.weights`, and shows one layer's weights as an animation with a GIF to download, its weight
matrix at the sidebar's snapshot, the distributions of its arrays over training, and every layer's norms and
dead units (`nnlab.figures.weight_movies`, `nnlab.figures.weights`).
"""

from __future__ import annotations

import streamlit as st

import appkit
from appkit.frame.gate import end_page
from appkit.panels.weights import superposition_panels, token_panels
from appkit.pickers.units import unit_choice
from nnlab.analysis import weights as wa
from nnlab.figures import weight_movies as wm
from nnlab.figures import weights as wf

layers_of = appkit.run_cached()(wa.weight_layers)
history = appkit.run_cached(max_entries=4, show_spinner="Reading this layer in every snapshot…")(wa.layer_history)
norms = appkit.run_cached(show_spinner="Measuring every snapshot…")(wa.norms_info)


READING = {  # how to read one tile of the animation, by `WeightLayer.tile`
    "unit": "each square is one unit of the first layer: its weight on every input pixel, drawn where that pixel "
    "is. Red pixels push the unit up, blue pixels push it down, white ones do not matter. Press ▶ to "
    "watch the noise of the initialisation turn into strokes and blobs that match parts of the inputs.",
    "filter": "each square is one convolution filter: the pattern it slides over the image. Red weights respond "
    "to bright pixels, blue ones to dark pixels.",
    "kernel": "each column is one filter of this layer and each row one of its input channels: the small kernel "
    "that filter applies to that channel. Red is positive, blue negative.",
    "matrix": "each pixel is one weight: how strongly one input of this layer drives one of its units (see the "
    "axes). Red is positive, blue negative, white near zero. A stripe along a unit means it reads many inputs.",
}


@appkit.run_cached(max_entries=8, show_spinner="Drawing every snapshot…")
def encoded_movie(run, layer: str, how: str, count: int, start: int, per_frame: bool):
    """The chosen units' weight images at every snapshot, encoded once, with their hover labels and axis titles."""
    movie = wa.movie_info(history(run, layer), how, count, start)
    return wm.movie_frames(movie.tiles, per_frame=per_frame, cols=movie.cols), movie.labels, movie.axis_titles


st.title("Weight evolution")
st.markdown(
    "A network starts from random weights. Training nudges every weight a little at each step; "
    "here you watch those nudges add up, from noise to the features the network uses."
)
ctx = appkit.page("weights", "its weights", needs_data=False, needs_model=False)
run, snap = ctx.run, ctx.k
toy_code = superposition_panels(run, snap)  # a toy model of superposition: its features first
by_name = {layer.name: layer for layer in layers_of(run)}
if not by_name:
    st.warning("This run holds no dense or convolutional weights to show.")
    end_page()
if st.session_state.get("weights_layer") not in by_name:
    st.session_state["weights_layer"] = next(iter(by_name))
name = appkit.links.pick(
    st.selectbox,
    "Layer",
    list(by_name),
    key="weights_layer",
    param="layer",
    what="layer",
    format_func=lambda n: f"{n} ({'×'.join(map(str, by_name[n].shape))} weights)",
    help="Every section of this page follows this layer; the curves at the bottom show all of them.",
)
layer = by_name[name]
record = history(run, name)  # the chosen layer at every snapshot

# --- 1. the animation ------------------------------------------------------------------
st.subheader("Weights over training")
how, count, start = unit_choice(layer)
per_frame = appkit.links.flag(
    st.toggle,
    "Rescale the colours at each snapshot",
    key="weights_scale",
    param="rescale",
    help="Off: one colour scale for the whole of training, so you see the weights grow. "
    "On: each snapshot uses its own scale, so you see the pattern even while it is faint.",
)
movie, labels, axis = encoded_movie(run, name, how, int(count), int(start), per_frame)
fig = wm.weight_movie_figure(
    movie, record.steps, labels=labels, active=snap, axis_titles=axis, title=f"{name}: {len(record.steps)} snapshots"
)
st.plotly_chart(fig, key="weights_movie")
kept, total = fig.layout.meta["frames_kept"], fig.layout.meta["frames_total"]
if kept < total:
    st.info(
        f"To keep the page light, the animation holds {kept} of the {total} snapshots, evenly spread. "
        "Choose fewer units to see every snapshot; the GIF below always holds them all."
    )
appkit.how_to_read(READING[layer.tile] + " The colour scale is centred on zero.")


st.download_button(
    "Download the animation as a GIF",
    data=lambda: wm.movie_gif(wa.movie_info(record, how, int(count), int(start)), record, per_frame=per_frame),
    file_name=f"{run.id}-{name}.gif",
    mime="image/gif",
    icon=":material/gif_box:",
    on_click="ignore",
    key="weights_gif",
)

# --- 2. one snapshot up close ----------------------------------------------------------
if layer.tile == "matrix":
    st.subheader("The weight matrix at this snapshot")
    mode = appkit.links.pick(
        st.radio,
        "Show",
        ["weights", "change"],
        key="weights_matrix_mode",
        param="matrix",
        what="matrix view",
        horizontal=True,
        format_func={"weights": "Weights", "change": "Change since the start"}.get,
    )
    m = wa.matrix_info(record, snap, change=mode == "change")
    fig = wf.matrix_figure(m.values, title=f"{name} at step {m.step}", x_title=m.x_title, y_title=m.y_title)
    st.plotly_chart(fig, key="weights_matrix")
    appkit.how_to_read(
        "Hover a cell for its value. “Change since the start” subtracts the initial weights, so "
        "what training added stands out from the random start."
    )

# --- 3. distributions ------------------------------------------------------------------
st.subheader("How the values are spread, over training")
st.plotly_chart(wf.histograms_figure(record.histograms, title=f"Distributions in {name}"), key="weights_hists")
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
st.plotly_chart(wf.norms_figure(norms(run)), key="weights_norms")
appkit.how_to_read(
    "Top: the size (Frobenius norm) of each layer's weights and of its gradient. Bottom left: how "
    "far the weights moved between two snapshots, relative to their size (log scale): large early, "
    "small once learning settles. Bottom right: the share of units that gave 0 or less on every "
    "evaluation sample; a unit that never fires passes no gradient back and stops learning."
)

# --- 5. a transformer's token embeddings ------------------------------------------------
tokens_code = token_panels(run, snap)

appkit.show_code(
    wa.layer_history, wa.movie_info, wa.select_units, wa.norm_history, wm.weight_movie_figure, *tokens_code, *toy_code
)
