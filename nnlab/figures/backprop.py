"""Figures of the backward walk-through: the loss and the step's effect, each point's gradient with its gates, each
weight's gradient (a dense layer's as the outer product it is, a convolution's per filter) and the optimizer's step.

Stage: `nnlab.analysis.backprop` records → plotly figures. Gradients are signed: diverging scale centred on zero.
Vectors and small matrices are heatmaps (hover names each entry); feature maps and large matrices go as PNG.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..analysis.backprop import Backprop, ParamGrad, PointGrad
from ..analysis.layers import PointOutput
from .colors import DIVERGING, class_color, diverging_rgb, empty_figure, grid_columns, mosaic, png_uri
from .layers import dense_figure, feature_maps_figure, tokens_figure

STOPPED = "#111111"  # the × on a unit whose gate stopped the gradient
BIG = 4096  # a matrix with more entries than this goes to the browser as a PNG


def _as_output(p: PointGrad, values: np.ndarray, name: str) -> PointOutput:
    """A gradient (or gate) as the walk-through's `PointOutput`, so its figures draw it."""
    return PointOutput(name, p.role, p.layer, values, True, None, p.layout)


def loss_figure(record: Backprop, class_names: Sequence[str], *, height: int = 300) -> go.Figure:
    """The class probabilities before and after the optimizer's one-sample step, the target's bar outlined."""
    names = list(class_names) or [str(i) for i in range(len(record.probs))]
    fig = go.Figure()
    for probs, what, opacity in ((record.probs, "before the step", 0.45), (record.probs_after, "after it", 1.0)):
        fig.add_bar(
            x=names,
            y=probs,
            name=what,
            opacity=opacity,
            marker={
                "color": [class_color(i) for i in range(len(names))],
                "line": {"color": ["#111" if i == record.target else "rgba(0,0,0,0)" for i in range(len(names))]},
            },
            hovertemplate="%{x}: %{y:.1%} " + what + "<extra></extra>",
        )
    fig.update_layout(
        barmode="group",
        height=height,
        title=f"Loss {record.loss:.4f} → {record.loss_after:.4f} after one step on this sample",
        yaxis={"title": "probability", "range": [0, 1], "tickformat": ".0%"},
        xaxis={"title": f"class (target: {names[record.target]})", "type": "category"},
        margin={"l": 60, "r": 10, "t": 50, "b": 50},
        legend={"orientation": "h", "y": 1.02, "x": 1, "xanchor": "right", "yanchor": "bottom"},
    )
    return fig


def vector_gradients_figure(points: Sequence[PointGrad], *, height: int = 420) -> go.Figure:
    """Vector points' gradients as strips from the output down (backward order), a × where a gate stopped it."""
    points = [p for p in points if p.layout in ("vector", "code")][::-1]
    if not points:
        return empty_figure("No dense layer to show")
    fig = dense_figure([_as_output(p, p.grad, p.name) for p in points], height=height)
    for i, p in enumerate(points):
        if p.gate is None or not len(p.stopped):
            continue
        ax = "" if i == 0 else str(i + 1)
        fig.add_scatter(
            x=np.zeros(len(p.stopped)),
            y=p.stopped,
            xaxis=f"x{ax}",
            yaxis=f"y{ax}",
            mode="markers",
            marker={"symbol": "x-thin", "size": 10, "line": {"width": 2, "color": STOPPED}},
            showlegend=False,
            hovertemplate=f"{p.name} unit %{{y}}: the gate stopped the gradient here<extra></extra>",
        )
    fig.update_layout(meta={"order": [p.name for p in points]})
    return fig


def map_gradients_figure(points: Sequence[PointGrad], layer: int, *, height: int | None = None) -> go.Figure:
    """One conv layer's gradients, from its last point back to its raw output, with the activation's gate."""
    ours = [p for p in points if p.layout == "map" and p.layer == layer][::-1]
    if not ours:
        return empty_figure("No feature maps to show")
    panels = []
    for p in ours:
        panels.append(_as_output(p, p.grad, f"∂loss/∂{p.name}"))
        if p.gate is not None:
            gate = PointOutput(f"gate of {p.name}", "gate", p.layer, p.gate, False, None, "map")
            panels.append(gate)
    return feature_maps_figure(panels, height=height)


def tokens_gradients_figure(points: Sequence[PointGrad], *, height: int = 420) -> go.Figure:
    """A transformer's token gradients (tokens × width), from the last block back to the patch embeddings."""
    ours = [_as_output(p, p.grad, f"∂loss/∂{p.name}") for p in points if p.layout == "tokens"][::-1]
    return tokens_figure(ours, height=height) if ours else empty_figure("No tokens to show")


