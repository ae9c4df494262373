"""The own-input panels of image data: a drawing on a canvas, or an uploaded image, beside what the network sees.

Part of the own-input picker (`appkit.pickers.own_input`): each panel converts with `nnlab.data.own_input` (the way the
dataset's samples were made), keeps the last good input in the session (`own_state`) and shows it pixel for pixel.
"""

from __future__ import annotations

import base64
import io

import numpy as np
import streamlit as st
from PIL import Image

from appkit.pickers.own_kept import DRAW, UPLOAD_SOURCE, forget, keep, kept
from nnlab.data import own_input

CANVAS = "own_canvas"  # the drawing canvas (component value: {"drawing": {"raw": fabric json, "data": PNG URL}})
DRAWING = "own_drawing"  # the canvas's last drawing (fabric json), drawn again after a page switch
DRAWING_INIT = "own_drawing_init"  # what this mount of the canvas started from (kept fixed while it is shown)
UPLOAD = "own_upload"  # the file uploader (bytes stay in memory)
CANVAS_SIDE = 224  # CSS pixels (about 6 cm): room for a digit drawn with the mouse or a finger
TOOLBAR_ROOM = 40  # pixels above the canvas for its hover toolbar (about 32 px tall, drawn just above the canvas)
STROKE = 18  # brush width on the canvas, so a digit's strokes end up as thick as the dataset's


def _enlarged(image: np.ndarray, side: int = 168) -> np.ndarray:
    """Pixels enlarged without smoothing, in a grey frame (a white pixel would vanish into the page)."""
    scale = max(1, side // image.shape[0])
    big = np.kron(image, np.ones((scale, scale) + (1,) * (image.ndim - 2), np.uint8))
    return np.pad(big, ((2, 2), (2, 2)) + ((0, 0),) * (big.ndim - 2), constant_values=160)


def show_converted(own: own_input.OwnInput, ds) -> None:
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


def draw_panel(ds) -> own_input.OwnInput | None:
    from streamlit_drawable_canvas import st_canvas

    if CANVAS not in st.session_state:  # a new mount (first visit, or back from another page): redraw the last one
        st.session_state[DRAWING_INIT] = st.session_state.get(DRAWING)
    left, right = st.columns([1, 1])
    with left:
        colour = "#000000"
        if ds.input_shape[0] == 3:
            colour = st.color_picker("Ink", "#000000", key="own_ink")
        st.space(TOOLBAR_ROOM)  # the canvas's toolbar floats above it on hover: over this, not the input choices
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
    last = kept(DRAW, ds) if image is None and (st.session_state.get(DRAWING_INIT) or {}).get("objects") else None
    try:
        own = last or own_input.from_canvas(image, ds)  # no picture sent yet: the canvas shows the last drawing again
    except own_input.OwnInputError as e:
        forget(DRAW)
        right.info(str(e), icon=":material/draw:")
        return None
    with right:
        show_converted(own, ds)
    return keep(DRAW, ds, own)


def upload_panel(ds) -> own_input.OwnInput | None:
    left, right = st.columns([1, 1])
    file = left.file_uploader(
        "An image (PNG, JPEG, WebP or GIF)",
        type=["png", "jpg", "jpeg", "webp", "gif"],
        key=UPLOAD,
        max_upload_size=own_input.MAX_UPLOAD_BYTES >> 20,
        help="Kept in memory for this session only; never saved on the server.",
    )
    if file is None:
        own = kept(UPLOAD_SOURCE, ds)
        if own is None:
            right.info("Upload an image: it is turned into the dataset's size and channels.", icon=":material/upload:")
            return None
        left.caption("Your last image is shown; upload another to replace it.")
    else:
        try:
            own = keep(UPLOAD_SOURCE, ds, own_input.from_upload(file.getvalue(), ds))
        except own_input.OwnInputError as e:
            forget(UPLOAD_SOURCE)
            right.error(f"{file.name}: {e}", icon=":material/broken_image:")
            return None
        left.image(own.picture, caption=file.name, width=200)
    with right:
        show_converted(own, ds)
    return own
