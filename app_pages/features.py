"""Features: a sparse autoencoder on one layer finds directions that each mean one thing, where neurons mean several.

Reads the sidebar's run and snapshot. `nnlab.analysis.sae` trains a TopK SAE on a layer's activations as a background
job (`appkit.panels.features.start`) and saves it in the run; `nnlab.analysis.features` reads it over the evaluation
subset (quality, each feature's strongest samples, purity, effect on the classes, the neurons against the features);
`nnlab.figures.features` draws them.
"""

from __future__ import annotations

import streamlit as st

import appkit
from appkit.frame.gate import end_page
from appkit.panels import features as features_appkit
from nnlab.analysis import features as features_analysis
from nnlab.analysis import sae as sae_analysis
from nnlab.figures import features as feature_figures

POINT, SAE, SORT, FEATURE = "features_point", "features_sae", "features_sort", "features_feature"

ctx = appkit.page(
    "features",
    "its features",
    title="Features: one meaning per direction",
    intro=(
        "A neuron often fires for several unrelated things, because a network stores more features than it has "
        "neurons. A **sparse autoencoder** (SAE) trained on a layer finds a larger set of directions, only a few "
        "active at a time, that each tend to mean one thing. Train one on a layer, then read its features."
    ),
)
run, ds, k, names = ctx
points = {p.name: p for p in features_appkit.sae_points(run)}
if st.session_state.get(POINT) not in points:
    st.session_state[POINT] = next((n for n, p in points.items() if p.role == "activated"), next(iter(points)))
point = points[st.selectbox("Layer", list(points), key=POINT)]
d = sae_analysis.point_width(point)

# --- train one --------------------------------------------------------------------------------------------------------
with st.expander("Train a sparse autoencoder on this layer", expanded=not features_appkit.saved(run, point.name, k)):
    c1, c2, c3 = st.columns([2, 2, 1])
    width = c1.select_slider(
        "Features", features_appkit.WIDTHS, value=features_appkit.default_width(d), key="features_width"
    )
    top_k = c2.number_input("Active at once (k)", 1, 64, features_appkit.default_k(width), key="features_k")
    c3.write("")
    if c3.button("Train features", key="features_train", type="primary", icon=":material/auto_awesome:"):
        features_appkit.start(run, point.name, k, int(width), int(top_k))
    st.caption(
        f"{point.name} has {d} values per {'position' if point.layout in ('map', 'tokens') else 'sample'}; the SAE "
        f"learns {width} directions on them from the training split at this snapshot (step {ctx.step})."
    )


features_appkit.progress_panel()
entries = features_appkit.saved(run, point.name, k)
if not entries:
    st.info(f"No sparse autoencoder on {point.name} at this snapshot yet: train one above.", icon=":material/info:")
    end_page()
labels = {e["name"]: f"{e['width']} features, k = {e['k']} (trained {e.get('created', '')[:16]})" for e in entries}
name = st.selectbox("Sparse autoencoder", list(labels), format_func=labels.get, key=SAE)
entry = next(e for e in entries if e["name"] == name)
table, effects, comp = features_appkit.feature_data(run, k, name, entry.get("created", ""))
q = table.quality

# --- quality ----------------------------------------------------------------------------------------------------------
st.subheader("How good is it?", anchor=False)
m = st.columns(5)
m[0].metric("Variance explained", f"{q.variance_explained:.1%}")
m[1].metric("Active per vector (L0)", f"{q.l0:.1f}")
m[2].metric("Dead features", f"{q.dead:.0%}")
m[3].metric("Dense features", f"{q.dense:.0%}")
m[4].metric(
    f"{table.metric.capitalize()}, spliced in",
    f"{table.spliced:.1%}" if table.metric == "accuracy" else f"{table.spliced:.4f}",
    f"{100 * (table.spliced - table.intact):+.1f} points" if table.metric == "accuracy" else None,
)
appkit.how_to_read(
    f"Measured on the {len(table.labels):,} evaluation samples. **Variance explained**: how much of the layer the "
    "SAE rebuilds from its few active features. **Dead**: features that never fire; **dense**: features that fire on "
    f"more than {sae_analysis.DENSE:.0%} of the vectors (they mean little). **Spliced in**: the network's "
    f"{table.metric} with {point.name} replaced by its reconstruction (intact: {table.intact:.4g}); close to intact "
    "means the features keep what the rest of the network uses."
)

# --- the features -----------------------------------------------------------------------------------------------------
st.subheader("Its features", anchor=False)
sort = st.radio(
    "Sort by", list(features_appkit.SORTS), format_func=features_appkit.SORTS.get, key=SORT, horizontal=True
)
listing = features_appkit.feature_list(table, effects, comp, names, sort)
st.dataframe(listing.head(200), key="features_list", height=240, hide_index=True)
if listing.empty:
    st.warning("No feature fires on the evaluation samples: train again with a larger k.")
    end_page()
if st.session_state.get(FEATURE) not in listing["feature"].tolist():
    st.session_state[FEATURE] = int(listing["feature"].iloc[0])
f = st.selectbox("Feature", listing["feature"].tolist(), key=FEATURE)
field, hw = features_analysis.image_field(appkit.snapshot_model(run, k), point, ds)
info = features_analysis.feature_info(
    table, int(f), names, effect=None if effects is None else effects[int(f)], field=field, image_hw=hw
)
st.markdown(f"**{info.sentence}**")
if ds.is_image:
    images = ds.display_images(ds.x_test[info.top])
    st.plotly_chart(feature_figures.strongest(info, images, names), key="features_top")
left, right = st.columns(2)
left.plotly_chart(feature_figures.histogram(info), key="features_histogram")
right.plotly_chart(feature_figures.class_shares(info, names), key="features_classes")
if info.effect is not None:
    st.plotly_chart(feature_figures.effect_bars(info, names), key="features_effect")
appkit.how_to_read(
    "The sentence is written from the numbers below it. **Strongest samples**: the evaluation samples where the "
    "feature is largest"
    + (" (the orange box: where on the image it fires most)" if info.boxes is not None else "")
    + ". **Values**: how strongly it fires where it fires; it is zero everywhere else. **Classes**: where its "
    "strongest responses (at a quarter of its largest value or more) come from; the largest bar is its purity. "
    "**Effect**: what it adds to each class score, measured by switching it off on its strongest samples."
)

# --- neurons against features -----------------------------------------------------------------------------------------
st.subheader("Neurons against features", anchor=False)
st.plotly_chart(feature_figures.purity_figure(comp), key="features_purity")
if comp.neuron >= 0:
    st.plotly_chart(feature_figures.split_figure(comp, names, per_unit=point.per_unit), key="features_split")
st.markdown(features_appkit.split_words(comp, names, point.per_unit))
appkit.how_to_read(
    f"Purity of every {point.per_unit} of {point.name} (grey) and every live feature (green): the share of its "
    "strongest responses that come from one class. Neurons that mean several things sit on the left; features that "
    "mean one thing on the right. Below: the least pure neuron's classes, and the feature that carries it on each."
)
appkit.show_code(
    sae_analysis.TopKSae.forward,
    sae_analysis.TopKSae.aux_loss,
    features_analysis.purity,
    features_analysis.logit_effects,
    features_analysis.sentence,
)
