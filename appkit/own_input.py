"""The student's own input, where a test sample goes: a drawing, an uploaded image or a point of the plane.

`choose()` is the source picker of the pages that take a sample (walk-through, attribution): "Test sample" is the
picker of `appkit.samples`; "Draw" and "Upload an image" (image data) and "Click a point" (2-D data) convert with
`nnlab.data.own_input` and show the converted input beside what was drawn. The converted input lives in the session
(never on disk, never in a link), so the hidden-layer and boundary pages can place it too (`current()`).
"""

from __future__ import annotations

import base64
import functools
import io
from dataclasses import dataclass, replace

import numpy as np
import streamlit as st
from PIL import Image

from nnlab.data import own_input as O

from . import samples as S
from .page import run_stamp

SOURCE = "own_source"  # where the sample comes from: one of SOURCES
CANVAS = "own_canvas"  # the drawing canvas (component value: {"drawing": {"raw": fabric json, "data": PNG URL}})
DRAWING = "own_drawing"  # the canvas's last drawing (fabric json), drawn again after a page switch
DRAWING_INIT = "own_drawing_init"  # what this mount of the canvas started from (kept fixed while it is shown)
UPLOAD = "own_upload"  # the file uploader (bytes stay in memory)
X1, X2 = "own_x1", "own_x2"  # a typed point of the plane (keys end in _<POINT_V>: a click starts fresh boxes)
POINT_V = "own_point_v"  # how many times a click has replaced the point
CLICK = "own_click"  # the plane chart that a click picks a point on
KEPT = "own_kept"  # source → (dataset shape, OwnInput): the last good input of each source
TEST, DRAW, UPLOAD_SOURCE, POINT = "Test sample", "Draw", "Upload an image", "Click a point"
SOURCES = (TEST, DRAW, UPLOAD_SOURCE, POINT)
CANVAS_SIDE = 224  # CSS pixels (about 6 cm): room for a digit drawn with the mouse or a finger
STROKE = 18  # brush width on the canvas, so a digit's strokes end up as thick as the dataset's
GRID = 41  # clickable points per side of the plane chart


@dataclass(frozen=True)
class Choice:
    """What the page shows: a test sample (`index`), an input of the student's own (`own`), or nothing yet."""

    index: int | None = None
    own: O.OwnInput | None = None

    @property
    def ready(self) -> bool:
        return self.index is not None or self.own is not None


def sources(ds) -> list[str]:
    """The sources this dataset's samples can come from (by its kind, not its name)."""
    return [TEST, DRAW, UPLOAD_SOURCE] if ds.is_image else [TEST, POINT] if ds.is_2d else [TEST]


def source(ds) -> str:
    """The chosen source, if this dataset offers it (else a test sample)."""
    chosen = st.session_state.get(SOURCE, TEST)
    return chosen if chosen in sources(ds) else TEST


def is_test(ds) -> bool:
    return source(ds) == TEST


def verdict(info: dict, names: list[str], pred: int, prob: float, label: str) -> str:
    """Markdown: what the network says about an input with no truth, without right or wrong."""
    return (
        f"At step {info['step']} (epoch {info['epoch']:.2f}) the network says **{names[pred]}** ({prob:.0%}) for "
        f"{label}. There is no truth to compare with: you know what you meant, the network only sees the numbers."
    )


# --- keeping converted inputs in the session ---------------------------------------------------------------------
def _keep(src: str, ds, own: O.OwnInput) -> O.OwnInput:
    st.session_state.setdefault(KEPT, {})[src] = (tuple(ds.input_shape), own)
    return own


def _forget(src: str) -> None:
    st.session_state.get(KEPT, {}).pop(src, None)


def _kept(src: str, ds) -> O.OwnInput | None:
    """The last good input of `src` for samples of this shape, normalised with this run's statistics."""
    shape, own = st.session_state.get(KEPT, {}).get(src, (None, None))
    if own is None or shape != tuple(ds.input_shape):
        return None
    return replace(own, tensor=ds.prepare(own.sample[None]))


def current(ds) -> O.OwnInput | None:
    """The student's own input of the chosen source (None for a test sample or none yet): for pages that place it."""
    src = source(ds)
    return None if src == TEST else _kept(src, ds)


# --- the picker ---------------------------------------------------------------------------------------------------
def source_radio(ds) -> str:
    offered = sources(ds)
    if len(offered) > 1:
        st.session_state[SOURCE] = source(ds)
        st.radio(
            "Input",
            offered,
            key=SOURCE,
            horizontal=True,
            persist_state="session",
            help="A test sample, or something of your own: drawn, uploaded or clicked. Your own input stays in this "
            "browser session: it is never saved, nor put in a link.",
        )
    return source(ds)


