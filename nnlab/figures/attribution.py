"""Figures of attribution: one input beside what each method says drives its class score, the class averages, the
model randomisation check (maps as the layers turn to noise, and their rank correlation), KernelSHAP per feature,
and the strip of interior gradients over α.

Pure builders for the attribution page: `nnlab.analysis.attribution` records in, `go.Figure` out. Signed maps (a
method's `signed` in the table) on the diverging scale centred on zero, never-negative ones on the sequential scale;
images go to the browser as PNGs, each map scaled to its own 99.5th percentile.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..analysis.attribution import METHODS, Attribution, CascadeInfo, FeatureShareInfo, InteriorStrip
from .colors import (
    DIVERGING,
    LINE_COLORS,
    SEQUENTIAL,
    diverging_rgb,
    empty_figure,
    grid_columns,
    mosaic,
    png_uri,
    sequential_rgb,
    symmetric_limit,
    tile_centres,
)

FOR, AGAINST, AMOUNT = "#b2182b", "#2166ac", "#3b528b"  # bars: speaks for the class, against it, unsigned amount


def map_rgb(values: np.ndarray, signed: bool) -> np.ndarray:
    """An attribution map `(..., H, W)` → uint8 RGB `(..., H, W, 3)`: diverging around zero, or sequential from 0."""
    limit = symmetric_limit(values)
    return diverging_rgb(values, limit) if signed else sequential_rgb(values, vmax=limit)


def _title(method: str) -> str:
    return METHODS[method].title if method in METHODS else method


def image_attribution_figure(
    image: np.ndarray, maps: Sequence[Attribution], *, width: int = 950, cols: int | None = None
) -> go.Figure:
    """The input image (uint8 `(H, W)` or `(H, W, 3)`), then one panel per method (colour channels summed); the
    height fits square-ish panels in about `width` pixels, all in one row or `cols` to a row (larger panels)."""
    if not maps:
        return empty_figure("No attribution to show")
    titles = ["Input", *(_title(a.method) for a in maps)]
    cols = max(1, min(cols or len(titles), len(titles)))
    rows = -(-len(titles) // cols)
    h, w = image.shape[:2]
    side = int((width - 20) * (1 - 0.02 * (cols - 1)) / cols * h / w)  # a panel's height in pixels
    gap = 40  # pixels between two rows, for the lower row's titles
    plot_h = rows * side + (rows - 1) * gap
    fig = make_subplots(
        rows=rows, cols=cols, subplot_titles=titles, horizontal_spacing=0.02, vertical_spacing=gap / max(plot_h, 1)
    )
    panels = [image] + [map_rgb(a.summed(), a.signed) for a in maps]
    for i, panel in enumerate(panels):
        trace = go.Image(source=png_uri(panel), x0=0, y0=0, dx=1, dy=1, hoverinfo="skip")
        fig.add_trace(trace, row=i // cols + 1, col=i % cols + 1)
    fig.update_xaxes(visible=False, range=[-0.5, w - 0.5])
    fig.update_yaxes(visible=False, range=[h - 0.5, -0.5])
    for i in range(len(panels)):
        fig.update_yaxes(scaleanchor=f"x{i + 1 if i else ''}", row=i // cols + 1, col=i % cols + 1)
    height = min(320, side + 50) if rows == 1 else plot_h + 50
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=40, b=10))
    return fig


def feature_attribution_figure(maps: Sequence[Attribution], feature_names: Sequence[str]) -> go.Figure:
    """For points and flat features: one bar chart per method, a bar per input feature (top to bottom)."""
    if not maps:
        return empty_figure("No attribution to show")
    names = list(feature_names)
    fig = make_subplots(
        rows=1,
        cols=len(maps),
        subplot_titles=[_title(a.method) for a in maps],
        shared_yaxes=True,
        horizontal_spacing=0.04,
    )
    for col, a in enumerate(maps, start=1):
        v = a.values.astype(float)
        colors = [FOR if x >= 0 else AGAINST for x in v] if a.signed else AMOUNT
        fig.add_trace(
            go.Bar(
                x=v,
                y=names,
                orientation="h",
                marker_color=colors,
                showlegend=False,
                hovertemplate="%{y}: %{x:.3g}<extra>" + _title(a.method) + "</extra>",
            ),
            row=1,
            col=col,
        )
        fig.add_vline(x=0, line_color="#888", line_width=1, row=1, col=col)
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_layout(height=max(220, 26 * len(names) + 90), margin=dict(l=10, r=10, t=40, b=30), bargap=0.25)
    return fig


def class_average_figure(
    averages: np.ndarray, class_names: Sequence[str], method: str, *, feature_names: Sequence[str] | None = None
) -> go.Figure:
    """Each class's mean attribution to its own class: a tile per class for images `(K, H, W)`, else a classes ×
    features heatmap `(K, F)`."""
    k = len(averages)
    if k == 0 or not np.isfinite(averages).any():
        return empty_figure("No class averages to show")
    signed = method in METHODS and METHODS[method].signed
    title = f"{_title(method)}, averaged over each class's samples"
    if averages.ndim == 2:
        limit = symmetric_limit(averages)
        fig = go.Figure(
            go.Heatmap(
                z=averages,
                x=list(feature_names or [f"feature {i}" for i in range(averages.shape[1])]),
                y=list(class_names),
                colorscale=DIVERGING if signed else SEQUENTIAL,
                zmin=-limit if signed else 0,
                zmax=limit,
                colorbar=dict(title=dict(text="attribution"), thickness=12),
                hovertemplate="class %{y}, %{x}: %{z:.3g}<extra></extra>",
            )
        )
        fig.update_yaxes(autorange="reversed", type="category", title=dict(text="class"))
        fig.update_layout(title=dict(text=title), height=max(240, 28 * k + 110), margin=dict(l=10, r=10, t=50, b=40))
        return fig
    h, w = averages.shape[1:]
    cols = min(k, grid_columns(k, h, w, aspect=3.0))
    gap = max(2, h // 3)  # room for each tile's class name above it
    grid = mosaic(map_rgb(averages, signed), cols, gap=gap, fill=255, rgb=True)
    x, y = tile_centres(k, cols, h, w, gap)
    fig = go.Figure(go.Image(source=png_uri(grid), x0=0, y0=0, dx=1, dy=1, hoverinfo="skip"))
    fig.add_trace(
        go.Scatter(  # one transparent point per tile: hovering names the class
            x=x,
            y=y,
            mode="markers",
            marker=dict(size=max(8, 300 // cols), opacity=0),
            text=list(class_names),
            hovertemplate="%{text}<extra></extra>",
            showlegend=False,
        )
    )
    for i, name in enumerate(class_names):
        fig.add_annotation(x=x[i], y=y[i] - (h + gap) / 2, text=str(name), showarrow=False, font=dict(size=11))
    rows = -(-k // cols)
    fig.update_xaxes(visible=False, range=[-0.5, grid.shape[1] - 0.5])
    fig.update_yaxes(visible=False, range=[grid.shape[0] - 0.5, -0.5 - gap], scaleanchor="x")
    fig.update_layout(title=dict(text=title), height=90 + rows * 150, margin=dict(l=10, r=10, t=50, b=10))
    return fig


def _step_names(info: CascadeInfo) -> list[str]:
    """The cascade's columns: "trained", then each layer as it is randomised ("+ out", "+ dense2", ...)."""
    return ["trained"] + [f"+ {name}" for name in info.layers]


