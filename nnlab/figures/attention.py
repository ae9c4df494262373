"""Figures of the Attention page: attention laid over the image, token × token matrices, heads over training.

Stage: `nnlab.analysis.attention` records → plotly figures. Attention is non-negative: a sequential scale. The maps
over the image are blended into the picture in numpy and sent as one PNG per figure; matrices are small heatmaps.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from ..analysis.attention import HeadHistory
from .colors import LINE_COLORS, SEQUENTIAL, SEQUENTIAL_LUT, mosaic, png_uri, tile_centres

TILE = 120  # screen pixels a side of one image tile, at least
GAP = 4  # screen pixels between tiles, about
BAND = 22  # screen pixels of white above each tile, for its name, about


def _grey(image: np.ndarray) -> np.ndarray:
    """uint8 `(H, W)` or `(H, W, 3)` → float `(H, W, 3)` in 0…1."""
    img = np.asarray(image, np.float32) / 255.0
    return np.repeat(img[..., None], 3, -1) if img.ndim == 2 else img


def _scale(image_shape: tuple[int, ...], size: int) -> int:
    """Screen pixels per image pixel for a tile about `size` pixels a side."""
    return max(1, -(-size // max(image_shape[:2])))


def overlay(image: np.ndarray, heat: np.ndarray, *, size: int | None = None) -> np.ndarray:
    """The image with a map over its patches `(rows, cols)` laid on top, as uint8 RGB at the image's resolution, or
    enlarged to about `size` pixels a side.

    The map is taken as shares of its sum and scaled to its largest share, but to no less than three times the even
    share: bright yellow marks where it is largest, the image shows through where it is near zero, and a map that is
    even everywhere stays a faint, even tint instead of blowing its noise up to full colour.
    """
    img = _grey(image)  # (H, W, 3)
    heat = np.asarray(heat, np.float32)
    share = heat / max(float(heat.sum()), 1e-12)
    t = share / max(float(share.max()), 3.0 / heat.size)
    rows, cols = heat.shape
    t = t.repeat(img.shape[0] // rows, 0).repeat(img.shape[1] // cols, 1)  # (H, W)
    colour = SEQUENTIAL_LUT[(t * 255).round().astype(np.uint8)].astype(np.float32) / 255.0
    alpha = (0.15 + 0.7 * t)[..., None]
    out = ((img * (1 - alpha) + colour * alpha) * 255).round().astype(np.uint8)
    if size is None:
        return out
    scale = _scale(img.shape, size)
    return out.repeat(scale, 0).repeat(scale, 1)


def _image_grid(
    tiles: np.ndarray, cols: int, titles: list[str], *, size: int = TILE, height: int = 0, title: str
) -> go.Figure:
    """RGB tiles `(n, h, w, 3)` at the image's resolution in a mosaic of `cols` columns, drawn about `size` screen
    pixels a side (the browser enlarges the PNG pixel by pixel), each named by hover and in a white band above it."""
    n, h, w = tiles.shape[:3]
    scale = _scale((h, w), size)
    band, gap = -(-BAND // scale), max(1, round(GAP / scale))
    tiles = np.pad(tiles, ((0, 0), (band, 0), (0, 0), (0, 0)), constant_values=255)  # room for each tile's name
    grid = mosaic(tiles, cols, gap=gap, fill=255, rgb=True)
    xs, ys = tile_centres(n, cols, h + band, w, gap=gap)
    xs, ys = xs * scale, (ys + band / 2) * scale  # the images' pixels → screen pixels
    rows = -(-n // max(cols, 1))
    hover = go.Scatter(
        x=xs,
        y=ys,
        mode="markers",
        marker=dict(size=h * scale / 2, opacity=0),
        text=titles,
        hoverinfo="text",
        showlegend=False,
    )
    layout = dict(
        annotations=[
            dict(x=x, y=y - (h + band) * scale / 2, text=t, showarrow=False, font=dict(size=11))
            for x, y, t in zip(xs, ys, titles, strict=True)
        ],
        title=dict(text=title),
        height=height or 60 + (40 if title else 0) + rows * (h + band + gap) * scale,
        margin=dict(l=10, r=10, t=40 if title else 10, b=10),
        xaxis=dict(visible=False, range=[-0.5 * scale, (grid.shape[1] - 0.5) * scale]),
        yaxis=dict(visible=False, range=[(grid.shape[0] - 0.5) * scale, -0.5 * scale], scaleanchor="x"),
        plot_bgcolor="white",
    )
    image = go.Image(source=png_uri(grid), x0=0, y0=0, dx=scale, dy=scale, hoverinfo="skip")
    return go.Figure([image, hover], layout)


def head_grid_figure(image: np.ndarray, class_maps: np.ndarray, blocks: list[str], *, title: str = "") -> go.Figure:
    """Where the class token looks, per block (rows) and head (columns): maps `(D, H, rows, cols)` over the image."""
    d, heads = class_maps.shape[:2]
    tiles = np.stack([overlay(image, class_maps[i, j]) for i in range(d) for j in range(heads)])
    titles = [f"{blocks[i]} · head {j + 1}" for i in range(d) for j in range(heads)]
    return _image_grid(tiles, heads, titles, title=title or "Where the class token looks")


def rollout_figure(image: np.ndarray, rollout_map: np.ndarray, *, title: str = "") -> go.Figure:
    """The input, and the rolled-out class-token attention `(rows, cols)` over it."""
    plain = (_grey(image) * 255).round().astype(np.uint8)
    tiles = np.stack([plain, overlay(image, rollout_map)])
    return _image_grid(tiles, 2, ["input", "rollout over the input"], size=240, title=title)


def class_attention_figure(images: np.ndarray, maps: np.ndarray, class_names: list[str], *, title: str) -> go.Figure:
    """Each class's mean attention `(K, rows, cols)` over that class's mean image `(K, H, W[, 3])` uint8."""
    k = len(maps)
    tiles = np.stack([overlay(images[c], maps[c]) for c in range(k)])
    return _image_grid(tiles, min(k, 5), list(class_names[:k]), title=title)


def token_matrix_figure(matrix: np.ndarray, grid: tuple[int, int], *, title: str) -> go.Figure:
    """One head's attention `(N, N)`: row i is where token i looks (token 0 the class token, then the patches)."""
    n = len(matrix)
    labels = ["cls"] + [f"p{i}" for i in range(1, n)]
    where = ["the class token"] + [
        f"patch {i} (row {(i - 1) // grid[1] + 1}, col {(i - 1) % grid[1] + 1})" for i in range(1, n)
    ]
    hover = [[f"{where[i]} → {where[j]}" for j in range(n)] for i in range(n)]
    fig = go.Figure(
        go.Heatmap(
            z=np.asarray(matrix, np.float32),
            x=labels,
            y=labels,
            colorscale=SEQUENTIAL,
            zmin=0,
            text=hover,
            hovertemplate="%{text}: %{z:.3f}<extra></extra>",
            colorbar=dict(title=dict(text="weight")),
        )
    )
    fig.update_layout(
        title=dict(text=title),
        height=520,
        margin=dict(l=10, r=10, t=50, b=10),
        xaxis=dict(title=dict(text="looks at (key)")),
        yaxis=dict(title=dict(text="token (query)"), autorange="reversed", scaleanchor="x"),
    )
    return fig


