"""Colour maps for figures that send images (values → uint8 RGB, PNG data URIs), and the pieces every figure shares.

Signed values go on a diverging map centred on zero (blue < 0 < red, white at zero), non-negative values on a
sequential map (viridis); classes get a colour-blind-safe palette. Images reach the browser as PNG, never as floats.
Besides the colours: image mosaics, and the empty figure whose title says why it is empty.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence

import numpy as np
import plotly.colors as pc
import plotly.graph_objects as go
from PIL import Image

DIVERGING = "RdBu_r"  # plotly colorscale name for signed data (use with zmid=0)
SEQUENTIAL = "Viridis"  # plotly colorscale name for non-negative data
CLASS_COLORS = tuple(pc.qualitative.Safe)  # colour-blind-safe (CARTO Safe); cycles past 11 classes
LINE_COLORS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")  # Okabe-Ito


def _lut(scale: str) -> np.ndarray:
    """A read-only (256, 3) uint8 lookup table sampled from a plotly colorscale."""
    rgb = pc.sample_colorscale(scale, np.linspace(0, 1, 256).tolist(), colortype="tuple")
    lut = np.clip(np.round(np.asarray(rgb) * 255), 0, 255).astype(np.uint8)
    lut.setflags(write=False)
    return lut


DIVERGING_LUT = _lut(DIVERGING)  # (256, 3): index 0 = most negative, 127/128 ≈ zero (white)
SEQUENTIAL_LUT = _lut(SEQUENTIAL)


def symmetric_limit(values: np.ndarray, *, percentile: float = 99.5) -> float:
    """A robust colour limit for signed data: the `percentile` of |values| (1.0 if all zero or empty).

    Large arrays are thinned to about a million values first (a percentile does not need them all).
    """
    v = np.asarray(values, dtype=np.float32).ravel()
    if v.size > 1_000_000:
        v = v[:: v.size // 1_000_000 + 1]
    v = np.abs(v[np.isfinite(v)])
    if v.size == 0:
        return 1.0
    lim = float(np.percentile(v, percentile))
    return lim if lim > 0 else float(v.max()) or 1.0


def diverging_index(values: np.ndarray, limit: float | None = None, levels: int = 256) -> np.ndarray:
    """Signed values → uint8 indices `0..levels-1` on the diverging map: −limit → 0, 0 → the middle, +limit → top.

    With fewer `levels` (odd keeps a white level for zero) PNGs of noisy weights compress far
    better; `diverging_palette(levels)` holds the matching colours.
    """
    v = np.asarray(values, dtype=np.float32)
    limit = symmetric_limit(v) if limit is None else float(limit) or 1.0
    idx = np.round((np.clip(v / limit, -1, 1) + 1) * ((levels - 1) / 2))
    return np.nan_to_num(idx, nan=(levels - 1) // 2).astype(np.uint8)


def diverging_palette(levels: int = 256) -> np.ndarray:
    """(levels, 3) uint8 colours of `diverging_index(..., levels=levels)`."""
    return DIVERGING_LUT[np.round(np.arange(levels) * 255 / max(levels - 1, 1)).astype(int)]


def sequential_index(values: np.ndarray, vmax: float | None = None, vmin: float = 0.0) -> np.ndarray:
    """Non-negative values → uint8 indices into `SEQUENTIAL_LUT` (vmin → 0, vmax → 255)."""
    v = np.asarray(values, dtype=np.float32)
    if vmax is None:
        finite = v[np.isfinite(v)]
        vmax = float(finite.max()) if finite.size else 1.0
    span = (vmax - vmin) or 1.0
    idx = np.round(np.clip((v - vmin) / span, 0, 1) * 255)
    return np.nan_to_num(idx, nan=0).astype(np.uint8)


def diverging_rgb(values: np.ndarray, limit: float | None = None) -> np.ndarray:
    """Signed values `(...)` → uint8 RGB `(..., 3)` on the diverging map centred on zero."""
    return DIVERGING_LUT[diverging_index(values, limit)]


def sequential_rgb(values: np.ndarray, vmax: float | None = None, vmin: float = 0.0) -> np.ndarray:
    """Non-negative values `(...)` → uint8 RGB `(..., 3)` on the sequential map."""
    return SEQUENTIAL_LUT[sequential_index(values, vmax, vmin)]


def signed_rgb_image(values: np.ndarray, limit: float | None = None, levels: int = 256) -> np.ndarray:
    """Signed colour images `(..., 3)` (RGB weights) → uint8 with zero at mid-grey and ±limit at 0/255.

    `levels` quantises each channel (fewer levels: smaller PNGs).
    """
    idx = diverging_index(values, limit, levels).astype(np.float32)
    return np.round(idx * (255 / max(levels - 1, 1))).astype(np.uint8)


def class_color(k: int) -> str:
    """The colour of class `k` as an `rgb(r, g, b)` string."""
    return CLASS_COLORS[k % len(CLASS_COLORS)]


def class_rgb(n: int) -> np.ndarray:
    """(n, 3) uint8 colours of classes 0..n-1."""
    return np.array([pc.unlabel_rgb(class_color(k)) for k in range(n)], dtype=np.uint8).reshape(n, 3)


def png_bytes(image: np.ndarray, palette: np.ndarray | None = None) -> bytes:
    """PNG bytes of a uint8 image: `(H, W)` grey, `(H, W, 3)` RGB, or `(H, W)` indices into `palette` (≤256, 3)."""
    image = np.ascontiguousarray(image, dtype=np.uint8)
    img = Image.fromarray(image)
    if palette is not None and image.ndim == 2:
        img.putpalette(np.asarray(palette, np.uint8).reshape(-1).tolist())  # "L" → "P": one byte a pixel
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=1)  # level 6 is 3% smaller, 2.5× slower
    return buf.getvalue()


def png_uri(image: np.ndarray, palette: np.ndarray | None = None) -> str:
    """A `data:image/png;base64,...` URI for `go.Image(source=...)` (see `png_bytes`)."""
    return "data:image/png;base64," + base64.b64encode(png_bytes(image, palette)).decode("ascii")


def mosaic(
    tiles: np.ndarray,
    cols: int,
    *,
    gap: int = 1,
    fill: int | Sequence[int] = 255,
    blank: int | Sequence[int] | None = None,
    rgb: bool = False,
) -> np.ndarray:
    """Tiles `(..., N, h, w)` (or `(..., N, h, w, 3)` with `rgb`) laid out row by row, `cols` to a row.

    Leading axes (frames) are kept: `(T, N, h, w)` gives `(T, H, W)`. Tiles are `gap` pixels
    apart; `fill` colours the gaps, `blank` (default `fill`) the unused places of the last row.
    """
    tiles = np.asarray(tiles)
    core = 4 if rgb else 3  # (N, h, w[, 3])
    lead = tiles.shape[: tiles.ndim - core]
    n, h, w = tiles.shape[len(lead) : len(lead) + 3]
    rest = tiles.shape[len(lead) + 3 :]
    cols = max(1, min(int(cols), n)) if n else 1
    rows = -(-n // cols) if n else 1
    grid = np.empty((*lead, rows * cols, h + gap, w + gap, *rest), tiles.dtype)
    grid[...] = fill
    tail = (slice(None),) * len(rest)  # the colour axis, if any
    grid[(..., slice(0, n), slice(0, h), slice(0, w), *tail)] = tiles
    if n < rows * cols:
        grid[(..., slice(n, None), slice(None), slice(None), *tail)] = fill if blank is None else blank
    grid = grid.reshape(*lead, rows, cols, h + gap, w + gap, *rest)
    k = len(lead)
    order = (*range(k), k, k + 2, k + 1, k + 3, *range(k + 4, k + 4 + len(rest)))
    out = grid.transpose(order).reshape(*lead, rows * (h + gap), cols * (w + gap), *rest)
    return out[(..., slice(0, out.shape[k] - gap), slice(0, out.shape[k + 1] - gap), *tail)]


def tile_centres(n: int, cols: int, h: int, w: int, gap: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Pixel x and y of the centre of each of `n` tiles in a `mosaic(..., cols, gap=gap)` of h×w tiles.

    The figures put one transparent marker there, so hovering a tile names it.
    """
    rows, col = np.divmod(np.arange(n), cols)
    return col * (w + gap) + (w - 1) / 2, rows * (h + gap) + (h - 1) / 2


def grid_columns(n: int, tile_h: int, tile_w: int, *, aspect: float = 1.6) -> int:
    """Columns of a tile grid about `aspect` times wider than tall, preferring one that fills every row."""
    if n <= 0:
        return 1
    target = float(np.clip(np.sqrt(n * aspect * tile_h / max(tile_w, 1)), 1, n))
    divisors = [c for c in range(max(1, int(target * 0.75)), int(target * 1.35) + 1) if n % c == 0]
    if divisors:
        return min(divisors, key=lambda c: abs(c - target))
    return int(round(target))


def empty_figure(title: str, *, height: int = 220) -> go.Figure:
    """A blank figure whose title says why it is blank (no axes, no data)."""
    return go.Figure(
        layout=dict(
            title=dict(text=title),
            height=height,
            xaxis=dict(visible=False),
            yaxis=dict(visible=False),
            margin=dict(l=10, r=10, t=50, b=10),
        )
    )
