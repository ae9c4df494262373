"""Figures of the class averages: class × unit heatmaps, a pair of classes, separability, confusion.

Stage: `nnlab.analysis.classes` records → plotly figures. Signed means on a diverging scale
centred on zero, non-negative ones (after ReLU, probabilities) on a sequential scale.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from ..analysis.classes import (
    LEARNED,
    SEPARATE,
    ClassLearning,
    ClassMeans,
    PairDifference,
    Separability,
    SeparabilityHistory,
)
from .colors import DIVERGING, SEQUENTIAL, class_color, empty_figure
from .layers import value_range

CONFUSION_SCALE = "Blues"
HISTORY_SCALE = "Plasma"  # not Magma/Inferno: their first colour, #000004, is a Streamlit theme placeholder


def _scale(values: np.ndarray, signed: bool) -> dict:
    lo, hi = value_range(values, signed)
    return dict(colorscale=DIVERGING if signed else SEQUENTIAL, zmin=lo, zmax=hi, **({"zmid": 0} if signed else {}))


def _unit_axis(order: np.ndarray | None, n: int, what: str) -> tuple[np.ndarray, dict]:
    """Column positions and the x axis: units in their own order, or regrouped (then ticks name the units)."""
    units = np.arange(n) if order is None else np.asarray(order)
    title = what if order is None else f"{what} (grouped by the class that drives it most)"
    axis = dict(title=dict(text=title), showticklabels=order is None or n <= 40, tickfont=dict(size=9))
    if order is not None and n <= 40:
        axis.update(tickmode="array", tickvals=list(range(n)), ticktext=[str(u) for u in units])
    return units, axis


def class_heatmap(cm: ClassMeans, class_names: list[str], *, order: np.ndarray | None = None) -> go.Figure:
    """The mean output of each true class at one point: classes × units (conv points: × channels)."""
    k, n = cm.mean.shape
    if n == 0:
        return empty_figure(f"{cm.name} has no units")
    what = cm.unit_word
    units, xaxis = _unit_axis(order, n, what)
    z = cm.mean[:, units]
    heat = go.Heatmap(
        z=z,
        x=np.arange(n),
        y=list(class_names[:k]),
        customdata=np.broadcast_to(units, (k, n)),
        hovertemplate=f"class %{{y}}, {what} %{{customdata}}: mean %{{z:.3f}}<extra>{cm.name}</extra>",
        colorbar=dict(title=dict(text="mean"), thickness=12),
        **_scale(z, cm.signed),
    )
    return go.Figure(
        heat,
        dict(
            title=dict(text=f"Mean output of each class at {cm.name}"),
            height=max(260, 26 * k + 120),
            margin=dict(l=10, r=10, t=40, b=50),
            xaxis=xaxis,
            yaxis=dict(title=dict(text="true class"), autorange="reversed", type="category"),
        ),
    )


def pair_figure(
    pd: PairDifference, class_names: list[str], *, signed: bool, order: np.ndarray | None = None, what: str = "unit"
) -> go.Figure:
    """Two classes' mean outputs one above the other (shared scale), and their difference below."""
    n = len(pd.diff)
    if n == 0:
        return empty_figure(f"{pd.name} has no units")
    units, xaxis = _unit_axis(order, n, what)
    a, b = class_names[pd.a], class_names[pd.b]
    both = np.stack([pd.mean_a[units], pd.mean_b[units]])  # (2, U)
    diff = pd.diff[units][None]  # (1, U)
    custom = np.broadcast_to(units, (2, n))
    data = [
        go.Heatmap(
            z=both,
            x=np.arange(n),
            y=[a, b],
            customdata=custom,
            yaxis="y2",
            colorbar=dict(title=dict(text="mean"), y=0.78, len=0.5, thickness=12),
            hovertemplate=f"%{{y}}, {what} %{{customdata}}: %{{z:.3f}}<extra></extra>",
            **_scale(both, signed),
        ),
        go.Heatmap(
            z=diff,
            x=np.arange(n),
            y=[f"{a} − {b}"],
            customdata=custom[:1],
            colorbar=dict(title=dict(text="difference"), y=0.2, len=0.4, thickness=12),
            hovertemplate=f"{what} %{{customdata}}: {a} − {b} = %{{z:.3f}}<extra></extra>",
            **_scale(diff, True),
        ),
    ]
    return go.Figure(
        data,
        dict(
            title=dict(text=f"{a} and {b} at {pd.name}, and their difference"),
            height=300,
            margin=dict(l=10, r=10, t=40, b=50),
            xaxis=xaxis,
            yaxis=dict(domain=[0, 0.36], type="category"),
            yaxis2=dict(domain=[0.48, 1], type="category", autorange="reversed"),
        ),
    )


