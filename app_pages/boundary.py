"""Decision boundary: watch the line between the classes bend until it separates them.

Page 7. For 2-D data the plane is the data itself; for images (or any other input) it
is the plane of two principal components of the inputs or of a hidden layer. Cached
passes over every snapshot (`nnlab.analysis.boundary`) → figures → charts and a GIF.
"""

from __future__ import annotations

import numpy as np
import pandas  # noqa: F401  (imported whole before plotly looks for it: another session may be importing it)
import streamlit as st

import appkit
from nnlab.analysis import boundary as ba
from nnlab.figures import boundary as bf
from nnlab.figures.gif import gif_bytes
from nnlab.runs import Run


def _stamp(run: Run) -> tuple[int, float]:
    """Cache key part: the number of snapshots and the manifest's mtime (a run still training grows)."""
    return len(run), (run.folder / "manifest.json").stat().st_mtime


def _models(folder: str, n: int) -> tuple[list, list[int]]:
    run = Run(folder, cache_size=1)
    return [run.model_at(k) for k in range(n)], [s["step"] for s in run.snapshots[:n]]


@st.cache_data(max_entries=8, show_spinner="Computing the boundary at every snapshot…")
def movie_2d(folder: str, stamp: tuple, resolution: int) -> ba.BoundaryMovie:
    """Class probabilities over a grid of the data plane at every snapshot, with every point."""
    ds = appkit.run_dataset(Run(folder))
    models, steps = _models(folder, stamp[0])
    coords = np.concatenate([ds.x_train, ds.x_test]).astype(np.float32)
    labels = np.concatenate([ds.y_train, ds.y_test])
    is_test = np.r_[np.zeros(len(ds.y_train), bool), np.ones(len(ds.y_test), bool)]
    return ba.points_movie(models, ds.prepare, coords, labels, is_test, steps, resolution=resolution)


@st.cache_data(max_entries=8, show_spinner="Computing the boundary in the plane at every snapshot…")
def movie_plane(folder: str, stamp: tuple, point: str, resolution: int) -> ba.BoundaryMovie:
    """The boundary in the PCA plane of `point` at every snapshot, with the evaluation samples."""
    run = Run(folder)
    ds = appkit.run_dataset(run)
    idx, labels = run.eval_set()
    models, steps = _models(folder, stamp[0])
    return ba.plane_movie(models, ds.prepare(ds.x_test[idx]), labels, steps, point, resolution=resolution)


@st.cache_data(max_entries=16, show_spinner=False)
def unit_maps(folder: str, k: int, point: str, resolution: int) -> np.ndarray:
    """Every unit's output at `point` over the data plane, at snapshot k: (U, H, W)."""
    run = Run(folder)
    ds = appkit.run_dataset(run)
    grid = ba.plane_grid(np.concatenate([ds.x_train, ds.x_test]), resolution)
    return ba.unit_maps(run.model_at(k), ds.prepare, grid, point)


def download_gif(movie: ba.BoundaryMovie, mode: str, name: str) -> None:
    """A button that makes the animation's GIF when clicked (all frames, points drawn on)."""
    st.download_button(
        "Download the animation as a GIF",
        file_name=f"{name}.gif",
        mime="image/gif",
        data=lambda: gif_bytes(bf.gif_frames(movie, mode=mode), fps=4, labels=[f"step {s}" for s in movie.steps]),
        icon=":material/gif_box:",
        on_click="ignore",
        key="boundary_gif",
    )


st.title("Decision boundary")
st.markdown(
    "Wherever you put a point, the network answers with a class. Colour the whole plane by that answer "
    "and you see the **decision boundary**: the lines where the answer changes. Watch it over training."
)
run, ds = appkit.require_run_data("its decision boundary")
snap = appkit.current_snapshot(run)
stamp = _stamp(run)
names = list(run.class_names or ds.class_names)

c1, c2 = st.columns([3, 2])
mode = c1.segmented_control(
    "Colour the plane by",
    list(bf.MODES),
    key="boundary_mode",
    default="probabilities",
    required=True,
    format_func={"probabilities": "Probabilities", "regions": "Hard regions"}.get,
)
resolution = c2.select_slider(
    "Grid",
    [100, 150, 200],
    key="boundary_resolution",
    value=100,
    format_func=lambda r: f"{r}×{r}",
    help="Points per side of the grid.",
)

