"""Figures of hidden-layer embeddings: the samples' PCA map at one point of the network, animated over training.

Pure builders for the hidden-layers page: an `nnlab.analysis.embeddings.EmbeddingMovie` in, a `go.Figure` with
play/pause and a slider out. The map of a single snapshot is `nnlab.figures.data.embedding_figure`; `with_input`
marks an input of your own on it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from ..analysis.embeddings import EmbeddingMovie, InputPlace
from .colors import class_color, empty_figure
from .gif import animate


def embedding_movie_figure(
    movie: EmbeddingMovie,
    class_names: Sequence[str],
    steps: Sequence[int],
    *,
    active: int = -1,
    height: int = 560,
) -> go.Figure:
    """One marker per sample coloured by class, moving as training goes on (2-D: the first two PCA axes)."""
    t_count = len(movie.coords)
    if t_count == 0 or movie.coords.shape[1] == 0:
        return empty_figure("Nothing to animate")
    active = range(t_count)[active]
    present = [c for c in range(len(class_names)) if (movie.labels == c).any()]
    sel = {c: movie.labels == c for c in present}

    def traces(t: int) -> list[go.Scatter]:  # a frame sends positions only: the rest stays from the first
        return [
            go.Scatter(x=np.round(movie.coords[t, sel[c], 0], 3), y=np.round(movie.coords[t, sel[c], 1], 3))
            for c in present
        ]

    fig = go.Figure()
    for c, tr in zip(present, traces(active), strict=True):
        tr.update(
            customdata=movie.indices[sel[c]],
            mode="markers",
            name=str(class_names[c]),
            marker=dict(color=class_color(c), size=6, opacity=0.75, line=dict(width=0)),
            hovertemplate=f"{class_names[c]} · sample %{{customdata}}<extra></extra>",
        )
        fig.add_trace(tr)
    frames = [
        {"data": traces(t), "traces": list(range(len(present))), "layout": {"title": {"text": _title(movie, steps[t])}}}
        for t in range(t_count)
    ]
    animate(fig, frames, [f"step {s}" for s in steps], active=active)
    lim = float(np.abs(movie.coords[..., :2]).max()) * 1.05 or 1.0
    fig.update_xaxes(range=[-lim, lim], title=dict(text="PCA axis 1"), zeroline=False)
    fig.update_yaxes(range=[-lim, lim], title=dict(text="PCA axis 2"), zeroline=False, scaleanchor="x")
    fig.update_layout(
        title=dict(text=_title(movie, steps[active])),
        height=height,
        margin=dict(l=50, r=10, t=50, b=130),
        legend=dict(title=dict(text="class"), itemsizing="constant"),
        plot_bgcolor="white",
    )
    return fig


def _title(movie: EmbeddingMovie, step: int) -> str:
    return f"{movie.point} at step {step}: PCA of its outputs"


def with_input(fig: go.Figure, place: InputPlace, coords: np.ndarray, *, label: str = "your drawing") -> go.Figure:
    """`fig` (an `embedding_figure` of the map whose sample positions are `coords`) with the input marked as a star
    and lines to its nearest neighbours; the figure is changed and returned."""
    p = np.asarray(place.coords, np.float32)
    near = np.asarray(coords, np.float32)[place.neighbours]
    how = "projected by the map's PCA" if place.exact else "at the centre of its nearest neighbours"
    star = dict(symbol="star", size=20, color="black", line=dict(color="white", width=1.5))
    if len(p) == 3:
        xyz = [np.ravel([[p[d], q[d], None] for q in near]).tolist() for d in range(3)]
        fig.add_trace(
            go.Scatter3d(
                x=xyz[0],
                y=xyz[1],
                z=xyz[2],
                mode="lines",
                line=dict(color="black", width=1),
                hoverinfo="skip",
                showlegend=False,
            )
        )
        fig.add_trace(
            go.Scatter3d(
                x=[p[0]],
                y=[p[1]],
                z=[p[2]],
                mode="markers",
                name=label,
                marker=dict(symbol="diamond", size=8, color="black"),
                hovertemplate=f"{label}, {how}<extra></extra>",
            )
        )
        return fig
    xy = [np.ravel([[p[d], q[d], None] for q in near]).tolist() for d in range(2)]
    fig.add_trace(
        go.Scatter(
            x=xy[0],
            y=xy[1],
            mode="lines",
            line=dict(color="black", width=0.7),
            opacity=0.6,
            hoverinfo="skip",
            showlegend=False,
        )
    )
    fig.add_trace(
        go.Scatter(
            x=[p[0]], y=[p[1]], mode="markers", name=label, marker=star, hovertemplate=f"{label}, {how}<extra></extra>"
        )
    )
    return fig
