"""Figures of the Features page: one feature's strongest samples, histogram and effect on the classes, the neurons'
purity against the features', and the most polysemantic neuron split into features.

Pure builders: `nnlab.analysis.features` records (and uint8 thumbnails) in, `go.Figure` out. The effect on the
classes is signed (diverging colours: raised orange-red, lowered blue).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from ..analysis.features import Comparison, FeatureInfo
from .colors import LINE_COLORS, empty_figure
from .units import top_examples_figure

RAISED, LOWERED = "#D55E00", "#0072B2"  # Okabe-Ito vermilion and blue
NEURONS, FEATURES = "#999999", "#009E73"
ZOOM_TO = 32  # thumbnails smaller than this many pixels a side are enlarged toward it


def _name(class_names: Sequence[str], c: int) -> str:
    return str(class_names[c]) if 0 <= c < len(class_names) else str(c)


def strongest(info: FeatureInfo, images: np.ndarray | None, class_names: Sequence[str]) -> go.Figure:
    """The feature's strongest samples (uint8 `(n, H, W[, 3])`), its value under each and, for images seen by a conv
    layer or a ViT, the patch where it fires most outlined; labelled by their classes."""
    if images is None or len(info.top) == 0:
        return empty_figure(f"Feature {info.feature} fires on no evaluation sample")
    classes = ", ".join(_name(class_names, int(c)) for c in info.top_labels)
    images = np.asarray(images)
    zoom = max(1, ZOOM_TO // max(images.shape[1], 1))  # small images (8×8 digits) enlarged by whole pixels
    images = images.repeat(zoom, axis=1).repeat(zoom, axis=2)
    boxes = None if info.boxes is None else np.asarray(info.boxes) * zoom
    return top_examples_figure(
        [(f"strongest samples (classes {classes})", images, info.top_values, boxes)],
        title=f"Feature {info.feature}: where it fires most",
    )


def histogram(info: FeatureInfo) -> go.Figure:
    """The feature's non-zero values over the evaluation samples (it is zero on the rest)."""
    counts, edges = info.histogram
    if len(counts) == 0:
        return empty_figure(f"Feature {info.feature} is zero on every evaluation sample")
    fig = go.Figure(
        go.Bar(
            x=(edges[:-1] + edges[1:]) / 2,
            y=counts,
            width=np.diff(edges),
            marker_color=FEATURES,
            hovertemplate="%{x:.3g}: %{y} samples<extra></extra>",
        )
    )
    fig.update_layout(
        title=dict(text=f"Its values where it fires ({info.sample_share:.1%} of the samples; zero elsewhere)"),
        height=260,
        bargap=0.05,
        margin=dict(l=10, r=10, t=50, b=40),
        xaxis=dict(title=dict(text="feature value")),
        yaxis=dict(title=dict(text="samples")),
    )
    return fig


def effect_bars(info: FeatureInfo, class_names: Sequence[str]) -> go.Figure:
    """What the feature adds to each class score (the logits minus the logits with it switched off, centred)."""
    if info.effect is None:
        return empty_figure("This network has no class scores: a feature's effect is not measured")
    e = np.asarray(info.effect, float)
    if e.size == 0 or not np.isfinite(e).all():
        return empty_figure(f"Feature {info.feature} never fires: it has no effect to measure")
    names = [_name(class_names, c) for c in range(len(e))]
    fig = go.Figure(
        go.Bar(
            x=names,
            y=e,
            marker_color=[RAISED if v > 0 else LOWERED for v in e],
            hovertemplate="%{x}: %{y:+.3f}<extra></extra>",
        )
    )
    fig.update_layout(
        title=dict(text="Classes it raises (up) and lowers (down)"),
        height=280,
        margin=dict(l=10, r=10, t=50, b=40),
        xaxis=dict(type="category", title=dict(text="class")),
        yaxis=dict(title=dict(text="change in the class score"), zeroline=True),
    )
    return fig


def class_shares(info: FeatureInfo, class_names: Sequence[str]) -> go.Figure:
    """Which classes its strongest responses come from (the purity is the largest bar)."""
    s = np.asarray(info.shares, float)
    if s.sum() == 0:
        return empty_figure("Too few strong responses to count their classes")
    names = [_name(class_names, c) for c in range(len(s))]
    fig = go.Figure(go.Bar(x=names, y=s, marker_color=LINE_COLORS[0], hovertemplate="%{x}: %{y:.0%}<extra></extra>"))
    fig.update_layout(
        title=dict(text=f"Classes of its strongest responses (purity {info.purity:.0%})"),
        height=260,
        margin=dict(l=10, r=10, t=50, b=40),
        xaxis=dict(type="category", title=dict(text="class")),
        yaxis=dict(title=dict(text="share"), tickformat=".0%", range=[0, 1.05]),
    )
    return fig


