"""The Class averages page's confusion cell: the two class pickers a click on the matrix fills, and its samples.

Each listed sample opens in the layer walk-through; the chosen cell is kept in the address (`true`, `pred`).
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from appkit.pickers import samples
from appkit.session import links
from nnlab.analysis import classes

TRUE, PRED = "classes_true", "classes_pred"  # the confusion cell whose samples are listed (selectboxes)
CHART = "classes_confusion"  # the confusion chart's selection state
THUMBS = 24  # samples listed for a cell
PARAMS = {TRUE: "true", PRED: "pred", "classes_a": "a", "classes_b": "b"}  # the address's names of class pickers


def on_cell_click(names: list[str]) -> None:
    """A click on a confusion cell (a callback: it runs before the page) selects it in the boxes below."""
    cell = classes.cell_from_selection(st.session_state.get(CHART))
    if cell is not None:
        st.session_state[TRUE], st.session_state[PRED] = names[cell[0]], names[cell[1]]


def class_box(where, label: str, key: str, names: list[str]) -> int:
    """A class picker (its state holds the class name); returns the class index."""
    value = where.selectbox(label, names, key=key, persist_state="session")
    links.keep(PARAMS.get(key, key), value)
    return names.index(value)


def cell_listing(
    ds, names: list[str], idx: np.ndarray, labels: np.ndarray, pred: np.ndarray, run_id: str, k: int
) -> None:
    """The samples of the chosen cell, each with a button that opens it in the walk-through."""
    c1, c2 = st.columns(2)
    t = class_box(c1, "True class", TRUE, names)
    p = class_box(c2, "Predicted as", PRED, names)
    hits = classes.cell_samples(idx, labels, pred, t, p)
    st.markdown(
        f"**{len(hits)}** evaluation samples of true class **{names[t]}** were predicted as **{names[p]}**"
        + (f"; the first {THUMBS}:" if len(hits) > THUMBS else (":" if len(hits) else "."))
    )
    samples.gallery(ds, hits[:THUMBS], run_id, k, key="classes_open")
