"""The Attribution page's panels: which methods side by side and their settings, the strip of interior gradients,
the model randomisation check, and KernelSHAP per feature.

Glue between `app_pages/attribution.py` and `nnlab.analysis.attribution`: the picked methods are kept in the
address (`?methods=saliency,lime`); the cascade runs in the background
(`frame.waiting.background_result`, with a progress bar), kept per run, snapshot, sample, class and methods; the
feature shares are cached per run and snapshot. Session keys start with `attr_`. Imports `furniture`, `links`, `page`.
"""

from __future__ import annotations

import streamlit as st

from appkit.caches import run_cached, run_dataset
from appkit.frame.notes import how_to_read
from appkit.frame.waiting import background_result
from appkit.session import links
from nnlab.analysis import attribution
from nnlab.figures import attribution as attribution_figures

SANITY = "attr_sanity"  # the model randomisation check is on
PICKED = "attr_methods"  # the methods shown side by side
STEPS = "attr_steps"  # integrated gradients' path steps
WINDOW = "attr_window"  # occlusion's patch side
WINDOW_SIDE = "attr_window_side"  # the image side it was chosen for (4 pixels suit a digit, not a photo)
AVG_METHOD = "attr_avg_method"  # the method of the class averages
PER_CLASS = "attr_per_class"  # samples per class in the class averages


def method_picker(usable: list[str]) -> tuple[str, ...]:
    """The methods to show side by side, among those that apply (the table's four defaults at first)."""
    if (raw := links.incoming("methods")) is not None:
        st.session_state[PICKED] = [m for m in raw.split(",") if m in usable]
    st.session_state[PICKED] = [m for m in st.session_state.get(PICKED, attribution.DEFAULTS) if m in usable]
    shown = st.multiselect(
        "Methods side by side",
        usable,
        key=PICKED,
        format_func=lambda m: attribution.METHODS[m].title,
        help="Every method of the table that applies to this network and data; those that do not are listed under "
        "the maps, each with its reason.",
    )
    shown = tuple(m for m in usable if m in shown)  # side by side in the table's order, whatever the picking order
    links.keep("methods", ",".join(shown))
    return shown


def method_settings(ds, shown: tuple[str, ...]) -> tuple[int, int]:
    """Integrated gradients' steps and occlusion's patch side, in an expander: (steps, window)."""
    with st.expander("Method settings"):
        s1, s2 = st.columns(2)
        steps = s1.select_slider(
            "Integrated gradients: steps",
            [8, 16, 32, 64, 128],
            value=32,
            key=STEPS,
            help="Points on the straight path from the baseline to the input; more steps, a more exact sum. Interior "
            "gradients pick their panel's α from the same points.",
        )
        window = 4
        if "occlusion" in shown:
            sides, default = attribution.occlusion_windows(ds)
            if st.session_state.get(WINDOW_SIDE) != min(ds.input_shape[1:]):  # other images: their own default
                st.session_state.pop(WINDOW, None)
                st.session_state[WINDOW_SIDE] = min(ds.input_shape[1:])
            window = s2.select_slider(
                "Occlusion: patch side (pixels)",
                sides,
                value=default,
                key=WINDOW,
                help="The square covered by the baseline, moved by half its side at a time.",
            )
    return steps, window


def interior_strip(info, class_name: str) -> None:
    """The strip of interior gradients over α under the side-by-side maps, when they are among them."""
    strip = info.strip
    if strip is None:
        return
    st.subheader("Interior gradients: the gradient on the way to the input", anchor=False)
    st.plotly_chart(attribution_figures.interior_strip_figure(strip, info.features or None), key="attr_interior")
    dimmed = "the image dimmed toward black" if info.image is not None else "the input scaled toward the average input"
    rise = float(strip.scores[-1] - strip.scores[0])
    how_to_read(
        f"Each {'panel' if info.image is not None else 'row'} is the gradient of the score of **{class_name}** at "
        f"{dimmed}: α = {strip.alphas[0]:.2g} is almost {info.baseline}, α = 1 the input itself "
        f"([Sundararajan et al. 2016](https://arxiv.org/abs/1611.02639)). All share one colour scale: red would raise "
        f"the score, blue lower it. The score goes from {strip.scores[0]:.2f} to {strip.scores[-1]:.2f} "
        f"({rise:+.2f}); where it has stopped climbing the network is saturated and the gradient fades, though the "
        "evidence is still there. That is why integrated gradients add the gradients up along the whole path. The "
        "side-by-side panel shows the gradient where the score climbs fastest."
    )


