"""The controls of a map of samples (PCA / t-SNE / UMAP, 2-D or 3-D, how many samples, density lines).

Shared by the Datasets page (a map of the inputs) and Hidden layers (a map of one point's outputs); the choices are
kept in the address (`appkit.session.links`) under the page's own keys.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from appkit.session import links

METHODS = ("PCA", "t-SNE", "UMAP")
METHOD_HELP = (
    "PCA: a linear projection, instant. t-SNE and UMAP: non-linear maps that keep neighbours close; they run in the "
    "background, seconds to minutes."
)


@dataclass(frozen=True)
class MapChoice:
    method: str  # one of METHODS
    dims: int  # 2 or 3
    n: int  # samples mapped
    contours: bool  # density contours of each class


def map_controls(
    prefix: str, sizes: list[int], *, default_n: int, where=None, help_n: str = "", noun: str = "samples"
) -> MapChoice:
    """Method, dimensions, sample count and density widgets in one row (keys `<prefix>_method`, ...)."""
    where = where or st
    c1, c2, c3, c4 = where.columns([2, 1, 2, 1], vertical_alignment="bottom")
    method = links.pick(
        c1.segmented_control,
        "Method",
        list(METHODS),
        key=f"{prefix}_method",
        param="method",
        what="method",
        default="PCA",
        required=True,
        help=METHOD_HELP,
    )
    dims = links.pick(
        c2.segmented_control, "Dimensions", [2, 3], key=f"{prefix}_dims", param="dims", what="dimensions", default=2
    )
    if len(sizes) > 1:
        st.session_state.setdefault(f"{prefix}_n", min(default_n, sizes[-1]))
        n = links.pick(
            c3.select_slider, "Samples", sizes, key=f"{prefix}_n", param="n", what="sample count", help=help_n
        )
    else:  # a small set: nothing to choose
        n = sizes[0]
        c3.caption(f"All {n:,} {noun} are shown.")
    st.session_state.setdefault(f"{prefix}_contours", True)
    contours = links.flag(
        c4.checkbox, "Density", key=f"{prefix}_contours", param="density", help="Contour lines of each class's density."
    )
    return MapChoice(method or "PCA", dims or 2, int(n), contours)
