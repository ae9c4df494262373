"""The Backpropagation page's panels: the target, the loss and the step's effect, the gradient at every point, each
weight's gradient and the optimizer's step, each with its words.

Used by `app_pages/backprop.py` (which picks the sample); the records come from `nnlab.analysis.backprop`, one per
(run, snapshot, sample, target), kept in memory shared by sessions (read-only). The small network you can change by
hand is in `appkit.panels.backprop_network`.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from appkit.caches import snapshot_cached
from appkit.frame.notes import how_to_read
from appkit.session import links
from nnlab.analysis import backprop as bp
from nnlab.figures import backprop as figs

TARGET = "backprop_target"  # the class the loss asks for: TRUTH, or a class name
TRUTH = "the true class"


@snapshot_cached(max_entries=256)
def test_record(run, k: int, index: int, target: int, *, _data) -> bp.Backprop:
    """The backward pass of test sample `index` at snapshot k (computed once, shared read-only)."""
    return bp.run_backprop(run, k, _data.prepare(_data.x_test[index : index + 1]), target, index=index)


def target_picker(names: list[str], truth: int | None) -> int:
    """The class the loss asks for: the truth by default (an own input has none: the predicted class stands in)."""
    options = [TRUTH, *names] if truth is not None else list(names)
    if st.session_state.get(TARGET) not in options:
        st.session_state[TARGET] = options[0]
    chosen = links.pick(
        st.selectbox,
        "Target class of the loss",
        options,
        key=TARGET,
        param="target",
        what="target class",
        help="Cross-entropy asks for this class: the gradients show how to make it more likely.",
    )
    return truth if chosen == TRUTH else names.index(chosen)


def record_for(ctx, choice, target: int) -> bp.Backprop:
    if choice.own is not None:
        return bp.run_backprop(ctx.run, ctx.k, choice.own.tensor, target)
    return test_record(ctx.run, ctx.k, int(choice.index), int(target), _data=ctx.data)


def _unit(p: bp.PointGrad, index: tuple[int, ...]) -> str:
    """An entry of a point in words: "unit 3", "channel 2 at (4, 5)", "token 0, dimension 7"."""
    if p.layout == "map":
        return f"channel {index[0]} at ({index[1]}, {index[2]})"
    if p.layout == "tokens":
        return f"token {index[0]}, dimension {index[1]}"
    if p.layout == "attention":
        return f"head {index[0]}, token {index[1]} → {index[2]}"
    return f"unit {index[0]}"


def loss_panel(ctx, record: bp.Backprop) -> None:
    """The loss, the class probabilities, and the same after the optimizer's one-sample step."""
    st.subheader("1 · The loss", anchor=False)
    names, t = ctx.names, record.target
    better = "falls" if record.loss_after < record.loss else "rises"
    st.markdown(
        f"The network gives the target **{names[t]}** {record.probs[t]:.1%}, so the cross-entropy loss is "
        f"**{record.loss:.4f}** (= −ln {record.probs[t]:.3f}). One {record.optimizer.name.upper()} step on this "
        f"sample alone, from the state recorded at step {record.step}, {better} to **{record.loss_after:.4f}** "
        f"({names[t]}: {record.probs_after[t]:.1%})."
    )
    st.plotly_chart(figs.loss_figure(record, names), key="backprop_loss")
    how_to_read("Pale bars: the probabilities now; solid bars: after the step. The target's bars are outlined.")


