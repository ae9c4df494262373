"""Hidden layers: how the test samples are arranged at one point of the network, and how that changes in training.

Reads the sidebar's run and snapshot: the snapshot's network is replayed on a class-balanced subset of the test
split, `nnlab.analysis.embeddings` maps one point's outputs with PCA (here), t-SNE or UMAP (in the background, cached
per run, snapshot, point and setting), and animates PCA over every snapshot.
"""

from __future__ import annotations

import streamlit as st

import appkit
from appkit.caches import CACHE_TTL
from appkit.pickers import own_input
from appkit.pickers.maps import map_controls
from nnlab.analysis import embeddings as embeddings_analysis
from nnlab.analysis.boundary import INPUT
from nnlab.figures.data import embedding_figure
from nnlab.figures.embeddings import embedding_movie_figure, with_input

POINT = "hidden_point"  # the point of the network whose outputs are mapped
ROLE_WORDS = {
    "raw": "raw output",
    "norm": "batch-normed",
    "activated": "activated",
    "pooled": "pooled",
    "residual": "block output",
}


def layer_map(run, ds, k: int, point: str, method: str, n: int, dims: int):
    """`point`'s outputs at snapshot k for a seeded, class-balanced subset of the test split, mapped by `method`."""
    return embeddings_analysis.embedding_info(
        run, k, ds, point, method, dims=dims, n=n, model=appkit.snapshot_model(run, k)
    )


pca_map = appkit.run_cached(max_entries=32, show_spinner="Mapping the layer…")(
    lambda run, k, point, n, dims: layer_map(run, appkit.run_dataset(run), k, point, "PCA", n, dims)
)


@st.cache_resource(max_entries=8, ttl=CACHE_TTL, show_spinner=False)
def movie_figure(_anim, key: tuple, names: tuple[str, ...], steps: tuple[int, ...]):
    """The movie's figure, built once per movie (hundreds of traces: ~0.3 s to build), shared read-only."""
    return embedding_movie_figure(_anim, list(names), list(steps))


def point_label(points: dict, name: str) -> str:
    if name == INPUT:
        return "input · the samples themselves"
    p = points[name]
    if p.layout == "tokens":  # a transformer's tokens are mapped by their class token
        return f"{name} · {ROLE_WORDS.get(p.role, p.role)}, its class token ({p.shape[-1]} values)"
    size = "×".join(map(str, p.shape))
    return f"{name} · {ROLE_WORDS.get(p.role, p.role)}, {size} values"


ctx = appkit.page(
    "hidden",
    "its samples",
    title="Hidden layers",
    intro=(
        "How does the network arrange the samples inside? Pick a point of the network: each dot is a test "
        "sample, placed by what that layer outputs for it. Classes that form separate clouds are easy to tell"
        " apart from there on; move the **training time** slider, or press play below, to watch the clouds "
        "form as the network learns."
    ),
)
run, ds, k, names, step = ctx.run, ctx.data, ctx.k, ctx.names, ctx.step
stamp = appkit.run_stamp(run)
points = {p.name: p for p in appkit.network_points(run) if p.role in ROLE_WORDS}
options = [INPUT, *points]
if st.session_state.get(POINT) not in options:  # a first visit or another run: the last hidden layer's output
    hidden = [n for n, p in points.items() if p.role in ("activated", "pooled")]
    st.session_state[POINT] = hidden[-1] if hidden else options[-1]

point = appkit.links.pick(
    st.selectbox,
    "Point of the network",
    options,
    key=POINT,
    param="layer",
    what="layer",
    format_func=lambda name: point_label(points, name),
    help="Whose outputs are mapped: the input, or a layer's raw, activated or pooled output.",
)
sizes = sorted({s for s in (200, 500, 1000, 2000) if s < len(ds.y_test)} | {min(len(ds.y_test), 2000)})
choice = map_controls(
    "hidden", sizes, default_n=1000, help_n="Test samples, class-balanced and seeded.", noun="test samples"
)
method, dims, n, contours = choice.method, choice.dims, choice.n, choice.contours
own = own_input.picker_expander(ds, "Place your own input on this map")

st.subheader(f"{point} at step {step}", anchor=False)
if method == "PCA":
    emb = pca_map(run, k, point, n, dims)
else:
    emb = appkit.background_result(  # t-SNE and UMAP: seconds to minutes, in a thread shared by every session
        ("hidden-embed", stamp.folder, k, step, point, method, n, dims),
        layer_map,
        run,
        ds,
        k,
        point,
        method,
        n,
        dims,
        what=f"{method} of {n:,} samples at {point}",
        hint="It runs once per setting; the rest of the page works meanwhile.",
    )
if emb is not None:
    fig = embedding_figure(emb, names, contours=contours)
    if own is not None and len(emb.coords):
        model = appkit.snapshot_model(run, k)
        place = own_input.place_on_map(run, ds, k, emb, point, (method, n, dims), own, model)
        fig = with_input(fig, place, emb.coords, label=own.label)
        st.markdown(own_input.place_words(place, names, own, method))
    st.plotly_chart(fig, key="hidden_map")
    appkit.how_to_read(
        (
            "each dot is a test sample, placed along the two (or three) directions in which this layer's outputs "
            "vary most (the axis titles say how much of the variation each holds)."
            if method == "PCA"
            else f"each dot is a test sample; {method} places samples whose outputs here are alike close together. "
            "Which samples sit together means a lot; distances between clusters and their sizes mean little."
        )
        + " Compare with the **input** point: what the layers add is how much cleaner the classes separate here."
    )

st.subheader("Over training", anchor=False)
n_movie = min(n, 1000)
anim = appkit.background_result(
    ("hidden-movie", stamp, point, n_movie),
    embeddings_analysis.embedding_movie_info,
    run,
    ds,
    point,
    n=n_movie,
    what=f"PCA of {point} at all {len(run)} snapshots",
    hint="Each snapshot's network is replayed once; the result is kept for every visitor.",
)
if anim is not None:
    steps = tuple(s["step"] for s in run.snapshots[: len(anim.coords)])
    fig = movie_figure(anim, (stamp, point, n_movie), tuple(names), steps)
    st.plotly_chart(fig, key="hidden_movie")
    appkit.how_to_read(
        f"the same {len(anim.labels):,} test samples at {point}, one frame per snapshot: press ▶ or drag the slider "
        "(it is the movie's own; the sidebar's training time moves the map above). "
        "Each frame is its own PCA, turned to agree with the frame before and scaled to the same spread, so what "
        "you see move is how the classes arrange themselves, not the numbers growing."
    )

appkit.show_code(embeddings_analysis.layer_embedding, embeddings_analysis.pca_movie, embedding_movie_figure)
