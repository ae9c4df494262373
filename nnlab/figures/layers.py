"""Figures of the layer walk-through: the input, each layer's outputs, the class probabilities.

Stage: `nnlab.analysis.layers` records → plotly figures. Raw (signed) outputs on a diverging
scale centred on zero, outputs of ReLU/sigmoid on a sequential scale. Images (inputs, conv
feature maps) go to the browser as PNG; dense vectors are small heatmaps drawn as vertical strips.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from ..analysis.layers import PointOutput, SampleWalk
from .colors import (
    CLASS_COLORS,
    DIVERGING,
    DIVERGING_LUT,
    SEQUENTIAL,
    SEQUENTIAL_LUT,
    empty_figure,
    grid_columns,
    mosaic,
    png_uri,
    tile_centres,
)

RIGHT, WRONG, OTHER = "#15803d", "#b91c1c", "#94a3b8"  # prediction bar: correct, wrong, other classes
OWN = "#3b6fb6"  # prediction bar of an input with no truth (your own drawing)
GAP = (150, 150, 150)  # colour of the gaps between feature maps: a grey on neither scale
LUTS = {DIVERGING: DIVERGING_LUT, SEQUENTIAL: SEQUENTIAL_LUT}


def value_range(values: np.ndarray, signed: bool) -> tuple[float, float]:
    """Colour range: symmetric around zero for signed data, [min, max] otherwise (never empty)."""
    v = np.asarray(values, np.float64)
    v = v[np.isfinite(v)]
    if signed:
        m = float(np.abs(v).max()) if v.size else 0.0
        return (-m, m) if m > 0 else (-1.0, 1.0)
    lo, hi = (float(v.min()), float(v.max())) if v.size else (0.0, 1.0)
    lo = min(lo, 0.0)
    return (lo, hi) if hi > lo else (lo, lo + 1.0)


def to_rgb(values: np.ndarray, lo: float, hi: float, scale: str) -> np.ndarray:
    """Map values to uint8 RGB `(..., 3)` through a colour scale (DIVERGING or SEQUENTIAL) over [lo, hi]."""
    t = np.clip((np.asarray(values, np.float32) - lo) / (hi - lo), 0, 1)
    return LUTS[scale][np.nan_to_num(t * 255, nan=0).round().astype(np.uint8)]


def _label(p: PointOutput, shape: str = "") -> str:
    """An axis title: the point's name and role, then its share of zeros after ReLU."""
    what = {"norm": "normalised"}.get(p.role, p.role)
    extra = f"<br>{p.off_fraction:.0%} zero" if p.off_fraction is not None else ""
    return f"<b>{p.name}</b> · {what}{shape}{extra}"


def _domains(n: int, gap: float) -> list[tuple[float, float]]:
    width = (1 - gap * (n - 1)) / n
    return [(i * (width + gap), i * (width + gap) + width) for i in range(n)]


# --- the input ---------------------------------------------------------------------------
def image_input_figure(image: np.ndarray, *, title: str = "Input") -> go.Figure:
    """The input image (uint8 `(H, W)` or `(H, W, 3)`) as a PNG."""
    h, w = image.shape[:2]
    return go.Figure(
        go.Image(source=png_uri(image), x0=0, y0=0, dx=1, dy=1, hoverinfo="skip"),
        dict(
            title=dict(text=title),
            height=300,
            margin=dict(l=10, r=10, t=40, b=10),
            xaxis=dict(visible=False, range=[-0.5, w - 0.5]),
            yaxis=dict(visible=False, range=[h - 0.5, -0.5], scaleanchor="x"),
            shapes=[  # a frame: white pixels at the edge would vanish into the page
                dict(type="rect", x0=-0.5, y0=-0.5, x1=w - 0.5, y1=h - 0.5, line=dict(color="#94a3b8", width=1))
            ],
        ),
    )


