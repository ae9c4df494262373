"""The student's own input, where a test sample goes: a drawing, an uploaded image or a point of the plane.

`choose()` is the source picker of the pages that take a sample (walk-through, attribution): "Test sample" is the
picker of `pickers.samples`; "Draw" and "Upload an image" (image data, `pickers.own_image`) and "Click a point"
(2-D data, `pickers.own_point`) convert with `nnlab.data.own_input` and show the converted input beside what was
drawn. The converted input lives in the session (`pickers.own_kept`: never on disk, never in a link), so the
hidden-layer, latent-space and boundary pages can place it too (`current()`, `picker_expander()`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from appkit.caches import run_stamp
from appkit.pickers import samples
from appkit.pickers.own_image import draw_panel, upload_panel
from appkit.pickers.own_kept import DRAW, POINT, SOURCE, SOURCES, TEST, UPLOAD_SOURCE, current, is_test, source, sources
from appkit.pickers.own_point import CLICK, GRID, mark_point, point_panel
from nnlab.data import own_input

__all__ = [  # what pages use: the picker, and the names its panels and state keep
    "CLICK",
    "DRAW",
    "GRID",
    "POINT",
    "SOURCE",
    "SOURCES",
    "TEST",
    "UPLOAD_SOURCE",
    "Choice",
    "choose",
    "current",
    "is_test",
    "mark_point",
    "own_panel",
    "picker_expander",
    "place_on_map",
    "place_words",
    "source",
    "source_radio",
    "sources",
    "verdict",
]


@dataclass(frozen=True)
class Choice:
    """What the page shows: a test sample (`index`), an input of the student's own (`own`), or nothing yet."""

    index: int | None = None
    own: own_input.OwnInput | None = None

    @property
    def ready(self) -> bool:
        return self.index is not None or self.own is not None


def verdict(info: dict, names: list[str], pred: int, prob: float, label: str) -> str:
    """Markdown: what the network says about an input with no truth, without right or wrong."""
    return (
        f"At step {info['step']} (epoch {info['epoch']:.2f}) the network says **{names[pred]}** ({prob:.0%}) for "
        f"{label}. There is no truth to compare with: you know what you meant, the network only sees the numbers."
    )


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
        samples.picker(ds, names, wrong, n_eval, play_every=play_every)
        return Choice(index=samples.index())
    return Choice(own=own_panel(ds, src))


def own_panel(ds, src: str) -> own_input.OwnInput | None:
    """The controls of one own-input source, with the converted input beside them; messages in place of bad input."""
    if src == DRAW:
        return draw_panel(ds)
    if src == UPLOAD_SOURCE:
        return upload_panel(ds)
    if src == POINT:
        return point_panel(ds)
    return None


# --- placing it elsewhere -----------------------------------------------------------------------------------------
def picker_expander(ds, what: str) -> own_input.OwnInput | None:
    """For pages that place an input of your own without taking a test sample: the picker in an expander."""
    if len(sources(ds)) == 1:
        return None
    with st.expander(what, expanded=not is_test(ds), icon=":material/draw:"):
        src = source_radio(ds)
        if src == TEST:
            st.caption(f"Choose {' or '.join(sources(ds)[1:])} to place an input of your own.")
            return None
        return own_panel(ds, src)


def place_words(place, names: list[str], own: own_input.OwnInput, method: str) -> str:
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
    from nnlab.analysis import embeddings

    return embeddings.input_place_info(_run, k, _ds, _emb, _ds.prepare(sample[None]), point, model=_model)


def place_on_map(run, ds, k: int, emb, point: str, key: tuple, own: own_input.OwnInput, model):
    """Where `own` lands on `emb` (the map of `point` at snapshot k; `key` names the map's settings), cached."""
    return _place(run, ds, emb, model, run_stamp(run), k, point, key, own.sample)