def log_ticks(values: np.ndarray) -> dict:
    """Tick marks 1, 2, 5 × 10^k across the data, written out (plotly abbreviates minor log ticks to digits)."""
    lo, hi = np.floor(np.log10(min(values.min(), 1.0))), np.ceil(np.log10(max(values.max(), 1.0)))
    ticks = [m * 10.0**e for e in range(int(lo), int(hi) + 1) for m in (1, 2, 5)]
    ticks = [t for t in ticks if values.min() / 2 <= t <= values.max() * 2 or t == 1]
    return dict(tickmode="array", tickvals=ticks, ticktext=[f"{t:g}" for t in ticks])


def separability_figure(profile: Separability, *, threshold: float = SEPARATE) -> go.Figure:
    """The separability of each point in network order, on a log scale, with the first separating point marked."""
    if len(profile.ratio) == 0:
        return empty_figure("Nothing recorded to compare")
    r = np.maximum(profile.ratio, 1e-4)
    first = profile.first_separating(threshold)
    colours = ["#2563eb" if i != first else "#b91c1c" for i in range(len(r))]
    line = go.Scatter(
        x=list(profile.names),
        y=r,
        mode="lines+markers",
        marker=dict(size=9, color=colours),
        line=dict(color="#2563eb"),
        hovertemplate="%{x}: %{y:.3f}<extra></extra>",
    )
    notes = [
        dict(
            xref="paper",
            x=1,
            y=np.log10(threshold),
            xanchor="right",
            yanchor="bottom",
            showarrow=False,
            text="between = within",
            font=dict(size=10, color="#64748b"),
        )
    ]
    if first is not None:
        notes.append(dict(x=first, y=np.log10(r[first]), text="classes apart", showarrow=True, arrowhead=2, ay=-30))
    rule = dict(
        type="line", xref="paper", x0=0, x1=1, y0=threshold, y1=threshold, line=dict(dash="dot", color="#64748b")
    )
    return go.Figure(
        line,
        dict(
            title=dict(text="How far apart the classes are, layer by layer"),
            height=330,
            margin=dict(l=10, r=10, t=40, b=50),
            shapes=[rule],
            annotations=notes,
            xaxis=dict(title=dict(text="point in the network"), type="category"),
            yaxis=dict(title=dict(text="between / within spread"), type="log", **log_ticks(r)),
        ),
    )


def _epoch_marker(epoch: float | None) -> list[dict]:
    """The cyan line at the snapshot shown, as a layout shape over the whole height ([] for none)."""
    if epoch is None:
        return []
    return [dict(type="line", yref="paper", y0=0, y1=1, x0=epoch, x1=epoch, line=dict(color="#22d3ee", width=2))]


def separability_history_figure(history: SeparabilityHistory, *, current_epoch: float | None = None) -> go.Figure:
    """The separability of every point (rows) at every snapshot (columns), colour on a log scale."""
    if history.ratio.size == 0:
        return empty_figure("No snapshots yet")
    z = np.log10(np.maximum(history.ratio, 1e-4))
    lo, hi = float(np.floor(z.min())), float(np.ceil(z.max()))
    hi = hi if hi > lo else lo + 1
    ticks = np.arange(lo, hi + 1)
    heat = go.Heatmap(
        z=z,
        x=history.epochs,
        y=list(history.names),
        colorscale=HISTORY_SCALE,
        zmin=lo,
        zmax=hi,
        customdata=history.ratio,
        hovertemplate="%{y} at epoch %{x:.2f}: %{customdata:.3f}<extra></extra>",
        colorbar=dict(title=dict(text="ratio"), tickvals=ticks, ticktext=[f"{10**t:g}" for t in ticks], thickness=12),
    )
    now = _epoch_marker(current_epoch)
    return go.Figure(
        heat,
        dict(
            title=dict(text="…and over training time"),
            height=330,
            shapes=now,
            margin=dict(l=10, r=10, t=40, b=50),
            xaxis=dict(title=dict(text="epoch")),
            yaxis=dict(title=dict(text="point"), autorange="reversed", type="category"),
        ),
    )


