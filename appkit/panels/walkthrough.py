"""The layer walk-through's panels: the sample and its verdict, and every layer's output drawn by its layout.

Used by `app_pages/walkthrough.py` (which picks the sample and replays it): each panel takes the page context and
the replayed `SampleWalk`, and draws; nothing here computes more than a caption's numbers.
"""

from __future__ import annotations

import streamlit as st

from appkit.caches import network_points
from appkit.frame.navigation import page_file
from appkit.frame.notes import how_to_read
from appkit.pickers import own_input, photos, samples
from appkit.session import links
from nnlab.analysis import latent
from nnlab.analysis import layers as layers_analysis
from nnlab.figures import layers as layers_figures

AFTER = {  # what the activation does, for the captions
    "relu": "after ReLU every blue value becomes exactly zero, the rest keep theirs (sequential colours, dark = 0)",
    "relu6": "after ReLU6 every blue value becomes exactly zero and none passes 6 (sequential colours, dark = 0)",
    "leaky_relu": "after leaky ReLU blue values shrink to a hundredth and the rest keep theirs",
    "sigmoid": "the sigmoid squashes every value into 0…1 (sequential colours, dark = 0)",
    "tanh": "tanh squashes every value into −1…1 (still blue below zero, red above)",
    "gelu": "GELU keeps positive values and pulls negative ones close to zero",
}
BLOCK = "walk_block"  # the block shown when the network has too many to show at once (kept in the address: layer)
MAX_MAP_LAYERS = 4  # layers of feature maps drawn all at once; a deeper network (a pretrained one) shows one block


def reconstruction_panel(ctx, walk: layers_analysis.SampleWalk, choice: own_input.Choice) -> None:
    """An autoencoder's sample: what goes in beside what the decoder rebuilds from the code."""
    ds, names = ctx.data, ctx.names
    own, index = choice.own, choice.index
    st.subheader(own.label.capitalize() if own else f"Test sample {index}", anchor=False)
    x = (own.tensor if own else ds.prepare(ds.x_test[index : index + 1])).numpy()  # (1, *input_shape)
    error = float(((walk.reconstruction - x[0]) ** 2).mean())
    what = "your input" if own else f"a **{names[walk.label]}**"
    st.markdown(f"At step {ctx.step}, {what} is rebuilt with a mean squared error of {error:.3f}.")
    for col, v, title, key in zip(
        st.columns(2),
        (x, walk.reconstruction[None]),
        ("Input", "Reconstruction"),
        ("walk_input", "walk_recon"),
        strict=True,
    ):
        with col:
            if ds.is_image:
                st.plotly_chart(
                    layers_figures.image_input_figure(latent.as_images(v, ds.mean, ds.std)[0], title=title), key=key
                )
            else:
                st.plotly_chart(layers_figures.vector_input_figure(v[0].reshape(-1), title=title), key=key)
    how_to_read("Left, what goes in; right, what the decoder rebuilds from the code alone (the strip `code`).")
    st.page_link(
        page_file("latent"), label="Every sample's code: the Latent space page", icon=":material/scatter_plot:"
    )


def sample_panel(ctx, walk: layers_analysis.SampleWalk, choice: own_input.Choice) -> None:
    """The sample, its verdict and its class probabilities (or an autoencoder's reconstruction)."""
    if walk.reconstruction is not None:
        return reconstruction_panel(ctx, walk, choice)
    run, ds, k, names = ctx.run, ctx.data, ctx.k, ctx.names
    own, index = choice.own, choice.index
    st.subheader(own.label.capitalize() if own else f"Test sample {index}", anchor=False)
    prob = walk.probs[walk.pred]
    snap = run.snapshots[k]
    st.markdown(
        own_input.verdict(snap, names, walk.pred, prob, own.label)
        if own
        else samples.verdict(snap, names, walk.pred, walk.label, prob)
    )
    left, right = st.columns([1, 1.4])
    with left:
        x = own.sample[None] if own else ds.x_test[index : index + 1]
        if ds.is_image:
            st.plotly_chart(layers_figures.image_input_figure(ds.display_images(x)[0], title="Input"), key="walk_input")
        elif ds.is_2d:
            fig = layers_figures.plane_input_figure(ds.x_test, ds.y_test, x[0], names, axes=ds.plane_axes)
            st.plotly_chart(fig, key="walk_input")
        else:
            st.plotly_chart(layers_figures.vector_input_figure(ds.prepare(x)[0].numpy()), key="walk_input")
    with right:
        st.plotly_chart(layers_figures.probability_figure(walk, names), key="walk_probs")
    how_to_read(
        "Left, what goes in; right, what comes out: the softmax probability of every class. "
        "The predicted class is the longest bar, green when it is the true class and red when it "
        "is not; the true class is marked “← truth”. Your own input has no truth: its prediction is blue."
    )
    st.page_link(
        page_file("attribution"),
        label="Which parts of this input drive the prediction? See this sample on the Attribution page",
        icon=":material/center_focus_strong:",
    )


