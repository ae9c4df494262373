"""The shared sidebar (the current run and the training-time slider) and the gate every analysis page passes.

`streamlit_app.py` calls `sidebar()` on every rerun; a page calls `require_run()` (or `require_run_data()`), which
returns the run the user picked or shows a friendly empty state with a quick start and stops the page. The run and
snapshot are kept in the address (`appkit.links`). While the run trains, a small fragment watches it: every page
follows each new snapshot, unless the student moved the slider back (then it says how many newer ones there are).
"""

from __future__ import annotations

import streamlit as st

from nnlab.data import Dataset
from nnlab.runs import Run

from . import links, owner
from .state import (
    PAGES_KEY,
    PENDING_KEY,
    QUICK_KEY,
    RUN_KEY,
    SNAP_KEY,
    SNAP_N_KEY,
    TRAIN_JOB_KEY,
    current_run,
    job_registry,
    open_run,
    page_file,
    run_dataset,
    runs_root,
    visible_runs,
)
from .training import quick_start_button

LIVE_EVERY = 0.4  # seconds between two looks at a run that is still training (under 0.5: twice a second, with room)
FOLLOW_KEY = "app_follow"  # False once the student moved the slider back from the newest snapshot of a live run
ENDED_KEY = "app_live_ended"  # the run whose end this session has already announced
LIVE_SEEN_KEY = "app_live_seen"  # the run this session last watched while it trained
GONE_KEY = "app_run_gone"  # the run this session was looking at when it was deleted or stopped being shared with it


def _adopt_finished_quick_start() -> None:
    job = job_registry().get(st.session_state.get(QUICK_KEY))
    if job is not None and not job.alive:
        st.session_state.pop(QUICK_KEY, None)
        if job.run_id and job.status != "failed":
            st.session_state[PENDING_KEY] = (job.run_id, None)


def sidebar(pages: dict | None = None) -> None:
    """The shared sidebar: who you are, the current run and the training-time slider every analysis page follows."""
    _sidebar(pages)
    with st.sidebar:
        owner.keep()  # last: on a browser's first visit its cookie's (invisible) component sits at the bottom


def _sidebar(pages: dict | None) -> None:
    if pages is not None:
        st.session_state[PAGES_KEY] = pages
    _adopt_finished_quick_start()
    runs = [r for r in visible_runs() if len(r) > 0]  # this student's own and the shared ones (appkit.owner)
    ids, names = [r.id for r in runs], owner.labels(runs)
    links.adopt_run_link(ids, RUN_KEY, SNAP_KEY, PENDING_KEY)
    pending = st.session_state.pop(PENDING_KEY, None)
    if pending and pending[0] in ids:
        st.session_state.pop(GONE_KEY, None)
        st.session_state[RUN_KEY] = pending[0]
        st.session_state.pop(SNAP_N_KEY, None)
        st.session_state[SNAP_KEY] = pending[1] if pending[1] is not None else 10**9
        st.session_state[FOLLOW_KEY] = pending[1] is None
    shown = st.session_state.get(RUN_KEY)
    if shown and shown not in ids:  # deleted, renamed or no longer shared: say so rather than switch silently
        st.session_state[GONE_KEY] = shown
        st.session_state[RUN_KEY] = None
    elif shown:
        st.session_state.pop(GONE_KEY, None)
    with st.sidebar:
        owner.account_box()
        st.markdown("**Current run**")  # the selectbox below has no label of its own: this is it
        if GONE_KEY in st.session_state:
            st.warning(gone_words(), icon=":material/delete:")
        if not ids:
            st.caption("No runs yet. Train one on the **Train** page, or use the quick start on **Home**.")
            st.session_state.pop(RUN_KEY, None)
            _training_note()
            return
        if st.session_state.get(RUN_KEY) not in ids and GONE_KEY not in st.session_state:
            st.session_state[RUN_KEY] = ids[0]
        run_id = st.selectbox(
            "Run",
            ids,
            key=RUN_KEY,
            format_func=lambda i: names.get(i, i),
            index=None if GONE_KEY in st.session_state else 0,  # no run until the student picks one
            placeholder="Pick a run",
            label_visibility="collapsed",  # "Current run" above says it; the slider stays in sight at 800 px
            help="Every analysis page shows this run: yours, and the runs shared with you (marked).",
        )
        if run_id is None:
            _training_note()
            return
        run = open_run(run_id)
        if run is None or len(run) == 0:
            st.warning("This run cannot be read.")
            return
        n = len(run)
        links.check_snapshot(SNAP_KEY, n)
        snap = st.session_state.get(SNAP_KEY, n - 1)
        if st.session_state.get(FOLLOW_KEY, True) and snap >= st.session_state.get(SNAP_N_KEY, n) - 1:
            snap = n - 1  # at the end of a growing run: follow the end
        st.session_state[SNAP_KEY] = max(0, min(snap, n - 1))
        st.session_state[SNAP_N_KEY] = n
        if n > 1:
            st.slider(
                "Training time (snapshot)",
                0,
                n - 1,
                key=SNAP_KEY,
                on_change=_on_scrub,
                help="Scrub through training: 0 is the untrained network, the right end is the last snapshot.",
            )
        k = st.session_state[SNAP_KEY]
        info = run.snapshots[k]
        acc = info.get("eval_acc")  # the schema checked it: a fraction, NaN or None (not measured)
        acc = "-" if acc is None or acc != acc else f"{acc:.1%}"
        st.caption(f"Step {info['step']} · epoch {info['epoch']:.2f} · accuracy {acc} · status: {run.status}")
        live = run.status == "running"
        links.write_run_link(run_id, None if live and st.session_state.get(FOLLOW_KEY, True) else k)
        if live:
            st.fragment(run_every=LIVE_EVERY)(_live)(run_id, n)
        elif st.session_state.get(ENDED_KEY) != run_id and st.session_state.get(LIVE_SEEN_KEY) == run_id:
            st.session_state[ENDED_KEY] = run_id  # it was live in this session: say once that it ended
            st.success(f"Training ended ({run.status}): {n} snapshots.", icon=":material/check_circle:")
        _training_note()
        links.link_box()


