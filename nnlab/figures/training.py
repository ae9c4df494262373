"""Loss and accuracy curves of a training run, live or finished.

Stage: step and epoch metrics (a run's `steps()` and `epochs`, or a job's `LiveView`)
→ go.Figure, for the Train page's live panel and the runs. Per-step values are noisy,
so they are drawn faint with a smoothed line on top; per-epoch test values are markers.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

TRAIN_COLOR = "#4C78A8"
TEST_COLOR = "#F58518"


def bucket_mean(values: np.ndarray, max_points: int) -> tuple[np.ndarray, np.ndarray]:
    """`(positions, means)`: `values` averaged in equal buckets so at most `max_points` remain (NaN-aware)."""
    values = np.asarray(values, np.float64)
    n = len(values)
    if n <= max_points:
        return np.arange(n, dtype=np.float64), values
    edges = np.linspace(0, n, max_points + 1).astype(int)
    pos = (edges[:-1] + edges[1:] - 1) / 2
    with np.errstate(invalid="ignore"):
        means = np.array([np.nanmean(values[a:b]) if np.isfinite(values[a:b]).any() else np.nan
                          for a, b in zip(edges[:-1], edges[1:])])
    return pos, means


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


def training_curves(loss: np.ndarray, acc: np.ndarray, epochs: Sequence[dict] = (), *, steps_per_epoch: int = 1,
                    total_epochs: float | None = None, max_points: int = 400, height: int = 330) -> go.Figure:
    """Loss (left) and accuracy (right) against epochs.

    Args:
        loss, acc: `(S,)` training loss and batch accuracy of every step so far.
        epochs: per-epoch metrics (train_loss, test_loss, test_acc, ...), as a run or a live job keeps them.
        steps_per_epoch: turns step numbers into epochs on the x axis.
        total_epochs: fix the x axis to the planned length (a live run fills it in as it goes).
    """
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Loss (lower is better)", "Accuracy"), horizontal_spacing=0.1)
    spe = max(int(steps_per_epoch), 1)
    window = max(1, min(spe, len(loss) // 10 or 1))
    for col, values, name in ((1, loss, "loss"), (2, acc, "accuracy")):
        values = np.asarray(values, np.float64)
        if len(values) == 0:
            continue
        pos, raw = bucket_mean(values, max_points)
        _, smoothed = bucket_mean(smooth(values, window), max_points)
        x = (pos + 1) / spe
        fig.add_trace(go.Scatter(x=x, y=raw, mode="lines", name=f"training {name} (each step)", showlegend=False,
                                 line=dict(color=TRAIN_COLOR, width=1), opacity=0.3, hoverinfo="skip"), row=1, col=col)
        fig.add_trace(go.Scatter(x=x, y=smoothed, mode="lines", name=f"training {name}", line=dict(color=TRAIN_COLOR,
                                 width=2), legendgroup="train", showlegend=col == 1,
                                 hovertemplate=f"epoch %{{x:.2f}}: training {name} %{{y:.3f}}<extra></extra>"),
                      row=1, col=col)
    key = {1: "test_loss", 2: "test_acc"}
    for col in (1, 2):
        pts = [(e["epoch"], e[key[col]]) for e in epochs if e.get(key[col]) is not None]
        if pts:
            ex, ey = zip(*pts)
            fig.add_trace(go.Scatter(x=ex, y=ey, mode="lines+markers", name="test (each epoch)",
                                     line=dict(color=TEST_COLOR, width=2), marker=dict(size=7), legendgroup="test",
                                     showlegend=col == 1,
                                     hovertemplate="epoch %{x}: test %{y:.3f}<extra></extra>"), row=1, col=col)
    xr = dict(range=[0, total_epochs]) if total_epochs else {}
    fig.update_xaxes(title_text="epoch", **xr)
    fig.update_yaxes(title_text="cross-entropy loss", rangemode="tozero", row=1, col=1)
    fig.update_yaxes(title_text="accuracy", tickformat=".0%", range=[0, 1.02], row=1, col=2)
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=40, b=10),
                      legend=dict(orientation="h", y=-0.25, x=0), uirevision="curves")
    return fig
