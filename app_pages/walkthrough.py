"""Layer walk-through: one test sample through every layer of the network, at any moment of training.

Reads the sidebar's run and snapshot: the snapshot's weights are replayed on the chosen sample (one network
cached per run and snapshot), `nnlab.analysis.layers` arranges every declared point's output and
`nnlab.figures.layers` draws each by its layout (maps as grids of feature maps, vectors as strips).
"""

from __future__ import annotations

import time

import streamlit as st

import appkit
from appkit.panels import features as features_appkit
from appkit.panels import walkthrough as walk_appkit
from appkit.pickers import own_input, photos, samples
from nnlab.analysis import layers
from nnlab.figures import layers as layers_figures

LAST = "walk_last_step"  # time of the last automatic step while playing
PLAY_EVERY = 1.5  # seconds per sample while playing


def replay_sample(run, k: int, x, label: int, index: int = -1) -> layers.SampleWalk:
    """One prepared sample `x` `(1, *shape)` through the network of snapshot k (label -1: no truth known)."""
    outputs = layers.replay(appkit.snapshot_model(run, k), x)
    return layers.walk_sample(outputs, appkit.network_points(run), label=label, index=index)


# --- the page ----------------------------------------------------------------------------
ctx = appkit.page(
    "walkthrough",
    "its samples",
    title="Layer walk-through",
    intro=(
        "Follow one sample through the network: what each layer computes from it, where ReLU puts zeros, "
        "and how sure the network is at the end."
    ),
    over_time="Move the **training time** slider in the sidebar to see the same sample at another moment of training.",
)
run, ds, k, names = ctx
if run.has_history:
    wrong, n_eval = samples.wrong_at(run, k)
    samples.prepare_state(len(ds.y_test), names)
playing = run.has_history and bool(st.session_state.get(samples.PLAY, False)) and own_input.is_test(ds)


def photo_view() -> None:
    """A pretrained network (no history): one of its photos, stem to head, one block at a time."""
    i = photos.choose_photo(run)
    walk = replay_sample(run, k, ds.prepare(ds.x_test[i : i + 1]), -1, i)
    walk_appkit.photo_panel(ctx, walk, run.titles[i])
    walk_appkit.layers_panel(ctx, walk)


@st.fragment(run_every=PLAY_EVERY if playing else None)
def sample_view() -> None:
    """Everything that depends on the sample: a fragment, so that playing reruns only this part."""
    if (bool(st.session_state.get(samples.PLAY, False)) and own_input.is_test(ds)) != playing:
        st.rerun(scope="app")  # the play toggle changed: restart with (or without) the timer
    now = time.monotonic()
    if playing and now - st.session_state.get(LAST, 0.0) >= 0.8 * PLAY_EVERY:  # a timed rerun: next sample
        st.session_state[LAST] = now
        pool = layers.sample_pool(
            st.session_state[samples.MODE], ds.y_test, cls=samples.chosen_class(names), wrong=wrong
        )
        samples.go_to(layers.step_sample(pool, samples.index(), 1))
    choice = own_input.choose(ds, names, wrong, n_eval, play_every=PLAY_EVERY)
    if not choice.ready:
        return
    if choice.own is not None:
        x = choice.own.tensor
        walk = replay_sample(run, k, x, -1)
    else:
        i = choice.index
        x = ds.prepare(ds.x_test[i : i + 1])
        walk = replay_sample(run, k, x, int(ds.y_test[i]), i)
    walk_appkit.sample_panel(ctx, walk, choice)
    walk_appkit.layers_panel(ctx, walk)
    features_appkit.steering_panel(run, k, names, x)


if run.has_history:
    sample_view()
else:
    photo_view()
appkit.show_code(
    layers.replay,
    layers.walk_sample,
    layers.step_sample,
    layers_figures.dense_figure,
    layers_figures.feature_maps_figure,
)
