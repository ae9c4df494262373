"""Attribution: which parts of an input drive a prediction, for one sample and on average over each class.

Page 8 of the spec. Follows the sidebar's run and training-time slider and shares its sample with the layer
walk-through (`appkit.samples`); `nnlab.analysis.attribution` computes with captum, `nnlab.figures.attribution`
draws. Results are cached per run, snapshot, sample, class and setting.
"""

from __future__ import annotations

import copy

import numpy as np
import streamlit as st
import torch

import appkit
from appkit import samples as S
from nnlab.analysis import attribution as A
from nnlab.analysis.boundary import class_probabilities
from nnlab.figures import attribution as F

TARGET = "attr_target"  # whose score is explained: one of TARGETS
OTHER = "attr_other"  # the class picked with "Another class"
STEPS = "attr_steps"  # integrated gradients' path steps
WINDOW = "attr_window"  # occlusion's patch side
AVG_METHOD = "attr_avg_method"  # the method of the class averages
PER_CLASS = "attr_per_class"  # samples per class in the class averages
TARGETS = ("The prediction", "The truth", "Another class")
AVERAGED = ("saliency", "integrated_gradients", "grad_cam")  # occlusion is too slow for hundreds of samples


def baseline(ds) -> torch.Tensor | None:
    """The "nothing here" input: a black image for images; for features None, i.e. zeros, the training mean."""
    if not ds.is_image:
        return None
    return ds.prepare(np.zeros((1, *ds.input_shape), dtype=ds.x_test.dtype))


def feature_names(ds) -> list[str]:
    return ["x₁", "x₂"] if ds.is_2d else [f"feature {i}" for i in range(int(np.prod(ds.input_shape)))]


@st.cache_data(max_entries=64, show_spinner="Computing the attributions…")
def sample_maps(_run, _ds, folder: str, k: int, step: int, index: int, target: int, steps: int, window: int):
    """Every applicable method's attribution of class `target` for test sample `index` at snapshot k."""
    model = copy.deepcopy(appkit.snapshot_model(_run, k))  # a private copy: Grad-CAM hooks a layer of it
    x = _ds.prepare(_ds.x_test[index : index + 1])
    base, methods = baseline(_ds), A.methods_for(model, x)
    return [A.attribute(model, x, target, m, baseline=base, steps=steps, window=window) for m in methods]


@st.cache_data(max_entries=16, show_spinner="Averaging the attributions of each class…")
def class_maps(_run, _ds, folder: str, k: int, step: int, method: str, per_class: int) -> np.ndarray:
    """Each class's mean attribution to its own class over up to `per_class` seeded test samples."""
    model = copy.deepcopy(appkit.snapshot_model(_run, k))
    idx = A.class_samples(_ds.y_test, per_class)
    x = _ds.prepare(_ds.x_test[idx])
    return A.class_average(model, x, _ds.y_test[idx], method, _ds.n_classes, baseline=baseline(_ds))


st.title("Attribution: why this prediction?")
st.markdown(
    "Which parts of the input make the network choose a class? Up to four methods answer, each in its own way "
    "(Grad-CAM needs a CNN, occlusion an image); where they agree, trust the answer more. Pick a sample (the "
    "layer walk-through shares it) and move the **training time** slider to see what the network looked at "
    "early and late in training."
)

run, ds = appkit.require_run_data("its samples")
k = appkit.current_snapshot(run)
names = run.class_names or list(ds.class_names)
folder, step = str(run.folder), run.snapshots[k]["step"]
wrong, n_eval = S.wrong_at(run, k)
S.prepare_state(len(ds.y_test), names)
S.picker(ds, names, wrong, n_eval)
index = st.session_state[S.SAMPLE]
x = ds.prepare(ds.x_test[index : index + 1])
probs = class_probabilities(appkit.snapshot_model(run, k), x)[0]
pred, label = int(probs.argmax()), int(ds.y_test[index])

# --- one sample ---------------------------------------------------------------------------------------------------
st.subheader(f"Test sample {index}", anchor=False)
st.markdown(S.verdict(run.snapshots[k], names, pred, label, probs[pred]))
c1, c2 = st.columns([3, 2], vertical_alignment="bottom")
choice = c1.radio(
    "Explain the score of",
    TARGETS,
    horizontal=True,
    key=TARGET,
    help="Each method explains one class's score (its logit). The prediction's is the usual question; the truth's "
    "shows what the network saw of the right answer when it was wrong.",
)
target = pred if choice == TARGETS[0] else label
if choice == TARGETS[2]:
    if st.session_state.get(OTHER) not in names:
        st.session_state[OTHER] = names[(pred + 1) % len(names)]
    target = names.index(c2.selectbox("Class", names, key=OTHER))
with st.expander("Method settings"):
    s1, s2 = st.columns(2)
    steps = s1.select_slider(
        "Integrated gradients: steps",
        [8, 16, 32, 64, 128],
        value=32,
        key=STEPS,
        help="Points on the straight path from the baseline to the input; more steps, a more exact sum.",
    )
    window = 4
    if ds.is_image:
        side = min(ds.input_shape[1:])
        window = s2.select_slider(
            "Occlusion: patch side (pixels)",
            [s for s in (1, 2, 3, 4, 6, 8, 12, 16) if s <= max(1, side // 2)],
            value=min(4, max(1, side // 4)),
            key=WINDOW,
            help="The square covered by the baseline, moved by half its side at a time.",
        )

maps = sample_maps(run, ds, folder, k, step, index, target, steps, window)
shown = {a.method for a in maps}
if ds.is_image:
    image = ds.display_images(ds.x_test[index : index + 1])[0]
    st.plotly_chart(F.image_attribution_figure(image, maps), key="attr_maps")
else:
    st.plotly_chart(F.feature_attribution_figure(maps, feature_names(ds)), key="attr_maps")
words = {m: f"**{A.METHODS[m][0]}**: {A.METHODS[m][1]}" for m in A.METHODS if m in shown}
scale = (
    "Red speaks for the class, blue against it, white is neutral; dark to yellow means none to most."
    if ds.is_image
    else "Red bars speak for the class, blue bars against it; dark bars are amounts without a direction."
)
appkit.how_to_read(
    f"Each panel explains the score of **{names[target]}**. "
    + "; ".join(words.values())
    + f". {scale} The baseline is {'a black image' if ds.is_image else 'the average input'}. Each panel has its "
    "own scale, so compare where, not how much, across panels."
)

# --- each class on average ------------------------------------------------------------------------------------------
st.subheader("What each class is recognised by, on average", anchor=False)
offered = [m for m in AVERAGED if m in shown]
c1, c2 = st.columns(2)
method = c1.selectbox("Method", offered, key=AVG_METHOD, format_func=lambda m: A.METHODS[m][0])
per_class = c2.select_slider(
    "Test samples per class", [10, 20, 50, 100], value=20, key=PER_CLASS, help="Seeded, the same at every snapshot."
)
avg = class_maps(run, ds, folder, k, step, method, per_class)
st.plotly_chart(
    F.class_average_figure(avg, names, method, feature_names=None if ds.is_image else feature_names(ds)),
    key="attr_classes",
)
appkit.how_to_read(
    f"Each {'tile' if ds.is_image else 'row'} is the mean {A.METHODS[method][0].lower()} map of a class's test "
    "samples toward their own class: the evidence the network uses for that class in general, not for one "
    "sample. Scrub training time to watch it sharpen from noise into shapes."
)

appkit.show_code(A.attribute_batch, A.class_average, F.image_attribution_figure)
