"""Class averages: what each class looks like inside the network, where classes come apart, what gets confused.

Reads the recorder's per-class statistics (`mean/<point>`, `std/<point>`) and the confusion matrix of the
sidebar's snapshot through `nnlab.analysis.classes.class_summary`, and draws them with `nnlab.figures.classes`.
A click on a confusion cell lists its samples and opens one in the layer walk-through.
"""

from __future__ import annotations

import streamlit as st

import appkit
from appkit.panels import class_averages as confusion_appkit
from nnlab.analysis import classes
from nnlab.figures import classes as classes_figures

POINT = "classes_point"  # the point whose class means are shown
GROUP = "classes_group"  # group units by the class that drives them most
PAIR = ("classes_a", "classes_b")  # the two classes compared
TRUE, PRED, CHART = (
    confusion_appkit.TRUE,
    confusion_appkit.PRED,
    confusion_appkit.CHART,
)  # the confusion cell listed, and the chart's selection
RUN = "classes_run"  # the run these choices were made for
PARAMS = {PAIR[0]: "a", PAIR[1]: "b", **confusion_appkit.PARAMS}  # the address's names of the class pickers

summary = appkit.run_cached(max_entries=32)(classes.class_summary)
eval_set = appkit.run_cached()(lambda run: run.eval_set())
# Over training: each snapshot's part is cached on its own, so a page following a run adds only the new one.
separability_at = appkit.snapshot_cached()(
    lambda run, k, ratio: classes.separability_at(run, k, ratio, points=appkit.network_points(run))
)
accuracy_at = appkit.snapshot_cached()(lambda run, k: classes.class_accuracy_at(run, k, eval_set(run)[1]))
history = appkit.run_cached(show_spinner="Reading every snapshot's class statistics…")(
    lambda run, ratio: classes.separability_over_training(run, ratio, at=lambda k: separability_at(run, k, ratio))
)
class_learning = appkit.run_cached()(lambda run: classes.class_learning(run, at=lambda k: accuracy_at(run, k)))
input_ratio = appkit.run_cached()(lambda run: classes.input_separability(run, appkit.run_dataset(run)))


# --- the page ----------------------------------------------------------------------------
ctx = appkit.page(
    "classes",
    "its class averages",
    title="Class averages",
    intro=(
        "What does each class look like inside the network? Each figure averages the layer outputs over "
        "the evaluation samples of one true class, at the snapshot chosen in the sidebar."
    ),
)
run, ds, k, names = ctx
base = input_ratio(run)
info = summary(run, k, base)
stats, confusion, pred = info.stats, info.confusion, info.pred
worst = classes.confused_pairs(confusion, 1)
a0, b0 = (worst[0].true, worst[0].pred) if worst else (0, min(1, len(names) - 1))
st.session_state.setdefault(GROUP, True)
for key, value in ((PAIR[0], a0), (PAIR[1], b0), (TRUE, a0), (PRED, b0)):
    if st.session_state.get(RUN) != run.id or st.session_state.get(key) not in names:  # start on the worst mistake
        st.session_state[key] = names[value]
st.session_state[RUN] = run.id
for key, param in PARAMS.items():  # a link's classes, over the defaults above
    appkit.links.choice(key, names, param, what="class")

st.subheader("Each class, layer by layer", anchor=False)
by_name = {s.name: s for s in stats}
hidden = [s.name for s in stats if s.role == "activated"]
default = hidden[-1] if hidden else stats[0].name
if st.session_state.get(POINT) not in by_name:
    st.session_state[POINT] = default
c1, c2 = st.columns([2, 3], vertical_alignment="bottom")
layer = appkit.links.pick(
    c1.selectbox, "Layer output", list(by_name), key=POINT, param="layer", what="layer", persist_state="session"
)
cm = by_name[layer]
grouped = appkit.links.flag(
    c2.toggle, "Group units by the class that drives them most", key=GROUP, param="group", persist_state="session"
)
order = classes.unit_order(cm.mean) if grouped else None
st.plotly_chart(classes_figures.class_heatmap(cm, names, order=order), key="classes_heat")
appkit.how_to_read(
    f"One row per true class, one column per {cm.unit_word}: the colour is the mean output of that "
    f"{cm.unit_word} over the class's samples. "
    + ("Blue is below zero and red above. " if cm.signed else "Dark is zero, bright is large. ")
    + "A column bright for one row only is a unit that fires for that class: a detector."
)

st.subheader("Two classes side by side", anchor=False)
c1, c2 = st.columns(2)
a = confusion_appkit.class_box(c1, "Class A", PAIR[0], names)
b = confusion_appkit.class_box(c2, "Class B", PAIR[1], names)
pair = classes.pair_difference(cm, a, b)
st.plotly_chart(
    classes_figures.pair_figure(pair, names, signed=cm.signed, order=order, what=cm.unit_word), key="classes_pair"
)
st.markdown(classes.describe_difference(pair, names, cm.unit_word))
appkit.how_to_read(
    "The top two rows are the two classes' mean outputs on the same colour scale; the bottom row "
    "is their difference: red where class A is higher, blue where class B is, white where the "
    "layer does not tell them apart."
)

st.subheader("Where do the classes come apart?", anchor=False)
profile = info.profile
st.markdown(classes.describe_separation(profile))
c1, c2 = st.columns(2)
c1.plotly_chart(classes_figures.separability_figure(profile), key="classes_sep")
hist = history(run, base)
c2.plotly_chart(
    classes_figures.separability_history_figure(hist, current_epoch=ctx.snapshot["epoch"]), key="classes_sep_time"
)
appkit.how_to_read(
    "For each point of the network, the spread between the class means divided by the spread of the "
    "samples around their own class mean (a between/within ratio, from the recorded class "
    "statistics; conv layers are averaged over positions first). Above the dotted line (1) the "
    "classes are further apart than they are wide. Right: the same numbers at every snapshot; "
    "the cyan line marks the snapshot shown."
)

st.subheader("Which classes are learned first", anchor=False)
learning = class_learning(run)
st.markdown(classes.describe_learning(learning, names))
st.plotly_chart(
    classes_figures.class_learning_figure(learning, names, current_epoch=ctx.snapshot["epoch"]), key="classes_learning"
)
appkit.how_to_read(
    "one line per class: the share of its evaluation samples the network gets right at each snapshot (from the "
    f"recorded predictions). A class counts as learned once it crosses the dotted line ({classes.LEARNED:.0%}); "
    "the cyan line marks the snapshot shown."
)

st.subheader("What gets confused", anchor=False)
idx, labels = eval_set(run)
left, right = st.columns([3, 2])
with left:
    cell = (names.index(st.session_state[TRUE]), names.index(st.session_state[PRED]))
    fig = classes_figures.confusion_figure(confusion, names, selected=cell)
    st.plotly_chart(fig, key=CHART, on_select=lambda: confusion_appkit.on_cell_click(names), selection_mode="points")
right.markdown(classes.describe_confusion(confusion, names))
appkit.how_to_read(
    "Rows are the true classes, columns the predicted ones; the number in a cell counts the "
    "evaluation samples, the colour is their share of the row. The diagonal is what the network gets "
    "right. Click a cell (or choose it below) to see its samples."
)
confusion_appkit.cell_listing(ds, names, idx, labels, pred, run.id, k)

appkit.show_code(
    classes.class_means, classes.separability, classes.describe_separation, classes.confused_pairs, classes.cell_samples
)