def cascade_maps_figure(info: CascadeInfo, *, width: int = 850) -> go.Figure:
    """One row per method, one column per cascade step (the trained network, then one more layer randomised each
    time), each map on its own scale; for features, one heatmap row per step instead."""
    if info.maps.size == 0 or not info.methods:
        return empty_figure("No maps to show")
    steps, titles = _step_names(info), [_title(m) for m in info.methods]
    if info.maps.ndim == 3:  # (S + 1, M, F): features
        fig = make_subplots(rows=1, cols=len(titles), subplot_titles=titles, shared_yaxes=True)
        for j in range(1, len(info.methods) + 1):
            z = info.maps[:, j - 1] / (np.abs(info.maps[:, j - 1]).max(axis=1, keepdims=True) + 1e-12)
            fig.add_trace(
                go.Heatmap(
                    z=z,
                    x=info.features,
                    y=steps,
                    colorscale=DIVERGING,
                    zmin=-1,
                    zmax=1,
                    showscale=j == 1,
                    hovertemplate="%{y}, %{x}: %{z:.2f} of the step's largest<extra></extra>",
                ),
                row=1,
                col=j,
            )
        fig.update_yaxes(autorange="reversed", type="category")
        fig.update_layout(height=max(240, 30 * len(steps) + 90), margin=dict(l=10, r=10, t=40, b=30))
        return fig
    n_steps, n_methods, h, w = info.maps.shape
    tiles = np.stack(  # (M, S + 1, H, W, 3): each map on its own scale, as on the page
        [[map_rgb(info.maps[s, j], METHODS[m].signed) for s in range(n_steps)] for j, m in enumerate(info.methods)]
    )
    gap = max(2, h // 4)
    grid = mosaic(tiles.reshape(-1, h, w, 3), n_steps, gap=gap, fill=255, rgb=True)
    left = w + gap  # a column for the method names
    grid = np.concatenate([np.full((grid.shape[0], left, 3), 255, np.uint8), grid], axis=1)
    fig = go.Figure(go.Image(source=png_uri(grid), x0=0, y0=0, dx=1, dy=1, hoverinfo="skip"))
    xs, ys = tile_centres(n_steps * n_methods, n_steps, h, w, gap)
    for s, name in enumerate(steps):
        fig.add_annotation(x=left + xs[s], y=-0.5, text=name, showarrow=False, yanchor="bottom", font=dict(size=10))
    for j, title in enumerate(titles):
        fig.add_annotation(
            x=left - gap, y=ys[j * n_steps], text=title, showarrow=False, xanchor="right", font=dict(size=11)
        )
    fig.update_xaxes(visible=False, range=[-0.5, grid.shape[1] - 0.5])
    fig.update_yaxes(visible=False, range=[grid.shape[0] - 0.5, -0.5 - 2 * gap], scaleanchor="x")
    # The height for a plot about `width` wide: in a wider column the image is centred, never padded above and below.
    height = int(min(900, 20 + (width - 20) / grid.shape[1] * (grid.shape[0] + 2 * gap)))
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=10, b=10))
    return fig


