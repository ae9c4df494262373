"""Figures of the Units page: a unit's top examples (and the patch a channel sees), its density, ablation, ranking.

Pure builders: `nnlab.analysis.units` records (and uint8 thumbnails) in, `go.Figure` out. Thumbnails go to the
browser as one PNG per figure; the change in the confusion matrix is signed (diverging, centred on zero).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from ..analysis.ablation import AblationInfo
from .colors import DIVERGING, LINE_COLORS, empty_figure, mosaic, png_uri, tile_centres

PATCH_BOX = "#E69F00"  # the outline of the patch a channel's strongest position sees (Okabe-Ito orange)
OFF_IMAGE = 200  # grey where a patch reaches past the image's edge
TITLE = dict(showarrow=False, font=dict(size=16))  # a panel's title, as make_subplots draws it


def _rgb(images: np.ndarray) -> np.ndarray:
    return np.repeat(images[..., None], 3, axis=-1) if images.ndim == 3 else images


def patches(images: np.ndarray, boxes: np.ndarray, side: int | None = None) -> np.ndarray:
    """Each image's box `(r0, r1, c0, c1)` cut out onto a `side`×`side` grey square (default: the largest box's
    side), enlarged toward the images' size by whole pixels: `(n, side·zoom, side·zoom, 3)` uint8."""
    images, boxes = _rgb(np.asarray(images)), np.asarray(boxes, int).reshape(-1, 4)
    n, h, w = images.shape[:3]
    if side is None:
        side = int(max([1, *(boxes[:, 1] - boxes[:, 0]), *(boxes[:, 3] - boxes[:, 2])]))
    out = np.full((n, side, side, 3), OFF_IMAGE, np.uint8)
    for i, (r0, r1, c0, c1) in enumerate(boxes):
        out[i, : r1 - r0, : c1 - c0] = images[i, r0:r1, c0:c1]
    zoom = max(1, min(h, w) // max(side, 1))
    return out.repeat(zoom, axis=1).repeat(zoom, axis=2)


def top_examples_figure(
    rows: Sequence[tuple[str, np.ndarray, np.ndarray, np.ndarray | None]], *, title: str = ""
) -> go.Figure:
    """Rows of thumbnails, one row per (label, uint8 images `(n, H, W[, 3])`, values `(n,)`, boxes `(n, 4)` or
    None), each tile with its value under it and, given boxes, the patch outlined."""
    rows = [r for r in rows if len(r[1])]
    if not rows:
        return empty_figure(title or "No examples to show")
    h, w = rows[0][1].shape[1:3]
    cols = max(len(r[1]) for r in rows)
    gap = max(4, h // 3)  # the band above a row holds its label, the one below each tile its value
    grids, shapes, notes = [], [], []
    for label, images, values, boxes in rows:
        tiles = _rgb(np.asarray(images))
        if tiles.shape[1:3] != (h, w):  # a row of patches: onto tiles of the first row's size
            padded = np.full((len(tiles), h, w, 3), 255, np.uint8)
            padded[:, : min(h, tiles.shape[1]), : min(w, tiles.shape[2])] = tiles[:, :h, :w]
            tiles = padded
        grid = mosaic(tiles, cols, gap=gap, fill=255, rgb=True)
        grid = np.concatenate([np.full((gap, grid.shape[1], 3), 255, np.uint8), grid])  # room for the row's label
        top = sum(g.shape[0] for g in grids)
        x, y = tile_centres(len(tiles), cols, h, w, gap)
        notes.append(dict(x=-0.5, y=top + gap / 2, text=f"<b>{label}</b>", xanchor="left", font=dict(size=11)))
        for j, v in enumerate(values):
            notes.append(dict(x=x[j], y=top + gap + y[j] + h / 2 + gap / 2 - 0.5, text=f"{v:.3g}", font=dict(size=9)))
        for j, box in enumerate([] if boxes is None else boxes):
            r0, r1, c0, c1 = box
            x0, y0 = x[j] - (w - 1) / 2, top + gap + y[j] - (h - 1) / 2
            shapes.append(
                dict(
                    type="rect",
                    x0=x0 + c0 - 0.5,
                    x1=x0 + c1 - 0.5,
                    y0=y0 + r0 - 0.5,
                    y1=y0 + r1 - 0.5,
                    line=dict(color=PATCH_BOX, width=2),
                )
            )
        grids.append(grid)
    image = np.concatenate(grids)
    fig = go.Figure(go.Image(source=png_uri(image), x0=0, y0=0, dx=1, dy=1, hoverinfo="skip"))
    fig.update_layout(annotations=[dict(showarrow=False, **n) for n in notes], shapes=shapes)  # at once: add_annotation
    fig.update_xaxes(visible=False, range=[-0.5, image.shape[1] - 0.5])
    fig.update_yaxes(visible=False, range=[image.shape[0] - 0.5, -0.5], scaleanchor="x")
    height = int(min(900, 20 + 830 / image.shape[1] * image.shape[0]))  # for a plot about 850 pixels wide
    fig.update_layout(title=dict(text=title), height=height, margin=dict(l=10, r=10, t=40 if title else 10, b=10))
    return fig


def density_figure(values: np.ndarray, zero_share: float, *, dead: bool = False, title: str = "") -> go.Figure:
    """The histogram of one unit's values over the evaluation subset, its share of zeros in the title."""
    v = np.asarray(values, float)
    if v.size == 0:
        return empty_figure("No values to show")
    counts, edges = np.histogram(v, bins=40)
    say = "dead: zero for every sample" if dead else f"zero for {zero_share:.0%} of the samples"
    fig = go.Figure(
        go.Bar(
            x=(edges[:-1] + edges[1:]) / 2,
            y=counts,
            width=np.diff(edges),
            marker_color=LINE_COLORS[0],
            hovertemplate="%{x:.3g}: %{y} samples<extra></extra>",
        )
    )
    fig.update_layout(
        title=dict(text=f"{title} ({say})" if title else say),
        height=260,
        bargap=0.05,
        margin=dict(l=10, r=10, t=50, b=40),
        xaxis=dict(title=dict(text="output")),
        yaxis=dict(title=dict(text="samples")),
    )
    return fig


def ablation_figure(info: AblationInfo, class_names: Sequence[str]) -> go.Figure:
    """Each class's accuracy intact and with the units off (bars), and the change in the confusion matrix.

    Two panels on axes of their own, the figure built in one go (make_subplots and add_trace cost more than the
    rest of the page's figures together)."""
    k = len(info.per_class)
    if k == 0:
        return empty_figure("No classes to compare")
    names = [str(n) for n in class_names[:k]]
    bars = [
        go.Bar(x=names, y=acc, name=label, marker_color=color, hovertemplate="%{x}: %{y:.0%}<extra>" + label)
        for label, acc, color in (
            ("intact", info.per_class, "#999999"),
            ("units off", info.ablated_per_class, "#D55E00"),
        )
    ]
    change = info.ablated_confusion - info.confusion
    limit = max(1, int(np.abs(change).max()))
    heat = go.Heatmap(
        z=change,
        x=names,
        y=names,
        text=change,
        texttemplate="%{text}",
        colorscale=DIVERGING,
        zmid=0,
        zmin=-limit,
        zmax=limit,
        colorbar=dict(title=dict(text="samples"), thickness=12, x=1.02),
        hovertemplate="true %{y}, predicted %{x}: %{z:+d}<extra></extra>",
        xaxis="x2",
        yaxis="y2",
    )
    titles = (("Accuracy per true class", 0.25), ("Change in the confusion matrix (off − intact)", 0.81))
    layout = dict(
        xaxis=dict(domain=[0, 0.5], anchor="y", type="category"),  # every class named, even "0" to "9"
        yaxis=dict(anchor="x", title=dict(text="accuracy"), tickformat=".0%", range=[0, 1.05]),
        xaxis2=dict(domain=[0.62, 1], anchor="y2", title=dict(text="predicted"), type="category"),
        yaxis2=dict(anchor="x2", title=dict(text="true"), type="category", autorange="reversed"),
        annotations=[
            dict(text=t, x=x, y=1, xref="paper", yref="paper", xanchor="center", yanchor="bottom", **TITLE)
            for t, x in titles
        ],
        height=380,
        barmode="group",
        legend=dict(orientation="h", y=-0.2),
        margin=dict(l=10, r=10, t=50, b=40),
    )
    return go.Figure([*bars, heat], layout)


def ranking_figure(costs: np.ndarray, *, per_unit: str = "unit", top: int = 40) -> go.Figure:
    """The accuracy each unit costs when it alone is switched off, most costly first (the first `top`)."""
    costs = np.asarray(costs, float)
    if costs.size == 0:
        return empty_figure(f"No {per_unit}s to rank")
    order = np.argsort(-costs, kind="stable")[:top]
    fig = go.Figure(
        go.Bar(
            x=[f"{per_unit} {u}" for u in order],
            y=100 * costs[order],
            marker_color=["#D55E00" if c > 0 else "#56B4E9" for c in costs[order]],
            hovertemplate="%{x}: %{y:.2f} points<extra></extra>",
        )
    )
    shown = f"the {len(order)} most costly of {costs.size}" if costs.size > len(order) else f"all {costs.size}"
    fig.update_layout(
        title=dict(text=f"Accuracy lost when one {per_unit} alone is switched off ({shown})"),
        height=320,
        margin=dict(l=10, r=10, t=50, b=60),
        xaxis=dict(type="category", tickangle=-45, tickfont=dict(size=9)),
        yaxis=dict(title=dict(text="points of accuracy lost")),
    )
    return fig
