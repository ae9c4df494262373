"""Figures of the weights over training: weight matrices, histograms, norms (the unit-image movies: `weight_movies`).

Pure builders for the weight-evolution page: records and arrays from
`nnlab.analysis.weights` in, `go.Figure` out. Weight images go to the browser as
palette PNGs (one byte a pixel) on a diverging scale centred on zero.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..analysis.weights import HistogramHistory, NormHistory
from .colors import (
    DIVERGING,
    LINE_COLORS,
    SEQUENTIAL,
    empty_figure,
)
from .colors import symmetric_limit as _limit
from .weight_movies import axis_dtick


def matrix_figure(
    weight: np.ndarray, *, title: str = "", x_title: str = "input unit", y_title: str = "output unit", height: int = 420
) -> go.Figure:
    """A weight matrix `(out, in)` as a heatmap on a diverging scale centred on zero."""
    w = np.asarray(weight, np.float32)
    if w.ndim != 2 or w.size == 0:
        return empty_figure(title or "No weight matrix")
    lim = _limit(w)
    fig = go.Figure(
        go.Heatmap(
            z=w,
            colorscale=DIVERGING,
            zmid=0,
            zmin=-lim,
            zmax=lim,
            hovertemplate=f"{y_title} %{{y}} ← {x_title} %{{x}}<br>weight %{{z:.3g}}<extra></extra>",
            colorbar={"title": {"text": "weight"}, "thickness": 12},
        )
    )
    fig.update_yaxes(autorange="reversed", title=y_title, dtick=axis_dtick(w.shape[0]))
    fig.update_xaxes(title=x_title, dtick=axis_dtick(w.shape[1]))
    fig.update_layout(title=title, height=height, margin={"l": 60, "r": 10, "t": 50, "b": 50})
    return fig


HIST_ORDER = ("weights", "biases", "gradients", "momentum")


def histograms_figure(hists: Mapping[str, HistogramHistory], *, title: str = "", height: int = 560) -> go.Figure:
    """Heatmaps of histograms over training (x: step, y: value), one panel per array.

    Each column is scaled to its own peak, so a distribution stays visible as it spreads out;
    hovering gives the true share of the values in a bin.
    """
    names = [k for k in HIST_ORDER if k in hists] + [k for k in hists if k not in HIST_ORDER]
    names = [k for k in names if np.isfinite(hists[k].share).any()]
    if not names:
        return empty_figure(title or "No distributions recorded")
    cols = 2 if len(names) > 1 else 1
    rows = -(-len(names) // cols)
    fig = make_subplots(
        rows,
        cols,
        subplot_titles=[hists[k].name or k for k in names],
        horizontal_spacing=0.1,
        vertical_spacing=0.2 if rows > 1 else 0.1,
    )
    for i, key in enumerate(names):
        h = hists[key]
        peak = np.max(np.nan_to_num(h.share), axis=1, keepdims=True)  # (T, 1); 0 where not recorded
        rel = np.where(peak > 0, h.share / np.where(peak > 0, peak, 1), np.nan)  # (T, B), each column's peak = 1
        r, c = divmod(i, cols)
        fig.add_trace(
            go.Heatmap(
                x=np.asarray(h.steps),
                y=h.centers.astype(np.float32),
                z=rel.T.astype(np.float32),
                customdata=h.share.T.astype(np.float32),
                zmin=0,
                zmax=1,
                colorscale=SEQUENTIAL,
                showscale=i == 0,
                colorbar={"title": {"text": "vs. peak"}, "thickness": 10},
                hovertemplate="step %{x}<br>value %{y:.3g}<br>share %{customdata:.2%}<extra>" + key + "</extra>",
            ),
            r + 1,
            c + 1,
        )
        fig.update_yaxes(title_text="value", row=r + 1, col=c + 1, exponentformat="power")
    fig.update_xaxes(title_text="training step", row=rows)
    fig.update_layout(
        title=title,
        height=height if rows > 1 else max(320, height // 2 + 60),
        margin={"l": 60, "r": 10, "t": 70, "b": 50},
    )
    return fig


def norms_figure(norms: NormHistory, *, title: str = "", height: int = 560) -> go.Figure:
    """Four panels over training: weight norm, gradient norm, update-to-weight ratio, share of dead units."""
    if len(norms.steps) == 0 or not norms.layers:
        return empty_figure(title or "No weights recorded")
    fig = make_subplots(
        2,
        2,
        subplot_titles=(
            "Weight norm ‖W‖",
            "Gradient norm ‖∇W‖",
            "Update-to-weight ratio between snapshots",
            "Share of units that never fire",
        ),
        horizontal_spacing=0.1,
        vertical_spacing=0.18,
    )
    x = np.asarray(norms.steps)
    panels = ((norms.weight_norm, 1, 1, ".3g"), (norms.grad_norm, 1, 2, ".3g"), (norms.update_ratio, 2, 1, ".2e"))
    for values, r, c, fmt in panels:
        for i, layer in enumerate(norms.layers):
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=values[i].astype(np.float32),
                    mode="lines",
                    name=layer,
                    legendgroup=layer,
                    showlegend=(r, c) == (1, 1),
                    line={"color": LINE_COLORS[i % len(LINE_COLORS)]},
                    hovertemplate=f"{layer}<br>step %{{x}}<br>%{{y:{fmt}}}<extra></extra>",
                ),
                r,
                c,
            )
    for j, point in enumerate(norms.points):
        fig.add_trace(
            go.Scatter(
                x=x,
                y=norms.dead_share[j].astype(np.float32),
                mode="lines",
                name=point,
                line={"color": LINE_COLORS[(j + len(norms.layers)) % len(LINE_COLORS)], "dash": "dot"},
                hovertemplate=f"{point}<br>step %{{x}}<br>%{{y:.1%}} never fire<extra></extra>",
            ),
            2,
            2,
        )
    if not norms.points:  # GELU, tanh, sigmoid: no point gives exactly zero, so no unit can be silent everywhere
        fig.add_annotation(
            text="No ReLU-like point is recorded here:<br>GELU, tanh … are never exactly 0,<br>so no unit is dead",
            x=sum(fig.layout.xaxis4.domain) / 2,  # in paper coordinates: the browser draws no axes for an
            y=sum(fig.layout.yaxis4.domain) / 2,  # empty panel, so a reference to them would fall back elsewhere
            xref="paper",
            yref="paper",
            xanchor="center",
            showarrow=False,
            font={"color": "#666"},
        )
    for r, c in ((1, 2), (2, 1)):
        fig.update_yaxes(type="log", tickformat=".2~g", dtick="D2", row=r, col=c)
    fig.update_yaxes(range=[0, 1.02], tickformat=".0%", row=2, col=2)
    fig.update_xaxes(title_text="training step", row=2)
    fig.update_layout(
        title=title, height=height, margin={"l": 60, "r": 10, "t": 70, "b": 50}, legend={"orientation": "h", "y": -0.15}
    )
    return fig
