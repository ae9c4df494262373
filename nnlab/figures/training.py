"""Loss and metric curves of a training run, live or finished: accuracy, or an autoencoder's reconstruction error.

Stage: step and epoch metrics (a run's `steps()` and `epochs`, or a job's `LiveView` with its task's `Metric`)
→ go.Figure, for the Train page's live panel and the runs. Per-step values are noisy,
so they are drawn faint with a smoothed line on top; per-epoch test values are markers.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from ..tasks import ACCURACY, Metric

TRAIN_COLOR = "#4C78A8"
TEST_COLOR = "#F58518"


def bucket_mean(values: np.ndarray, max_points: int) -> tuple[np.ndarray, np.ndarray]:
    """`(positions, means)`: `values` averaged in equal buckets so at most `max_points` remain (NaN-aware)."""
    values = np.asarray(values, np.float64)
    n = len(values)
    if n <= max_points:
        return np.arange(n, dtype=np.float64), values
    edges = np.linspace(0, n, max_points + 1).astype(int)
    ok = np.isfinite(values)
    sums = np.add.reduceat(np.where(ok, values, 0.0), edges[:-1])
    counts = np.add.reduceat(ok.astype(np.int64), edges[:-1])
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    return (edges[:-1] + edges[1:] - 1) / 2, means


def smooth(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing moving average over `window` steps (shorter at the start), NaN-aware."""
    v = np.asarray(values, np.float64)
    if len(v) == 0 or window <= 1:
        return v
    ok = np.isfinite(v)
    csum = np.cumsum(np.where(ok, v, 0.0))
    cnt = np.cumsum(ok)
    lo = np.maximum(np.arange(len(v)) - window, -1)
    s = csum - np.where(lo >= 0, csum[np.maximum(lo, 0)], 0.0)
    c = cnt - np.where(lo >= 0, cnt[np.maximum(lo, 0)], 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(c > 0, s / np.maximum(c, 1), np.nan)


def small(text: str) -> str:
    """A panel title's second line: which way is better, smaller and grey."""
    return f"<span style='font-size:11px;color:#666'>({text})</span>"


def training_curves(
    loss: np.ndarray,
    acc: np.ndarray,
    epochs: Sequence[dict] = (),
    *,
    metric: Metric = ACCURACY,
    steps_per_epoch: int = 1,
    total_epochs: float | None = None,
    max_points: int = 400,
    height: int = 330,
) -> go.Figure:
    """Loss (left) and the task's metric (right: accuracy, or a reconstruction error) against epochs.

    Args:
        loss, acc: `(S,)` training loss and the task's metric (batch accuracy for a classifier) of every step so far.
        epochs: per-epoch metrics (train_loss, test_loss, test_acc, ...), as a run or a live job keeps them.
        metric: what `acc` holds (`nnlab.tasks.Metric`): its name, its epoch key (test_<key>), which way is better.
        steps_per_epoch: turns step numbers into epochs on the x axis.
        total_epochs: fix the x axis to the planned length (a live run fills it in as it goes).
    """
    spe = max(int(steps_per_epoch), 1)
    window = max(1, min(spe, len(loss) // 10 or 1))
    traces = []  # built as one figure at the end: this redraws twice a second while a run trains
    label = metric.label
    for axes, values, name in ((("x", "y"), loss, "loss"), (("x2", "y2"), acc, label)):
        values = np.asarray(values, np.float64)
        if len(values) == 0:
            continue
        pos, raw = bucket_mean(values, max_points)
        _, smoothed = bucket_mean(smooth(values, window), max_points)
        x = (pos + 1) / spe
        traces.append(
            go.Scatter(
                x=x,
                y=raw,
                mode="lines",
                name=f"training {name} (each step)",
                showlegend=False,
                line=dict(color=TRAIN_COLOR, width=1),
                opacity=0.3,
                hoverinfo="skip",
                xaxis=axes[0],
                yaxis=axes[1],
            )
        )
        traces.append(
            go.Scatter(
                x=x,
                y=smoothed,
                mode="lines",
                name="training (moving average)",
                line=dict(color=TRAIN_COLOR, width=2),
                legendgroup="train",
                showlegend=name == "loss",
                hovertemplate=f"epoch %{{x:.2f}}: training {name} %{{y:.3f}}<extra></extra>",
                xaxis=axes[0],
                yaxis=axes[1],
            )
        )
    for axes, key in ((("x", "y"), "test_loss"), (("x2", "y2"), f"test_{metric.key}")):
        pts = [(e["epoch"], e[key]) for e in epochs if e.get(key) is not None]
        if pts:
            ex, ey = zip(*pts, strict=True)
            traces.append(
                go.Scatter(
                    x=ex,
                    y=ey,
                    mode="lines+markers",
                    name="test (after each epoch)",
                    line=dict(color=TEST_COLOR, width=2),
                    marker=dict(size=7),
                    legendgroup="test",
                    showlegend=key == "test_loss",
                    xaxis=axes[0],
                    yaxis=axes[1],
                    hovertemplate="epoch %{x}: test %{y:.3f}<extra></extra>",
                )
            )
    xr = dict(range=[0, total_epochs]) if total_epochs else {}
    title = dict(
        font=dict(size=14), xanchor="center", yanchor="bottom", showarrow=False, xref="paper", yref="paper", y=1.02
    )
    y2 = dict(tickformat=".0%", range=[0, 1.02]) if metric.share else dict(rangemode="tozero")
    better = "higher is better" if metric.higher_is_better else "lower is better"
    layout = dict(
        height=height,
        margin=dict(l=10, r=10, t=56, b=10),
        uirevision="curves",
        legend=dict(orientation="h", y=-0.25, x=0),
        xaxis=dict(domain=[0, 0.45], title_text="epoch", anchor="y", **xr),
        yaxis=dict(title_text=metric.loss, rangemode="tozero", anchor="x"),
        xaxis2=dict(domain=[0.55, 1], title_text="epoch", anchor="y2", **xr),
        yaxis2=dict(title_text=label, anchor="x2", **y2),
        annotations=[
            dict(text=f"Loss<br>{small('lower is better')}", x=0.225, **title),
            dict(text=f"{label[:1].upper()}{label[1:]}<br>{small(better)}", x=0.775, **title),
        ],
    )
    fig = go.Figure(traces, layout)
    return fig
