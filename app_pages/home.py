"""Home: what nnlab is, a one-click quick start, and the runs recorded so far."""

import streamlit as st

import appkit
from appkit.frame import navigation
from appkit.frame.navigation import page_file
from appkit.pickers.runs_table import RUNS_COLUMNS, runs_table
from appkit.session import current, owner
from appkit.training import quick_start_button
from nnlab.jobs import JobRegistry

st.title("nnlab: watch a neural network learn")

left, right = st.columns([3, 2], gap="large")
with left:
    st.markdown(
        "nnlab trains small neural networks and **records everything while they learn**: every weight, "
        "every gradient, and what each layer does to each class, about fifty times per run. Then you look "
        "inside: follow one sample through the layers, compare what the classes look like inside the network, "
        "see which parts of an input drive a prediction, and watch the weights and the decision boundary change "
        "over training.\n\n"
        "**How it goes:** look at a dataset on **Datasets** → configure and train a network on **Train** "
        "(it trains in the background, so you can look around meanwhile) → pick the run in the sidebar and "
        "scrub through **training time** with the slider on any page that looks inside the network."
    )
    st.caption(
        "Everything here also works from Python: `python -m nnlab train --dataset digits` records a run "
        "that appears in this app, and `nnlab.record_loop` records your own PyTorch model and training loop "
        "(see the README)."
    )

with right, st.container(border=True):
    st.subheader("Quick start", anchor=False)
    st.markdown(
        "Train a small network on **two moons**, two interleaving half circles of points. "
        "It takes a few seconds; then look inside it."
    )
    quick_start_button("home_quick")
    st.markdown("New to neural networks? Start with the first lesson:")
    st.page_link(
        page_file("lessons"),
        label="Lesson 1: One neuron draws a line",
        icon=":material/school:",
        query_params={"lesson": "01-one-neuron", "step": "1"},
    )
    run = appkit.current_run()
    if run is None and current.gone():
        st.warning(current.gone_words(), icon=":material/delete:")
    if run is not None:
        st.success(
            f"Current run: **{run.id}** ({run.status}, test accuracy {run.final_accuracy:.1%})"
            if run.final_accuracy is not None
            else f"Current run: **{run.id}**"
        )
        fits, needs = navigation.views_for(run)
        st.markdown("**Look inside it:**")
        for entry in fits:
            st.page_link(page_file(entry.name), label=entry.title, icon=entry.icon)
        if needs:
            st.caption("  \n".join(f"{entry.title} {why.rstrip('.')}." for entry, why in needs))

st.subheader("Your runs", anchor=False)
runs = appkit.visible_runs()  # your own and the shared ones: never another student's
if not runs:
    st.info("No runs yet: use the quick start above, or configure one on the Train page.")
    st.page_link(page_file("train"), label="Go to Train", icon=":material/model_training:")
else:
    table = owner.runs_table(runs, runs_table)
    st.dataframe(table, hide_index=True, column_config=RUNS_COLUMNS, width="stretch")
    n_own = int((table["whose"] == "yours").sum())
    st.caption(
        f"{n_own} of your own and {len(runs) - n_own} shared (read-only: by the teacher, a lesson, or trained "
        "before with the same settings). Pick one in the sidebar to look at it; rename, delete, download or upload "
        "runs on the **Runs** page."
    )

appkit.show_code(quick_start_button, JobRegistry.start)
