"""Figures of a photo through a pretrained network: the preprocessing, the top classes, a stage's channels, one
channel over the photo, Grad-CAM, and a photo beside a changed copy of it.

Stage: figures (records of `nnlab.analysis.photo` in, `go.Figure` out). Pictures go to the browser as PNG; signed
values (raw maps, normalised input) on the diverging scale centred on zero, activated maps on the sequential one.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from PIL import Image

from ..analysis.photo import Ranked, StageMaps, Steps
from .colors import (
    DIVERGING,
    SEQUENTIAL,
    diverging_rgb,
    empty_figure,
    grid_columns,
    mosaic,
    png_uri,
    sequential_rgb,
    tile_centres,
)

GAP = (150, 150, 150)  # the grey between channel tiles: on neither colour scale
BLEND = 0.55  # the share of a map's colour where it lies over the photo
TILE = 64  # a channel's tile in the grid has at most this many pixels a side (the enlarged view has them all)
SHOWN = 320  # pictures larger than this many pixels a side are shrunk for the page (the network's input is not)


def jpeg_uri(picture: np.ndarray, quality: int = 88) -> str:
    """A `data:image/jpeg;base64,...` URI of a uint8 `(H, W, 3)` photo: a tenth of a PNG's bytes and time for photos
    (maps, whose colours must stay exact, go as PNG)."""
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(picture, np.uint8)).save(buf, format="JPEG", quality=quality)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def shown(picture: np.ndarray, side: int = SHOWN) -> tuple[np.ndarray, float]:
    """A picture shrunk to at most `side` pixels a side for the page, and the factor it was shrunk by."""
    h, w = picture.shape[:2]
    scale = min(1.0, side / max(h, w))
    if scale == 1.0:
        return picture, 1.0
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return np.asarray(Image.fromarray(picture).resize(size, Image.Resampling.BILINEAR)), scale


def pictures_figure(
    pictures: Sequence[np.ndarray],
    titles: Sequence[str],
    *,
    photos: Sequence[bool] | None = None,
    boxes: dict[int, tuple] | None = None,
    height: int = 260,
) -> go.Figure:
    """uint8 pictures `(H, W, 3)` side by side, each at its own scale, with their titles; `photos[i]` sends picture i
    as JPEG (else PNG); `boxes` draws a rectangle (top, left, bottom, right) on picture i."""
    if not pictures:
        return empty_figure("No picture to show")
    n, gap = len(pictures), 0.03
    width = (1 - gap * (n - 1)) / n
    photos = photos if photos is not None else [False] * n
    data, layout, notes, shapes = [], {}, [], []
    for i, picture in enumerate(pictures):
        ax = "" if i == 0 else str(i + 1)
        h, w = picture.shape[:2]
        uri = jpeg_uri(picture) if photos[i] else png_uri(picture)
        data.append(go.Image(source=uri, x0=0, y0=0, dx=1, dy=1, hoverinfo="skip", xaxis=f"x{ax}", yaxis=f"y{ax}"))
        left = i * (width + gap)
        layout[f"xaxis{ax}"] = dict(domain=[left, left + width], visible=False, range=[-0.5, w - 0.5], anchor=f"y{ax}")
        layout[f"yaxis{ax}"] = dict(visible=False, range=[h - 0.5, -0.5], scaleanchor=f"x{ax}", anchor=f"x{ax}")
        notes.append(dict(text=titles[i], x=left + width / 2, y=1.0, xref="paper", yref="paper", yanchor="bottom",
                          xanchor="center", showarrow=False, font=dict(size=14)))  # fmt: skip
        if boxes and i in boxes:
            top, lft, bottom, right = boxes[i]
            shapes.append(dict(type="rect", x0=lft - 0.5, y0=top - 0.5, x1=right - 0.5, y1=bottom - 0.5,
                               xref=f"x{ax}", yref=f"y{ax}", line=dict(color="#D55E00", width=3)))  # fmt: skip
    layout.update(annotations=notes, shapes=shapes, height=height, margin=dict(l=10, r=10, t=40, b=10))
    return go.Figure(data, layout)


def preprocessing_figure(steps: Steps) -> go.Figure:
    """The photo as given, resized (the crop's square drawn on it), and the crop the network reads (the first two
    shrunk for the page: their titles give their true size)."""
    (h, w), (rh, rw), side = steps.photo.shape[:2], steps.resized.shape[:2], steps.cropped.shape[0]
    titles = (f"1. The photo, {w}×{h}", f"2. Resized to {rw}×{rh}", f"3. The centre {side}×{side}")
    photo, _ = shown(steps.photo)
    resized, scale = shown(steps.resized)
    box = tuple(round(v * scale) for v in steps.box)
    return pictures_figure([photo, resized, steps.cropped], titles, photos=[True] * 3, boxes={1: box})


def normalised_figure(steps: Steps) -> go.Figure:
    """4. The normalised input, one panel per colour channel, on the diverging scale (0 white, red above zero)."""
    x = steps.x[0].numpy()  # (3, H, W)
    limit = float(np.abs(x).max()) or 1.0
    names = ("red", "green", "blue")
    titles = [f"4. {n}: {float(c.min()):.2f} … {float(c.max()):.2f}" for n, c in zip(names, x, strict=True)]
    return pictures_figure([diverging_rgb(c, limit) for c in x], titles, height=240)


def top_classes_figure(ranked: Ranked, *, title: str = "") -> go.Figure:
    """The top classes as horizontal bars, the most likely at the top, each with its probability."""
    names = [f"{n} " for n in ranked.names][::-1]
    probs = ranked.probs[::-1].astype(float)
    bar = go.Bar(
        x=probs, y=names, orientation="h", marker_color="#0072B2",
        text=[f"{p:.1%}" for p in probs], textposition="auto", hovertemplate="%{y}: %{x:.2%}<extra></extra>",
    )  # fmt: skip
    return go.Figure(
        bar,
        dict(
            title=dict(text=title) if title else None,
            height=60 + 36 * len(names),
            margin=dict(l=10, r=10, t=40 if title else 10, b=40),
            xaxis=dict(title=dict(text="probability"), range=[0, 1], tickformat=".0%"),
        ),
    )


def _colours(values: np.ndarray, signed: bool, limit: float) -> np.ndarray:
    return diverging_rgb(values, limit) if signed else sequential_rgb(values, vmax=limit)


def _limit(values: np.ndarray, signed: bool) -> float:
    top = float(np.abs(values).max()) if values.size else 0.0
    return top if top > 0 else 1.0


def channel_grid_figure(stage: StageMaps, *, title: str = "") -> go.Figure:
    """A stage's channels as tiles, strongest first, on one colour range; a transparent marker per tile names the
    channel on hover and makes the tile clickable (its `customdata[0]` is the channel's index)."""
    if not len(stage.maps):
        return empty_figure("No channels to show")
    step = -(-stage.maps.shape[1] // TILE)  # every step-th pixel: tiles of at most TILE pixels a side
    maps = stage.maps[:, ::step, ::step]
    n, h, w = maps.shape
    cols = grid_columns(n, h, w, aspect=2.0)
    limit = _limit(stage.maps, stage.signed)
    tiles = mosaic(_colours(maps, stage.signed, limit), cols, fill=GAP, rgb=True)
    x, y = tile_centres(n, cols, h, w)
    scale = DIVERGING if stage.signed else SEQUENTIAL
    marker = dict(
        size=max(8, 500 // cols), opacity=0, symbol="square", color=stage.strength, colorscale=scale,
        cmin=-limit if stage.signed else 0.0, cmax=limit, showscale=True, colorbar=dict(thickness=10, len=0.9),
    )  # fmt: skip
    hover = "channel %{customdata[0]}: mean %{customdata[1]:.2f}<extra>%{customdata[2]}</extra>"
    ranks = zip(stage.channels, stage.strength, strict=True)
    data = [
        go.Image(source=png_uri(tiles), x0=0, y0=0, dx=1, dy=1, hoverinfo="skip"),
        go.Scatter(
            x=x, y=y, mode="markers", marker=marker, showlegend=False, hovertemplate=hover,
            customdata=[[int(c), float(s), f"rank {i + 1}"] for i, (c, s) in enumerate(ranks)],
        ),
    ]  # fmt: skip
    hh, ww = tiles.shape[:2]
    return go.Figure(
        data,
        dict(
            title=dict(text=title) if title else None,
            height=int(min(700, 80 + 820 * hh / ww)),
            margin=dict(l=10, r=10, t=40 if title else 10, b=10),
            xaxis=dict(visible=False, range=[-0.5, ww - 0.5]),
            yaxis=dict(visible=False, range=[hh - 0.5, -0.5], scaleanchor="x"),
            clickmode="event+select",
            dragmode=False,
        ),
    )


def channel_from_selection(selection, stage: StageMaps) -> int | None:
    """The channel a click on `channel_grid_figure` picked (Streamlit's selection state), None without one."""
    points = ((selection or {}).get("selection") or {}).get("points") or []
    for point in points:
        i = point.get("point_index", point.get("pointIndex"))
        if i is not None and 0 <= int(i) < len(stage.channels):
            return int(stage.channels[int(i)])
    return None


def over_photo(photo: np.ndarray, values: np.ndarray, *, signed: bool) -> tuple[np.ndarray, np.ndarray]:
    """A map `(h, w)` enlarged to the photo's size `(H, W, 3)`: (the map in colour, the map blended over the photo)."""
    h, w = photo.shape[:2]
    limit = _limit(values, signed)
    big = np.asarray(Image.fromarray(values.astype(np.float32), "F").resize((w, h), Image.Resampling.BILINEAR))
    colour = _colours(big, signed, limit)
    blended = np.round((1 - BLEND) * photo.astype(np.float32) + BLEND * colour.astype(np.float32))
    return colour, blended.astype(np.uint8)


def channel_figure(photo: np.ndarray, values: np.ndarray, *, channel: int, stage: str, signed: bool) -> go.Figure:
    """One channel enlarged beside the photo it came from, and over it."""
    colour, blended = over_photo(photo, values, signed=signed)
    h, w = values.shape
    titles = ("The photo", f"{stage}, channel {channel} ({w}×{h}, enlarged)", "The channel over the photo")
    return pictures_figure([photo, colour, blended], titles, photos=[True, False, True], height=300)


def cam_figure(photo: np.ndarray, cam: np.ndarray, class_name: str) -> go.Figure:
    """Grad-CAM of one class: the photo, the map (sequential, 0..1) and the map over the photo."""
    colour, blended = over_photo(photo, cam, signed=False)
    titles = ("The photo", f"Grad-CAM of “{class_name}”", "Over the photo")
    return pictures_figure([photo, colour, blended], titles, photos=[True, False, True], height=300)


def compare_figure(before: tuple[np.ndarray, Ranked], after: tuple[np.ndarray, Ranked], change: str) -> go.Figure:
    """The crop the network read of the photo and of its changed copy, each titled with its most likely class."""
    (a, ra), (b, rb) = before, after
    titles = (f"As given: {ra.names[0]} {ra.probs[0]:.0%}", f"{change}: {rb.names[0]} {rb.probs[0]:.0%}")
    return pictures_figure([a, b], titles, photos=[True, True], height=300)


def compare_bars_figure(before: Ranked, after: Ranked, change: str) -> go.Figure:
    """The probabilities of every class in either top list, before and after the change, side by side."""
    names = list(dict.fromkeys([*before.names, *after.names]))
    probs = [{n: float(p) for n, p in zip(r.names, r.probs, strict=True)} for r in (before, after)]
    bars = [
        go.Bar(name=label, y=names[::-1], x=[p.get(n, 0.0) for n in names[::-1]], orientation="h", marker_color=c)
        for label, p, c in (("as given", probs[0], "#0072B2"), (change, probs[1], "#E69F00"))
    ]
    layout = dict(
        barmode="group", height=80 + 30 * len(names), margin=dict(l=10, r=10, t=10, b=40),
        xaxis=dict(title=dict(text="probability (0 where a class is not in that top list)"), tickformat=".0%"),
        legend=dict(orientation="h", y=-0.2),
    )  # fmt: skip
    return go.Figure(bars, layout)