def choose(ds, names: list[str], wrong: np.ndarray, n_eval: int, *, play_every: float | None = None) -> Choice:
    """The source picker and the chosen source's controls; returns the sample to show (`ready` False: none yet)."""
    src = source_radio(ds)
    if src == TEST:
        S.picker(ds, names, wrong, n_eval, play_every=play_every)
        return Choice(index=int(st.session_state[S.SAMPLE]))
    return Choice(own=own_panel(ds, src))


def own_panel(ds, src: str) -> O.OwnInput | None:
    """The controls of one own-input source, with the converted input beside them; messages in place of bad input."""
    if src == DRAW:
        return draw_panel(ds)
    if src == UPLOAD_SOURCE:
        return upload_panel(ds)
    if src == POINT:
        return point_panel(ds)
    return None


def _enlarged(image: np.ndarray, side: int = 168) -> np.ndarray:
    """Pixels enlarged without smoothing, in a grey frame (a white pixel would vanish into the page)."""
    scale = max(1, side // image.shape[0])
    big = np.kron(image, np.ones((scale, scale) + (1,) * (image.ndim - 2), np.uint8))
    return np.pad(big, ((2, 2), (2, 2)) + ((0, 0),) * (big.ndim - 2), constant_values=160)


def show_converted(own: O.OwnInput, ds) -> None:
    """The converted input, pixel for pixel, with what the conversion did."""
    c, h, w = ds.input_shape
    st.image(_enlarged(own.display), caption=f"What the network sees: {w}×{h}, {'grey' if c == 1 else 'colour'}")
    for note in own.notes:
        st.caption(note)


def canvas_image(value) -> np.ndarray | None:
    """The canvas component's value (its PNG as a data URL) → uint8 `(H, W, 4)`, None when nothing was drawn."""
    drawing = (value or {}).get("drawing") or {}
    url = drawing.get("data")
    if not url or ";base64," not in url:
        return None
    with Image.open(io.BytesIO(base64.b64decode(url.split(";base64,", 1)[1])), formats=["PNG"]) as img:
        return np.asarray(img.convert("RGBA"))


def draw_panel(ds) -> O.OwnInput | None:
    from streamlit_drawable_canvas import st_canvas

    if CANVAS not in st.session_state:  # a new mount (first visit, or back from another page): redraw the last one
        st.session_state[DRAWING_INIT] = st.session_state.get(DRAWING)
    left, right = st.columns([1, 1])
    with left:
        colour = "#000000"
        if ds.input_shape[0] == 3:
            colour = st.color_picker("Ink", "#000000", key="own_ink")
        result = st_canvas(
            stroke_width=STROKE,
            stroke_color=colour,
            background_color="#ffffff",
            width=CANVAS_SIDE,
            height=CANVAS_SIDE,
            initial_drawing=st.session_state.get(DRAWING_INIT),
            return_image_data=True,
            key=CANVAS,
        )
        st.caption("Draw with the mouse or a finger; hover the canvas for its toolbar (undo, redo, clear).")
    st.session_state[DRAWING] = result.json_data
    image = canvas_image(st.session_state.get(CANVAS))
    kept = _kept(DRAW, ds) if image is None and (st.session_state.get(DRAWING_INIT) or {}).get("objects") else None
    try:
        own = kept or O.from_canvas(image, ds)  # no picture sent yet: the canvas shows the last drawing again
    except O.OwnInputError as e:
        _forget(DRAW)
        right.info(str(e), icon=":material/draw:")
        return None
    with right:
        show_converted(own, ds)
    return _keep(DRAW, ds, own)


def upload_panel(ds) -> O.OwnInput | None:
    left, right = st.columns([1, 1])
    file = left.file_uploader(
        "An image (PNG, JPEG, WebP or GIF)",
        type=["png", "jpg", "jpeg", "webp", "gif"],
        key=UPLOAD,
        max_upload_size=O.MAX_UPLOAD_BYTES >> 20,
        help="Kept in memory for this session only; never saved on the server.",
    )
    if file is None:
        own = _kept(UPLOAD_SOURCE, ds)
        if own is None:
            right.info("Upload an image: it is turned into the dataset's size and channels.", icon=":material/upload:")
            return None
        left.caption("Your last image is shown; upload another to replace it.")
    else:
        try:
            own = _keep(UPLOAD_SOURCE, ds, O.from_upload(file.getvalue(), ds))
        except O.OwnInputError as e:
            _forget(UPLOAD_SOURCE)
            right.error(f"{file.name}: {e}", icon=":material/broken_image:")
            return None
        left.image(own.picture, caption=file.name, width=200)
    with right:
        show_converted(own, ds)
    return own


def _on_click(ds) -> None:
    """A click on the plane chart becomes the point; the x₁, x₂ boxes forget theirs and start from it."""
    points = st.session_state[CLICK].selection.points
    if points:
        _keep(POINT, ds, O.from_point(float(points[0]["x"]), float(points[0]["y"]), ds))
        st.session_state[POINT_V] = st.session_state.get(POINT_V, 0) + 1


def point_panel(ds) -> O.OwnInput | None:
    from nnlab.figures.layers import plane_input_figure

    lo, hi = ds.x_train.min(0), ds.x_train.max(0)
    pad = 0.15 * (hi - lo)
    lo, hi = lo - pad, hi + pad
    kept = _kept(POINT, ds)  # the last point: new boxes (after a click or a page switch) start from it
    v = st.session_state.get(POINT_V, 0)
    start = np.clip(kept.sample if kept is not None else (lo + hi) / 2, lo, hi)
    left, right = st.columns([2, 1])
    with right:
        x1, x2 = (
            st.number_input(
                f"x{sub}",
                float(lo[d]),
                float(hi[d]),
                round(float(start[d]), 2),
                0.05,
                "%.2f",
                key=f"{key}_{v}",
            )
            for d, sub, key in ((0, "₁", X1), (1, "₂", X2))
        )
    try:
        own = _keep(POINT, ds, O.from_point(x1, x2, ds))
    except O.OwnInputError as e:
        right.error(str(e))
        return None
    names = list(ds.class_names)
    fig = plane_input_figure(ds.x_test, ds.y_test, own.sample, names, title="Click anywhere to place your point")
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], GRID), np.linspace(lo[1], hi[1], GRID))
    fig.add_scatter(
        x=gx.ravel(), y=gy.ravel(), mode="markers", marker=dict(size=12, opacity=0), name="click", showlegend=False
    )
    fig.update_layout(clickmode="event+select", dragmode=False)
    fig.update_xaxes(range=[float(lo[0]), float(hi[0])])  # the plot is the clickable grid, edge to edge
    fig.update_yaxes(range=[float(lo[1]), float(hi[1])], scaleanchor=False)
    with left:
        st.plotly_chart(fig, key=CLICK, on_select=functools.partial(_on_click, ds), selection_mode="points")
    return own


