"""Choices a page makes with more than one widget, kept in the address: which units of a layer to show.

Used by the Weight evolution page; the Units page can share it.
"""

from __future__ import annotations

import streamlit as st

from appkit.session import links


def unit_choice(layer) -> tuple[str, int, int]:
    """Which units the animation shows: all, the most changed, or a range (kept in the address)."""
    if layer.tile == "matrix":
        return "all", layer.units, 0
    count, start = layer.units, 0
    c1, c2, c3 = st.columns(3)
    how = links.pick(
        c1.radio,
        "Units",
        ["all", "changed", "range"],
        key="weights_units",
        param="units",
        what="choice of units",
        horizontal=True,
        format_func={"all": "All", "changed": "Most changed", "range": "A range"}.get,
        help="Most changed: the units whose weights moved farthest from the start to the end of training.",
    )
    if how != "all":
        st.session_state.setdefault("weights_count", min(32, layer.units))
        count = links.number(c2.slider, "How many", 1, layer.units, key="weights_count", param="count", what="count")
    if how == "range":
        high = max(layer.units - count, 0)
        start = links.number(c3.number_input, "First unit", 0, high, key="weights_start", param="first", what="unit")
    return how, int(count), int(start)
