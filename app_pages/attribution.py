"""Attribution: which parts of an input drive a prediction, whether to trust the map, and each class on average.

Reads the sidebar's run and snapshot and the sample it shares with the layer walk-through (`appkit.pickers.samples`);
`nnlab.analysis.attribution` computes the methods of its table the student picks (`attribution_info`,
`class_average_info`, cached per run, snapshot and choice) and says why the others do not apply; the model
randomisation check (`cascade_info`) runs in the background, cached per run, snapshot and sample; rows of features
get KernelSHAP per feature and class. `nnlab.figures.attribution` draws them all.
"""

from __future__ import annotations

import streamlit as st

import appkit
from appkit.frame.gate import end_page
from appkit.panels import attribution as explain
from appkit.pickers import own_input, photos, samples
from nnlab.analysis import attribution
from nnlab.analysis.boundary import class_probabilities
from nnlab.figures import attribution as attribution_figures

TARGET = "attr_target"  # whose score is explained: one of TARGETS
OTHER = "attr_other"  # the class picked with "Another class"
TARGETS = ("The prediction", "The truth", "Another class")
LARGER = "attr_larger"  # the maps three to a row, larger (on by default for small images such as 8×8 digits)
SMALL_SIDE, LARGER_COLS = 16, 3

reasons = appkit.run_cached()(attribution.reasons)


@appkit.run_cached(max_entries=64, show_spinner="Computing the attributions…")
def sample_info(run, k: int, index: int, target: int, methods: tuple[str, ...], steps: int, window: int):
    return attribution.attribution_info(
        run, k, appkit.run_dataset(run), index, target, methods, steps=steps, window=window
    )


@appkit.run_cached(max_entries=16, show_spinner="Computing the attributions…")
def own_info(run, k: int, sample, target: int, methods: tuple[str, ...], steps: int, window: int):
    ds = appkit.run_dataset(run)
    image = ds.display_images(sample[None])[0] if ds.is_image else None
    x = ds.prepare(sample[None])
    return attribution.input_attribution_info(run, k, ds, x, target, methods, image=image, steps=steps, window=window)


ctx = appkit.page(
    "attribution",
    "its samples",
    title="Attribution: why this prediction?",
    intro=(
        "Which parts of the input make the network choose a class? Several methods answer, each in its own way; "
        "where they agree, trust the answer more. Pick a sample (the layer walk-through shares it)."
    ),
    over_time="Move the **training time** slider to see what the network looked at early and late in training.",
)
run, ds, k, names = ctx
why = reasons(run, ds.kind)  # method → why it does not apply (None: it does)
usable = [m for m, reason in why.items() if reason is None]
if run.has_history:
    wrong, n_eval = samples.wrong_at(run, k)
    samples.prepare_state(len(ds.y_test), names)
    chosen = own_input.choose(ds, names, wrong, n_eval)
else:  # a pretrained network: one of its photos (shared with the walk-through), which have no labels
    chosen = own_input.Choice(index=photos.choose_photo(run))
own, index = chosen.own, chosen.index
truthless = own is not None or not run.has_history  # nothing to be right or wrong about
if not chosen.ready:
    end_page()
x = own.tensor if own else ds.prepare(ds.x_test[index : index + 1])
probs = class_probabilities(appkit.snapshot_model(run, k), x)[0]
pred, label = int(probs.argmax()), -1 if truthless else int(ds.y_test[index])

# --- one sample ---------------------------------------------------------------------------------------------------
title = own.label.capitalize() if own else f"Test sample {index}" if run.has_history else run.titles[index]
st.subheader(title, anchor=False)
if own:
    st.markdown(own_input.verdict(ctx.snapshot, names, pred, probs[pred], own.label))
else:
    verdict = photos.verdict(names, pred, probs[pred]) if truthless else None
    st.markdown(verdict or samples.verdict(ctx.snapshot, names, pred, label, probs[pred]))
if truthless and st.session_state.get(TARGET) == TARGETS[1]:
    st.session_state[TARGET] = TARGETS[0]
c1, c2 = st.columns([3, 2], vertical_alignment="bottom")
choice = appkit.links.pick(
    c1.radio,
    "Explain the score of",
    [t for t in TARGETS if not (truthless and t == TARGETS[1])],  # your own input, a photo: no truth
    param="explain",
    what="target",
    horizontal=True,
    key=TARGET,
    help="Each method explains one class's score (its logit). The prediction's is the usual question; the truth's "
    "shows what the network saw of the right answer when it was wrong.",
)
target = pred if choice == TARGETS[0] else label
if choice == TARGETS[2]:
    if st.session_state.get(OTHER) not in names:
        st.session_state[OTHER] = names[(pred + 1) % len(names)]
    target = names.index(appkit.links.pick(c2.selectbox, "Class", names, key=OTHER, param="class", what="class"))
shown = explain.method_picker(usable)
steps, window = explain.method_settings(ds, shown)

if own:
    info = own_info(run, k, own.sample, target, shown, steps, window)
else:
    info = sample_info(run, k, index, target, shown, steps, window)
if info.image is not None:
    small = max(info.image.shape[:2]) <= SMALL_SIDE
    larger = st.toggle(
        "Larger maps",
        value=small,
        key=LARGER,
        help="Three panels to a row instead of all in one, to follow the strokes of a small image pixel by pixel.",
    )
    cols = LARGER_COLS if larger else None
    st.plotly_chart(attribution_figures.image_attribution_figure(info.image, info.maps, cols=cols), key="attr_maps")
else:
    st.plotly_chart(attribution_figures.feature_attribution_figure(info.maps, info.features), key="attr_maps")
if len(usable) < len(why):
    st.caption("Not offered here: " + " ".join(reason for reason in why.values() if reason))
words = [f"**[{m.title}]({m.paper})**: {m.meaning}" for m in map(attribution.find_method, shown)]
scale = (
    "Red speaks for the class, blue against it, white is neutral; dark to yellow means none to most."
    if info.image is not None
    else "Red bars speak for the class, blue bars against it; dark bars are amounts without a direction."
)
appkit.how_to_read(
    f"Each panel explains the score of **{names[target]}**. "
    + "; ".join(words)
    + f". {scale} The baseline is {info.baseline}. Each panel has its own scale, so compare where, not how much, "
    "across panels."
)
explain.interior_strip(info, names[target])

# --- which maps can you trust? and, for rows of features, each feature's share --------------------------------------
explain.sanity_check(run, k, None if own else index, target, shown, steps=steps, window=window)
if ds.kind == "table" and not own:
    explain.feature_shares(run, k, ds, index, target, names, info.baseline)

# --- each class on average ------------------------------------------------------------------------------------------
if run.has_history:
    explain.class_averages(run, k, names, shown, usable)
else:
    st.caption("Each class on average needs labelled samples; these photos have no labels.")

appkit.show_code(
    attribution.attribution_info,
    attribution.attribute_batch,
    attribution.class_average,
    attribution_figures.image_attribution_figure,
)
