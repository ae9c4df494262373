"""Backpropagation: one sample's backward pass at any moment of training, and a small network to hold in your hands.

Reads the sidebar's run and snapshot: `nnlab.analysis.backprop` replays the snapshot's weights and optimizer state on
the chosen sample (the loss, every point's gradient with its gates, each weight's gradient, the optimizer's step and
the loss after it), `nnlab.figures.backprop` draws them. For 2-D data and a small MLP,
`appkit.panels.backprop_network` draws the network as nodes and edges whose weights the student can change by hand
(in the session only).
"""

from __future__ import annotations

import streamlit as st

import appkit
from appkit.frame.gate import end_page
from appkit.panels import backprop as panels
from appkit.panels import backprop_network as hand_network
from appkit.pickers import own_input, samples
from nnlab.analysis import backprop as bp
from nnlab.analysis import hand_network as hand
from nnlab.figures import backprop as figs

ctx = appkit.page(
    "backprop",
    "its samples",
    title="Backpropagation",
    intro=(
        "How does the network learn from one sample? Pick a sample and follow it back: the loss, the gradient at "
        "every layer from the top down, where ReLU stops it, each weight's gradient, and the step the optimizer "
        "takes from the state it had at this moment of training. Move the **training time** slider in the sidebar "
        "to replay the same sample at another snapshot."
    ),
)
run, ds, k, names = ctx
if ctx.kind.task.name != "classification":
    st.info(
        "Backpropagation is shown for classifiers: the loss here is cross-entropy against a class.",
        icon=":material/info:",
    )
    end_page()
wrong, n_eval = samples.wrong_at(run, k)
samples.prepare_state(len(ds.y_test), names)
choice = own_input.choose(ds, names, wrong, n_eval)
if not choice.ready:
    end_page()
truth = None if choice.own is not None else int(ds.y_test[choice.index])
target = panels.target_picker(names, truth)
if choice.own is not None and truth is None:
    st.caption("Your own input has no truth: choose the class you mean as the loss's target.")
record = panels.record_for(ctx, choice, target)

panels.loss_panel(ctx, record)
panels.gradients_panel(record)
panels.weights_panel(record)
panels.step_panel(record)
hand_network.hand_panel(ctx, choice, target)
appkit.show_code(bp.backprop, bp.adam_step, bp.sgd_step, figs.outer_product_figure, hand.hand_network_info)
