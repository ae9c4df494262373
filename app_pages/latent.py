"""Latent space: what an autoencoder keeps when it must squeeze every input through a narrow code.

Reads the sidebar's run and snapshot: the recorded codes of the evaluation samples (`latent/` records), drawn by
`nnlab.analysis.latent` through one projection per run, and the snapshot's decoder for any point of the map.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

import appkit
from appkit.panels.latent import own_input_panel
from nnlab.analysis import latent
from nnlab.figures import latent as latent_figures

X, Y, MAP = "latent_x", "latent_y", "latent_map"  # session keys: the decoded point, the map's selection

ctx = appkit.page(
    "latent",
    "its samples",
    title="Latent space",
    intro=(
        "An autoencoder must push every input through a narrow **code** and rebuild it from there alone. To do that "
        "well it arranges the data in a map: similar inputs get nearby codes. Click anywhere on the map to see what "
        "the decoder makes of that point, and move the **training time** slider to watch the map form."
    ),
)
run, ds, k, names = ctx


@appkit.run_cached()
def latent_map(run, k: int) -> latent.LatentMap:
    return latent.latent_info(run, k, latent.run_projection(run))


@appkit.run_cached(max_entries=4)
def manifold(run, k: int, n: int = 20) -> np.ndarray:
    m = latent_map(run, k)
    return latent.decoded_images(appkit.snapshot_model(run, k), latent.grid_codes(m.projection, m.extent, n), ds)


@appkit.run_cached(max_entries=2, show_spinner="Following the map over training…")
def movie(run):
    return latent.movie_info(run, latent.run_projection(run))


@appkit.run_cached(max_entries=2, show_spinner="Decoding the samples at each moment of training…")
def over_training(run, positions: tuple[int, ...]):
    indices = run.eval_set()[0][list(positions)]
    recon, steps = latent.reconstructions_info(run, ds.prepare(ds.x_test[indices]))
    return [ds_images(r) for r in recon], steps


def ds_images(x: np.ndarray) -> np.ndarray:
    return latent.as_images(x, ds.mean, ds.std, is_image=ds.is_image)


m = latent_map(run, k)
model = appkit.snapshot_model(run, k)
(x0, x1), (y0, y1) = m.extent
own, encoded = own_input_panel(run, ds, k, names, model, m)  # a drawing or an upload: on the map and rebuilt


def pick() -> None:
    """A click on the map: decode the point clicked (a sample's own code, or any place between)."""
    points = st.session_state[MAP].selection.get("points", [])
    if points:
        st.session_state[X], st.session_state[Y] = float(points[0]["x"]), float(points[0]["y"])


@st.fragment
def decode_panel() -> None:
    st.session_state[X] = float(np.clip(st.session_state.get(X, (x0 + x1) / 2), x0, x1))
    st.session_state[Y] = float(np.clip(st.session_state.get(Y, (y0 + y1) / 2), y0, y1))
    left, right = st.columns([1.7, 1])
    with right:
        st.slider("Map x", x0, x1, key=X, format="%.2f")
        st.slider("Map y", y0, y1, key=Y, format="%.2f")
        xy = np.array([[st.session_state[X], st.session_state[Y]]])
        image = latent.decoded_images(model, m.projection.to_code(xy), ds)
        title = f"Decoded at ({xy[0, 0]:.2f}, {xy[0, 1]:.2f})"
        st.plotly_chart(latent_figures.image_strip_figure(image, title=title, height=330), key="latent_decoded")
    with left:
        mine = (*encoded.place.coords, own.label) if own is not None else None
        fig = latent_figures.latent_map_figure(m, names, marker=(xy[0, 0], xy[0, 1]), own=mine)
        st.plotly_chart(fig, key=MAP, on_select=pick, selection_mode="points")
    pca = " Codes wider than 2 are drawn on their first two PCA axes, fitted once for the run." * m.projection.is_pca
    appkit.how_to_read(
        "Each dot is one test sample placed at its code, coloured by its true class (the network never saw the "
        "labels); grey lines are density contours. The star is the point decoded on the right: click anywhere, "
        f"or move the sliders.{pca}"
    )


decode_panel()

st.subheader("The whole manifold", anchor=False)
st.plotly_chart(latent_figures.manifold_figure(manifold(run, k), m.extent, m), key="latent_manifold")
appkit.how_to_read(
    "A 20×20 grid of points laid over the map above, each decoded into an image: walk across it to see one "
    "kind of input turn into another. Where the map has no samples the decoder has to guess."
)
if getattr(run.model_config, "variational", False):
    prior = latent.decoded_images(model, latent.prior_codes(m.projection.mean.size, 16, seed=k), ds)
    st.plotly_chart(
        latent_figures.image_strip_figure(prior, title="Samples from the prior", cols=8), key="latent_prior"
    )
    appkit.how_to_read("Codes drawn at random from a standard normal, decoded: what this VAE makes up on its own.")

st.subheader("Interpolation", anchor=False)
idx, labels = run.eval_set()
label = lambda i: f"sample {idx[i]} ({names[labels[i]]})"  # noqa: E731
first = latent.fixed_samples(labels, len(names))
a_col, b_col, n_col = st.columns([2, 2, 1])
a = a_col.selectbox("From", range(len(idx)), index=int(first[0]), format_func=label, key="latent_from")
b = b_col.selectbox("To", range(len(idx)), index=int(first[min(1, len(first) - 1)]), format_func=label, key="latent_to")
steps = n_col.slider("Steps", 8, 12, 10, key="latent_steps")
codes = run.group(k, "latent")["code"].numpy()
line = latent.decoded_images(model, latent.interpolate(codes[a], codes[b], steps), ds)
st.plotly_chart(latent_figures.image_strip_figure(line, title="Decoded along the straight line between the two codes"))
appkit.how_to_read("Left, the first sample's reconstruction; right, the second's; between, evenly spaced codes.")

st.subheader("Over training", anchor=False)
frames, movie_labels, movie_steps = movie(run)
st.plotly_chart(latent_figures.map_movie_figure(frames, movie_labels, names, movie_steps, pca=m.projection.is_pca))
appkit.how_to_read("Press play: each frame is the map at one snapshot, turned onto the next so that it never flips.")
recon, recon_steps = over_training(run, tuple(int(p) for p in first))
strip = np.concatenate([ds_images(ds.prepare(ds.x_test[idx[first]])), *recon])
title = f"One sample per class (top), reconstructed at steps {', '.join(map(str, recon_steps))}"
st.plotly_chart(latent_figures.image_strip_figure(strip, title=title, cols=len(first)), key="latent_recon_movie")
appkit.how_to_read("Each row below the inputs is the same samples rebuilt later in training: from blur to detail.")

st.subheader("Per class", anchor=False)
error = latent.class_error_info(run, k)
st.plotly_chart(latent_figures.class_error_figure(error, names), key="latent_class_error")
pick_class = dict(index=int(np.argmax(error)), format_func=lambda c: names[c], key="latent_class")
cls = st.selectbox("Worst-reconstructed samples of", range(len(names)), **pick_class)
worst = latent.worst_samples(m.error, m.labels, cls)
pair = np.concatenate([ds_images(ds.prepare(ds.x_test[idx[worst]])), latent.decoded_images(model, codes[worst], ds)])
errors = [f"{m.error[w]:.3f}" for w in worst] + [""] * len(worst)
pair_title = "Inputs (top) and their reconstructions, worst first"
st.plotly_chart(
    latent_figures.image_strip_figure(pair, labels=errors, title=pair_title, cols=max(len(worst), 1)),
    key="latent_worst",
)
appkit.how_to_read("Bars: each class's mean squared reconstruction error. Below, the worst samples, worst first.")
appkit.show_code(
    latent.latent_info,
    latent.fit_projection,
    latent.grid_codes,
    latent.decode,
    latent.encode_input,
    latent.aligned_frames,
    latent_figures.latent_map_figure,
)
