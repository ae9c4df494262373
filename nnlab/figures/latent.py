"""Figures of the latent space: the code map (with density contours and a click grid), decoded images, the map
over training, and the reconstruction error per class.

Stage: `nnlab.analysis.latent` records → plotly figures. Pure: arrays in, `go.Figure` out. Decoded images go to
the browser as one PNG per figure (uint8 tiles in a mosaic), never as float lists.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from ..analysis.embeddings import EmbeddingMovie
from ..analysis.latent import LatentMap
from .colors import SEQUENTIAL, class_color, empty_figure, mosaic, png_uri
from .embeddings import embedding_movie_figure

CLICK_GRID = 41  # invisible points per axis that catch a click anywhere on the map
STAR = dict(symbol="star", size=20, color="black", line=dict(color="white", width=1.5))
OWN = dict(symbol="diamond", size=15, color="#d62728", line=dict(color="white", width=2))  # your own input


def axis_titles(m: LatentMap) -> tuple[str, str]:
    if m.projection.is_pca:
        e = m.projection.explained
        return f"PCA axis 1 of the code ({e[0]:.0%})", f"PCA axis 2 of the code ({e[1]:.0%})"
    return "code 1", "code 2"


def latent_map_figure(
    m: LatentMap,
    class_names: Sequence[str],
    *,
    marker: tuple[float, float] | None = None,
    own: tuple[float, float, str] | None = None,
    height: int = 520,
) -> go.Figure:
    """Every evaluation sample at its code, coloured by class, over density contours; `marker` as a star, `own`
    (x, y, label: an input of your own, placed by the map's projection) as a labelled diamond.

    A grid of invisible points covers the extent, so a click anywhere selects a point of the map (trace 1). The
    axes widen to show `own` when it falls outside the extent.
    """
    if len(m.coords) == 0:
        return empty_figure("No codes recorded at this snapshot")
    (x0, x1), (y0, y1) = m.extent
    gx, gy = np.meshgrid(np.linspace(x0, x1, CLICK_GRID), np.linspace(y0, y1, CLICK_GRID))
    traces = [
        go.Histogram2dContour(
            x=np.round(m.coords[:, 0], 3),
            y=np.round(m.coords[:, 1], 3),
            ncontours=8,
            contours=dict(coloring="none", showlines=True),
            line=dict(color="rgba(60,60,60,0.35)", width=1),
            showscale=False,
            hoverinfo="skip",
            name="density",
        ),
        go.Scatter(
            x=np.round(gx.ravel(), 3),
            y=np.round(gy.ravel(), 3),
            mode="markers",
            marker=dict(size=14, opacity=0, color="black"),
            showlegend=False,
            name="decode here",
            hovertemplate="decode (%{x:.2f}, %{y:.2f})<extra></extra>",
        ),
    ]
    for c in range(len(class_names)):
        sel = m.labels == c
        if sel.any():
            traces.append(
                go.Scattergl(
                    x=np.round(m.coords[sel, 0], 3),
                    y=np.round(m.coords[sel, 1], 3),
                    mode="markers",
                    name=str(class_names[c]),
                    customdata=m.indices[sel],
                    marker=dict(size=5, color=class_color(c), opacity=0.75),
                    hovertemplate=f"{class_names[c]} · sample %{{customdata}}<extra></extra>",
                )
            )
    xr, yr = [x0, x1], [y0, y1]
    if own is not None:
        ox, oy, label = float(own[0]), float(own[1]), str(own[2])
        traces.append(
            go.Scatter(
                x=[round(ox, 3)],
                y=[round(oy, 3)],
                mode="markers+text",
                text=[label],
                textposition="top center",
                textfont=dict(size=13, color=OWN["color"]),
                marker=OWN,
                name=label,
                hovertemplate=f"{label} (%{{x:.2f}}, %{{y:.2f}})<extra></extra>",
            )
        )
        pad_x, pad_y = 0.05 * (x1 - x0), 0.05 * (y1 - y0)
        xr, yr = [min(x0, ox - pad_x), max(x1, ox + pad_x)], [min(y0, oy - pad_y), max(y1, oy + pad_y)]
    if marker is not None:
        traces.append(go.Scatter(x=[marker[0]], y=[marker[1]], mode="markers", marker=STAR, name="decoded point"))
    tx, ty = axis_titles(m)
    return go.Figure(
        traces,
        dict(
            title=dict(text=f"The code map at step {m.step}: click anywhere to decode it"),
            height=height,
            margin=dict(l=50, r=10, t=50, b=50),
            xaxis=dict(title=dict(text=tx), range=xr, zeroline=False),
            yaxis=dict(title=dict(text=ty), range=yr, zeroline=False),
            legend=dict(title=dict(text="class"), itemsizing="constant"),
            plot_bgcolor="white",
            clickmode="event+select",
            dragmode="pan",
        ),
    )


def image_strip_figure(
    images: np.ndarray, *, labels: Sequence[str] = (), title: str = "", cols: int | None = None, height: int = 200
) -> go.Figure:
    """uint8 images `(N, H, W)` or `(N, H, W, 3)` in one PNG, `cols` to a row, each with a label under it."""
    images = np.asarray(images)
    if images.size == 0:
        return empty_figure(title or "No images")
    rgb = images.ndim == 4
    n, h, w = images.shape[:3]
    cols = cols or n
    tiles = mosaic(images, cols, gap=max(1, h // 8), fill=(255, 255, 255) if rgb else 255, rgb=rgb)
    hh, ww = tiles.shape[:2]
    fig = go.Figure(go.Image(source=png_uri(tiles), x0=0, y0=0, dx=1, dy=1, hoverinfo="skip"))
    g = max(1, h // 8)
    for i, text in enumerate(labels):
        r, c = divmod(i, cols)
        fig.add_annotation(
            x=c * (w + g) + w / 2, y=r * (h + g) + h, text=text, showarrow=False, yanchor="top", font=dict(size=11)
        )
    frame = dict(color="#b0b0b0", width=1)  # a white edge pixel would vanish into the page
    corners = [(c * (w + g) - 0.5, r * (h + g) - 0.5) for r, c in (divmod(i, cols) for i in range(n))]
    shapes = [dict(type="rect", x0=x, x1=x + w, y0=y, y1=y + h, line=frame, layer="above") for x, y in corners]
    rows = -(-n // cols)
    return fig.update_layout(
        shapes=shapes,
        title=dict(text=title),
        height=height if rows == 1 else max(height, int(60 + 640 * hh / ww)),
        margin=dict(l=10, r=10, t=40, b=10 + (20 if labels else 0)),
        xaxis=dict(visible=False, range=[-0.5, ww - 0.5], constrain="domain"),  # shrink the plot, never crop a row
        yaxis=dict(
            visible=False, range=[hh - 0.5 + (h * 0.35 if labels else 0), -0.5], scaleanchor="x", constrain="domain"
        ),
        plot_bgcolor="white",
    )


def manifold_figure(images: np.ndarray, extent, m: LatentMap, *, height: int = 560) -> go.Figure:
    """An n×n grid of decoded images `(n*n, H, W[, 3])` tiled over the map's extent, row 0 at the top."""
    images = np.asarray(images)
    n = int(round(np.sqrt(len(images))))
    if n == 0:
        return empty_figure("Nothing to decode")
    rgb = images.ndim == 4
    tiles = mosaic(images, n, gap=1, fill=(128, 128, 128) if rgb else 128, rgb=rgb)  # (n*(H+1)-1, n*(W+1)-1[, 3])
    zoom = max(1, -(-480 // tiles.shape[1]))  # whole pixels: a browser scaling small tiles by a fraction blurs them
    tiles = tiles.repeat(zoom, axis=0).repeat(zoom, axis=1)
    hh, ww = tiles.shape[:2]
    (x0, x1), (y0, y1) = extent
    tx, ty = axis_titles(m)
    xs, ys = np.linspace(x0, x1, 5), np.linspace(y1, y0, 5)  # ticks in the map's units, placed in pixels
    return go.Figure(
        go.Image(source=png_uri(tiles), x0=0, y0=0, dx=1, dy=1, hoverinfo="skip"),
        dict(
            title=dict(text=f"The learned manifold: {n}×{n} codes over the map, decoded"),
            height=height,
            margin=dict(l=50, r=10, t=50, b=50),
            xaxis=dict(
                title=dict(text=tx),
                range=[-0.5, ww - 0.5],
                tickvals=np.linspace(0, ww - 1, 5),
                ticktext=[f"{v:.1f}" for v in xs],
                showgrid=False,
                zeroline=False,
            ),
            yaxis=dict(
                title=dict(text=ty),
                range=[hh - 0.5, -0.5],
                tickvals=np.linspace(0, hh - 1, 5),
                ticktext=[f"{v:.1f}" for v in ys],
                showgrid=False,
                zeroline=False,
                scaleanchor="x",
            ),
        ),
    )


def map_movie_figure(
    frames: np.ndarray, labels: np.ndarray, class_names: Sequence[str], steps: Sequence[int], *, pca: bool
) -> go.Figure:
    """The map at every snapshot (frames aligned to the last), with play/pause and a slider over training."""
    n = frames.shape[1] if frames.ndim == 3 else 0
    movie = EmbeddingMovie(frames, np.asarray(labels), np.arange(n), np.zeros((len(frames), 2)), "code")
    fig = embedding_movie_figure(movie, class_names, steps)
    what = "the code's PCA axes" if pca else "the code"
    for frame, step in zip(fig.frames, steps, strict=True):
        frame.layout.title.text = f"The map over training: step {step}"
    lim = float(np.abs(frames).max()) * 1.05 if frames.size else 1.0
    fig.update_xaxes(title=dict(text=f"{what}, turned onto the last map"), range=[-lim, lim])
    fig.update_yaxes(title=dict(text=""), range=[-lim, lim])
    return fig.update_layout(title=dict(text=f"The map over training: step {steps[-1] if len(steps) else 0}"))


def class_error_figure(error: np.ndarray, class_names: Sequence[str], *, height: int = 300) -> go.Figure:
    """The mean reconstruction error of each class as bars (sequential colours: darker is worse)."""
    error = np.asarray(error, np.float64)
    if error.size == 0:
        return empty_figure("No reconstruction error recorded")
    names = [str(class_names[i]) if i < len(class_names) else str(i) for i in range(len(error))]
    return go.Figure(
        go.Bar(
            x=names,
            y=error,
            marker=dict(color=error, colorscale=SEQUENTIAL, cmin=0),
            hovertemplate="%{x}: %{y:.4f}<extra></extra>",
        ),
        dict(
            title=dict(text="Reconstruction error per class (mean squared error, normalised input)"),
            height=height,
            margin=dict(l=50, r=10, t=50, b=40),
            xaxis=dict(title=dict(text="class"), type="category"),
            yaxis=dict(title=dict(text="mean squared error"), rangemode="tozero"),
        ),
    )
