"""Figures of the weights as pictures over training: a grid of unit images (or one matrix) per snapshot, animated.

Pure builders for the weight-evolution page: `(T, U, h, w)` weight tiles from `nnlab.analysis.weights` in, a
`go.Figure` with play/pause and a slider (or RGB frames for a GIF) out. Frames go to the browser as palette PNGs (one
byte a pixel) on a diverging scale centred on zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from .colors import (
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
        dtick=axis_dtick(big_w),
    )
    fig.update_yaxes(  # a matrix may be very flat: let its cells stretch; tiles keep square pixels
        visible=shown,
        range=[big_h - 0.5, -0.5],
        scaleanchor=False if shown else "x",
        title=axis_titles[1] if shown else None,
        showgrid=False,
        zeroline=False,
        dtick=axis_dtick(big_h),
    )
    auto = 420 if shown else np.clip(min(150 + 760 * big_h / big_w, 150 + 24 * big_h), 320, 900)
    fig.update_layout(
        title=title,
        height=height or int(auto),
        margin={"l": 60 if shown else 10, "r": 10, "t": 50, "b": 130},
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


def axis_dtick(n: int) -> int:
    """A round tick spacing (1, 2, 5, 10, 20, …) for an axis of `n` cells: about ten ticks or fewer."""
    for step in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000):
        if n / step <= 12:
            return step
    return 10000


def movie_gif(movie, history, *, per_frame: bool = False, fps: float = 4.0) -> bytes:
    """A weight movie (`analysis.weights.movie_info`) of every snapshot of `history` as an animated GIF."""
    from .gif import gif_bytes

    frames = gif_frames(movie.tiles, per_frame=per_frame, cols=movie.cols)
    scale = max(1, 480 // max(frames[0].shape[1], 1)) if frames else 1
    labels = [f"{history.layer.name} · step {s}" for s in history.steps]
    return gif_bytes(frames, fps=fps, scale=scale, labels=labels)