# --- placing it elsewhere -----------------------------------------------------------------------------------------
def picker_expander(ds, what: str) -> O.OwnInput | None:
    """For pages that place an input of your own without taking a test sample: the picker in an expander."""
    if len(sources(ds)) == 1:
        return None
    with st.expander(what, expanded=not is_test(ds), icon=":material/draw:"):
        src = source_radio(ds)
        if src == TEST:
            st.caption(f"Choose {' or '.join(sources(ds)[1:])} to place an input of your own.")
            return None
        return own_panel(ds, src)


def place_words(place, names: list[str], own: O.OwnInput, method: str) -> str:
    """The sentence under the map: where the input lands, and how it was placed."""
    said = place.words(names, own.label) + "."
    said = said[0].upper() + said[1:]
    if place.exact:
        return said + f" It is projected with this map's own {method}; the lines go to those neighbours."
    return (
        f"{said} {method} cannot place a new point, so its neighbours are found among this layer's outputs "
        "themselves and it is drawn at their centre."
    )


@st.cache_data(max_entries=16, show_spinner="Placing your input on the map…")
def _place(_run, _ds, _emb, _model, stamp, k: int, point: str, key: tuple, sample: np.ndarray):
    from nnlab.analysis import embeddings as E

    return E.input_place_info(_run, k, _ds, _emb, _ds.prepare(sample[None]), point, model=_model)


def place_on_map(run, ds, k: int, emb, point: str, key: tuple, own: O.OwnInput, model):
    """Where `own` lands on `emb` (the map of `point` at snapshot k; `key` names the map's settings), cached."""
    return _place(run, ds, emb, model, run_stamp(run), k, point, key, own.sample)


def mark_point(fig, own: O.OwnInput, model, names: list[str]) -> str:
    """Add your point to a plane figure (as a star, over the animation's frames); returns what the network says."""
    from nnlab.analysis.boundary import class_probabilities

    x1, x2 = (float(v) for v in own.sample)
    probs = class_probabilities(model, own.tensor)[0]
    pred = int(np.argmax(probs))
    fig.add_scatter(
        x=[x1],
        y=[x2],
        mode="markers",
        name=own.label,
        marker=dict(symbol="star", size=20, color="black", line=dict(color="white", width=1.5)),
        hovertemplate=f"{own.label}: x₁ %{{x:.2f}}, x₂ %{{y:.2f}}<extra></extra>",
    )
    return (
        f"The star is {own.label} ({x1:.2f}, {x2:.2f}): at this snapshot the network says **{names[pred]}** "
        f"({probs[pred]:.0%})."
    )