def confusion_figure(
    confusion: np.ndarray, class_names: list[str], *, selected: tuple[int, int] | None = None
) -> go.Figure:
    """The confusion matrix (rows true, columns predicted), coloured by share of the true class, counts as text.

    A transparent marker sits on each cell (x = predicted, y = true) so that a click selects the cell:
    plotly heatmaps themselves report no selection.
    """
    c = np.asarray(confusion, np.int64)
    k = c.shape[0]
    if k == 0:
        return empty_figure("No confusion matrix recorded")
    names = list(class_names[:k])
    share = c / np.maximum(c.sum(1, keepdims=True), 1)
    t, p = np.divmod(np.arange(k * k), k)
    hover = [f"{names[i]} predicted as {names[j]}: {c[i, j]} ({share[i, j]:.0%})" for i, j in zip(t, p, strict=True)]
    data = [
        go.Heatmap(
            z=share,
            x=np.arange(k),
            y=np.arange(k),
            text=c,
            texttemplate="%{text}",
            colorscale=CONFUSION_SCALE,
            zmin=0,
            zmax=1,
            colorbar=dict(title=dict(text="share of<br>the class"), tickformat=".0%", thickness=12),
            hoverinfo="skip",
        ),
        go.Scatter(
            x=p,
            y=t,
            mode="markers",
            showlegend=False,
            marker=dict(symbol="square", size=max(10, 360 // k), opacity=0),
            text=hover,
            hovertemplate="%{text}<extra>click to list them</extra>",
        ),
    ]
    shapes = []
    if selected is not None:
        i, j = selected
        shapes.append(
            dict(type="rect", x0=j - 0.5, x1=j + 0.5, y0=i - 0.5, y1=i + 0.5, line=dict(color="#f97316", width=3))
        )
    ticks = dict(tickmode="array", tickvals=list(range(k)), ticktext=names)
    return go.Figure(
        data,
        dict(
            title=dict(text="Confusion matrix (click a cell)"),
            height=max(320, 34 * k + 140),
            shapes=shapes,
            margin=dict(l=10, r=10, t=40, b=60),
            clickmode="event+select",
            hovermode="closest",
            xaxis=dict(title=dict(text="predicted class"), range=[-0.5, k - 0.5], constrain="domain", **ticks),
            yaxis=dict(title=dict(text="true class"), range=[k - 0.5, -0.5], scaleanchor="x", **ticks),
        ),
    )


def class_learning_figure(
    info: ClassLearning, class_names: list[str], *, current_epoch: float | None = None
) -> go.Figure:
    """Each class's accuracy against the epoch, one line per class; the snapshot shown marked."""
    if info.accuracy.size == 0:
        return empty_figure("No snapshots yet")
    traces = [
        go.Scatter(
            x=info.epochs,
            y=info.accuracy[c],
            mode="lines",
            name=str(name),
            line=dict(color=class_color(c), width=2),
            hovertemplate=f"{name} at epoch %{{x:.2f}}: %{{y:.0%}}<extra></extra>",
        )
        for c, name in enumerate(class_names)
    ]
    rules = [  # the layout is built in one go (add_hline, add_vline and update_layout cost ~9 ms on a live page)
        dict(
            type="line", xref="paper", x0=0, x1=1, y0=LEARNED, y1=LEARNED, line=dict(color="#888", dash="dot", width=1)
        )
    ]
    rules += _epoch_marker(current_epoch)
    layout = dict(
        title=dict(text="Each class's accuracy over training"),
        xaxis=dict(title=dict(text="epoch")),
        yaxis=dict(title=dict(text="share right"), range=[0, 1.02], tickformat=".0%"),
        height=320,
        margin=dict(l=50, r=10, t=40, b=40),
        legend=dict(title=dict(text="class")),
        shapes=rules,
    )
    return go.Figure(traces, layout)