def plane_input_figure(
    x: np.ndarray,
    y: np.ndarray,
    sample: np.ndarray,
    class_names: list[str],
    *,
    title: str = "Input: one sample of the plane",
    axes: Sequence[str] = ("x₁", "x₂"),
) -> go.Figure:
    """For 2-D data: the test samples by class, and the chosen sample as a star."""
    traces = [
        go.Scattergl(
            x=x[y == c, 0],
            y=x[y == c, 1],
            mode="markers",
            name=name,
            opacity=0.35,
            marker=dict(size=5, color=CLASS_COLORS[c % len(CLASS_COLORS)]),
            hoverinfo="skip",
        )
        for c, name in enumerate(class_names)
    ]
    traces.append(
        go.Scatter(
            x=[sample[0]],
            y=[sample[1]],
            mode="markers",
            name="this sample",
            marker=dict(symbol="star", size=18, color="black", line=dict(color="white", width=1.5)),
            hovertemplate=f"{axes[0]} %{{x:.2f}}, {axes[1]} %{{y:.2f}}<extra></extra>",
        )
    )
    return go.Figure(
        traces,
        dict(
            title=dict(text=title),
            height=320,
            margin=dict(l=10, r=10, t=40, b=10),
            xaxis=dict(title=dict(text=axes[0])),
            yaxis=dict(title=dict(text=axes[1]), scaleanchor="x"),
            legend=dict(orientation="h", y=-0.2),
        ),
    )


def vector_input_figure(values: np.ndarray, *, title: str = "Input features (normalised)") -> go.Figure:
    """For feature vectors: the normalised input as a vertical strip."""
    lo, hi = value_range(values, True)
    return go.Figure(
        go.Heatmap(
            z=np.asarray(values, np.float32)[:, None],
            colorscale=DIVERGING,
            zmin=lo,
            zmax=hi,
            zmid=0,
            hovertemplate="feature %{y}: %{z:.3f}<extra></extra>",
        ),
        dict(
            title=dict(text=title),
            height=320,
            margin=dict(l=10, r=10, t=40, b=10),
            xaxis=dict(visible=False),
            yaxis=dict(title=dict(text="feature"), autorange="reversed"),
        ),
    )


# --- the output --------------------------------------------------------------------------
def probability_figure(walk: SampleWalk, class_names: list[str], *, top: int | None = None) -> go.Figure:
    """The class probabilities as horizontal bars; the prediction green when right, red when wrong, blue when there
    is no truth to compare with (an input of your own: `walk.label` < 0). `top`: only the `top` most likely classes
    (and the truth), most likely first (1,000 ImageNet classes would not fit a page)."""
    shown = list(range(len(walk.probs)))
    if top is not None and top < len(shown):
        shown = [int(i) for i in np.argsort(-walk.probs, kind="stable")[:top]]
        shown += [walk.label] if walk.label >= 0 and walk.label not in shown else []
    k = len(shown)
    names = [class_names[i] if i < len(class_names) else str(i) for i in shown]
    colours = [OTHER] * k
    truth = walk.label >= 0
    colours[shown.index(walk.pred)] = (RIGHT if walk.correct else WRONG) if truth else OWN
    text = [f"{walk.probs[i]:.0%}" + (" ← truth" if i == walk.label else "") for i in shown]
    verdict = ("right" if walk.correct else "wrong") if truth else "no truth to compare with"
    title = f"Class probabilities: predicted {class_names[walk.pred] if walk.pred < len(class_names) else walk.pred}"
    bars = go.Bar(
        x=walk.probs[shown],
        y=names,
        orientation="h",
        marker=dict(color=colours),
        text=text,
        textposition="outside",
        cliponaxis=False,
        hovertemplate="%{y}: %{x:.1%}<extra></extra>",
    )
    return go.Figure(
        bars,
        dict(
            title=dict(
                text=f"{title} ({verdict})"
                if k == len(walk.probs)
                else f"The {k} most likely of {len(walk.probs):,} classes"
            ),
            height=max(220, 28 * k + 90),
            margin=dict(l=10, r=60, t=40, b=40),
            xaxis=dict(title=dict(text="probability"), range=[0, 1.15], tickformat=".0%"),
            yaxis=dict(autorange="reversed", type="category"),
        ),
    )


