"""Streamlit glue shared by the pages: cached loaders, the run and snapshot picker, helpers.

Sits between `nnlab` (which never imports streamlit) and `pages/*.py`. Pages call
`sidebar()` through `streamlit_app.py`, then `require_run()` for the run the user
picked and `current_snapshot()` for the training-time slider's position.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import streamlit as st

from nnlab.data import Dataset
from nnlab.runs import Run, RunError, list_runs, runs_dir

RUN_KEY = "app_run"  # session-state key: id (folder name) of the current run
SNAP_KEY = "app_snapshot"  # session-state key: index of the current snapshot


def runs_root() -> Path:
    return runs_dir()


@st.cache_resource(max_entries=32, show_spinner=False)
def _open_run(folder: str, stamp: float) -> Run:
    return Run(folder)


def open_run(run_id: str) -> Run | None:
    """The run `run_id` under the runs folder, shared read-only between sessions; None if unreadable."""
    folder = runs_root() / run_id
    try:
        stamp = (folder / "manifest.json").stat().st_mtime  # a run still training re-opens as it grows
        return _open_run(str(folder), stamp)
    except (OSError, RunError):
        return None


@st.cache_resource(max_entries=4, show_spinner="Loading the dataset…")
def _run_dataset(folder: str) -> Dataset:
    return Run(folder).dataset()


def run_dataset(run: Run) -> Dataset:
    """The run's dataset, normalised as it was for training (shared, read-only: never mutate it)."""
    return _run_dataset(str(run.folder))


def run_ids() -> list[str]:
    return [r.id for r in list_runs(runs_root()) if len(r) > 0]


def sidebar() -> None:
    """The shared sidebar: the current run and the training-time slider every analysis page follows."""
    ids = run_ids()
    with st.sidebar:
        st.markdown("### Current run")
        if not ids:
            st.caption("No runs yet. Train one on the **Train** page, or use the quick start on **Home**.")
            st.session_state.pop(RUN_KEY, None)
            return
        if st.session_state.get(RUN_KEY) not in ids:
            st.session_state[RUN_KEY] = ids[0]
        run_id = st.selectbox("Run", ids, key=RUN_KEY, help="Every analysis page shows this run.")
        run = open_run(run_id)
        if run is None or len(run) == 0:
            st.warning("This run cannot be read.")
            return
        n = len(run)
        snap = min(st.session_state.get(SNAP_KEY, n - 1), n - 1)
        st.session_state[SNAP_KEY] = snap
        st.slider("Training time (snapshot)", 0, n - 1, key=SNAP_KEY,
                  help="Scrub through training: 0 is the untrained network, the right end is the last snapshot.")
        info = run.snapshots[st.session_state[SNAP_KEY]]
        st.caption(f"Step {info['step']} · epoch {info['epoch']:.2f} · accuracy {info['eval_acc']:.1%} · "
                   f"status: {run.status}")


def current_run() -> Run | None:
    run_id = st.session_state.get(RUN_KEY)
    return open_run(run_id) if run_id else None


def current_snapshot(run: Run) -> int:
    return min(st.session_state.get(SNAP_KEY, len(run) - 1), len(run) - 1)


def require_run(*, needs_model: bool = True) -> Run:
    """The current run, or a friendly empty state with a quick start, then `st.stop()`."""
    run = current_run()
    if run is not None and len(run) > 0 and (not needs_model or run.model_config is not None):
        return run
    if run is not None and needs_model and run.model_config is None:
        st.info("This run was recorded from a custom PyTorch model, so this page cannot rebuild it. "
                "The Train page and the weight views still work.")
    else:
        st.info("There is no run to look at yet. Train a small network on two moons in a few seconds:")
        quick_start_button("empty_quick")
    st.stop()


def quick_start_button(key: str) -> None:
    """One click: train a small MLP on two moons and make it the current run."""
    if st.button("Quick start: train on two moons", key=key, type="primary", icon=":material/bolt:"):
        from nnlab import DataConfig, train_run

        with st.spinner("Training a 2-128-64-2 network on two moons…"):
            run = train_run(DataConfig.make("moons"), root=runs_root(), name="quickstart-moons")
        st.session_state[RUN_KEY] = run.id
        st.session_state[SNAP_KEY] = len(run) - 1
        st.rerun()


def how_to_read(text: str) -> None:
    """A short "how to read this" caption under a figure."""
    st.caption(f"**How to read this:** {text}")


def show_code(*objects) -> None:
    """An expander with the source of the nnlab functions behind a page."""
    with st.expander("Show the nnlab code behind this page"):
        for obj in objects:
            st.code(inspect.getsource(obj), language="python")
