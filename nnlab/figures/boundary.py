"""Figures of decision boundaries: class regions over a plane, animated over training.

Pure builders for the decision-boundary page: a `BoundaryMovie` from
`nnlab.analysis.boundary` in, `go.Figure` out. Regions are palette PNGs (the class
colour, paler where the network is unsure but never white, and a dark line where the
predicted class changes), the samples are drawn on top.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from PIL import Image, ImageDraw

from ..analysis.boundary import BoundaryMovie
from ..memo import Memo
from .colors import (
    DIVERGING_LUT,
    SEQUENTIAL_LUT,
    class_color,
    class_rgb,
    diverging_index,
    empty_figure,
    mosaic,
    png_uri,
    sequential_index,
    symmetric_limit,
    tile_centres,
)
from .gif import animate, gif_bytes

MODES = ("probabilities", "regions")
_FRAMES = Memo(max_entries=4096, ttl=1800)  # encoded frames by content (a few kB each)


EDGE_RGB = (40, 40, 40)  # the line where the predicted class changes: the decision boundary itself
FAINTEST = 0.2  # share of the class colour where the network is least sure: a tint, never white


def region_palette(n_classes: int) -> tuple[np.ndarray, int]:
    """A ≤256-colour palette: for each class, `levels` shades from a faint tint of its colour (unsure) to its
    colour (sure), then one last entry for the boundary line (`EDGE_RGB`)."""
    levels = max(2, min(32, 255 // max(n_classes, 1)))
    base = class_rgb(n_classes).astype(np.float32)  # (K, 3)
    mix = np.linspace(FAINTEST, 0.6, levels)[None, :, None]  # share of the class colour: pastel, so samples stand out
    pal = 255 * (1 - mix) + base[:, None, :] * mix  # (K, L, 3)
    pal = np.concatenate([pal.reshape(-1, 3), np.array([EDGE_RGB], np.float32)])
    return np.round(pal).astype(np.uint8), levels


def boundary_cells(top: np.ndarray) -> np.ndarray:
    """Cells of a class map `(H, W)` whose right or upper neighbour has another class: a line one cell wide along
    every boundary, drawn whether the network is sure or not (an untrained network's boundary shows too)."""
    edge = np.zeros(top.shape, bool)
    edge[:, :-1] |= top[:, 1:] != top[:, :-1]
    edge[:-1, :] |= top[1:, :] != top[:-1, :]
    return edge


def region_index(probs: np.ndarray, mode: str = "probabilities") -> tuple[np.ndarray, np.ndarray]:
    """Class probabilities `(H, W, K)` → palette indices `(H, W)` and the palette.

    "probabilities": the most likely class's colour, fainter as its lead shrinks (a faint tint where every
    class is equally likely); "regions": each class's colour at full strength (hard regions). In both, a dark
    line runs where the most likely class changes.
    """
    p = np.asarray(probs, np.float32)
    k = p.shape[-1]
    pal, levels = region_palette(k)
    top = p.argmax(-1)
    if mode == "regions":
        level = np.full(top.shape, levels - 1)
    elif mode == "probabilities":
        conf = (p.max(-1) - 1 / k) / (1 - 1 / k) if k > 1 else np.ones(top.shape)
        level = np.round(np.clip(conf, 0, 1) * (levels - 1)).astype(int)
    else:
        raise ValueError(f"Unknown mode {mode!r}: use one of {MODES}")
    index = top * levels + level
    index[boundary_cells(top)] = len(pal) - 1
    return index.astype(np.uint8), pal


def region_uri(probs: np.ndarray, mode: str = "probabilities") -> str:
    """`region_index`'s palette PNG as a data URI, kept by the frame's content: a page following a run while it
    trains draws every frame again on each new snapshot, and encoding them all took ~3 ms a frame."""
    a = np.ascontiguousarray(probs)
    key = (hashlib.blake2b(a.view(np.uint8), digest_size=16).digest(), a.shape, a.dtype.str, mode)
    return _FRAMES.get(key, lambda: png_uri(*region_index(a, mode)))


def region_rgb(probs: np.ndarray, mode: str = "probabilities") -> np.ndarray:
    """Class probabilities `(H, W, K)` → uint8 RGB `(H, W, 3)`, row 0 at the bottom (see `region_index`)."""
    idx, pal = region_index(probs, mode)
    return pal[idx]


def sample_subset(labels: np.ndarray, is_test: np.ndarray, max_samples: int, seed: int = 0) -> np.ndarray:
    """Indices of at most `max_samples` samples per split, drawn at random but seeded (sorted)."""
    rng = np.random.default_rng(seed)
    keep = []
    for split in (False, True):
        idx = np.flatnonzero(np.asarray(is_test) == split)
        keep.append(idx if len(idx) <= max_samples else np.sort(rng.choice(idx, max_samples, replace=False)))
    return np.sort(np.concatenate(keep))


def _sample_traces(
    coords: np.ndarray,
    labels: np.ndarray,
    is_test: np.ndarray,
    names: Sequence[str],
    *,
    show_train: bool,
    show_test: bool,
    tag: bool,
) -> list[go.Scatter]:
    """One scatter per (split, class): train as circles, test as diamonds with a dark edge."""
    traces = []
    for split, symbol, shown in ((False, "circle", show_train), (True, "diamond", show_test)):
        for c, name in enumerate(names):
            m = (labels == c) & (is_test == split)
            xy = coords[m]
            label = f"{name} ({'test' if split else 'train'})" if tag else name
            traces.append(
                go.Scatter(
                    x=xy[:, 0],
                    y=xy[:, 1],
                    mode="markers",
                    name=label,
                    legendgroup="test" if split else "train",
                    legendgrouptitle_text=("test samples" if split else "training samples") if c == 0 else None,
                    visible=True if shown else "legendonly",
                    showlegend=bool(m.any()),
                    marker={
                        "color": class_color(c),
                        "symbol": symbol,
                        "size": 7 if split else 6,
                        "line": {"color": "#222" if split else "white", "width": 1},
                    },
                    hovertemplate=f"{label}<br>(%{{x:.2f}}, %{{y:.2f}})<extra></extra>",
                )
            )
    return traces


def boundary_figure(
    movie: BoundaryMovie,
    class_names: Sequence[str],
    *,
    mode: str = "probabilities",
    active: int = -1,
    title: str = "",
    x_title: str = "x₁",
    y_title: str = "x₂",
    show_train: bool = True,
    show_test: bool = True,
    max_samples: int = 500,
    height: int = 620,
) -> go.Figure:
    """Class regions over the plane at every snapshot with the samples on top, animated over training.

    Args:
        movie: the boundary at each snapshot (`data_plane_movie` or `pca_plane_movie`).
        class_names: one name per class.
        mode: "probabilities" (paler where unsure) or "regions" (hard regions).
        active: the frame shown first (negative counts from the end).
        title, x_title, y_title: text.
        show_train, show_test: which splits' samples start visible (a legend click toggles them).
        max_samples: at most this many samples of each split are drawn.
    Returns: the figure; its `layout.meta` holds the frame count.
    """
    if movie.n_frames == 0 or movie.probs.size == 0:
        return empty_figure(title or "No boundary to show")
    t_count = movie.n_frames
    active = range(t_count)[active]
    names = list(class_names) if len(class_names) else [str(k) for k in range(movie.probs.shape[-1])]
    keep = sample_subset(movie.labels, movie.is_test, max_samples)
    labels, is_test = np.asarray(movie.labels)[keep], np.asarray(movie.is_test)[keep]
    coords = np.asarray(movie.coords, np.float32)[:, keep]
    xs, ys = movie.xs, movie.ys
    dx = float(xs[1] - xs[0]) if len(xs) > 1 else 1.0
    dy = float(ys[1] - ys[0]) if len(ys) > 1 else 1.0

    def image(t):  # a dict, not a go.Image: a movie has a frame per snapshot and each object costs ~1 ms
        return dict(
            type="image",
            source=region_uri(movie.probs[t], mode),
            x0=float(xs[0]),
            dx=dx,
            y0=float(ys[0]),
            dy=dy,
            hoverinfo="skip",
        )

    both = bool(is_test.any() and (~is_test).any())
    fig = go.Figure(
        [
            image(active),
            *_sample_traces(
                coords[min(active, len(coords) - 1)],
                labels,
                is_test,
                names,
                show_train=show_train,
                show_test=show_test,
                tag=both,
            ),
        ]
    )
    groups = [(labels == c) & (is_test == split) for split in (False, True) for c in range(len(names))]
    moving = len(coords) > 1
    frames = []
    for t in range(t_count):
        data = [image(t)]
        if moving:  # only the coordinates change: the rest of each trace stays as drawn
            data += [dict(type="scatter", x=coords[t][g, 0], y=coords[t][g, 1]) for g in groups]
        frames.append({"data": data, "traces": list(range(len(data)))})
    animate(fig, frames, [f"step {s}" for s in movie.steps], active=active)
    fig.update_xaxes(
        title=x_title, range=[float(xs[0]) - dx / 2, float(xs[-1]) + dx / 2], showgrid=False, zeroline=False
    )
    fig.update_yaxes(
        title=y_title,
        range=[float(ys[0]) - dy / 2, float(ys[-1]) + dy / 2],
        showgrid=False,
        zeroline=False,
        autorange=False,
        scaleanchor="x" if movie.point == "" else None,
    )
    fig.update_layout(
        title=title,
        height=height,
        margin={"l": 60, "r": 10, "t": 50, "b": 150},
        plot_bgcolor="white",
        legend={"groupclick": "toggleitem", "itemsizing": "constant"},
        meta={"frames": t_count},
    )
    return fig


def unit_maps_figure(
    maps: np.ndarray,
    *,
    title: str = "",
    signed: bool = True,
    unit_labels=None,
    cols: int | None = None,
    height: int | None = None,
) -> go.Figure:
    """Each unit's output over the plane as a small map `(U, H, W)` (row 0 lowest), in one grid.

    Signed outputs (raw, tanh) on a diverging scale centred on zero, non-negative ones (ReLU,
    sigmoid) on a sequential scale; one colour scale for all the units of the layer.
    """
    maps = np.asarray(maps, np.float32)
    if maps.ndim != 3 or 0 in maps.shape:
        return empty_figure(title or "No units to show")
    n, h, w = maps.shape
    cols = cols or int(min(n, 16))
    flipped = maps[:, ::-1]  # row 0 at the top of each tile, so up is +y
    if signed:
        rgb = DIVERGING_LUT[diverging_index(flipped, symmetric_limit(flipped))]
    else:
        finite = flipped[np.isfinite(flipped)]
        vmax = float(np.percentile(finite, 99.5)) if finite.size else 1.0
        rgb = SEQUENTIAL_LUT[sequential_index(flipped, vmax or 1.0)]
    big = mosaic(rgb, cols, gap=2, fill=255, rgb=True)
    fig = go.Figure(go.Image(source=png_uri(big), hoverinfo="skip"))
    x, y = tile_centres(n, cols, h, w, gap=2)
    text = list(unit_labels) if unit_labels is not None else [f"unit {i}" for i in range(n)]
    fig.add_trace(
        go.Scatter(
            x=x,
            y=y,
            mode="markers",
            marker={"size": 14, "opacity": 0},
            text=text,
            hovertemplate="%{text}<extra></extra>",
            showlegend=False,
        )
    )
    rows = -(-n // cols)
    fig.update_xaxes(visible=False, range=[-0.5, big.shape[1] - 0.5])
    fig.update_yaxes(visible=False, range=[big.shape[0] - 0.5, -0.5], scaleanchor="x")
    fig.update_layout(
        title=title,
        height=height or int(np.clip(80 + rows * 70, 180, 900)),
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        plot_bgcolor="white",
    )
    return fig


def gif_frames(
    movie: BoundaryMovie, *, mode: str = "probabilities", size: int = 300, max_samples: int = 300, radius: int = 3
) -> list[np.ndarray]:
    """The regions of each frame with the samples drawn on, as uint8 RGB images for a GIF."""
    if movie.n_frames == 0:
        return []
    keep = sample_subset(movie.labels, movie.is_test, max_samples)
    labels, is_test = np.asarray(movie.labels)[keep], np.asarray(movie.is_test)[keep]
    colours = class_rgb(int(movie.probs.shape[-1]))
    x0, x1, y0, y1 = float(movie.xs[0]), float(movie.xs[-1]), float(movie.ys[0]), float(movie.ys[-1])
    out = []
    for t in range(movie.n_frames):
        img = Image.fromarray(region_rgb(movie.probs[t], mode)[::-1]).resize((size, size), Image.Resampling.NEAREST)
        draw = ImageDraw.Draw(img)
        xy = np.asarray(movie.coords[min(t, len(movie.coords) - 1)], np.float64)[keep]
        px = (xy[:, 0] - x0) / ((x1 - x0) or 1) * (size - 1)
        py = (1 - (xy[:, 1] - y0) / ((y1 - y0) or 1)) * (size - 1)
        for x, y, c, test in zip(px, py, labels, is_test, strict=True):
            r = radius
            box = (x - r, y - r, x + r, y + r)
            fill = tuple(int(v) for v in colours[c])
            if test:
                draw.polygon(
                    [(x, y - r - 1), (x + r + 1, y), (x, y + r + 1), (x - r - 1, y)], fill=fill, outline=(34, 34, 34)
                )
            else:
                draw.ellipse(box, fill=fill, outline=(255, 255, 255))
        out.append(np.asarray(img))
    return out


def movie_gif(movie: BoundaryMovie, *, mode: str = "probabilities", fps: float = 4.0) -> bytes:
    """The whole movie as a looping GIF, the samples drawn on and each frame labelled with its step."""
    return gif_bytes(gif_frames(movie, mode=mode), fps=fps, labels=[f"step {s}" for s in movie.steps])


def add_local_fit(fig: go.Figure, fit, class_names) -> go.Figure:
    """LIME's local fit (`nnlab.analysis.local_fit.LocalFit`) on a plane figure: its level line through the point
    (solid) and its own boundary nearby (dashed), drawn over every frame of the animation."""
    level = fit.level_line()
    fig.add_scatter(
        x=level[:, 0],
        y=level[:, 1],
        mode="lines",
        name="LIME: the local line",
        line=dict(color="black", width=3),
        hovertemplate=f"LIME's line: {fit.agreement:.0%} agreement, R² {fit.score:.2f}<extra></extra>",
    )
    zero = fit.zero_line()
    if zero is not None:
        fig.add_scatter(
            x=zero[:, 0],
            y=zero[:, 1],
            mode="lines",
            name=f"LIME: {class_names[fit.pred]} | {class_names[fit.other]}",
            line=dict(color="black", width=2, dash="dash"),
            hoverinfo="skip",
        )
    return fig
