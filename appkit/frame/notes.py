"""The words around a page's figures: "how to read this" under a figure, and the nnlab code behind a page."""

from __future__ import annotations

import functools
import inspect

import streamlit as st


def how_to_read(text: str) -> None:
    """A short "how to read this" caption under a figure."""
    st.caption(f"**How to read this:** {text}")


def show_code(*objects) -> None:
    """An expander with the source of the nnlab functions behind a page."""
    with st.expander("Show the nnlab code behind this page"):
        for obj in objects:
            st.code(_source(obj), language="python")


@functools.lru_cache(maxsize=256)
def _source(obj) -> str:
    """The source of a function or class: read once per server (a page following a run redraws twice a second)."""
    return inspect.getsource(obj)
