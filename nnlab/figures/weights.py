"""Figures of the weights over training: unit-image movies, weight matrices, histograms, norms.

Pure builders for the weight-evolution page: records and arrays from
`nnlab.analysis.weights` in, `go.Figure` out. Weight images go to the browser as
palette PNGs (one byte a pixel) on a diverging scale centred on zero.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..analysis.weights import HistogramHistory, NormHistory
from .colors import (
    DIVERGING,
    LINE_COLORS,
    SEQUENTIAL,
    diverging_index,
    diverging_palette,
    empty_figure,
    grid_columns,
    mosaic,
    png_uri,
    signed_rgb_image,
    tile_centres,
)
from .colors import symmetric_limit as _limit
from .gif import animate, frames_within

LEVELS = 31  # colour levels of weight images: odd, so zero has its own white; few, so noisy PNGs stay small
GAP = (190, 190, 190)  # the colour between tiles


def tile_frames(
    tiles: np.ndarray,
    *,
    limit: float | None = None,
    cols: int | None = None,
    per_frame: bool = False,
    levels: int = LEVELS,
) -> tuple[list[np.ndarray], np.ndarray | None]:
    """Weight tiles over time `(T, U, h, w)` or `(T, U, h, w, 3)` → one uint8 mosaic per frame.

    Grey tiles become indices into the returned palette (the diverging map in `levels` steps, then
    the gap colour); colour tiles become RGB with zero at mid-grey (palette None). `limit` fixes the
    colour scale (default: a robust limit over every frame, so growth shows); `per_frame` rescales
    each frame instead.
    """
    tiles = np.asarray(tiles, np.float32)
    t_count, n, h, w = tiles.shape[:4]
    colour = tiles.ndim == 5
    cols = cols or grid_columns(n, h, w)
    fixed = limit if limit is not None else _limit(tiles)
    lims = np.array([_limit(f) for f in tiles]) if per_frame else np.full(t_count, fixed)
    lims = lims.reshape(-1, *([1] * (tiles.ndim - 1)))
    if colour:
        big = mosaic(signed_rgb_image(tiles / lims, 1.0, levels), cols, fill=GAP, blank=255, rgb=True)
        palette = None
    else:
        big = mosaic(diverging_index(tiles / lims, 1.0, levels), cols, fill=levels, blank=(levels - 1) // 2)
        palette = np.vstack([diverging_palette(levels), np.array([GAP], np.uint8)])
    out = list(big)
    return out, palette


@dataclass(frozen=True)
class MovieFrames:
    """Weight mosaics over training, encoded once as PNG data URIs (cheap to keep and to re-assemble)."""

    uris: tuple[str, ...]  # one PNG data URI per frame
    size: tuple[int, int]  # (H, W) pixels of each mosaic
    tile: tuple[int, int]  # (h, w) pixels of one tile
    n_tiles: int
    cols: int  # tiles per row


def movie_frames(
    tiles: np.ndarray, *, limit: float | None = None, per_frame: bool = False, cols: int | None = None
) -> MovieFrames | None:
    """Encode weight tiles over time `(T, U, h, w)` or `(T, U, h, w, 3)` (see `tile_frames`); None if empty."""
    tiles = np.asarray(tiles)
    if tiles.ndim < 4 or 0 in tiles.shape[:4]:
        return None
    _, n, h, w = tiles.shape[:4]
    cols = cols or grid_columns(n, h, w)
    images, palette = tile_frames(tiles, limit=limit, cols=cols, per_frame=per_frame)
    return MovieFrames(tuple(png_uri(im, palette) for im in images), images[0].shape[:2], (h, w), n, cols)


def weight_movie_figure(
    tiles: np.ndarray | MovieFrames | None,
    steps: Sequence[int],
    *,
    labels: Sequence[str] | None = None,
    title: str = "",
    active: int = -1,
    limit: float | None = None,
    per_frame: bool = False,
    cols: int | None = None,
    budget: int = 2_300_000,
    height: int | None = None,
    axis_titles: tuple[str, str] | None = None,
) -> go.Figure:
    """An animated grid of weight images over training, with play/pause and a slider.

    Args:
        tiles: `(T, U, h, w)` (signed, diverging scale) or `(T, U, h, w, 3)` (RGB weights, 0 = grey),
            or their `movie_frames` already encoded.
        steps: the training step of each frame.
        labels: hover text per tile (default "unit i").
        title: the figure title.
        active: the frame shown first (negative counts from the end).
        limit, per_frame, cols: the colour scale and tiles per row (see `tile_frames`).
        budget: the most characters of image data; frames are dropped evenly beyond it (the
            figure's `layout.meta` says how many were kept).
        axis_titles: (x, y) titles to show the axes (for a single tile, such as a weight matrix).
    Returns: the figure.
    """
    movie = (
        tiles
        if isinstance(tiles, MovieFrames) or tiles is None
        else movie_frames(tiles, limit=limit, per_frame=per_frame, cols=cols)
    )
    if movie is None or not movie.uris:
        return empty_figure(title or "No weights to show")
    t_count, n, (h, w), cols = len(movie.uris), movie.n_tiles, movie.tile, movie.cols
    active = range(t_count)[active]
    keep = frames_within(movie.uris, budget, active)
    active_pos = int(np.searchsorted(keep, active))
    big_h, big_w = movie.size
    shown = axis_titles is not None
    hover = f"{axis_titles[1]} %{{y}}, {axis_titles[0]} %{{x}}<extra></extra>" if shown else None
    fig = go.Figure(
        go.Image(source=movie.uris[keep[active_pos]], hovertemplate=hover, hoverinfo=None if shown else "skip")
    )
    if not shown:
        x, y = tile_centres(n, cols, h, w)
        text = list(labels) if labels is not None else [f"unit {i}" for i in range(n)]
        fig.add_trace(
            go.Scatter(
                x=x,
                y=y,
                mode="markers",
                marker={"size": 8, "opacity": 0},
                text=text,
                showlegend=False,
                hovertemplate="%{text}<extra></extra>",
            )
        )
    frames = [{"data": [go.Image(source=movie.uris[i])], "traces": [0]} for i in keep]
    animate(fig, frames, [f"step {steps[i]}" for i in keep], active=active_pos)
    fig.update_xaxes(
        visible=shown,
        range=[-0.5, big_w - 0.5],
        title=axis_titles[0] if shown else None,
        showgrid=False,
        zeroline=False,
        dtick=_dtick(big_w),
    )
    fig.update_yaxes(  # a matrix may be very flat: let its cells stretch; tiles keep square pixels
        visible=shown,
        range=[big_h - 0.5, -0.5],
        scaleanchor=False if shown else "x",
        title=axis_titles[1] if shown else None,
        showgrid=False,
        zeroline=False,
        dtick=_dtick(big_h),
    )
    auto = 420 if shown else np.clip(min(150 + 760 * big_h / big_w, 150 + 24 * big_h), 320, 900)
    fig.update_layout(
        title=title,
        height=height or int(auto),
        margin={"l": 60 if shown else 10, "r": 10, "t": 50, "b": 110},
        plot_bgcolor="white",
        meta={"frames_kept": len(keep), "frames_total": t_count},
    )
    return fig


def gif_frames(
    tiles: np.ndarray, *, limit: float | None = None, per_frame: bool = False, cols: int | None = None
) -> list[np.ndarray]:
    """The RGB mosaics of `weight_movie_figure`, for `nnlab.figures.gif.gif_bytes`."""
    tiles = np.asarray(tiles)
    if tiles.ndim < 4 or 0 in tiles.shape[:4]:
        return []
    images, palette = tile_frames(tiles, limit=limit, cols=cols, per_frame=per_frame)
    return [im if palette is None else palette[im] for im in images]


def _dtick(n: int) -> int:
    """A round tick spacing (1, 2, 5, 10, 20, …) for an axis of `n` cells: about ten ticks or fewer."""
    for step in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000):
        if n / step <= 12:
            return step
    return 10000


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
    fig.update_yaxes(autorange="reversed", title=y_title, dtick=_dtick(w.shape[0]))
    fig.update_xaxes(title=x_title, dtick=_dtick(w.shape[1]))
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
    for r, c in ((1, 2), (2, 1)):
        fig.update_yaxes(type="log", tickformat=".2~g", dtick="D2", row=r, col=c)
    fig.update_yaxes(range=[0, 1.02], tickformat=".0%", row=2, col=2)
    fig.update_xaxes(title_text="training step", row=2)
    fig.update_layout(
        title=title, height=height, margin={"l": 60, "r": 10, "t": 70, "b": 50}, legend={"orientation": "h", "y": -0.15}
    )
    return fig