# --- inside the network ------------------------------------------------------------------
def dense_figure(points: list[PointOutput], *, class_names: list[str] | None = None, height: int = 460) -> go.Figure:
    """Dense points as vertical strips side by side in network order, unit 0 at the top.

    Raw outputs on a diverging scale centred on zero; ReLU/sigmoid outputs on a sequential scale.
    """
    points = [p for p in points if not p.is_map]
    if not points:
        return empty_figure("No dense layer to show")
    n = len(points)
    doms = _domains(n, gap=0.55 / n)
    data, layout = [], {}
    for i, (p, (a, b)) in enumerate(zip(points, doms, strict=True)):
        ax = "" if i == 0 else str(i + 1)
        lo, hi = value_range(p.values, p.signed)
        scale = DIVERGING if p.signed else SEQUENTIAL
        data.append(
            go.Heatmap(
                z=p.values[:, None],
                x=[0],
                y=np.arange(len(p.values)),
                xaxis=f"x{ax}",
                yaxis=f"y{ax}",
                colorscale=scale,
                zmin=lo,
                zmax=hi,
                **({"zmid": 0} if p.signed else {}),
                colorbar=dict(x=b + 0.005, thickness=8, len=0.85, xanchor="left", tickfont=dict(size=9)),
                hovertemplate=f"{p.name} unit %{{y}}: %{{z:.3f}}<extra></extra>",
            )
        )
        layout[f"xaxis{ax}"] = dict(
            domain=[a, b],
            showticklabels=False,
            ticks="",
            anchor=f"y{ax}",
            title=dict(text=_label(p), font=dict(size=12)),
        )
        layout[f"yaxis{ax}"] = dict(
            anchor=f"x{ax}", autorange="reversed", tickfont=dict(size=9), title=dict(text="unit" if i == 0 else "")
        )
        if p.role == "logits" and class_names and len(class_names) == len(p.values):  # name the output units
            layout[f"yaxis{ax}"].update(tickmode="array", tickvals=list(range(len(p.values))), ticktext=class_names)
    return go.Figure(data, dict(layout, height=height, margin=dict(l=50, r=30, t=20, b=90)))