def heads_figure(history: HeadHistory, *, height: int = 380) -> go.Figure:
    """Each head's attention distance and entropy against the training step; the head that changed most in bold."""
    best = history.most_changed()
    d, heads = history.distance.shape[1:] if history.distance.ndim == 3 else (0, 0)
    traces = []
    for i in range(d):
        for j in range(heads):
            bold = (i, j) == best
            for ax, values in (("", history.distance), ("2", history.entropy)):
                traces.append(
                    go.Scatter(
                        x=history.steps,
                        y=values[:, i, j],
                        xaxis=f"x{ax}",
                        yaxis=f"y{ax}",
                        mode="lines",
                        name=f"{history.blocks[i]} · head {j + 1}",
                        legendgroup=history.blocks[i],
                        showlegend=not ax and (j == 0 or bold),
                        line=dict(color=LINE_COLORS[i % len(LINE_COLORS)], width=4 if bold else 1.3),
                        opacity=1.0 if bold else 0.55,
                        hovertemplate=f"{history.blocks[i]} · head {j + 1}<br>step %{{x}}: %{{y:.2f}}<extra></extra>",
                    )
                )
    rule = dict(type="line", xref="x domain", x0=0, x1=1, line=dict(dash="dot", color="#64748b"))
    uniform = [
        dict(rule, y0=history.uniform_distance, y1=history.uniform_distance, yref="y"),
        dict(rule, xref="x2 domain", y0=history.uniform_entropy, y1=history.uniform_entropy, yref="y2"),
    ]
    titles = [
        dict(text=t, x=x, xref="paper", y=1.02, yref="paper", showarrow=False, xanchor="center", yanchor="bottom")
        for t, x in (
            ("Mean attention distance (patches)", 0.23),
            ("Entropy (nats; dotted: looking everywhere alike)", 0.77),
        )
    ]
    axis = dict(title=dict(text="training step"))
    return go.Figure(
        traces,
        dict(
            height=height,
            margin=dict(l=10, r=10, t=40, b=10),
            legend=dict(orientation="h", y=-0.25),
            xaxis=dict(axis, domain=[0, 0.46]),
            xaxis2=dict(axis, domain=[0.54, 1], anchor="y2"),
            yaxis=dict(anchor="x"),
            yaxis2=dict(anchor="x2"),
            shapes=uniform,
            annotations=titles,
        ),
    )
