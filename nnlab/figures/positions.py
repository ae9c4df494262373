"""Figures of a transformer's learned token embeddings: the class token over training, the position embeddings and
how alike they are across the patch grid.

Stage: `nnlab.analysis.positions` records → plotly figures (Weight evolution page). Embeddings are signed: a diverging
scale centred on zero. The similarity maps are blended in numpy and sent as one PNG.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from ..analysis.positions import TokenHistory
from .colors import DIVERGING, DIVERGING_LUT, empty_figure, mosaic, png_uri, symmetric_limit, tile_centres


def _heatmap(z: np.ndarray, y, *, x_axis: str, colorbar_x: float, hover: str) -> go.Heatmap:
    lim = symmetric_limit(z)
    return go.Heatmap(
        z=np.asarray(z, np.float32),
        y=y,
        xaxis=x_axis,
        yaxis=x_axis.replace("x", "y"),
        colorscale=DIVERGING,
        zmin=-lim,
        zmax=lim,
        zmid=0,
        colorbar=dict(x=colorbar_x, thickness=10, len=0.9, title=dict(text="value")),
        hovertemplate=hover + "<extra></extra>",
    )


def token_embeddings_figure(history: TokenHistory, k: int, *, height: int = 440) -> go.Figure:
    """Left, the class token at every snapshot (steps × width, the snapshot `k` marked); right, the position
    embeddings at snapshot `k` (tokens × width, the class token's position on top)."""
    if history is None or len(history.steps) == 0:
        return empty_figure("No class token or position embeddings")
    pos = history.pos[k]  # (N, E)
    labels = ["cls"] + [f"p{i}" for i in range(1, len(pos))]
    right = _heatmap(pos, labels, x_axis="x2", colorbar_x=0.95, hover="token %{y}, dimension %{x}: %{z:.3f}")
    step = int(history.steps[k])
    layout = dict(
        height=height,
        margin=dict(l=60, r=10, t=50, b=50),
        xaxis2=dict(domain=[0.6, 0.93], anchor="y2", title=dict(text="dimension")),
        yaxis2=dict(anchor="x2", autorange="reversed", type="category", title=dict(text="token")),
    )
    titles = [(f"{history.pos_param}: position embeddings at step {step:,}", 0.765)]
    data = [right]
    if history.cls is not None:
        steps = np.asarray(history.steps)
        data.insert(
            0,
            _heatmap(history.cls, steps, x_axis="x", colorbar_x=0.38, hover="step %{y}, dimension %{x}: %{z:.3f}"),
        )
        layout.update(
            xaxis=dict(domain=[0, 0.35], anchor="y", title=dict(text="dimension")),
            yaxis=dict(anchor="x", autorange="reversed", title=dict(text="training step")),
            shapes=[
                dict(
                    type="line",
                    xref="x domain",
                    x0=0,
                    x1=1,
                    yref="y",
                    y0=step,
                    y1=step,
                    line=dict(color="#111", width=2),
                )
            ],
        )
        titles.insert(0, (f"{history.cls_param}: the class token over training", 0.175))
    else:
        layout["xaxis2"]["domain"] = [0, 0.93]
        titles = [(titles[0][0], 0.465)]
    layout["annotations"] = [
        dict(text=t, x=x, xref="paper", y=1.02, yref="paper", showarrow=False, xanchor="center", yanchor="bottom")
        for t, x in titles
    ]
    return go.Figure(data, layout)


def position_figure(similarity: np.ndarray, grid: tuple[int, int], *, title: str, height: int = 560) -> go.Figure:
    """Cosine similarity of every patch's position embedding with every other: one tile per patch `(P, rows, cols)`,
    tiles placed where their patch lies; red alike, blue opposite."""
    p = len(similarity)
    if p == 0:
        return empty_figure(title or "No position embeddings")
    scale = max(1, 24 // max(grid))
    t = np.clip((np.asarray(similarity) + 1) / 2, 0, 1)
    tiles = DIVERGING_LUT[(t * 255).round().astype(np.uint8)]  # (P, rows, cols, 3)
    tiles = tiles.repeat(scale, 1).repeat(scale, 2)
    grid_img = mosaic(tiles, grid[1], gap=2, fill=255, rgb=True)
    xs, ys = tile_centres(p, grid[1], tiles.shape[1], tiles.shape[2], gap=2)
    names = [f"patch {i + 1} (row {i // grid[1] + 1}, col {i % grid[1] + 1})" for i in range(p)]
    colour_bar = go.Heatmap(  # an invisible trace that only draws the tiles' colour bar, under the picture
        z=[[-1, 1]],
        colorscale=DIVERGING,
        zmin=-1,
        zmax=1,
        opacity=0,
        hoverinfo="skip",
        colorbar=dict(
            orientation="h",
            x=0.5,
            y=-0.02,
            yanchor="top",
            len=0.4,
            thickness=12,
            title=dict(text="cosine similarity", side="top"),
        ),
    )
    data = [
        go.Image(source=png_uri(grid_img), x0=0, y0=0, dx=1, dy=1, hoverinfo="skip"),
        go.Scatter(x=xs, y=ys, mode="markers", marker=dict(opacity=0, size=12), text=names, hoverinfo="text"),
        colour_bar,
    ]
    layout = dict(
        title=dict(text=title),
        height=height,
        margin=dict(l=10, r=10, t=50, b=80),
        xaxis=dict(visible=False, range=[-0.5, grid_img.shape[1] - 0.5]),
        yaxis=dict(visible=False, range=[grid_img.shape[0] - 0.5, -0.5], scaleanchor="x"),
        showlegend=False,
    )
    return go.Figure(data, layout)
