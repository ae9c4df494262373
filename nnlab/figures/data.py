"""Figures of a dataset: sample grid, class counts, class mean/spread images, value histogram, 2-D samples, embedding.

Stage: `nnlab.analysis.data` records → go.Figure, for the Datasets page. Pure builders:
arrays in, figure out. Images reach the browser as one PNG each (never float lists);
classes get the colour-blind-safe palette of `nnlab.figures.colors`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..analysis.data import ClassCounts, ClassImages, Embedding, ValueHistogram
from .colors import class_color, empty_figure, mosaic, png_uri, sequential_rgb

CHANNEL_COLORS = {"grey": "#555555", "red": "#d62728", "green": "#2ca02c", "blue": "#1f77b4"}


def _image_axes(fig: go.Figure, h: int, w: int, row: int | None = None) -> None:
    kw = dict(row=row, col=1) if row else {}
    fig.update_xaxes(range=[-0.5, w - 0.5], showgrid=False, zeroline=False, **kw)
    fig.update_yaxes(range=[h - 0.5, -0.5], showgrid=False, zeroline=False, **kw)


def sample_grid_figure(
    images: np.ndarray, indices: np.ndarray, class_names: Sequence[str], *, row_height: int = 44
) -> go.Figure:
    """One row of samples per class, as one PNG, with the class names down the side.

    Args:
        images: uint8 display images `(N, H, W)` or `(N, H, W, 3)`.
        indices: `(K, per_class)` indices into `images` (-1: the class has no more samples).
    """
    k, per = indices.shape
    if images.size == 0 or k == 0 or per == 0:
        return empty_figure("No samples to show")
    h, w = images.shape[1:3]
    blank = np.full_like(images[0], 255)
    tiles = np.stack([images[i] if i >= 0 else blank for i in indices.reshape(-1)])  # (K*per, H, W[, 3])
    gap = max(1, h // 14)
    grid = mosaic(tiles, per, gap=gap, fill=255, rgb=tiles.ndim == 4)
    fig = go.Figure(go.Image(source=png_uri(grid), x0=0, y0=0, dx=1, dy=1, hoverinfo="skip"))
    _image_axes(fig, grid.shape[0], grid.shape[1])
    fig.update_xaxes(visible=False)
    fig.update_yaxes(
        tickvals=[r * (h + gap) + (h - 1) / 2 for r in range(k)], ticktext=list(class_names), ticks="", scaleanchor="x"
    )
    fig.update_layout(
        height=max(160, k * row_height + 40), margin=dict(l=10, r=10, t=10, b=10), title=None, plot_bgcolor="white"
    )
    return fig


def class_counts_figure(counts: ClassCounts, class_names: Sequence[str]) -> go.Figure:
    """Grouped bars: samples per class in the training and the test split."""
    fig = go.Figure()
    names = list(class_names)
    for split, values, color in (("train", counts.train, "#4C78A8"), ("test", counts.test, "#F58518")):
        fig.add_trace(
            go.Bar(
                x=names,
                y=values,
                name=split,
                marker_color=color,
                text=values,
                textposition="outside",
                cliponaxis=False,
                hovertemplate=f"%{{x}}: %{{y}} {split} samples<extra></extra>",
            )
        )
    top = max(int(counts.train.max(initial=0)), int(counts.test.max(initial=0)), 1)
    fig.update_yaxes(range=[0, top * 1.15])  # room for the numbers above the bars
    fig.update_layout(
        barmode="group",
        height=320,
        margin=dict(l=10, r=10, t=40, b=10),
        xaxis_title="class",
        yaxis_title="samples",
        legend=dict(orientation="h", y=1.12, x=0),
        xaxis=dict(type="category"),
    )
    return fig


def class_images_figure(ci: ClassImages, class_names: Sequence[str]) -> go.Figure:
    """Two rows of one tile per class: the mean image (top) and the spread, its std per pixel (bottom)."""
    k = len(ci.mean)
    if k == 0 or not ci.counts.any():
        return empty_figure("No class images")
    h, w = ci.mean.shape[1:3]
    gap = max(1, h // 10)
    mean = mosaic(np.clip(np.round(ci.mean), 0, 255).astype(np.uint8), k, gap=gap, fill=255, rgb=ci.mean.ndim == 4)
    spread = ci.std.mean(-1) if ci.std.ndim == 4 else ci.std  # (K, H, W): colour channels averaged
    spread_rgb = sequential_rgb(spread, vmax=float(spread.max()) or 1.0)  # (K, H, W, 3) on the sequential map
    spread = mosaic(spread_rgb, k, gap=gap, fill=255, rgb=True)
    fig = make_subplots(
        rows=2,
        cols=1,
        vertical_spacing=0.12,
        subplot_titles=("Mean image of each class", "Spread (standard deviation per pixel)"),
    )
    for row, img in ((1, mean), (2, spread)):
        fig.add_trace(go.Image(source=png_uri(img), x0=0, y0=0, dx=1, dy=1, hoverinfo="skip"), row=row, col=1)
        _image_axes(fig, img.shape[0], img.shape[1], row)
        fig.update_xaxes(
            tickvals=[c * (w + gap) + (w - 1) / 2 for c in range(k)],
            ticktext=list(class_names),
            ticks="",
            row=row,
            col=1,
        )
        fig.update_yaxes(visible=False, scaleanchor=f"x{'' if row == 1 else row}", row=row, col=1)
    tile = max(60, min(110, 1100 // max(k, 1)))
    fig.update_layout(height=2 * tile + 140, margin=dict(l=10, r=10, t=40, b=10), plot_bgcolor="white")
    return fig


def histogram_figure(hist: ValueHistogram) -> go.Figure:
    """How often each input value occurs, one colour per channel or feature; pixel counts on a log scale."""
    if hist.counts.size == 0:
        return empty_figure("No values")
    centres = (hist.edges[:-1] + hist.edges[1:]) / 2
    width = float(hist.edges[1] - hist.edges[0])
    fig = go.Figure()
    for r, name in enumerate(hist.rows):
        color = CHANNEL_COLORS.get(name, class_color(r))
        fig.add_trace(
            go.Bar(
                x=centres,
                y=hist.counts[r],
                width=width,
                name=name,
                marker_color=color,
                marker_line_width=0,
                opacity=0.55 if len(hist.rows) > 1 else 0.9,
                hovertemplate=f"{name} %{{x:.3g}}: %{{y}}<extra></extra>",
            )
        )
    fig.update_layout(
        height=300,
        margin=dict(l=10, r=10, t=30, b=10),
        showlegend=len(hist.rows) > 1,
        barmode="overlay",
        bargap=0,
        legend=dict(orientation="h", y=1.12, x=0),
        xaxis_title="pixel value (0 = black, 255 = white)" if hist.pixels else "value",
        yaxis_title="count (log scale)" if hist.pixels else "count",
    )
    if hist.pixels:  # a few values (black background) outnumber the rest a hundredfold
        fig.update_yaxes(type="log")
    return fig


def plane_samples_figure(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    class_names: Sequence[str],
    *,
    axes: Sequence[str] = ("x₁", "x₂"),
) -> go.Figure:
    """2-D samples coloured by class: training samples filled, test samples hollow (`axes`: the two features' names)."""
    ax, ay = axes
    fig = go.Figure()
    for c, name in enumerate(class_names):
        color = class_color(c)
        for split, x, y, symbol in (("train", x_train, y_train, "circle"), ("test", x_test, y_test, "circle-open")):
            pts = x[y == c]
            fig.add_trace(
                go.Scattergl(
                    x=pts[:, 0],
                    y=pts[:, 1],
                    mode="markers",
                    name=f"{name} ({split})",
                    legendgroup=name,
                    marker=dict(color=color, size=6, symbol=symbol, opacity=0.8 if split == "train" else 1.0),
                    hovertemplate=f"{name} ({split})<br>{ax} %{{x:.2f}}, {ay} %{{y:.2f}}<extra></extra>",
                )
            )
    fig.update_layout(
        height=460,
        margin=dict(l=10, r=10, t=30, b=10),
        xaxis_title=ax,
        yaxis_title=ay,
        yaxis=dict(scaleanchor="x"),
        legend=dict(orientation="h", y=1.1, x=0),
    )
    return fig


def _axis_titles(emb: Embedding) -> list[str]:
    if emb.method == "PCA" and emb.explained is not None:
        return [f"PC {i + 1} ({v:.0%} of the variance)" for i, v in enumerate(emb.explained)]
    return [f"{emb.method} {i + 1}" for i in range(emb.dims)]


def embedding_figure(emb: Embedding, class_names: Sequence[str], *, contours: bool = True) -> go.Figure:
    """The embedded samples coloured by class; in 2-D each class's density drawn as contour lines beneath."""
    if len(emb.coords) == 0:
        return empty_figure("Too few samples to embed")
    titles = _axis_titles(emb)
    fig = go.Figure()
    present = [c for c in range(len(class_names)) if (emb.labels == c).any()]
    if emb.dims == 2 and contours:
        for c in present:
            pts = emb.coords[emb.labels == c]
            fig.add_trace(
                go.Histogram2dContour(
                    x=pts[:, 0],
                    y=pts[:, 1],
                    ncontours=6,
                    showscale=False,
                    contours=dict(coloring="none"),
                    line=dict(color=class_color(c), width=1),
                    opacity=0.55,
                    hoverinfo="skip",
                    legendgroup=class_names[c],
                    showlegend=False,
                    name=f"{class_names[c]} density",
                )
            )
    for c in present:
        sel = emb.labels == c
        pts, idx = emb.coords[sel], emb.indices[sel]
        name = class_names[c]
        if emb.dims == 2:
            fig.add_trace(
                go.Scattergl(
                    x=pts[:, 0],
                    y=pts[:, 1],
                    mode="markers",
                    name=name,
                    legendgroup=name,
                    marker=dict(color=class_color(c), size=5, opacity=0.8),
                    customdata=idx,
                    hovertemplate=f"{name}, sample %{{customdata}}<extra></extra>",
                )
            )
        else:
            fig.add_trace(
                go.Scatter3d(
                    x=pts[:, 0],
                    y=pts[:, 1],
                    z=pts[:, 2],
                    mode="markers",
                    name=name,
                    marker=dict(color=class_color(c), size=2.5, opacity=0.8),
                    customdata=idx,
                    hovertemplate=f"{name}, sample %{{customdata}}<extra></extra>",
                )
            )
    layout = dict(height=560, margin=dict(l=10, r=10, t=30, b=10), legend=dict(itemsizing="constant"))
    if emb.dims == 2:
        layout.update(xaxis_title=titles[0], yaxis_title=titles[1])
    else:
        layout["scene"] = dict(xaxis_title=titles[0], yaxis_title=titles[1], zaxis_title=titles[2])
    fig.update_layout(**layout)
    return fig
