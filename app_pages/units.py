"""Units: what each unit (a dense layer's unit, a conv layer's channel) responds to, and what breaks without it.

Reads the sidebar's run and snapshot. `nnlab.analysis.units` runs the evaluation subset through the network once
per (run, snapshot, layer) (`run_unit_table`: each unit's value and the layer's mean), picks one unit's top examples
and density from it; `nnlab.analysis.ablation` switches units off starting from that table (`run_ablation_info`: a
dense layer's only the layers after it) and ranks every unit by the accuracy it costs, in the background
(`run_ablation_ranking`); `nnlab.figures.units` draws them.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

import appkit
from appkit.frame.gate import end_page
from nnlab.analysis import ablation as ablation_analysis
from nnlab.analysis import units as units_analysis
from nnlab.analysis.attribution import feature_names
from nnlab.figures import units as units_figures

POINT, UNIT, OFF, MODE = "units_point", "units_unit", "units_off", "units_mode"  # the layer, the unit, ablation


@appkit.run_cached(max_entries=16, show_spinner="Running the evaluation subset through the network…")
def unit_table(run, k: int, point: str) -> units_analysis.UnitTable:
    return units_analysis.run_unit_table(run, k, appkit.run_dataset(run), point)


@appkit.run_cached(max_entries=64)
def unit_info(run, k: int, point: str, unit: int) -> units_analysis.UnitInfo:
    return units_analysis.run_unit_info(run, k, appkit.run_dataset(run), point, unit, table=unit_table(run, k, point))


@appkit.run_cached(max_entries=32, show_spinner="Switching the units off…")
def ablation(run, k: int, point: str, units: tuple[int, ...], mode: str) -> ablation_analysis.AblationInfo:
    return ablation_analysis.run_ablation_info(
        run, k, appkit.run_dataset(run), point, units, mode, table=unit_table(run, k, point)
    )


ctx = appkit.page(
    "units",
    "its units",
    title="Units: what each one responds to, and what breaks without it",
    intro=(
        "A layer is made of units (a convolution's are its channels). Which inputs drive one unit highest? How often "
        "does it fire at all? And what does the network lose when it is switched off?"
    ),
    over_time="Scrub the sidebar's **training time** to watch a unit specialise.",
)
run, ds, k, names = ctx
points = units_analysis.unit_points(appkit.network_points(run))
by_name = {p.name: p for p in points}
if st.session_state.get(POINT) not in by_name:
    st.session_state[POINT] = next((p.name for p in points if p.role == "activated"), points[0].name)
c1, c2 = st.columns(2)
name = appkit.links.pick(c1.selectbox, "Layer", list(by_name), key=POINT, param="layer", what="layer")
point, table = by_name[name], unit_table(run, k, name)
word = point.per_unit
if st.session_state.get(UNIT, 0) >= table.n_units:  # a layer with fewer units than the last one
    st.session_state[UNIT] = 0
unit = appkit.links.number(
    c2.number_input,
    word.capitalize(),
    0,
    table.n_units - 1,
    key=UNIT,
    param="unit",
    what=word,
    step=1,
    on_change=lambda: st.session_state.update({OFF: [st.session_state[UNIT]]}),  # the ablation follows the unit
)
info = unit_info(run, k, name, int(unit))

# --- top examples ----------------------------------------------------------------------------------------------------
st.subheader(f"The samples that drive {word} {unit} of {name} most", anchor=False)
how = "its strongest position over the map" if point.is_map else "its output"
if ds.is_image:
    rows = [("Highest", ds.display_images(ds.x_test[info.high]), info.high_values, info.high_boxes)]
    if info.high_boxes is not None:
        strongest = units_figures.patches(rows[0][1], info.high_boxes)
        rows.append(("What its strongest position sees", strongest, info.high_values, None))
    if len(info.low):
        rows.append(("Lowest", ds.display_images(ds.x_test[info.low]), info.low_values, info.low_boxes))
    st.plotly_chart(units_figures.top_examples_figure(rows), key="units_top")
    patch = " The orange box is the patch of the input that position sees, cut out in the second row." * (
        info.high_boxes is not None
    )
    appkit.how_to_read(
        f"Each tile is one of the {len(table.values):,} {'evaluation samples' if run.has_history else 'photos'}, "
        f"with the {word}'s value ({how}) under "
        f"it, highest first.{patch} What the top tiles share is what the {word} looks for."
    )
else:
    show = pd.DataFrame(ds.x_test[info.high].reshape(len(info.high), -1), index=info.high, columns=feature_names(ds))
    show.insert(0, "class", [names[c] for c in ds.y_test[info.high]])
    show.insert(0, "value", info.high_values)
    st.dataframe(show, key="units_top_table")
    appkit.how_to_read(f"The evaluation samples with the highest value of this {word}, highest first, as numbers.")

# --- density ---------------------------------------------------------------------------------------------------------
st.subheader("How often it fires", anchor=False)
st.plotly_chart(
    units_figures.density_figure(info.values, info.zero_share, dead=info.dead, title=f"{name}, {word} {unit}"),
    key="units_density",
)
dead, when = units_analysis.dead_units(table), "at this snapshot" if run.has_history else "on these photos"
appkit.how_to_read(
    f"The histogram of the {word}'s value ({how}) over the evaluation subset. A tall bar at zero after a ReLU means "
    f"it is silent for most samples; a {word} that is zero for all of them is dead and passes nothing on. "
    f"{len(dead)} of {table.n_units} {word}s of {name} are dead {when}."
)

# --- ablation --------------------------------------------------------------------------------------------------------
st.subheader(f"Switch {word}s off", anchor=False)
if not run.has_history:  # a pretrained network's photos: no labels to measure accuracy against
    st.caption(f"Switching {word}s off is measured in accuracy, and these photos have no labels to be right about.")
    end_page()
if run.model_kind is not None and run.model_kind.task.name != "classification":
    st.caption(f"Switching {word}s off is measured in accuracy, and a {run.model_kind.title} has no class scores.")
    end_page()
c1, c2 = st.columns([3, 2])
st.session_state[OFF] = [u for u in st.session_state.get(OFF, [int(unit)]) if u < table.n_units]
off = c1.multiselect(f"{word.capitalize()}s to switch off", list(range(table.n_units)), key=OFF)
modes = ablation_analysis.MODES
mode = c2.radio("Set them", list(modes), key=MODE, horizontal=True, format_func=lambda m: modes[m].split(" over")[0])
ab = ablation(run, k, name, tuple(sorted(off)), mode)
m1, m2 = st.columns(2)
m1.metric("Accuracy", f"{ab.ablated_accuracy:.1%}", f"{-100 * ab.cost:+.1f} points", delta_color="normal")
m2.metric("Predictions changed", f"{ab.changed} of {len(table.values)}")
st.plotly_chart(units_figures.ablation_figure(ab, names), key="units_ablation")
appkit.how_to_read(
    f"The {word}s picked are {ablation_analysis.MODES[mode]} at this snapshot, and the evaluation subset runs "
    "again. Left: each class's accuracy, intact (grey) and with them off (orange). Right: how many samples moved "
    "in the confusion matrix: red cells gained samples, blue ones lost them. A class that collapses depends on "
    "these units."
)

st.markdown(f"**Which {word}s can it not do without?** Each {word} of {name} alone, {ablation_analysis.MODES[mode]}:")
costs = appkit.background_result(
    ("units-ranking", str(run.folder), run.snapshots[k]["step"], k, name, mode),
    ablation_analysis.run_ablation_ranking,
    run,
    k,
    ds,
    name,
    mode,
    what=f"Switching each of the {table.n_units} {word}s of {name} off in turn",
    hint="The result is kept for this layer and snapshot.",
    progress=True,
    table=table,
    background=True,  # one core, low priority: this page stays quick while it runs
)
if costs is not None:
    st.markdown(ablation_analysis.ranking_words(costs, word))
    st.plotly_chart(units_figures.ranking_figure(costs, per_unit=word), key="units_ranking")
    appkit.how_to_read(
        f"Each bar is the accuracy lost when that {word} alone is switched off, most costly first; blue bars are "
        f"{word}s whose loss the network does not feel (or even gains from). Scrub training time: early on no "
        f"{word} matters much; later a few carry the layer."
    )

appkit.show_code(
    units_analysis.unit_table,
    units_analysis.unit_info,
    ablation_analysis.ablation_info,
    ablation_analysis.ablation_ranking,
    units_figures.top_examples_figure,
)
