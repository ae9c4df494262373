"""Figures of hidden-layer embeddings: the samples' PCA map at one point of the network, animated over training.

Pure builders for the hidden-layers page: an `nnlab.analysis.embeddings.EmbeddingMovie` in, a `go.Figure` with
play/pause and a slider out. The map of a single snapshot is `nnlab.figures.data.embedding_figure`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from ..analysis.embeddings import EmbeddingMovie
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
        margin=dict(l=50, r=10, t=50, b=110),
        legend=dict(title=dict(text="class"), itemsizing="constant"),
        plot_bgcolor="white",
    )
    return fig


def _title(movie: EmbeddingMovie, step: int) -> str:
    return f"{movie.point} at step {step}: PCA of its outputs"
