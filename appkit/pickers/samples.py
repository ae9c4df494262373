"""Choosing a test sample, shared by the pages that look at one: the walk-through and attribution.

The chosen sample (`SAMPLE`, an index into the test split) and the way it was chosen live in the session, so moving
from one of these pages to the other keeps the sample. The class-averages page opens a sample here too.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from appkit.frame.navigation import page_file
from appkit.session import links
from appkit.session.current import set_current_run
from nnlab.analysis import layers
from nnlab.runs import Run

SAMPLE = "walk_sample"  # index into the test split of the sample shown
MODE = "walk_mode"  # how the sample is chosen: one of layers.MODES
CLASS = "walk_class"  # the class walked through in "By class" mode
INDEX = "walk_index"  # the index box (mirrors SAMPLE)
PLAY = "walk_play"  # play through samples (the walk-through's toggle)
LINK_PARAM = "sample"  # the address's parameter for the sample shown


@st.cache_data(max_entries=16, ttl=30 * 60, show_spinner=False)  # ttl as appkit.caches.CACHE_TTL
def _wrong_at(_run: Run, folder: str, k: int, step: int) -> tuple[np.ndarray, int]:
    idx, labels = _run.eval_set()
    return layers.misclassified(idx, labels, _run.snapshot(k)["pred"].numpy()), len(idx)


def wrong_at(run: Run, k: int) -> tuple[np.ndarray, int]:
    """Test-split indices of the evaluation samples misclassified at snapshot k, and the subset's size."""
    return _wrong_at(run, str(run.folder), k, run.snapshots[k]["step"])


def verdict(info: dict, names: list[str], pred: int, label: int, prob: float) -> str:
    """Markdown: "At step 120 (epoch 2.00) the network says **7** (96%); the truth is **5**: wrong." (coloured)."""
    word = ":green[**right**]" if pred == label else ":red[**wrong**]"
    return (
        f"At step {info['step']} (epoch {info['epoch']:.2f}) the network says **{names[pred]}** ({prob:.0%}); "
        f"the truth is **{names[label]}**: {word}."
    )


def prepare_state(n_test: int, names: list[str]) -> None:
    """Defaults for a first visit, a sample from a link, and a sample and class that exist in this run's data."""
    st.session_state.setdefault(MODE, layers.MODES[0])
    if st.session_state.get(CLASS) not in names:  # a new run, with other classes
        st.session_state[CLASS] = names[0]
    linked = links.incoming_int(LINK_PARAM, 0, n_test - 1, what="sample")
    if linked is not None:
        st.session_state[SAMPLE] = linked
    st.session_state[SAMPLE] = int(np.clip(st.session_state.get(SAMPLE, 0), 0, n_test - 1))


# --- choosing the sample (callbacks run before the script, so they may set widget state) -----------
def index() -> int:
    """The index (into the test split) of the sample this session looks at; `go_to` is the one way to change it."""
    return int(st.session_state.get(SAMPLE, 0))


def go_to(index: int) -> None:
    st.session_state[SAMPLE] = int(index)
    st.session_state[INDEX] = int(index)


def on_step(pool: np.ndarray, delta: int) -> None:
    go_to(layers.step_sample(pool, st.session_state[SAMPLE], delta))


def on_index() -> None:
    st.session_state[SAMPLE] = int(st.session_state[INDEX])


def on_random(pool: np.ndarray) -> None:
    if len(pool):
        go_to(layers.random_sample(pool, np.random.default_rng(), st.session_state[SAMPLE]))


def chosen_class(names: list[str]) -> int:
    return names.index(st.session_state[CLASS])


def on_mode(y_test: np.ndarray, wrong: np.ndarray, names: list[str]) -> None:
    """A new mode (or class) moves to a sample it contains, unless the current one is in it."""
    mode = st.session_state[MODE]
    if mode == "Random":
        return on_random(np.arange(len(y_test)))
    pool = layers.sample_pool(mode, y_test, cls=chosen_class(names), wrong=wrong)
    if len(pool) and st.session_state[SAMPLE] not in pool:
        go_to(layers.step_sample(pool, st.session_state[SAMPLE], 1))