def purity_figure(comp: Comparison) -> go.Figure:
    """The class purity of the neurons and of the features of one layer, as two overlaid histograms."""
    n = comp.neuron_purity[~np.isnan(comp.neuron_purity)]
    f = comp.feature_purity[~np.isnan(comp.feature_purity)]
    if n.size == 0 and f.size == 0:
        return empty_figure("No neuron or feature fires often enough to measure its purity")
    bins = dict(start=0, end=1.0001, size=0.05)
    groups = (("neurons", n, comp.neuron_median, NEURONS), ("features", f, comp.feature_median, FEATURES))
    fig = go.Figure(
        [
            go.Histogram(
                x=x, xbins=bins, name=f"{what} (median {median:.2f})", marker_color=color, histnorm="percent",
                opacity=0.75,
            )
            for what, x, median, color in groups
        ]
    )  # fmt: skip
    fig.update_layout(
        barmode="overlay",
        title=dict(text="Class purity: neurons against features"),
        height=320,
        margin=dict(l=10, r=10, t=50, b=40),
        xaxis=dict(title=dict(text="purity (share of the strongest responses from one class)"), tickformat=".0%"),
        yaxis=dict(title=dict(text="% of them")),
        legend=dict(orientation="h", y=-0.25),
    )
    return fig


def split_figure(comp: Comparison, class_names: Sequence[str], *, per_unit: str = "neuron") -> go.Figure:
    """The most polysemantic neuron's classes, and the feature that carries it on each."""
    if comp.neuron < 0 or not comp.neuron_classes:
        return empty_figure("No live neuron to split")
    carried = {c: (f, p) for c, f, p in comp.splitters}
    names = [_name(class_names, c) for c, _ in comp.neuron_classes]
    text = [
        f"feature {carried[c][0]}" + (f" ({carried[c][1]:.0%} pure)" if np.isfinite(carried[c][1]) else "")
        if c in carried
        else "no feature"
        for c, _ in comp.neuron_classes
    ]
    fig = go.Figure(
        go.Bar(
            x=names,
            y=[s for _, s in comp.neuron_classes],
            text=text,
            textposition="outside",
            marker_color=NEURONS,
            hovertemplate="class %{x}: %{y:.0%} of its strongest responses<extra></extra>",
        )
    )
    fig.update_layout(
        title=dict(text=f"{per_unit.capitalize()} {comp.neuron}: its classes, and the feature that takes each"),
        height=300,
        margin=dict(l=10, r=10, t=50, b=40),
        xaxis=dict(type="category", title=dict(text="class")),
        yaxis=dict(
            title=dict(text="share of its strongest responses"),
            tickformat=".0%",
            range=[0, 1.4 * max(s for _, s in comp.neuron_classes)],  # room for the labels above the bars
        ),
    )
    return fig


def steering_figure(s, class_names: Sequence[str]) -> go.Figure:
    """One sample's class probabilities, intact and with one feature scaled (`nnlab.analysis.features.Steering`)."""
    k = len(s.before)
    if k == 0:
        return empty_figure("No class probabilities to show")
    names = [_name(class_names, c) for c in range(k)]
    said = "off" if s.factor == 0 else f"× {s.factor:g}"
    hover = "%{x}: %{y:.1%}<extra></extra>"
    fig = go.Figure(
        [
            go.Bar(x=names, y=s.before, name="intact", marker_color=NEURONS, hovertemplate=hover),
            go.Bar(x=names, y=s.after, name=f"feature {s.feature} {said}", marker_color=FEATURES, hovertemplate=hover),
        ]
    )
    fig.update_layout(
        barmode="group",
        title=dict(text=f"Class probabilities with feature {s.feature} {said}"),
        height=300,
        margin=dict(l=10, r=10, t=50, b=40),
        xaxis=dict(type="category", title=dict(text="class")),
        yaxis=dict(title=dict(text="probability"), tickformat=".0%", range=[0, 1.05]),
        legend=dict(orientation="h", y=-0.25),
    )
    return fig