def cascade_correlation_figure(info: CascadeInfo, *, little: float = 0.5) -> go.Figure:
    """Each method's rank correlation with its trained map against how many layers are randomised (top down)."""
    if info.correlation.size == 0:
        return empty_figure("No correlations to show")
    steps = _step_names(info)
    fig = go.Figure()
    for j, m in enumerate(info.methods):
        fig.add_trace(
            go.Scatter(
                x=steps,
                y=info.correlation[:, j],
                mode="lines+markers",
                name=_title(m),
                line=dict(color=LINE_COLORS[j % len(LINE_COLORS)], width=2),
                hovertemplate="%{x}: %{y:.2f}<extra>" + _title(m) + "</extra>",
            )
        )
    fig.add_hline(
        y=little,
        line_dash="dot",
        line_color="#888",
        annotation_text="changed little above this",
        annotation_position="top right",
        annotation_font_size=10,
    )
    fig.add_hline(y=0, line_color="#bbb", line_width=1)
    fig.update_layout(
        title=dict(text="Rank correlation with the trained network's map"),
        height=340,
        margin=dict(l=10, r=10, t=50, b=40),
        xaxis=dict(title=dict(text="layers randomised, from the output down"), type="category"),
        yaxis=dict(title=dict(text="rank correlation of |map|"), range=[-1.05, 1.05]),
        legend=dict(orientation="h", y=-0.3),
    )
    return fig