def picker(ds, names: list[str], wrong: np.ndarray, n_eval: int, *, play_every: float | None = None) -> np.ndarray:
    """The sample controls (with a Play toggle when `play_every` seconds are given); returns the pool that
    previous/next/play walk through."""
    y_test = ds.y_test
    st.session_state[INDEX] = st.session_state[SAMPLE]
    mode = links.pick(
        st.radio,
        "Choose a sample",
        layers.MODES,
        key=MODE,
        param="choose",
        what="way of choosing a sample",
        horizontal=True,
        on_change=on_mode,
        args=(y_test, wrong, names),
        persist_state="session",
        help="Misclassified: among the evaluation subset, at this snapshot.",
    )
    pool = layers.sample_pool(mode, y_test, cls=chosen_class(names), wrong=wrong)
    c1, c2, c3, *c4 = st.columns([3, 1, 1, 1] if play_every else [4, 1, 1], vertical_alignment="bottom")
    with c1:
        if mode == "By index":
            st.number_input(f"Test sample (0 to {len(y_test) - 1})", 0, len(y_test) - 1, key=INDEX, on_change=on_index)
        elif mode == "By class":
            links.pick(
                st.selectbox,
                "True class",
                names,
                key=CLASS,
                param="class",
                what="class",
                on_change=on_mode,
                args=(y_test, wrong, names),
                persist_state="session",
            )
        elif mode == "Misclassified":
            st.markdown(
                f"**{len(wrong)}** of the {n_eval} evaluation samples are misclassified at this snapshot."
                if len(wrong)
                else "No evaluation sample is misclassified at this snapshot."
            )
        else:
            st.button(
                "Another random sample", icon=":material/casino:", on_click=on_random, args=(pool,), key="walk_random"
            )
    c2.button(
        "Previous",
        icon=":material/arrow_back:",
        on_click=on_step,
        args=(pool, -1),
        key="walk_prev",
        disabled=len(pool) == 0,
        width="stretch",
    )
    c3.button(
        "Next",
        icon=":material/arrow_forward:",
        on_click=on_step,
        args=(pool, 1),
        key="walk_next",
        disabled=len(pool) == 0,
        width="stretch",
    )
    if play_every:
        c4[0].toggle("Play", key=PLAY, help=f"Play through the samples: the next one every {play_every:g} s.")
    links.keep(LINK_PARAM, st.session_state[SAMPLE])
    return pool


# --- opening samples elsewhere -------------------------------------------------------------------
def open_in_walkthrough(run_id: str, snapshot: int, index: int) -> None:
    """Show test sample `index` of this run and snapshot on the walk-through page."""
    set_current_run(run_id, snapshot)  # a page switch forgets the sidebar's widgets: say it again
    st.session_state[SAMPLE] = int(index)
    st.session_state[MODE] = "By index"
    st.switch_page(page_file("walkthrough"))


def gallery(ds, indices: np.ndarray, run_id: str, k: int, *, key: str, per_row: int = 8) -> None:
    """Test samples as thumbnails (or their numbers, for data that is not images), each opening the walk-through."""
    cols = st.columns(per_row)
    images = thumbnails(ds, indices) if ds.is_image and len(indices) else [None] * len(indices)
    for i, (index, img) in enumerate(zip(indices, images, strict=True)):
        with cols[i % per_row]:
            if img is not None:
                st.image(img, caption=f"#{index}")
            if st.button(
                "Open" if img is not None else f"#{index}",
                key=f"{key}_{index}",
                help="Open this sample in the layer walk-through",
            ):
                open_in_walkthrough(run_id, k, int(index))


def thumbnails(ds, indices: np.ndarray) -> list[np.ndarray]:
    """Small uint8 images of test samples, enlarged without smoothing."""
    imgs = ds.display_images(ds.x_test[indices])
    scale = max(1, 72 // imgs.shape[1])
    return [np.kron(im, np.ones((scale, scale) + (1,) * (im.ndim - 2), np.uint8)) for im in imgs]
