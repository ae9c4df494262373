"""Figures of a network you can hold: nodes and edges in the TensorFlow Playground manner, and its boundary.

Stage: `nnlab.analysis.hand_network.HandNet` → plotly figures. Each node shows its own little map over the plane (a
PNG), ringed by the chosen sample's value there; each edge is a line whose width is the weight's size (or, showing the
backward pass, its gradient's) and whose colour is its sign: blue below zero, red above, as every signed view.
Every edge has a marker at its middle and every node one at its centre, carrying (parameter, entry) for a click.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from ..analysis.hand_network import HandNet, entry_words
from .boundary import region_uri
from .colors import DIVERGING_LUT, SEQUENTIAL_LUT, class_color, diverging_index, png_uri, sequential_index

NEGATIVE, POSITIVE = "rgb(33, 102, 172)", "rgb(178, 24, 43)"  # the diverging scale's ends: blue < 0 < red
SELECTED = "#f2b705"  # the edge or node chosen for the slider
GAP, NODE = 3.0, 0.8  # distance between node columns; a node's side


def positions(net: HandNet) -> list[np.ndarray]:
    """Per column, each node's y (unit 0 on top, columns centred on y = 0)."""
    return [(len(m) - 1) / 2 - np.arange(len(m), dtype=np.float64) for m in net.maps]


def _map_png(m: np.ndarray, signed: bool) -> str:
    flipped = m[::-1]  # row 0 lowest → the top of the picture is +y
    if signed:
        return png_uri(DIVERGING_LUT[diverging_index(flipped, float(np.abs(m).max()) or 1.0)])
    return png_uri(SEQUENTIAL_LUT[sequential_index(flipped, float(m.max()) or 1.0)])


def network_figure(
    net: HandNet,
    *,
    show: str = "weights",
    selected: tuple[str, tuple[int, ...]] | None = None,
    class_names: Sequence[str] = (),
    height: int = 520,
) -> go.Figure:
    """The network as nodes and edges. `show` "weights" draws each edge by its weight; "gradients" by the chosen
    sample's gradient of it (the backward pass), with each node's ring by the gradient at that node."""
    ys = positions(net)
    per_layer = net.weight_grads if show == "gradients" else net.weights
    top = max(float(np.abs(w).max()) for w in per_layer) or 1.0
    traces: list[dict] = []  # plain dicts, and a figure built without validation: ~200 ms less per redraw
    groups: dict[tuple[bool, int], tuple[list, list]] = {}
    mid_x, mid_y, mid_data, mid_text = [], [], [], []
    for layer, (w, grad) in enumerate(zip(net.weights, net.weight_grads, strict=True)):
        drawn = per_layer[layer]
        name = f"{net.layers[layer]}.weight"
        for i in range(w.shape[0]):
            for j in range(w.shape[1]):
                x0, x1, y0, y1 = layer * GAP, (layer + 1) * GAP, ys[layer][j], ys[layer + 1][i]
                width = int(round(6 * abs(drawn[i, j]) / top))
                xs, yv = groups.setdefault((drawn[i, j] >= 0, width), ([], []))
                xs += [x0 + NODE / 2, x1 - NODE / 2, None]
                yv += [y0, y1, None]
                mid_x.append((x0 + x1) / 2)
                mid_y.append(y0 + (y1 - y0) / 2)
                mid_data.append([name, i, j])
                words = entry_words(name, (i, j), net.columns, net.layers)
                mid_text.append(f"{words}<br>weight {w[i, j]:+.3f} · gradient {grad[i, j]:+.3g}")
    for (positive, width), (xs, yv) in sorted(groups.items(), key=lambda g: g[0][1]):
        traces.append(
            dict(
                type="scatter",
                x=xs,
                y=yv,
                mode="lines",
                hoverinfo="skip",
                showlegend=False,
                line={"color": POSITIVE if positive else NEGATIVE, "width": 0.6 + width},
                opacity=0.35 + 0.1 * width,
            )
        )
    if selected is not None and selected[0].endswith("weight"):
        layer = net.layers.index(selected[0].rsplit(".", 1)[0])
        i, j = selected[1]
        traces.append(
            dict(
                type="scatter",
                x=[layer * GAP + NODE / 2, (layer + 1) * GAP - NODE / 2],
                y=[ys[layer][j], ys[layer + 1][i]],
                mode="lines",
                line={"color": SELECTED, "width": 9},
                opacity=0.6,
                hoverinfo="skip",
                showlegend=False,
            )
        )
    traces.append(
        dict(  # the edges' middles: hover says which weight it is, a click picks it
            type="scatter",
            x=mid_x,
            y=mid_y,
            mode="markers",
            marker={"size": 9, "color": "rgba(90,90,90,0.25)"},
            customdata=mid_data,
            text=mid_text,
            hovertemplate="%{text}<extra></extra>",
            showlegend=False,
            name="edges",
        )
    )
    images, node_x, node_y, node_data, node_text, ring = [], [], [], [], [], []
    for c, (column, m, signed) in enumerate(zip(net.columns, net.maps, net.signed, strict=True)):
        grads = np.abs(net.node_grads[c])
        for u in range(len(m)):
            images.append(
                dict(
                    source=_map_png(m[u], signed),
                    xref="x",
                    yref="y",
                    x=c * GAP,
                    y=ys[c][u],
                    sizex=NODE,
                    sizey=NODE,
                    xanchor="center",
                    yanchor="middle",
                    sizing="stretch",
                    layer="above",
                )
            )
            node_x.append(c * GAP)
            node_y.append(ys[c][u])
            bias = f"{net.layers[c - 1]}.bias" if c > 0 else ""
            node_data.append([bias, u, -1])
            label = class_names[u] if column == net.columns[-1] and u < len(class_names) else f"unit {u}"
            said = f"{column} {'x' + str(u) if c == 0 else label}: value {net.values[c][u]:+.3f}, "
            said += f"gradient {net.node_grads[c][u]:+.3g}"
            if c > 0:
                said += f"<br>bias {net.biases[c - 1][u]:+.3f}"
            node_text.append(said)
            top_grad = float(grads.max()) or 1.0
            ring.append(1 + 6 * grads[u] / top_grad if show == "gradients" else 2)
    colors = [
        SELECTED if selected is not None and d[0] == selected[0] and d[1] == selected[1][0] else "#333"
        for d in node_data
    ]
    traces.append(
        dict(
            type="scatter",
            x=node_x,
            y=node_y,
            mode="markers",
            name="nodes",
            showlegend=False,
            marker={"symbol": "square", "size": 52, "color": "rgba(0,0,0,0)", "line": {"width": ring, "color": colors}},
            customdata=node_data,
            text=node_text,
            hovertemplate="%{text}<extra></extra>",
        )
    )
    notes = [
        dict(x=c * GAP, y=float(ys[c][0]) + 0.75, text=f"<b>{column}</b>", showarrow=False)
        for c, column in enumerate(net.columns)
    ]
    span = max(len(y) for y in ys) / 2 + 0.5
    layout = dict(
        images=images,
        annotations=notes,
        height=height,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        plot_bgcolor="white",
        clickmode="event+select",
        dragmode=False,
        xaxis={"visible": False, "range": [-NODE, (len(net.columns) - 1) * GAP + NODE]},
        yaxis={"visible": False, "range": [-span, span + 0.6], "scaleanchor": "x"},
        meta={"show": show, "edges": len(mid_x), "nodes": len(node_x)},
    )
    return go.Figure(data=traces, layout=layout, _validate=False)


