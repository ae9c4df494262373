"""Slow analyses waited for in the background: a page asks for a result and shows a notice (or a progress bar)
until the server's thread pool (`nnlab.jobs.BackgroundTasks`) has it; the rest of the page stays usable."""

from __future__ import annotations

import streamlit as st

from appkit.caches import background_tasks


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
