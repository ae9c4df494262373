"""Pictures of superposition in a toy model (after Elhage et al. 2022): WᵀW, each feature's norm coloured by how
much it shares its direction, the features as arrows when the hidden space is a plane, and the norms over training.

Stage: `nnlab.analysis.superposition` (arrays) → here → the Weight evolution page's toy-model panel and the
lessons. Pure: arrays in, `go.Figure` out.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from .colors import DIVERGING, LINE_COLORS, SEQUENTIAL, empty_figure, symmetric_limit


def _names(n: int) -> list[str]:
    return [str(i) for i in range(n)]


def gram_figure(gram: np.ndarray, *, title: str = "", height: int = 380) -> go.Figure:
    """WᵀW `(n, n)` on a diverging scale centred on zero: the diagonal is each feature's ‖Wᵢ‖², the rest the
    interference Wᵢ·Wⱼ between two features."""
    g = np.asarray(gram, np.float32)
    if g.ndim != 2 or g.shape[0] != g.shape[1] or g.size == 0:
        return empty_figure(title or "No features")
    lim = max(symmetric_limit(g, percentile=100), 1e-6)
    names = _names(len(g))
    fig = go.Figure(
        go.Heatmap(
            z=g,
            x=names,
            y=names,
            colorscale=DIVERGING,
            zmid=0,
            zmin=-lim,
            zmax=lim,
            hovertemplate="W%{y}·W%{x} = %{z:.3f}<extra></extra>",
            colorbar={"title": {"text": "Wᵢ·Wⱼ"}, "thickness": 12},
        )
    )
    tick = 1 if len(g) <= 20 else None  # every feature named while they fit
    fig.update_yaxes(autorange="reversed", title="feature i", scaleanchor="x", constrain="domain", dtick=tick)
    fig.update_xaxes(title="feature j", constrain="domain", dtick=tick)
    fig.update_layout(title=title or "WᵀW", height=height, margin={"l": 60, "r": 10, "t": 50, "b": 50})
    return fig


def norms_figure(
    norms: np.ndarray, superposition: np.ndarray, *, threshold: float = 0.5, title: str = "", height: int = 0
) -> go.Figure:
    """One bar per feature (feature 0 on top): its length ‖Wᵢ‖, its colour Σ_{j≠i} (Ŵᵢ·Wⱼ)² (dark: the feature
    has its direction to itself; bright: others share it), with the `threshold` of "represented" dashed."""
    norms, sup = np.asarray(norms, np.float32), np.asarray(superposition, np.float32)
    if norms.ndim != 1 or norms.size == 0 or sup.shape != norms.shape:
        return empty_figure(title or "No features")
    names = _names(len(norms))
    fig = go.Figure(
        go.Bar(
            x=norms,
            y=names,
            orientation="h",
            marker={
                "color": sup,
                "colorscale": SEQUENTIAL,
                "cmin": 0,
                "cmax": max(1.0, float(sup.max())),
                "colorbar": {"title": {"text": "Σ(Ŵᵢ·Wⱼ)²"}, "thickness": 12},
                "opacity": np.where(norms >= threshold, 1.0, 0.35),  # a dropped feature's colour means little
            },
            customdata=sup,
            hovertemplate="feature %{y}<br>‖W‖ = %{x:.3f}<br>shared: %{customdata:.3f}<extra></extra>",
        )
    )
    fig.add_vline(x=threshold, line_dash="dash", line_color="grey", annotation_text="represented", opacity=0.7)
    fig.update_yaxes(autorange="reversed", title="feature (most important on top)", type="category")
    fig.update_xaxes(title="‖Wᵢ‖: how strongly the feature is kept", range=[0, max(1.25, float(norms.max()) * 1.1)])
    fig.update_layout(
        title=title or "Each feature's norm, coloured by superposition",
        height=height or max(260, 60 + 22 * len(norms)),
        margin={"l": 60, "r": 10, "t": 50, "b": 50},
        showlegend=False,
    )
    return fig


def arrows_figure(weights: np.ndarray, *, title: str = "", height: int = 420) -> go.Figure:
    """Each feature's direction Wᵢ as an arrow from the origin, when the hidden space has 2 dimensions (m = 2)."""
    w = np.asarray(weights, np.float32)
    if w.ndim != 2 or w.shape[0] != 2 or w.shape[1] == 0:
        m = w.shape[0] if w.ndim == 2 else 0
        return empty_figure(title or f"Arrows need a hidden plane (m = 2); this model has m = {m}")
    reach = max(1.2, float(np.abs(w).max()) * 1.2)
    fig = go.Figure()
    for i, (x, y) in enumerate(w.T):
        color = LINE_COLORS[i % len(LINE_COLORS)]
        fig.add_trace(
            go.Scatter(
                x=[0.0, float(x)],
                y=[0.0, float(y)],
                mode="lines+markers+text",
                line={"color": color, "width": 3},
                marker={"size": [0, 9], "color": color, "symbol": "arrow", "angleref": "previous"},
                text=["", str(i)],
                textposition="top center",
                name=f"feature {i}",
                hovertemplate=f"feature {i}<br>W = (%{{x:.2f}}, %{{y:.2f}})<extra></extra>",
            )
        )
    fig.update_xaxes(range=[-reach, reach], title="hidden dimension 1", zeroline=True)
    fig.update_yaxes(range=[-reach, reach], title="hidden dimension 2", zeroline=True, scaleanchor="x")
    fig.update_layout(
        title=title or "Each feature's direction in the hidden plane",
        height=height,
        margin={"l": 60, "r": 10, "t": 50, "b": 50},
    )
    return fig


def norms_history_figure(
    steps: np.ndarray, norms: np.ndarray, *, active_step: int | None = None, title: str = "", height: int = 320
) -> go.Figure:
    """‖Wᵢ‖ of every feature `(S, n)` over the snapshots' `steps`: when each feature joins the hidden space."""
    steps, norms = np.asarray(steps), np.asarray(norms, np.float32)
    if norms.ndim != 2 or norms.size == 0 or len(steps) != len(norms):
        return empty_figure(title or "No snapshots")
    fig = go.Figure()
    for i in range(norms.shape[1]):
        fig.add_trace(
            go.Scatter(
                x=steps,
                y=norms[:, i],
                mode="lines",
                name=f"feature {i}",
                line={"color": LINE_COLORS[i % len(LINE_COLORS)]},
                hovertemplate=f"feature {i}<br>step %{{x}}<br>‖W‖ = %{{y:.3f}}<extra></extra>",
            )
        )
    if active_step is not None:
        fig.add_vline(x=active_step, line_dash="dot", line_color="black", opacity=0.6)
    fig.update_xaxes(title="training step")
    fig.update_yaxes(title="‖Wᵢ‖", rangemode="tozero")
    fig.update_layout(
        title=title or "Each feature's norm over training", height=height, margin={"l": 60, "r": 10, "t": 50, "b": 50}
    )
    return fig
