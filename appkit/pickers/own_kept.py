"""Where the student's own input lives between reruns: the chosen source and the last good input of each source.

Shared by the own-input picker (`pickers.own_input`) and its panels (`own_image`, `own_point`). Inputs are kept in the
session only (never on disk, never in a link), each with the sample shape it was converted for.
"""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from nnlab.data import own_input

SOURCE = "own_source"  # where the sample comes from: one of SOURCES
KEPT = "own_kept"  # source → (dataset shape, OwnInput): the last good input of each source
TEST, DRAW, UPLOAD_SOURCE, POINT = "Test sample", "Draw", "Upload an image", "Click a point"
SOURCES = (TEST, DRAW, UPLOAD_SOURCE, POINT)


def sources(ds) -> list[str]:
    """The sources this dataset's samples can come from (by its kind, not its name)."""
    return [TEST, DRAW, UPLOAD_SOURCE] if ds.is_image else [TEST, POINT] if ds.is_2d else [TEST]


def source(ds) -> str:
    """The chosen source, if this dataset offers it (else a test sample)."""
    chosen = st.session_state.get(SOURCE, TEST)
    return chosen if chosen in sources(ds) else TEST


def is_test(ds) -> bool:
    return source(ds) == TEST


def keep(src: str, ds, own: own_input.OwnInput) -> own_input.OwnInput:
    """Remember `own` as the last good input of `src` (for samples of this dataset's shape); returns it."""
    st.session_state.setdefault(KEPT, {})[src] = (tuple(ds.input_shape), own)
    return own


def forget(src: str) -> None:
    st.session_state.get(KEPT, {}).pop(src, None)


def kept(src: str, ds) -> own_input.OwnInput | None:
    """The last good input of `src` for samples of this shape, normalised with this run's statistics."""
    shape, own = st.session_state.get(KEPT, {}).get(src, (None, None))
    if own is None or shape != tuple(ds.input_shape):
        return None
    return replace(own, tensor=ds.prepare(own.sample[None]))


def current(ds) -> own_input.OwnInput | None:
    """The student's own input of the chosen source (None for a test sample or none yet): for pages that place it."""
    src = source(ds)
    return None if src == TEST else kept(src, ds)