def gradients_panel(record: bp.Backprop) -> None:
    """The gradient at every point from the output down, with the gates, and where it is largest."""
    st.subheader("2 · The gradient flows back, point by point", anchor=False)
    big = bp.largest_gradient(record)
    if big.name:
        st.markdown(
            f"The gradient is largest at **{big.name}**, {_unit(record.point(big.name), big.index)} "
            f"({big.value:+.4g}): nudging that value changes the loss most."
        )
    for p in record.points:
        if p.gate is None:
            continue
        n, stopped = p.gate.size, p.stopped
        which = ", ".join(str(i) for i in stopped[:12]) + (" …" if len(stopped) > 12 else "")
        st.markdown(
            f"**{p.name}**: the gate stopped the gradient at {len(stopped)} of {n} "
            + ("values" if p.layout == "map" else "units")
            + (
                f" ({which}): they passed nothing back, so nothing below them learns from this sample."
                if len(stopped)
                else ": every unit passed its gradient on."
            )
        )
    if any(p.layout in ("vector", "code") for p in record.points):
        st.plotly_chart(figs.vector_gradients_figure(record.points), key="backprop_vectors")
        how_to_read(
            "Each strip is ∂loss/∂(a point), from the logits on the left back to the first layer on the right; red "
            "means raising that value raises the loss, blue lowers it. A × marks a unit whose gate (ReLU: its raw "
            "value was ≤ 0) stopped the gradient: the strip to its right is zero there."
        )
    for layer in sorted({p.layer for p in record.points if p.layout == "map"}, reverse=True):
        st.plotly_chart(figs.map_gradients_figure(record.points, layer), key=f"backprop_maps{layer}")
    if any(p.layout == "map" for p in record.points):
        how_to_read(
            "Each tile is one channel's gradient map, blue below zero, red above; a gate panel is bright "
            "where ReLU passed the gradient and dark where it stopped it."
        )
    if any(p.layout == "tokens" for p in record.points):
        st.plotly_chart(figs.tokens_gradients_figure(record.points), key="backprop_tokens")
        how_to_read("A row per token (the class token on top), a column per dimension: ∂loss/∂(each token).")


def weights_panel(record: bp.Backprop) -> None:
    """Each weight's gradient: dense layers as an outer product, convolutions per filter; which moves most."""
    st.subheader("3 · Each weight's gradient", anchor=False)
    weights = record.weights()
    name = st.selectbox("Weight", [p.name for p in weights], key="backprop_weight")
    param = record.param(name)
    if param.is_dense:
        st.plotly_chart(figs.outer_product_figure(param), key="backprop_outer")
        i, j = np.unravel_index(int(np.abs(param.grad).argmax()), param.grad.shape)
        how_to_read(
            f"A dense layer's weight gradient is the outer product of its input (top row) and the gradient at its "
            f"output (left column): entry [{i}, {j}] = {param.outgoing[i]:+.3g} × {param.incoming[j]:+.3g} "
            f"= {param.grad[i, j]:+.3g}, the largest here. A zero input, or a unit the gate stopped, zeroes a whole "
            "column or row."
        )
    elif param.is_filters:
        st.plotly_chart(figs.filters_figure(param), key="backprop_filters")
        how_to_read("One row per filter (output channel), one tile per input channel; blue below zero, red above.")
    else:
        st.plotly_chart(figs.step_figure(param, record.optimizer.name), key="backprop_other")


def step_panel(record: bp.Backprop) -> None:
    """The optimizer's step for this sample from the recorded state, and which weight it moves most."""
    opt = record.optimizer
    st.subheader("4 · The optimizer's step", anchor=False)
    move = bp.largest_move(record)
    if opt.name == "adam":
        c1, c2 = opt.bias_correction
        rule = (
            f"Adam, step t = {opt.t}: m ← 0.9·m + 0.1·g, v ← 0.999·v + 0.001·g², then θ ← θ − lr/(1−0.9ᵗ) · m "
            f"/ (√v/√(1−0.999ᵗ) + ε), with lr = {opt.lr:.3g}, 1−0.9ᵗ = {c1:.4f}, 1−0.999ᵗ = {c2:.4f}"
        )
    else:
        rule = f"SGD: b ← {opt.momentum:g}·b + g (b = g at the first step), then θ ← θ − {opt.lr:.3g}·b"
    if opt.weight_decay:
        rule += f"; the gradient includes weight decay {opt.weight_decay:g}·θ"
    st.markdown(f"{rule}. The weight that moves most is **{move.name}{list(move.index)}**, by {move.value:+.3g}.")
    st.plotly_chart(figs.step_sizes_figure(record), key="backprop_sizes")
    name = st.session_state.get("backprop_weight") or record.weights()[0].name
    st.plotly_chart(figs.step_figure(record.param(name), opt.name), key="backprop_step")
    how_to_read(
        "Top: each parameter's largest change. Below, for the weight chosen above: this sample's gradient, the "
        "optimizer's recorded state before and after, and the step; with momentum or Adam the step follows the "
        "state, so it may point away from this one sample's gradient."
    )