def feature_maps_figure(points: list[PointOutput], *, height: int | None = None) -> go.Figure:
    """Conv points of one layer as grids of feature maps (one tile per channel), side by side, as PNG.

    Each panel has its own colour range shared by all its channels; hovering a tile names the channel.
    The height follows the panels' shape unless given.
    """
    points = [p for p in points if p.is_map]
    if not points:
        return empty_figure("No feature maps to show")
    n = len(points)
    doms = _domains(n, gap=0.12)
    data, layout = [], {}
    for i, (p, (a, b)) in enumerate(zip(points, doms, strict=True)):
        ax = "" if i == 0 else str(i + 1)
        c, h, w = p.values.shape
        cols = grid_columns(c, h, w)  # 32 channels: 8×4, every row full
        lo, hi = value_range(p.values, p.signed)
        scale = DIVERGING if p.signed else SEQUENTIAL
        tiles = mosaic(to_rgb(p.values, lo, hi, scale), cols, fill=GAP, rgb=True)  # (rows*(h+1)-1, cols*(w+1)-1, 3)
        data.append(
            go.Image(
                source=png_uri(tiles),
                x0=0,
                y0=0,
                dx=1,
                dy=1,
                xaxis=f"x{ax}",
                yaxis=f"y{ax}",
                hoverinfo="skip",
            )
        )
        x, y = tile_centres(c, cols, h, w)
        zero = (p.values <= 0).reshape(c, -1).mean(1)
        peak = p.values.reshape(c, -1).max(1)
        data.append(
            go.Scatter(  # one transparent point per tile: hovering names the channel; it also carries the colour bar
                x=x,
                y=y,
                mode="markers",
                xaxis=f"x{ax}",
                yaxis=f"y{ax}",
                showlegend=False,
                marker=dict(
                    size=max(6, 160 // cols),
                    opacity=0,
                    symbol="square",
                    color=peak,
                    colorscale=scale,
                    cmin=lo,
                    cmax=hi,
                    showscale=True,
                    colorbar=dict(x=b + 0.005, xanchor="left", thickness=10, len=0.8, tickfont=dict(size=9)),
                ),
                customdata=np.stack([np.arange(c), peak, zero], 1),
                hovertemplate="channel %{customdata[0]:.0f}: max %{customdata[1]:.2f}, "
                "%{customdata[2]:.0%} ≤ 0<extra>" + p.name + "</extra>",
            )
        )
        hh, ww = tiles.shape[:2]
        layout[f"xaxis{ax}"] = dict(
            domain=[a, b],
            anchor=f"y{ax}",
            range=[-0.5, ww - 0.5],
            showticklabels=False,
            ticks="",
            showgrid=False,
            zeroline=False,
            title=dict(text=_label(p, f" · {c}×{h}×{w}"), font=dict(size=12)),
        )
        layout[f"yaxis{ax}"] = dict(
            anchor=f"x{ax}",
            range=[hh - 0.5, -0.5],
            showticklabels=False,
            ticks="",
            showgrid=False,
            zeroline=False,
            scaleanchor=f"x{ax}",
            constrain="domain",
        )
    height = height or int(90 + min(300, 750 / n) * hh / ww)  # square-ish panels across a wide page
    return go.Figure(data, dict(layout, height=height, margin=dict(l=10, r=40, t=10, b=80), plot_bgcolor="white"))


def tokens_figure(points: list[PointOutput], *, height: int = 420) -> go.Figure:
    """Tokens points side by side in network order, each a tokens × width heatmap (token 0, the class token, on top),
    all on one diverging scale centred on zero (so the residual stream's growth through the blocks shows)."""
    points = [p for p in points if p.layout == "tokens"]
    if not points:
        return empty_figure("No tokens to show")
    doms = _domains(len(points), gap=0.3 / len(points))
    data, layout = [], {}
    lo, hi = value_range(np.concatenate([p.values.ravel() for p in points]), True)
    for i, (p, (a, b)) in enumerate(zip(points, doms, strict=True)):
        ax = "" if i == 0 else str(i + 1)
        labels = ["cls"] + [f"p{t}" for t in range(1, len(p.values))]
        data.append(
            go.Heatmap(
                z=p.values,
                y=labels,
                xaxis=f"x{ax}",
                yaxis=f"y{ax}",
                colorscale=DIVERGING,
                zmin=lo,
                zmax=hi,
                zmid=0,
                showscale=i == len(points) - 1,
                colorbar=dict(thickness=8, len=0.85, tickfont=dict(size=9), title=dict(text="value")),
                hovertemplate=f"{p.name} token %{{y}}, dimension %{{x}}: %{{z:.3f}}<extra></extra>",
            )
        )
        layout[f"xaxis{ax}"] = dict(
            domain=[a, b], anchor=f"y{ax}", tickfont=dict(size=9), title=dict(text=_label(p), font=dict(size=12))
        )
        layout[f"yaxis{ax}"] = dict(
            anchor=f"x{ax}",
            autorange="reversed",
            type="category",
            tickfont=dict(size=9),
            showticklabels=i == 0,
            title=dict(text="token" if i == 0 else ""),
        )
    return go.Figure(data, dict(layout, height=height, margin=dict(l=50, r=30, t=20, b=70)))