if ds.is_2d:
    movie = movie_2d(str(run.folder), stamp, int(resolution))
    shown = st.pills(
        "Points",
        ["train", "test"],
        selection_mode="multi",
        default=["train", "test"],
        key="boundary_points",
        format_func={"train": "Training points", "test": "Test points"}.get,
    )
    fig = bf.boundary_figure(
        movie,
        names,
        mode=mode,
        active=snap,
        show_train="train" in shown,
        show_test="test" in shown,
        title=f"{run.name}: the boundary over training",
    )
    st.plotly_chart(fig, key="boundary_movie")
    appkit.how_to_read(
        "Each colour is the class the network picks there; with **Probabilities** the colour fades "
        "to white where the network is unsure, so the white band is the boundary itself. Circles are "
        "training points, diamonds test points, coloured by their true class. Press ▶ to watch the "
        "boundary start as a rough cut and bend around the classes; click a legend entry to hide it."
    )
    download_gif(movie, mode, f"{run.id}-boundary")

    st.subheader("What each hidden unit sees")
    hidden = [p.name for p in run.points() if p.role in ("raw", "activated", "norm", "pooled")]
    activated = [p.name for p in run.points() if p.role == "activated"] or hidden
    if st.session_state.get("boundary_unit_point") not in hidden:
        st.session_state["boundary_unit_point"] = activated[0]
    point = st.selectbox(
        "Layer output",
        hidden,
        key="boundary_unit_point",
        help="Raw outputs (dense1, …) come before the activation, activated ones after it.",
    )
    maps = unit_maps(str(run.folder), snap, point, 40)
    signed = bool(np.nanmin(maps) < 0)
    st.plotly_chart(
        bf.unit_maps_figure(
            maps,
            signed=signed,
            title=f"{point} at step {run.snapshots[snap]['step']}: {len(maps)} units over the same plane",
        ),
        key="boundary_units",
    )
    appkit.how_to_read(
        "Each small square is the whole plane above, coloured by one unit's output: "
        + (
            "blue below zero, red above, white at zero. "
            if signed
            else "dark where the unit is silent (0), bright where it fires. "
        )
        + "First-layer units can only draw a straight edge; later layers combine those edges "
        "into the curved boundary. Use the sidebar's training time to see them at another snapshot."
    )
else:
    points = [p.name for p in run.points() if p.role in ("activated", "pooled")]
    plane_point = st.selectbox(
        "Plane",
        [ba.INPUT, *points],
        key="boundary_plane",
        format_func=lambda p: "the inputs" if p == ba.INPUT else f"the outputs of {p}",
        help="The two directions along which the chosen values vary most (PCA).",
    )
    movie = movie_plane(str(run.folder), stamp, plane_point, int(resolution))
    ex = movie.explained[snap]
    where = "the inputs" if plane_point == ba.INPUT else f"the outputs of {plane_point}"
    fig = bf.boundary_figure(
        movie,
        names,
        mode=mode,
        active=snap,
        x_title=f"PC1 of {where} ({ex[0]:.0%} of the spread), in standard deviations",
        y_title=f"PC2 ({ex[1]:.0%})",
        title=f"{run.name}: the boundary in the plane of {where}",
    )
    st.plotly_chart(fig, key="boundary_movie")
    agree = ba.region_agreement(movie, snap, run.snapshot(snap)["pred"].numpy())
    shapes = {p.name: p.shape for p in run.points()}
    dims = int(np.prod(ds.input_shape if plane_point == ba.INPUT else shapes[plane_point]))
    seen = f"the network sees {dims} numbers" if plane_point == ba.INPUT else f"{plane_point} holds {dims} numbers"
    appkit.how_to_read(
        f"The plane is spanned by the first two principal components of {where} over {len(movie.labels)} test "
        f"samples: they carry {ex.sum():.0%} of the spread at this snapshot. Every grid point is the average "
        f"sample plus a step along each direction, fed through the rest of the network and coloured by its "
        f"answer; diamonds are the test samples projected onto the plane, coloured by their true class. "
        f"**What it hides:** {seen}; everything off this plane is held at the average, so a "
        f"sample can sit in a region of another colour and still be classified correctly. Here the region "
        f"under a sample matches the network's real answer for {agree:.0%} of them."
        + (
            ""
            if plane_point == ba.INPUT
            else " The plane is refitted at each snapshot, because the layer's outputs change as it learns."
        )
    )
    download_gif(movie, mode, f"{run.id}-boundary-{plane_point}")

appkit.show_code(ba.plane_grid, ba.boundary_2d, ba.fit_plane, ba.plane_boundary, bf.region_index)
