"""Page furniture: slow analyses waited for in the background, runs as a table, "how to read this", the code behind."""

from __future__ import annotations

import functools
import inspect

import streamlit as st

from nnlab.models import describe_model
from nnlab.runs import Run

from .state import background_tasks


# --- slow analyses in the background ----------------------------------------------------------------------------
def background_result(key: tuple, fn, *args, what: str, hint: str = "", progress: bool = False, **kwargs):
    """`fn(*args, **kwargs)` computed in a background thread and kept under `key` (shared by every session).

    Returns the result once done; meanwhile shows a notice with the elapsed time that re-checks every second
    (the rest of the page stays usable), and returns None. A failure is shown with a "Try again" button.
    `progress`: `fn` also takes `progress=report(share, stage)`, and the notice is a progress bar.
    """
    tasks = background_tasks()
    task = tasks.submit(key, fn, *args, with_progress=progress, **kwargs)
    if task.status == "done":
        return task.result
    if task.status == "failed":
        st.error(f"{what} failed: {task.error}")
        if st.button("Try again", key=f"app_retry_{abs(hash(key))}"):
            tasks.forget(key)
            st.rerun()
        return None
    st.fragment(run_every=1.0)(_task_notice)(key, what, hint)
    return None


def _task_notice(key: tuple, what: str, hint: str) -> None:
    task = background_tasks().get(key)
    if task is None or task.status != "running":
        st.rerun()  # done (or forgotten): redraw the page with the result
    text = f"{what} is running in the background: {task.elapsed:.0f} s so far. {hint}"
    if task.share is not None:
        st.progress(task.share, text=f"{text} {task.stage.capitalize()}".strip())
    else:
        st.info(text, icon=":material/hourglass_top:")


# --- runs as a table --------------------------------------------------------------------------------------------
def _dataset_label(run: Run) -> str:
    try:
        return run.data_config.label()
    except (KeyError, TypeError, AttributeError):
        return str(run.manifest.get("dataset", {}).get("name", "?"))


def runs_table(runs: list[Run]):
    """One row per run: name, dataset, network, test accuracy in %, status, snapshots, date (a pandas DataFrame)."""
    import pandas as pd

    rows = [
        {
            "run": r.id,
            "dataset": _dataset_label(r),
            "network": describe_model(r.manifest["model"]),
            "accuracy": None if r.final_accuracy is None else 100 * r.final_accuracy,
            "status": r.status,
            "snapshots": len(r),
            "created": pd.to_datetime(r.manifest.get("created"), errors="coerce"),
        }
        for r in runs
    ]
    return pd.DataFrame(rows, columns=["run", "dataset", "network", "accuracy", "status", "snapshots", "created"])


RUNS_COLUMNS = {
    "accuracy": st.column_config.ProgressColumn("test accuracy", format="%.1f%%", min_value=0.0, max_value=100.0),
    "created": st.column_config.DatetimeColumn("created", format="YYYY-MM-DD HH:mm"),
}


# --- page furniture ---------------------------------------------------------------------------------------------
def how_to_read(text: str) -> None:
    """A short "how to read this" caption under a figure."""
    st.caption(f"**How to read this:** {text}")


def show_code(*objects) -> None:
    """An expander with the source of the nnlab functions behind a page."""
    with st.expander("Show the nnlab code behind this page"):
        for obj in objects:
            st.code(_source(obj), language="python")


@functools.lru_cache(maxsize=256)
def _source(obj) -> str:
    """The source of a function or class: read once per server (a page following a run redraws twice a second)."""
    return inspect.getsource(obj)