def _matrix(fig: go.Figure, m: np.ndarray, row: int, col: int, name: str, *, colorbar: bool = False) -> None:
    """A signed matrix (out × in) on the figure: a heatmap when small, a PNG when large."""
    lim = float(np.abs(m).max()) or 1.0
    if m.size <= BIG:
        fig.add_heatmap(
            z=m,
            colorscale=DIVERGING,
            zmid=0,
            zmin=-lim,
            zmax=lim,
            showscale=colorbar,
            colorbar={"thickness": 10, "len": 0.7},
            hovertemplate=f"{name}[%{{y}}, %{{x}}] = %{{z:.3g}}<extra></extra>",
            row=row,
            col=col,
        )
    else:
        fig.add_image(source=png_uri(diverging_rgb(m, lim)), hoverinfo="skip", row=row, col=col)


def outer_product_figure(param: ParamGrad, *, height: int = 420) -> go.Figure:
    """A dense layer's weight gradient as the outer product it is: the gradient at its output (a column) times its
    input (a row) gives the matrix, one entry per weight (unit × input)."""
    if not param.is_dense:
        return empty_figure(f"{param.name} is not a dense layer's weight")
    fig = make_subplots(
        2,
        2,
        column_widths=[0.12, 0.88],
        row_heights=[0.14, 0.86],
        horizontal_spacing=0.03,
        vertical_spacing=0.04,
        subplot_titles=("", f"input of {param.module} (a row) × the gradient at its output (a column)", "", ""),
    )
    _matrix(fig, param.incoming[None], 1, 2, "input")
    _matrix(fig, param.outgoing[:, None], 2, 1, f"∂loss/∂{param.module}")
    _matrix(fig, param.grad, 2, 2, param.name, colorbar=True)
    for row, col in ((1, 2), (2, 1), (2, 2)):
        fig.update_xaxes(showticklabels=row == 2 and col == 2, title=None, row=row, col=col)
        fig.update_yaxes(autorange="reversed", showticklabels=col == 1, row=row, col=col)
    fig.update_xaxes(title=f"input → ∂loss/∂{param.name}", row=2, col=2)
    fig.update_xaxes(title=f"∂loss/∂{param.module}", showticklabels=False, row=2, col=1)
    fig.update_yaxes(title="unit", row=2, col=1)
    fig.update_layout(height=height, margin={"l": 50, "r": 10, "t": 40, "b": 50}, meta={"weight": param.name})
    return fig


def filters_figure(param: ParamGrad, *, height: int = 320) -> go.Figure:
    """A convolution's weight gradient per filter: one row of tiles (its input channels) per output channel."""
    if not param.is_filters:
        return empty_figure(f"{param.name} is not a convolution's filters")
    c_out, c_in, kh, kw = param.grad.shape
    lim = float(np.abs(param.grad).max()) or 1.0
    tiles = diverging_rgb(param.grad.reshape(c_out * c_in, kh, kw), lim)
    cols = c_in if c_in > 1 else grid_columns(c_out, kh, kw, aspect=3)
    fig = go.Figure(go.Image(source=png_uri(mosaic(tiles, cols, fill=200, rgb=True)), hoverinfo="skip"))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.update_layout(
        height=height,
        title=f"∂loss/∂{param.name}: {c_out} filters of {c_in}×{kh}×{kw}",
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        meta={"filters": c_out},
    )
    return fig


def step_figure(param: ParamGrad, optimizer: str, *, height: int = 300) -> go.Figure:
    """For one parameter, what the optimizer reads and what it does, entry by entry (flattened): the gradient, its
    state before and after (momentum, or Adam's two moments), and the step it takes."""
    parts = [("gradient", param.grad)]
    parts += [(f"{key} before", v) for key, v in param.state.items()]
    parts += [(f"{key} after", v) for key, v in param.new_state.items()]
    parts.append(("step", param.step))
    fig = make_subplots(1, len(parts), subplot_titles=[p[0] for p in parts], horizontal_spacing=0.02)
    for i, (name, v) in enumerate(parts, 1):
        m = v.reshape(v.shape[0], -1) if v.ndim > 1 else v[:, None]
        _matrix(fig, m, 1, i, name)
        fig.update_yaxes(autorange="reversed", showticklabels=i == 1, row=1, col=i)
        fig.update_xaxes(showticklabels=False, row=1, col=i)
    fig.update_layout(
        height=height, title=f"{param.name}: the {optimizer.upper()} step", margin={"l": 40, "r": 10, "t": 70, "b": 20}
    )
    return fig


def step_sizes_figure(record: Backprop, *, height: int = 300) -> go.Figure:
    """Each parameter's largest change in this step, in network order: which weights this sample moves most."""
    if not record.params:
        return empty_figure("The network has no parameters")
    names = [p.name for p in record.params]
    sizes = [float(np.abs(p.step).max()) if p.step.size else 0.0 for p in record.params]
    fig = go.Figure(
        go.Bar(
            x=names,
            y=sizes,
            marker={"color": "#0072B2"},
            hovertemplate="%{x}: largest change %{y:.3g}<extra></extra>",
        )
    )
    fig.update_layout(
        height=height,
        yaxis={"title": "largest |change| of an entry"},
        xaxis={"title": "parameter", "type": "category"},
        margin={"l": 60, "r": 10, "t": 20, "b": 80},
    )
    return fig