def feature_share_figure(info: FeatureShareInfo, class_names: Sequence[str]) -> go.Figure:
    """KernelSHAP for features: the sample's signed values as bars, beside each class's mean |value| (heatmap)."""
    k, f = info.per_class.shape
    if f == 0:
        return empty_figure("No features to show")
    fig = make_subplots(
        rows=1,
        cols=2,
        column_widths=[0.4, 0.6],
        subplot_titles=[f"This sample, for {class_names[info.target]}", "Mean |value| over each class's samples"],
        horizontal_spacing=0.15,
    )
    v = info.values.astype(float)
    fig.add_trace(
        go.Bar(
            x=v,
            y=info.features,
            orientation="h",
            marker_color=[FOR if x >= 0 else AGAINST for x in v],
            showlegend=False,
            hovertemplate="%{y}: %{x:.3g}<extra>KernelSHAP</extra>",
        ),
        row=1,
        col=1,
    )
    fig.add_vline(x=0, line_color="#888", line_width=1, row=1, col=1)
    fig.add_trace(
        go.Heatmap(
            z=info.per_class.T,
            x=list(class_names[:k]),
            y=info.features,
            colorscale=SEQUENTIAL,
            zmin=0,
            colorbar=dict(title=dict(text="mean |SHAP|"), thickness=12),
            hovertemplate="class %{x}, %{y}: %{z:.3g}<extra></extra>",
        ),
        row=1,
        col=2,
    )
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(type="category", row=1, col=2)
    fig.update_layout(height=max(260, 26 * f + 110), margin=dict(l=10, r=10, t=50, b=30))
    return fig


def interior_strip_figure(strip: InteriorStrip, feature_names: Sequence[str] | None = None, *, width: int = 950):
    """Interior gradients over α: for images one panel per α (dim to whole, left to right), all on one diverging
    scale so that a gradient that fades toward α = 1 shows it; for features an α × feature heatmap. Each α's score
    is in its title (images) or its row's label (features)."""
    if strip.maps.size == 0:
        return empty_figure("No interior gradients to show")
    limit = symmetric_limit(strip.maps)
    labels = [f"α = {a:.2g}" for a in strip.alphas]
    if strip.maps.ndim == 2:  # (A, F): features
        names = list(feature_names or [f"feature {i}" for i in range(strip.maps.shape[1])])
        rows = [f"{label} (score {s:.2f})" for label, s in zip(labels, strip.scores, strict=True)]
        fig = go.Figure(
            go.Heatmap(
                z=strip.maps,
                x=names,
                y=rows,
                colorscale=DIVERGING,
                zmin=-limit,
                zmax=limit,
                colorbar=dict(title=dict(text="gradient"), thickness=12),
                hovertemplate="%{y}, %{x}: %{z:.3g}<extra></extra>",
            )
        )
        fig.update_yaxes(type="category")
        fig.update_layout(height=max(240, 28 * len(rows) + 90), margin=dict(l=10, r=10, t=30, b=40))
        return fig
    titles = [f"{label}<br>score {s:.2f}" for label, s in zip(labels, strip.scores, strict=True)]
    fig = make_subplots(rows=1, cols=len(titles), subplot_titles=titles, horizontal_spacing=0.01)
    h, w = strip.maps.shape[1:]
    for col, m in enumerate(strip.maps, start=1):
        panel = diverging_rgb(m, limit)
        fig.add_trace(go.Image(source=png_uri(panel), x0=0, y0=0, dx=1, dy=1, hoverinfo="skip"), row=1, col=col)
    fig.update_xaxes(visible=False, range=[-0.5, w - 0.5])
    fig.update_yaxes(visible=False, range=[h - 0.5, -0.5])
    for col in range(1, len(titles) + 1):
        fig.update_yaxes(scaleanchor=f"x{col if col > 1 else ''}", row=1, col=col)
    fig.update_annotations(font_size=11)
    height = min(260, int(width / len(titles) * h / w) + 60)
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=50, b=10))
    return fig
