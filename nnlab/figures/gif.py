"""Animations over training: plotly play/pause + slider controls, and GIF export with Pillow.

Shared by the weight-evolution and decision-boundary figures: a figure's frames hold
uint8 images (PNG data URIs), and the same frames become a looping GIF to download.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from PIL import Image, ImageDraw


def animate(
    fig: go.Figure,
    frames: Sequence[dict],
    labels: Sequence[str],
    *,
    active: int = 0,
    frame_ms: int = 300,
    prefix: str = "Snapshot: ",
) -> go.Figure:
    """Add frames with play/pause buttons and a slider to `fig` (in place; also returned).

    The buttons sit at the left of the slider's label row and the slider's rail runs the whole width below them:
    buttons beside the rail covered its start in a narrow figure (their width is fixed in pixels, the rail's start
    is a share of the plot). The figure keeps about 150 px of bottom margin for them below an axis title.

    Args:
        fig: the figure showing frame `active` as its data.
        frames: per frame, a dict with "data" (list of traces), "traces" (their indices in
            `fig.data`) and optionally "layout" (a layout update).
        labels: one slider label per frame.
        active: the frame the slider starts at.
        frame_ms: milliseconds per frame while playing.
        prefix: text before the current label above the slider.
    Returns: `fig`.
    """
    if not frames:
        return fig
    fig.frames = [  # plain dicts: building a go.Frame per frame cost ~1 ms each (150 ms for a 150-snapshot movie)
        {"name": str(i), "data": f["data"], **{k: f[k] for k in ("traces", "layout") if f.get(k) is not None}}
        for i, f in enumerate(frames)
    ]
    play = {"frame": {"duration": frame_ms, "redraw": True}, "fromcurrent": True, "transition": {"duration": 0}}
    pause = {"frame": {"duration": 0, "redraw": False}, "mode": "immediate", "transition": {"duration": 0}}
    fig.update_layout(
        updatemenus=[
            {
                "type": "buttons",
                "direction": "left",
                "showactive": False,
                "x": 0,
                "y": 0,
                "xanchor": "left",
                "yanchor": "top",
                "pad": {"t": 44},  # on the row of the slider's label, above its rail: clear of it at any width
                "buttons": [
                    {"label": "▶ Play", "method": "animate", "args": [None, play]},
                    {"label": "❚❚ Pause", "method": "animate", "args": [[None], pause]},
                ],
            }
        ],
        sliders=[
            {
                "active": int(np.clip(active, 0, len(frames) - 1)),
                "x": 0,
                "len": 1,
                "y": 0,
                "yanchor": "top",
                "pad": {"t": 48},
                "currentvalue": {"prefix": prefix, "font": {"size": 13}, "xanchor": "right", "offset": 24},
                "steps": [
                    {
                        "label": str(lab),
                        "method": "animate",
                        "args": [
                            [str(i)],
                            {
                                "mode": "immediate",
                                "frame": {"duration": 0, "redraw": True},
                                "transition": {"duration": 0},
                            },
                        ],
                    }
                    for i, lab in enumerate(labels)
                ],
            }
        ],
    )
    return fig


def even_subsample(n: int, keep: int, *, always: int | None = None) -> np.ndarray:
    """`keep` indices spread evenly over range(n), first and last included (and `always`, if given)."""
    if n <= keep:
        return np.arange(n)
    idx = set(np.linspace(0, n - 1, max(2, keep)).round().astype(int).tolist())
    if always is not None and 0 <= always < n:
        idx.add(int(always))
    return np.array(sorted(idx))


def sent_size(uri: str) -> int:
    """Characters a data URI takes in `fig.to_json()` (which writes each "/" as a 6-character escape)."""
    return len(uri) + 5 * uri.count("/")


def frames_within(uris: Sequence[str], budget: int, active: int) -> np.ndarray:
    """Frame indices to keep so their data URIs total at most `budget` characters (evenly spread)."""
    n = len(uris)
    sizes = [sent_size(u) for u in uris]
    if n == 0 or sum(sizes) <= budget:
        return np.arange(n)
    per = max(1, int(np.mean(sizes)))
    keep = even_subsample(n, max(2, budget // per - 1), always=active)
    return keep


def label_strip(image: np.ndarray, text: str, *, height: int = 14) -> np.ndarray:
    """The uint8 RGB image `(H, W, 3)` with a white strip of `height` pixels above it holding `text`."""
    img = np.asarray(image, np.uint8)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    strip = Image.new("RGB", (img.shape[1], height), (255, 255, 255))
    ImageDraw.Draw(strip).text((3, max(0, (height - 11) // 2)), text, fill=(40, 40, 40))
    return np.concatenate([np.asarray(strip), img], axis=0)


def upscale(image: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour enlargement by an integer factor (crisp pixels in a GIF)."""
    if factor <= 1:
        return np.asarray(image)
    return np.repeat(np.repeat(np.asarray(image), factor, axis=0), factor, axis=1)


def gif_bytes(
    frames: Sequence[np.ndarray],
    *,
    fps: float = 4.0,
    labels: Sequence[str] | None = None,
    scale: int = 1,
    hold_last_ms: int = 1200,
) -> bytes:
    """A looping GIF of uint8 RGB frames `(H, W, 3)` (or grey `(H, W)`), all the same size.

    Args:
        frames: the images, first to last.
        fps: frames per second.
        labels: optional text drawn in a strip above each frame ("step 120").
        scale: integer enlargement (nearest neighbour) for small images.
        hold_last_ms: how long the last frame stays before the loop restarts.
    Returns: the GIF file's bytes (empty if there are no frames).
    """
    if len(frames) == 0:
        return b""
    images = []
    for i, f in enumerate(frames):
        f = upscale(np.asarray(f, np.uint8), scale)
        if labels is not None:
            f = label_strip(f, str(labels[i]))
        images.append(Image.fromarray(np.ascontiguousarray(f)).convert("RGB"))
    if any(im.size != images[0].size for im in images):
        raise ValueError("Every GIF frame must have the same size")
    step = max(20, int(round(1000 / fps)))
    durations = [step] * len(images)
    durations[-1] = max(step, hold_last_ms)
    paletted = [im.quantize(colors=255, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE) for im in images]
    buf = io.BytesIO()
    paletted[0].save(
        buf,
        format="GIF",
        save_all=True,
        append_images=paletted[1:],
        duration=durations,
        loop=0,
        optimize=False,
        disposal=1,
    )
    return buf.getvalue()