def hand_boundary_figure(
    net: HandNet,
    x_test: np.ndarray,
    y_test: np.ndarray,
    class_names: Sequence[str],
    *,
    point: np.ndarray | None = None,
    height: int = 420,
) -> go.Figure:
    """The decision boundary with the edits, the test points on it, and the chosen sample as a star."""
    xs, ys = net.xs, net.ys
    dx, dy = float(xs[1] - xs[0]), float(ys[1] - ys[0])
    traces = [
        dict(
            type="image", source=region_uri(net.probs), x0=float(xs[0]), dx=dx, y0=float(ys[0]), dy=dy, hoverinfo="skip"
        )
    ]
    for c, name in enumerate(class_names):
        xy = np.asarray(x_test)[np.asarray(y_test) == c]
        traces.append(
            dict(
                type="scatter",
                x=xy[:, 0],
                y=xy[:, 1],
                mode="markers",
                name=name,
                marker={"color": class_color(c), "size": 6, "line": {"color": "#222", "width": 1}},
            )
        )
    if point is not None:
        traces.append(
            dict(
                type="scatter",
                x=[point[0]],
                y=[point[1]],
                mode="markers",
                name="the sample",
                marker={"symbol": "star", "size": 18, "color": "#ffd400", "line": {"color": "#000", "width": 1.5}},
            )
        )
    layout = dict(
        height=height,
        title={"text": f"Test loss {net.loss:.3f} · accuracy {net.accuracy:.1%}"},
        margin={"l": 40, "r": 10, "t": 40, "b": 30},
        plot_bgcolor="white",
        legend={"orientation": "h", "y": -0.08},
        xaxis={"range": [float(xs[0]) - dx / 2, float(xs[-1]) + dx / 2], "showgrid": False, "zeroline": False},
        yaxis={
            "range": [float(ys[0]) - dy / 2, float(ys[-1]) + dy / 2],
            "showgrid": False,
            "zeroline": False,
            "autorange": False,
            "scaleanchor": "x",
        },
    )
    return go.Figure(data=traces, layout=layout, _validate=False)
