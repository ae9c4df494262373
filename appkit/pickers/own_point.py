"""The own-input panel of 2-D data: a point clicked on the plane (or typed as x₁, x₂), and marking it on a plane.

Part of the own-input picker (`pickers.own_input`): the point is kept in the session (`own_kept`); the boundary
page marks it on its own plane with `mark_point`.
"""

from __future__ import annotations

import functools

import numpy as np
import streamlit as st

from appkit.pickers.own_kept import POINT, keep, kept
from nnlab.data import own_input

X1, X2 = "own_x1", "own_x2"  # a typed point of the plane (keys end in _<POINT_V>: a click starts fresh boxes)
POINT_V = "own_point_v"  # how many times a click has replaced the point
CLICK = "own_click"  # the plane chart that a click picks a point on
GRID = 41  # clickable points per side of the plane chart


def _on_click(ds) -> None:
    """A click on the plane chart becomes the point; the x₁, x₂ boxes forget theirs and start from it."""
    points = st.session_state[CLICK].selection.points
    if points:
        keep(POINT, ds, own_input.from_point(float(points[0]["x"]), float(points[0]["y"]), ds))
        st.session_state[POINT_V] = st.session_state.get(POINT_V, 0) + 1


def point_panel(ds) -> own_input.OwnInput | None:
    from nnlab.figures.layers import plane_input_figure

    lo, hi = ds.x_train.min(0), ds.x_train.max(0)
    pad = 0.15 * (hi - lo)
    lo, hi = lo - pad, hi + pad
    last = kept(POINT, ds)  # the last point: new boxes (after a click or a page switch) start from it
    v = st.session_state.get(POINT_V, 0)
    start = np.clip(last.sample if last is not None else (lo + hi) / 2, lo, hi)
    left, right = st.columns([2, 1])
    with right:
        x1, x2 = (
            st.number_input(
                label,
                float(lo[d]),
                float(hi[d]),
                round(float(start[d]), 2),
                0.05,
                "%.2f",
                key=f"{key}_{v}",
            )
            for d, label, key in ((0, ds.plane_axes[0], X1), (1, ds.plane_axes[1], X2))
        )
    try:
        own = keep(POINT, ds, own_input.from_point(x1, x2, ds))
    except own_input.OwnInputError as e:
        right.error(str(e))
        return None
    names = list(ds.class_names)
    title = "Click anywhere to place your point"
    fig = plane_input_figure(ds.x_test, ds.y_test, own.sample, names, title=title, axes=ds.plane_axes)
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], GRID), np.linspace(lo[1], hi[1], GRID))
    fig.add_scatter(
        x=gx.ravel(), y=gy.ravel(), mode="markers", marker=dict(size=12, opacity=0), name="click", showlegend=False
    )
    fig.update_layout(clickmode="event+select", dragmode=False)
    fig.update_xaxes(range=[float(lo[0]), float(hi[0])])  # the plot is the clickable grid, edge to edge
    fig.update_yaxes(range=[float(lo[1]), float(hi[1])], scaleanchor=False)
    with left:
        st.plotly_chart(fig, key=CLICK, on_select=functools.partial(_on_click, ds), selection_mode="points")
    return own


def mark_point(fig, own: own_input.OwnInput, model, names: list[str], *, axes: tuple[str, str] = ("x₁", "x₂")) -> str:
    """Add your point to a plane figure (as a star, over the animation's frames); returns what the network says.

    `axes`: the plane's two feature names (a CSV's columns), for the hover."""
    from nnlab.analysis.boundary import class_probabilities

    x1, x2 = (float(v) for v in own.sample)
    probs = class_probabilities(model, own.tensor)[0]
    pred = int(np.argmax(probs))
    fig.add_scatter(
        x=[x1],
        y=[x2],
        mode="markers",
        name=own.label,
        marker=dict(symbol="star", size=20, color="black", line=dict(color="white", width=1.5)),
        hovertemplate=f"{own.label}: {axes[0]} %{{x:.2f}}, {axes[1]} %{{y:.2f}}<extra></extra>",
    )
    named = tuple(axes) != ("x₁", "x₂")  # a CSV's columns: say which number is which
    where = f"{axes[0]} {x1:.2f}, {axes[1]} {x2:.2f}" if named else f"{x1:.2f}, {x2:.2f}"
    return (
        f"The star is {own.label} ({where}): at this snapshot the network says **{names[pred]}** ({probs[pred]:.0%})."
    )
