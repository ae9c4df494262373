"""Compare runs: two or more runs side by side: learning curves, where their layers separate the classes, weights.

The runs are chosen here (the sidebar's current run comes first); each one is read once per change of its manifest
(`nnlab.analysis.compare.compare_run`, which shares the class-average summary with the Class averages page) and
`nnlab.figures.compare` draws them, a colour a run in every figure.
"""

from __future__ import annotations

import streamlit as st

import appkit
from appkit.frame.gate import end_page
from appkit.frame.navigation import page_file
from appkit.pickers.runs_table import RUNS_COLUMNS, runs_table
from appkit.session import owner
from appkit.session.current import RUN_KEY
from nnlab.analysis import compare
from nnlab.figures import compare as compare_figures
from nnlab.models import describe_model
from nnlab.runs import RunError

RUNS = "compare_runs"  # the run ids compared
MAX_RUNS = 6


comparison = appkit.run_cached(max_entries=24, show_spinner="Reading the run…")(compare.compare_run)


def data_name(run_id: str) -> str | None:
    run = appkit.open_run(run_id)
    return run.data_config.name if run is not None else None


def default_runs(ids: list[str], current: str | None) -> list[str]:
    """The current run and the newest other run on the same dataset (else the newest other run); `ids` has two."""
    first = current if current in ids else ids[0]
    others = [i for i in ids if i != first]
    same = [i for i in others if data_name(i) == data_name(first)]
    return [first, (same or others)[0]]


st.title("Compare runs")
st.markdown(
    "Put runs side by side: the same data with another network, optimizer or learning rate, say. Which learns "
    "faster, which overfits, where each one's layers pull the classes apart, and how their weights grow."
)

listed = [r for r in appkit.visible_runs() if len(r) > 0]  # yours and the shared ones
ids, names = [r.id for r in listed], owner.labels(listed)
if len(ids) < 2:
    st.info(
        "Comparing needs at least two runs. Train another one on the **Train** page: change one setting (the "
        "learning rate, the width, the optimizer) and come back."
    )
    st.page_link(page_file("train"), label="Train another run", icon=":material/model_training:")
    end_page()
if (linked := appkit.links.incoming("runs")) is not None:  # a link's runs, comma-separated
    found = [i for i in linked.split(",") if i in ids]
    if len(found) < 2:
        appkit.links.notice("runs", linked, "names fewer than two runs on this server")
    st.session_state[RUNS] = found if len(found) >= 2 else st.session_state.get(RUNS)
kept = [i for i in st.session_state.get(RUNS) or [] if i in ids]
if not kept or kept != st.session_state[RUNS]:  # a first visit, or a chosen run was deleted or renamed
    st.session_state[RUNS] = kept if len(kept) >= 2 else default_runs(ids, st.session_state.get(RUN_KEY))
chosen = st.multiselect(
    "Runs to compare",
    ids,
    key=RUNS,
    max_selections=MAX_RUNS,
    format_func=lambda i: names.get(i, i),
    help=f"Two to {MAX_RUNS} of your runs and the shared ones (marked); the newest are at the top of the list.",
)
appkit.links.keep("runs", ",".join(chosen))
runs = [r for r in (appkit.open_run(i) for i in chosen) if r is not None and len(r) > 0]
if len(runs) < 2:
    st.info("Pick at least two runs above.")
    end_page()

st.dataframe(
    owner.runs_table(runs, runs_table),
    hide_index=True,
    width="stretch",
    column_config=RUNS_COLUMNS,
)
data = {r.data_config.name for r in runs}
if len(data) > 1:
    st.warning(
        f"These runs learned different data ({', '.join(sorted(data))}): losses and accuracies are not on the "
        "same footing. Compare runs of one dataset to compare the networks.",
        icon=":material/compare_arrows:",
    )
labels = [f"{i + 1} · {describe_model(r.manifest['model'])} · {r.id}" for i, r in enumerate(runs)]
rows = []
for r, label in zip(runs, labels, strict=True):
    try:
        rows.append(comparison(r, label))
    except RunError as e:  # a damaged snapshot leaves this run out, not the whole comparison
        st.warning(f"{e} It is left out of the comparison.", icon=":material/broken_image:")
if len(rows) < 2:
    st.info("Pick at least two runs that can be read above.")
    end_page()

st.subheader("Learning curves", anchor=False)
st.plotly_chart(compare_figures.curves_figure(rows), key="compare_curves")
appkit.how_to_read(
    "one colour per run. Left: the training loss (solid) and the test loss (dotted) after each epoch; a test loss that "
    "turns up while the training loss keeps falling is overfitting. Right: test accuracy after each epoch."
)

st.subheader("Where the classes come apart", anchor=False)
st.plotly_chart(compare_figures.separability_figure(rows), key="compare_separability")
appkit.how_to_read(
    "for each run's last snapshot, how far apart the class means are compared with the spread inside each class, "
    "at every point of the network (above the dotted line the classes stand apart). A run whose curve rises "
    "earlier separates the classes in shallower layers."
)

st.subheader("The weights over training", anchor=False)
st.plotly_chart(compare_figures.weights_figure(rows), key="compare_weights")
appkit.how_to_read(
    "left, the size (norm) of all weights together at each snapshot: weight decay keeps it small, a large learning "
    "rate makes it jump. Right, the share of ReLU-like units that fired on no evaluation sample: dead units "
    "have stopped learning."
)

appkit.show_code(compare.compare_run, compare_figures.curves_figure, compare_figures.separability_figure)
