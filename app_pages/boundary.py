"""Decision boundary: watch the line between the classes bend until it separates them.

Reads every snapshot of the sidebar's run and its data. For 2-D data the plane is the data itself, with what
each hidden unit computes over it; otherwise it is the plane of two principal components of the inputs or of a
hidden point. `nnlab.analysis.boundary` builds the movies, `nnlab.figures.boundary` draws them (and the GIF).
"""

from __future__ import annotations

import numpy as np
import streamlit as st

import appkit
from appkit.panels import boundary as boundary_units
from appkit.pickers import own_input
from nnlab.analysis import boundary as ba
from nnlab.analysis import local_fit as lf
from nnlab.figures import boundary as bf


@appkit.snapshot_cached(max_entries=1024)
def boundary_frame(run, k: int, resolution: int, *, _grid) -> np.ndarray:
    """One snapshot's frame, kept by snapshot: a run still training computes only its new snapshots' frames."""
    return ba.boundary_2d(run.model_at(k), appkit.run_dataset(run).prepare, _grid).astype(np.float16)


@appkit.run_cached(max_entries=8, show_spinner="Computing the boundary at every snapshot…")
def data_movie(run, resolution: int) -> ba.BoundaryMovie:
    frame = lambda k, grid: boundary_frame(run, k, resolution, _grid=grid)  # noqa: E731  (the grid: the run's plane)
    return ba.data_plane_movie(run, resolution, data=appkit.run_dataset(run), frame=frame)


@appkit.run_cached(max_entries=8, show_spinner="Computing the boundary in the plane at every snapshot…")
def plane_movie(run, point: str, resolution: int) -> ba.BoundaryMovie:
    return ba.pca_plane_movie(run, point, resolution, data=appkit.run_dataset(run))


@appkit.run_cached(max_entries=32)
def lime_fit(run, k: int, point: tuple[float, float]) -> lf.LocalFit:
    return lf.run_local_fit(run, k, appkit.run_dataset(run), point, model=appkit.snapshot_model(run, k))


ctx = appkit.page(
    "boundary",
    "its decision boundary",
    title="Decision boundary",
    intro="Wherever you put a sample, the network answers with a class. Colour the whole plane by that answer "
    "and you see the **decision boundary**: the lines where the answer changes. Watch it over training.",
)
run, snap = ctx.run, ctx.k

c1, c2 = st.columns([3, 2])
mode = appkit.links.pick(
    c1.segmented_control,
    "Colour the plane by",
    list(bf.MODES),
    key="boundary_mode",
    param="colour",
    what="colouring",
    default="probabilities",
    required=True,
    format_func={"probabilities": "Probabilities", "regions": "Hard regions"}.get,
)
resolution = appkit.links.pick(
    c2.select_slider,
    "Grid",
    [100, 150, 200],
    key="boundary_resolution",
    param="grid",
    what="grid",
    value=100,
    format_func=lambda r: f"{r}×{r}",
    help="Cells per side of the grid.",
)

if ctx.data.is_2d:
    movie = data_movie(run, int(resolution))
    shown = st.pills(
        "Samples",
        ["train", "test"],
        selection_mode="multi",
        default=["train", "test"],
        key="boundary_splits",
        format_func={"train": "Training samples", "test": "Test samples"}.get,
    )
    fig = bf.boundary_figure(
        movie,
        ctx.names,
        mode=mode,
        active=snap,
        show_train="train" in shown,
        show_test="test" in shown,
        title=f"{run.name}: the boundary over training",
        x_title=ctx.data.plane_axes[0],  # a CSV's column names
        y_title=ctx.data.plane_axes[1],
    )
    own = own_input.picker_expander(ctx.data, "Your own point on the plane")
    if own is not None:
        fit = lime_fit(run, snap, tuple(float(v) for v in own.sample))
        bf.add_local_fit(fig, fit, ctx.names)
        said = own_input.mark_point(fig, own, appkit.snapshot_model(run, snap), ctx.names, axes=ctx.data.plane_axes)
        st.markdown(f"{said} {fit.words(ctx.names)}")
    st.plotly_chart(fig, key="boundary_movie")
    if own is not None:
        appkit.how_to_read(
            "The solid black line through the star is LIME's straight-line stand-in for the network there: along "
            "it the fitted margin of the predicted class stays the same, so it runs parallel to the local boundary; "
            "the dashed line is where that straight line says the boundary itself is. The agreement is the share of "
            "nearby points (weighted by closeness) that the line and the network put on the same side."
        )
    appkit.how_to_read(
        "Each colour is the class the network picks there, and the dark line is the boundary itself, where that "
        "class changes (an untrained network has one too, wherever its random weights put it); with "
        "**Probabilities** the colour fades to a faint tint where the network is unsure. Circles are "
        "training samples, diamonds test samples, coloured by their true class. Press ▶ to watch the "
        "boundary start as a rough cut and bend around the classes; click a legend entry to hide it."
    )
    boundary_units.gif_button(movie, mode, f"{run.id}-boundary")

    boundary_units.unit_maps_panel(ctx)
else:
    planes = [p.name for p in ba.plane_points(appkit.network_points(run))]
    point = appkit.links.pick(
        st.selectbox,
        "Plane",
        [ba.INPUT, *planes],
        key="boundary_plane",
        param="plane",
        what="plane",
        format_func=lambda p: "the inputs" if p == ba.INPUT else f"the outputs of {p}",
        help="The two directions along which the chosen values vary most (PCA).",
    )
    movie = plane_movie(run, point, int(resolution))
    ex = movie.explained[snap]
    where = "the inputs" if point == ba.INPUT else f"the outputs of {point}"
    fig = bf.boundary_figure(
        movie,
        ctx.names,
        mode=mode,
        active=snap,
        x_title=f"PC1 of {where} ({ex[0]:.0%} of the spread), in standard deviations",
        y_title=f"PC2 ({ex[1]:.0%})",
        title=f"{run.name}: the boundary in the plane of {where}",
    )
    st.plotly_chart(fig, key="boundary_movie")
    agree = ba.region_agreement(movie, snap, run.snapshot(snap)["pred"].numpy())
    seen = f"the network sees {movie.dims} numbers" if point == ba.INPUT else f"{point} holds {movie.dims} numbers"
    refit = (
        "" if point == ba.INPUT else " The plane is refitted at each snapshot: the layer's outputs change as it learns."
    )
    appkit.how_to_read(
        f"The plane is spanned by the first two principal components of {where} over {len(movie.labels)} test "
        f"samples: they carry {ex.sum():.0%} of the spread at this snapshot. Every grid cell is the average "
        f"sample plus a step along each direction, fed through the rest of the network and coloured by its "
        f"answer; diamonds are the test samples projected onto the plane, coloured by their true class. "
        f"**What it hides:** {seen}; everything off this plane is held at the average, so a "
        f"sample can sit in a region of another colour and still be classified correctly. Here the region "
        f"under a sample matches the network's real answer for {agree:.0%} of them." + refit
    )
    boundary_units.gif_button(movie, mode, f"{run.id}-boundary-{point}")

appkit.show_code(ba.plane_grid, ba.boundary_2d, ba.fit_plane, ba.plane_boundary, bf.region_index)
