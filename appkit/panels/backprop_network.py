"""The Backpropagation page's network you can hold: a small 2-D MLP as nodes and edges, a weight or bias changed by
hand with a slider, and the decision boundary and the loss redrawn at once.

Used by `app_pages/backprop.py`. The edits live in this session only (`EDITS`, for the run and snapshot in
`EDITS_AT`): the run on disk never changes, and "Reset to the snapshot" forgets them. A click on an edge or a node of
the picture picks it for the slider, as the selectbox does; the selectbox and what the edges show go in the link.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from appkit.caches import snapshot_model
from appkit.frame.notes import how_to_read
from appkit.session import links
from nnlab.analysis import boundary
from nnlab.analysis import hand_network as hand
from nnlab.figures import hand_network as figs

EDITS, EDITS_AT = "hand_edits", "hand_edits_at"  # {(parameter, entry): value}; the (run, snapshot) they belong to
ENTRY, VALUE, VALUE_FOR = "hand_entry", "hand_value", "hand_value_for"  # the chosen entry; the slider; its entry
SHOW, CHART, PICKED = "hand_show", "hand_chart", "hand_picked"  # edges by weight or gradient; the picture; last click
SHOWS = ("weights", "this sample's gradients")
RESOLUTION = 50  # grid cells per side of the node maps and the boundary


def _entries(model) -> dict[str, tuple[str, tuple[int, ...]]]:
    """Every weight and bias of the network in words → (parameter, entry)."""
    columns, layers = hand.columns_of(model), hand.dense_layers(model)
    return {hand.entry_words(name, index, columns, layers): (name, index) for name, index in hand.entries(model)}


def _on_pick(entries: dict) -> None:
    """A click on the picture (before the script runs): an edge or node picks its weight or bias."""
    points = (st.session_state.get(CHART) or {}).get("selection", {}).get("points", [])
    data = next((p.get("customdata") for p in points if p.get("customdata")), None)
    if not data or not data[0]:
        return
    name, index = data[0], (int(data[1]),) if int(data[2]) < 0 else (int(data[1]), int(data[2]))
    label = next((words for words, entry in entries.items() if entry == (name, index)), None)
    if label is not None:
        st.session_state[ENTRY] = label


def _reset() -> None:
    st.session_state[EDITS] = {}
    st.session_state.pop(VALUE_FOR, None)


def _store(entry: tuple[str, tuple[int, ...]]) -> None:
    st.session_state[EDITS] = {**st.session_state.get(EDITS, {}), entry: float(st.session_state[VALUE])}


def hand_panel(ctx, choice, target: int) -> None:
    """The node-link picture, the slider on the chosen weight or bias, and the boundary with the edits."""
    run, ds, k, names = ctx
    st.subheader("5 · A network you can hold", anchor=False)
    model = snapshot_model(run, k)  # shared read-only: the analysis edits a copy
    reason = hand.holdable(model)
    if reason:
        st.info(f"The node-and-edge picture is drawn for small networks on 2-D data: {reason}.", icon=":material/info:")
        return
    if st.session_state.get(EDITS_AT) != (run.id, k):  # another run or snapshot: its own weights, no edits
        st.session_state[EDITS], st.session_state[EDITS_AT] = {}, (run.id, k)
        st.session_state.pop(VALUE_FOR, None)
    entries = _entries(model)
    labels = list(entries)
    if st.session_state.get(ENTRY) not in entries:
        st.session_state[ENTRY] = labels[0]
    left, mid, right = st.columns([4, 3, 2], vertical_alignment="bottom")  # the reset button's label in full
    label = links.pick(
        left.selectbox,
        "Weight or bias to change (or click an edge or a node)",
        labels,
        key=ENTRY,
        param="edge",
        what="weight",
    )
    entry = entries[label]
    edits = st.session_state[EDITS]
    start = float(model.get_parameter(entry[0])[entry[1]].detach())
    if st.session_state.get(VALUE_FOR) != entry:  # a newly chosen entry: the slider starts at its value
        st.session_state[VALUE], st.session_state[VALUE_FOR] = round(edits.get(entry, start), 2), entry
    lim = float(np.ceil(max(3.0, 1.5 * abs(start), abs(st.session_state[VALUE]))))
    mid.slider("Its value", -lim, lim, step=0.01, key=VALUE, on_change=_store, args=(entry,))
    right.button(
        "Reset to the snapshot", on_click=_reset, key="hand_reset", icon=":material/restart_alt:", disabled=not edits
    )
    show = links.pick(st.radio, "Edges show", SHOWS, key=SHOW, param="edges", what="edge view", horizontal=True)
    raw = choice.own.sample if choice.own is not None else ds.x_test[choice.index]
    sample = ds.prepare(np.asarray(raw, np.float32)[None])
    grid = boundary.plane_grid(np.concatenate([ds.x_train, ds.x_test]), RESOLUTION)
    net = hand.run_hand_network(run, k, ds, sample, target, edits, grid=grid, model=model)
    base = net if not edits else hand.run_hand_network(run, k, ds, sample, target, {}, grid=grid, model=model)
    c1, c2 = st.columns([3, 2])
    fig = figs.network_figure(
        net, show="gradients" if show == SHOWS[1] else "weights", selected=entry, class_names=names
    )
    c1.plotly_chart(fig, key=CHART, on_select=lambda: _on_pick(entries), selection_mode="points")
    c2.plotly_chart(
        figs.hand_boundary_figure(net, ds.x_test, ds.y_test, names, point=np.asarray(raw)), key="hand_boundary"
    )
    changed = f"You changed {len(edits)} value{'s' if len(edits) != 1 else ''} by hand: " if edits else ""
    st.markdown(
        f"{changed}test loss **{base.loss:.3f} → {net.loss:.3f}**, accuracy {base.accuracy:.1%} → {net.accuracy:.1%}; "
        f"this sample's loss {base.record.loss:.4f} → {net.record.loss:.4f}."
        if edits
        else f"At the snapshot: test loss **{net.loss:.3f}**, accuracy {net.accuracy:.1%}; this sample's loss "
        f"{net.record.loss:.4f}. Move the slider to change the chosen weight; nothing is saved to the run."
    )
    how_to_read(
        "Each square is one node's own map over the plane: the inputs x₀ and x₁, each hidden unit after its "
        "activation (dark where silent), each class's probability. Edges: red above zero, blue below, wider when "
        "larger; with “this sample's gradients” their width and colour are the gradient of the star's loss, and a "
        "thicker ring marks a node with a larger gradient. The yellow edge or node is the one the slider changes."
    )