def photo_panel(ctx, walk: layers_analysis.SampleWalk, title: str) -> None:
    """A pretrained network's photo: the crop it sees, what it says (it has no truth), its likeliest classes."""
    ds, names = ctx.data, ctx.names
    st.subheader(title, anchor=False)
    st.markdown(photos.verdict(names, walk.pred, float(walk.probs[walk.pred])))
    left, right = st.columns([1, 1.4])
    with left:
        image = ds.display_images(ds.x_test[walk.index : walk.index + 1])[0]
        st.plotly_chart(layers_figures.image_input_figure(image, title="Input"), key="walk_input")
    with right:
        st.plotly_chart(layers_figures.probability_figure(walk, names, top=10), key="walk_probs")
    how_to_read(
        f"Left, what goes in: the photo's centre square as the network's preprocessing cuts it; right, the ten most "
        f"likely of its {len(names):,} classes. Nobody said what the photo shows, so the answer is blue, not right or "
        "wrong. The walk below shows one block at a time: pick it, or click a block of the diagram on the Your photo "
        "page."
    )
    st.page_link(
        page_file("attribution"),
        label="Which parts of this photo drive the answer? The Attribution page",
        icon=":material/center_focus_strong:",
    )


def tokens_panel(tokens: list[layers_analysis.PointOutput]) -> None:
    """A transformer's tokens: its patch embeddings and each block's output, as tokens × width heatmaps."""
    if not tokens:
        return
    st.markdown("**Tokens**, in network order, left to right: " + " → ".join(p.name for p in tokens))
    st.plotly_chart(layers_figures.tokens_figure(tokens), key="walk_tokens")
    how_to_read(
        "Each panel is one point's tokens: a row per token (cls, the class token, on top; then the image patches row "
        "by row), a column per dimension of the embedding; blue below zero, red above. Each block adds to these rows "
        "(the residual stream); the class token's row after the last block is what the head reads (the strip cls)."
    )
    st.page_link(
        page_file("attention"), label="Where each head looks: the Attention page", icon=":material/visibility:"
    )


def layers_panel(ctx, walk: layers_analysis.SampleWalk) -> None:
    """Every layer's output for the sample, each drawn by its layout: maps as grids, vectors as strips."""
    run, names = ctx.run, ctx.names
    st.subheader("Layer by layer", anchor=False)
    act = next((p.activation for p in network_points(run) if p.activation), "")
    after = AFTER.get(act, "the activation reshapes each value")
    shown = _block(walk)  # the one layer shown, for a deep network; None: all
    zeros = [
        f"{p.name}: {p.off_fraction:.0%}"
        for p in walk.points
        if p.off_fraction is not None and (shown is None or p.layer == shown)
    ]
    if zeros:
        word = "zero" if act in ("relu", "relu6") else "switched off (negative side)"
        st.markdown("Share of values the activation left " + word + ": " + " · ".join(zeros))
    dense, strips = [], []

    def draw_dense() -> None:  # the dense layers met so far, as one figure of strips (network order kept)
        if dense:
            st.markdown("**Dense layers**, in network order, left to right:")
            key = "walk_dense" + (str(len(strips)) if strips else "")
            st.plotly_chart(layers_figures.dense_figure(list(dense), class_names=names), key=key)
            strips.append(key)
            dense.clear()

    tokens_panel([p for p in walk.points if p.layout == "tokens"])
    for layer, pts in walk.layers():
        if pts[0].layout in ("tokens", "attention"):  # drawn together by show_tokens; attention on its own page
            continue
        if shown is not None and layer != shown:
            continue
        if pts[0].is_map:
            draw_dense()  # an autoencoder's decoder has maps after its code
            c, h, w = pts[0].values.shape
            st.markdown(f"**Layer {layer}** · {' → '.join(p.name for p in pts)}: {c} feature maps of {h}×{w}")
            st.plotly_chart(layers_figures.feature_maps_figure(pts), key=f"walk_maps{layer}")
            if shown is not None:
                dense.extend(p for p in pts if not p.is_map)  # a block's pooled output, drawn as a strip
        else:
            dense.extend(pts)
    if any(p.is_map for p in walk.points):
        how_to_read(
            f"Each tile is one channel's feature map. Raw conv outputs are blue below zero, red above, white at zero; "
            f"{after}; pooling keeps one value for each 2×2 block. Hover a tile to name its channel."
        )
    draw_dense()
    if strips:
        how_to_read(
            f"Each strip is one layer's output as a column of units (unit 0 at the top). Raw outputs are blue below "
            f"zero and red above; {after}. The last strip holds the logits that the softmax turns into the "
            "probabilities above."
        )


def _block(walk: layers_analysis.SampleWalk) -> int | None:
    """For a network with more than MAX_MAP_LAYERS layers of maps, the layer to show, picked by its last point
    (a stage's output; `?layer=stage3` in the address, as the network diagram links); None: show every layer."""
    layers = [(layer, pts) for layer, pts in walk.layers() if pts[0].layout not in ("tokens", "attention")]
    if sum(1 for _, pts in layers if pts[0].is_map) <= MAX_MAP_LAYERS:
        return None
    blocks = {pts[-1].name: layer for layer, pts in layers}
    words = {
        name: f"{name} · " + ("×".join(map(str, pts[-1].values.shape)) if pts[-1].is_map else f"{pts[-1].values.size}")
        for name, (layer, pts) in zip(blocks, layers, strict=True)
    }
    name = links.pick(
        st.select_slider,
        "Block",
        list(blocks),
        key=BLOCK,
        param="layer",
        what="block",
        format_func=words.get,
        help="This network has more blocks than fit a page: one at a time, from the input's side to the output.",
    )
    return blocks[name]
