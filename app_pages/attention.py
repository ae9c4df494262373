"""Attention: where a vision transformer's heads look, for one sample, rolled out, per class and over training.

Reads the sidebar's run and snapshot and the sample it shares with the walk-through (`appkit.pickers.samples`);
`nnlab.analysis.attention` replays the snapshot on the sample and reads the recorder's per-class attention statistics
(cached per run, snapshot and choice); `nnlab.figures.attention` lays the maps over the image.
"""

from __future__ import annotations

import streamlit as st

import appkit
from appkit.caches import CACHE_TTL, RunStamp
from appkit.pickers import samples
from nnlab.analysis import attention
from nnlab.figures import attention as attention_figures

BLOCK = "attn_block"  # the block of the token × token matrix
HEAD = "attn_head"  # its head
CLASS_BLOCK = "attn_class_block"  # the block of the per-class maps, or "rollout"


@appkit.run_cached(max_entries=64)
def sample_info(run, k: int, index: int) -> attention.SampleAttention:
    ds = appkit.run_dataset(run)
    x = ds.prepare(ds.x_test[index : index + 1])
    return attention.sample_attention_info(
        run, k, x, model=appkit.snapshot_model(run, k), points=appkit.network_points(run)
    )


@appkit.run_cached(max_entries=8, show_spinner="Reading every snapshot…")
def heads_info(run) -> attention.HeadHistory:
    return attention.head_history(run, points=appkit.network_points(run))


@appkit.run_cached(max_entries=32)
def class_info(run, k: int, block: str) -> attention.ClassAttention:
    return attention.class_attention_info(run, k, block, points=appkit.network_points(run))


@appkit.run_cached(max_entries=4)
def class_images(run):
    """Each class's mean image over the evaluation subset `(K, H, W[, 3])` uint8 (the same at every snapshot)."""
    ds = appkit.run_dataset(run)
    idx, labels = run.eval_set()
    return attention.class_mean_images(ds.display_images(ds.x_test[idx]), labels, ds.n_classes)


@st.cache_resource(max_entries=8, ttl=CACHE_TTL, show_spinner=False)
def heads_figure(_history, stamp: RunStamp):
    """The heads-over-training figure, built once per run stamp (it does not follow the sample or the slider)."""
    return attention_figures.heads_figure(_history)


@st.cache_resource(max_entries=32, ttl=CACHE_TTL, show_spinner=False)
def classes_figure(_run, stamp: RunStamp, k: int, block: str, names: tuple[str, ...]):
    """Each class's mean attention over its mean image, built once per run stamp, snapshot and block."""
    images, per_class = class_images(_run), class_info(_run, k, block)
    what = "rolled out through every block" if block == "rollout" else f"at {block}, averaged over its heads"
    return attention_figures.class_attention_figure(
        images, per_class.maps, list(names), title=f"Mean class-token attention, {what}"
    )


ctx = appkit.page(
    "attention",
    "its samples",
    title="Attention: where the heads look",
    intro=(
        "A vision transformer cuts the image into patches and lets every patch, and a **class token** that "
        "the head reads at the end, look at every other one. Here is where they look: for one sample, "
        "combined through the blocks, per class, and how each head changed in training. Move the **training "
        "time** slider to see attention early and late."
    ),
)
run, ds, k, names = ctx
wrong, n_eval = samples.wrong_at(run, k)
samples.prepare_state(len(ds.y_test), names)
samples.picker(ds, names, wrong, n_eval)
index = samples.index()
info = sample_info(run, k, index)
image = ds.display_images(ds.x_test[index : index + 1])[0]

# --- one sample ------------------------------------------------------------------------------------------------------
st.subheader(f"Test sample {index}", anchor=False)
st.markdown(samples.verdict(ctx.snapshot, names, int(info.probs.argmax()), int(ds.y_test[index]), info.probs.max()))
st.plotly_chart(attention_figures.head_grid_figure(image, info.class_maps, list(info.blocks)), key="attn_heads")
appkit.how_to_read(
    "One tile per block (rows, first block at the top) and head (columns): the class token's attention over the "
    f"{info.grid[0]}×{info.grid[1]} patches, laid over the input. Yellow marks the patches it weighs most (each tile "
    "is scaled to its own largest weight, but a head that looks everywhere alike stays a faint, even tint); where the "
    "image shows through, it hardly looks. The class token's "
    "attention to itself is left out."
)
c1, c2 = st.columns(2)
block = c1.selectbox("Block", list(info.blocks), key=BLOCK)
head = c2.selectbox("Head", list(range(1, info.maps.shape[1] + 1)), key=HEAD)
d = info.blocks.index(block)
title = f"{block} · head {head}: every token's attention"
st.plotly_chart(
    attention_figures.token_matrix_figure(info.maps[d, head - 1], info.grid, title=title), key="attn_matrix"
)
appkit.how_to_read(
    "Row i is where token i looks, its weights summing to one; column j is how much every token takes from token j. "
    "Token cls is the class token, p1, p2, … the patches row by row. A bright diagonal is a head that keeps to "
    "itself; a bright column is a patch that every token reads; even colour everywhere is a head that averages."
)

st.subheader("Attention rollout", anchor=False)
st.plotly_chart(attention_figures.rollout_figure(image, info.rollout_map), key="attn_rollout")
appkit.how_to_read(
    "Rollout (Abnar & Zuidema, 2020) follows attention through every block: each block's heads are averaged, the "
    "residual connection is added as half of the weight on the token itself, and the blocks are multiplied. The map is "
    "how much of the class token's final state traces back to each patch along attention paths. It is not a "
    "measure of importance: it ignores what the values carry and what the MLPs do, so a bright patch was mixed in, "
    "not proven to matter (compare occlusion on the Attribution page)."
)

# --- the heads over training ----------------------------------------------------------------------------------------
st.subheader("The heads over training", anchor=False)
history = heads_info(run)
if len(history.steps) > 1:
    st.markdown(attention.describe_head(history))
st.plotly_chart(heads_figure(history, appkit.run_stamp(run)), key="attn_history")
appkit.how_to_read(
    "Left, how far each head looks: the mean distance, in patches, between a patch and the patches it attends to. "
    "Right, how spread its attention is: 0 nats looks at one token only, the dotted line is a head that looks "
    "everywhere alike. One line per head, coloured by block, averaged over the evaluation subset; the head that "
    "changed most is drawn bold. Heads often start near uniform and learn to look locally or across the image."
)

# --- per class -----------------------------------------------------------------------------------------------------
st.subheader("Per class", anchor=False)
choice = st.segmented_control(
    "Attention of", ["rollout", *info.blocks], default="rollout", key=CLASS_BLOCK, required=True
)
st.plotly_chart(classes_figure(run, appkit.run_stamp(run), k, choice, tuple(names)), key="attn_classes")
appkit.how_to_read(
    "Each tile is one class: the mean image of its evaluation samples, with the class token's attention averaged "
    "over them on top. Classes that differ in where the network looks show it here; the recorder keeps these means "
    "at every snapshot, so moving the training-time slider needs no recomputation."
)

st.caption(
    "How alike the learned position embeddings of the patches are, and the class token itself, are on the "
    "**Weight evolution** page."
)

appkit.show_code(
    attention.sample_attention,
    attention.rollout,
    attention.head_history,
    attention.class_attention_info,
    attention_figures.overlay,
)
