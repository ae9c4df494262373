"""Figures comparing runs: learning curves, separability layer by layer, and the weights over training, a colour a run.

Pure builders for the compare page: `nnlab.analysis.compare.RunComparison` records in, `go.Figure` out. Every figure
gives run i the same colour (`run_color`), so one legend reads for all of them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..analysis.classes import SEPARATE
from ..analysis.compare import RunComparison
from .classes import log_ticks
from .colors import LINE_COLORS, empty_figure


def run_color(i: int) -> str:
    return LINE_COLORS[i % len(LINE_COLORS)]


def curves_figure(runs: Sequence[RunComparison], *, height: int = 380) -> go.Figure:
    """Left: training loss (solid) and test loss (dotted) per epoch; right: test accuracy per epoch."""
    if not runs or not any(len(r.epochs) for r in runs):
        return empty_figure("No completed epoch to compare yet")
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Loss (lower is better)", "Test accuracy"))
    for i, r in enumerate(runs):
        color, group = run_color(i), f"run{i}"
        for y, dash, what in ((r.train_loss, "solid", "training loss"), (r.test_loss, "dot", "test loss")):
            fig.add_trace(
                go.Scatter(
                    x=r.epochs,
                    y=y,
                    mode="lines+markers",
                    name=r.label,
                    legendgroup=group,
                    showlegend=False,
                    line=dict(color=color, dash=dash),
                    marker=dict(size=5),
                    hovertemplate=f"{r.label}<br>epoch %{{x}}: {what} %{{y:.3f}}<extra></extra>",
                ),
                row=1,
                col=1,
            )
        fig.add_trace(
            go.Scatter(
                x=r.epochs,
                y=r.test_acc,
                mode="lines+markers",
                name=r.label,
                legendgroup=group,
                line=dict(color=color),
                marker=dict(size=5),
                hovertemplate=f"{r.label}<br>epoch %{{x}}: %{{y:.1%}}<extra></extra>",
            ),
            row=1,
            col=2,
        )
    fig.update_xaxes(title=dict(text="epoch"))
    fig.update_yaxes(title=dict(text="cross-entropy (solid: training, dotted: test)"), rangemode="tozero", row=1, col=1)
    fig.update_yaxes(tickformat=".0%", row=1, col=2)
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=40, b=10), legend=dict(orientation="h", y=-0.22))
    return fig


def separability_figure(runs: Sequence[RunComparison], *, height: int = 360) -> go.Figure:
    """Each run's separability at its last snapshot, point by point, on a log scale.

    Runs with the same layers share the x axis point for point; otherwise each run's points are spread from the first
    layer (left) to the output (right), so depth lines up.
    """
    shown = [(i, r) for i, r in enumerate(runs) if r.separability is not None and len(r.separability.ratio)]
    if not shown:
        return empty_figure("No class statistics to compare")
    same = len({r.separability.names for _, r in shown}) == 1
    fig = go.Figure()
    for i, r in shown:
        names, ratio = list(r.separability.names), np.maximum(r.separability.ratio, 1e-4)
        x = names if same else np.linspace(0, 1, len(names)) if len(names) > 1 else [0.5]
        fig.add_trace(
            go.Scatter(
                x=x,
                y=ratio,
                mode="lines+markers",
                name=r.label,
                line=dict(color=run_color(i)),
                text=names,
                hovertemplate=f"{r.label}<br>%{{text}}: %{{y:.3f}}<extra></extra>",
            )
        )
    fig.add_hline(y=SEPARATE, line=dict(dash="dot", color="#64748b"), annotation_text="between = within")
    fig.update_xaxes(
        title=dict(text="point in the network" if same else "depth in the network (first layer → output)"),
        type="category" if same else "linear",
        showticklabels=same,
    )
    every = np.concatenate([np.maximum(r.separability.ratio, 1e-4) for _, r in shown])
    fig.update_yaxes(title=dict(text="between / within spread"), type="log", **log_ticks(every))
    fig.update_layout(
        title=dict(text="How far apart the classes are, layer by layer (last snapshot)"),
        height=height,
        margin=dict(l=10, r=10, t=50, b=10),
        legend=dict(orientation="h", y=-0.25),
    )
    return fig


def weights_figure(runs: Sequence[RunComparison], *, height: int = 360) -> go.Figure:
    """Left: the size of all weights together over training; right: the share of units that never fire."""
    if not runs or not any(len(r.snapshot_epochs) for r in runs):
        return empty_figure("No snapshots to compare")
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Size of all weights (norm)", "Units that never fire"))
    for i, r in enumerate(runs):
        color, group = run_color(i), f"run{i}"
        fig.add_trace(
            go.Scatter(
                x=r.snapshot_epochs,
                y=r.weight_norm,
                mode="lines",
                name=r.label,
                legendgroup=group,
                line=dict(color=color),
                hovertemplate=f"{r.label}<br>epoch %{{x:.2f}}: %{{y:.3g}}<extra></extra>",
            ),
            row=1,
            col=1,
        )
        if np.isfinite(r.dead_share).any():
            fig.add_trace(
                go.Scatter(
                    x=r.snapshot_epochs,
                    y=r.dead_share,
                    mode="lines",
                    name=r.label,
                    legendgroup=group,
                    showlegend=False,
                    line=dict(color=color),
                    hovertemplate=f"{r.label}<br>epoch %{{x:.2f}}: %{{y:.1%}}<extra></extra>",
                ),
                row=1,
                col=2,
            )
    fig.update_xaxes(title=dict(text="epoch"))
    fig.update_yaxes(rangemode="tozero", row=1, col=1)
    fig.update_yaxes(tickformat=".0%", rangemode="tozero", row=1, col=2)
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=40, b=10), legend=dict(orientation="h", y=-0.22))
    return fig