def gone_words() -> str:
    """What became of the run this session was looking at (GONE_KEY): deleted, or no longer shared with it."""
    gone = st.session_state.get(GONE_KEY, "")
    if (runs_root() / gone).is_dir():
        return f"The run **{gone}** you were looking at is no longer shared with you. Pick another run."
    return f"The run **{gone}** you were looking at has been deleted (or renamed) by its owner. Pick another run."


def _on_scrub() -> None:
    """The student moved the training-time slider: follow the newest snapshot only if they put it at the end."""
    n = st.session_state.get(SNAP_N_KEY, 0)
    st.session_state[FOLLOW_KEY] = st.session_state.get(SNAP_KEY, 0) >= n - 1


def show_snapshot(k: int) -> None:
    """Another training-time slider (a lesson step's) moved to `k`: the same as moving the sidebar's there."""
    st.session_state[SNAP_KEY] = k
    _on_scrub()


def _follow() -> None:
    st.session_state[FOLLOW_KEY] = True
    st.session_state[SNAP_KEY] = 10**9  # the sidebar puts it at the newest snapshot


def _live(run_id: str, n_drawn: int) -> None:
    """While the run trains: a live badge, and a page rerun when a snapshot the page should follow appears."""
    st.session_state[LIVE_SEEN_KEY] = run_id
    run = open_run(run_id)
    if run is None:
        return
    n, following = len(run), st.session_state.get(FOLLOW_KEY, True)
    if run.status != "running" or (following and n != n_drawn):
        st.rerun(scope="app")  # a new snapshot to draw, or the run has ended: redraw the page once
    newer = n - 1 - st.session_state.get(SNAP_KEY, n - 1)
    st.markdown(":red-badge[:material/radio_button_checked: Live] training: " + f"{n} snapshots so far")
    if not following and newer > 0:
        st.caption(f"{newer} newer snapshot{'s' * (newer != 1)} than the one shown.")
        if st.button("Follow the training", key="app_follow_button", icon=":material/fast_forward:", on_click=_follow):
            st.rerun(scope="app")


def _training_note() -> None:
    job = job_registry().get(st.session_state.get(TRAIN_JOB_KEY))
    if job is not None and job.alive:
        st.caption(f"Training in the background: {job.label} · {job.live.view().fraction:.0%}")
        st.page_link(page_file("train"), label="Watch it on the Train page", icon=":material/monitoring:")


def require_run(*, needs_model: bool = True) -> Run:
    """The current run, or a friendly empty state with a quick start, then `st.stop()`."""
    run = current_run()
    if run is not None and len(run) > 0 and (not needs_model or run.model_config is not None):
        return run
    if run is None and GONE_KEY in st.session_state:
        st.warning(gone_words(), icon=":material/delete:")
        st.stop()
    if run is not None and needs_model and run.model_config is None:
        st.info(
            "This run was recorded from a custom PyTorch model, so this page cannot rebuild it. "
            "The Train page and the weight views still work."
        )
    else:
        st.info("There is no run to look at yet. Train a small network on two moons in a few seconds:")
        quick_start_button("empty_quick")
    st.stop()


def require_run_data(what: str) -> tuple[Run, Dataset]:
    """`require_run()` and the data it was trained on; if that data is gone, say so and what to do, then stop.

    `what` ends the sentence "… so <what> cannot be shown".
    """
    run = require_run()
    try:
        return run, run_dataset(run)
    except (OSError, ValueError, KeyError) as e:  # a download missing here, a data file moved, renamed or deleted
        e = e.args[0] if isinstance(e, KeyError) and e.args else e  # str(KeyError) would quote its message
        st.error(
            f"The data this run was trained on (**{run.data_config.name}**) cannot be loaded, so {what} cannot "
            f"be shown: {e}\n\nPut the dataset back (the Datasets page downloads the built-in ones), or pick "
            "another run in the sidebar.",
            icon=":material/error:",
        )
        st.stop()