def sanity_check(run, k: int, index: int | None, target: int, methods: tuple[str, ...], **settings) -> None:
    """The check's explanation, its switch, and (once computed) the maps, their rank correlations and the verdict
    for test sample `index` (None: an input of your own, which the check does not take)."""
    st.subheader("Sanity check: which maps can you trust?", anchor=False)
    free = (
        " **A second check for free:** move the training time slider to snapshot 0, the untrained network; a map "
        "that looks the same there did not need the training."
    )
    st.markdown(
        "A map that explains the network should fall apart when the network's weights are replaced by noise "
        "([Adebayo et al. 2018](https://arxiv.org/abs/1810.03292)). The check re-initialises the layers from the "
        "output down, one more at each step, and redraws every map above." + (free if run.has_history else "")
    )
    if index is None:
        st.caption("The check runs on test samples: choose one above to run it.")
        return
    if not methods or not links.flag(st.toggle, "Run the model randomisation check", key=SANITY, param="sanity"):
        return
    cascade = background_result(
        ("attr-sanity", str(run.folder), run.snapshots[k]["step"], k, index, target, methods, *settings.values()),
        attribution.cascade_info,
        run,
        k,
        run_dataset(run),
        index,
        target,
        methods,
        **settings,
        what=f"Randomising the layers of {run.name} one by one",
        hint="Each step redraws every map; the result is kept for this sample and snapshot.",
        progress=True,
    )
    if cascade is None:
        return
    st.plotly_chart(attribution_figures.cascade_maps_figure(cascade), key="attr_cascade_maps")
    st.plotly_chart(
        attribution_figures.cascade_correlation_figure(cascade, little=attribution.sanity.LITTLE),
        key="attr_cascade_corr",
    )
    st.markdown(cascade.words())
    how_to_read(
        "Each row is one method; the first column is the trained network's map, each next one has one more layer "
        "(named above it) set back to random weights, each map on its own scale. The curve is the rank correlation "
        "of each map's magnitudes with the trained one: near 1, the same parts still rank highest; near 0, "
        "unrelated. A map worth trusting drops as soon as the layers it depends on are random."
    )


@run_cached(max_entries=16, show_spinner="KernelSHAP of each feature, for this sample and each class…")
def _shares(run, k: int, index: int, target: int):
    return attribution.feature_share_info(run, k, run_dataset(run), index, target)


def feature_shares(run, k: int, ds, index: int, target: int, names: list[str], baseline: str) -> None:
    """KernelSHAP for rows of features: the sample's signed bars and each class's mean absolute value."""
    st.subheader("KernelSHAP: each feature's share", anchor=False)
    share = _shares(run, k, index, target)
    st.plotly_chart(attribution_figures.feature_share_figure(share, names), key="attr_shap")
    how_to_read(
        f"Left: each feature's Shapley value for this sample's score of **{names[target]}**: red bars push the score "
        f"up, blue bars down, from {baseline}. Right: the mean absolute value over {share.per_class_n} test samples "
        "of each class, each toward its own class: the features the network leans on for that class, whatever "
        "their direction."
    )


@run_cached(max_entries=16, show_spinner="Averaging the attributions of each class…")
def class_info(run, k: int, method: str, per_class: int):
    return attribution.class_average_info(run, k, run_dataset(run), method, per_class)


def class_averages(run, k: int, names: list[str], shown: tuple[str, ...], usable: list[str]) -> None:
    """Each class's mean map toward its own class, for the method picked among the fast ones."""
    st.subheader("What each class is recognised by, on average", anchor=False)
    methods = attribution.METHODS
    offered = [m for m in shown if methods[m].averaged] or [m for m in usable if methods[m].averaged]
    c1, c2 = st.columns(2)
    method_title = lambda m: methods[m].title
    method = links.pick(
        c1.selectbox, "Method", offered, key=AVG_METHOD, param="method", what="method", format_func=method_title
    )
    per_class = c2.select_slider(
        "Test samples per class", [10, 20, 50, 100], value=20, key=PER_CLASS, help="Seeded, the same at every snapshot."
    )
    avg = class_info(run, k, method, per_class)
    averages = attribution_figures.class_average_figure(
        avg.values, names, avg.method, feature_names=avg.features or None
    )
    st.plotly_chart(averages, key="attr_classes")
    how_to_read(
        f"Each {'row' if avg.features else 'tile'} is the mean {attribution.METHODS[method].title.lower()} map of a "
        "class's test samples toward their own class: the evidence the network uses for that class in general, not for "
        "one sample. Scrub training time to watch it sharpen from noise into shapes."
    )
