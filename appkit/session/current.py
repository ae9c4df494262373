"""The current run and snapshot of this session: the one door that makes a run current, and the sidebar's picker.

Owns the session keys of the current run: no other module writes them. Anything that makes a run current (a link,
a finished quick start, the Runs page, a lesson, a sample listed by another run) calls `set_current_run(run_id,
snapshot)`; the sidebar's `picker()` adopts it on the next rerun, decides once which runs this session may see,
opens the chosen run once and keeps it for the page (`current_run()`). While the run trains, a small fragment watches
it: every page follows each new snapshot, unless the student moved the slider back (then it says how many newer
ones there are).
"""

from __future__ import annotations

import streamlit as st

from appkit.caches import job_registry, open_run, runs_root
from appkit.session import links, owner, photos
from nnlab.runs import Run, list_runs

RUN_KEY = "app_run"  # id (folder name) of the current run; also the run picker's widget key
SNAP_KEY = "app_snapshot"  # index of the current snapshot; also the training-time slider's widget key
PENDING_KEY = "app_pending_run"  # (run id, snapshot or None) to select on the next rerun, before the widgets exist
_SNAP_N_KEY = "app_snapshot_n"  # how many snapshots the current run had at the last rerun (to follow a growing run)
_OPENED_KEY = "app_opened_run"  # the current run as the picker opened it on this rerun
_VISIBLE_KEY = "app_visible_runs"  # the runs this session may see, as the picker decided on this rerun
_FOLLOW_KEY = "app_follow"  # False once the student moved the slider back from the newest snapshot of a live run
_ENDED_KEY = "app_live_ended"  # the run whose end this session has already announced
_LIVE_SEEN_KEY = "app_live_seen"  # the run this session last watched while it trained
_GONE_KEY = "app_run_gone"  # the run this session was looking at when it was deleted or stopped being shared with it
_PRETRAINED_KEY = "app_pretrained_seen"  # this session has opened a pretrained network: the picker lists it
LIVE_EVERY = 0.4  # seconds between two looks at a run that is still training (under 0.5: twice a second, with room)
_NEWEST = 10**9  # a snapshot index the picker clamps to the newest one


def visible_runs(runs: list[Run] | None = None) -> list[Run]:
    """The runs (default: all that open, newest first) this session's student may see (appkit.session.owner).

    Without `runs`, the picker's answer on this rerun (the sidebar runs before every page), else a fresh scan."""
    if runs is None and _VISIBLE_KEY in st.session_state:
        return st.session_state[_VISIBLE_KEY]
    return owner.visible(list_runs(runs_root()) if runs is None else runs, job_registry())


def run_ids() -> list[str]:
    """The ids of the runs this session may look at: its own and the shared ones, each with a snapshot."""
    return [r.id for r in visible_runs() if len(r) > 0]


def set_current_run(run_id: str, snapshot: int | None = None) -> None:
    """The one door: make `run_id` the current run (at `snapshot`, default the newest) from the next rerun on.

    Call it before `st.rerun()` or `st.switch_page()`; the picker checks the run is visible to this session."""
    st.session_state[PENDING_KEY] = (run_id, snapshot)


def current_run_id() -> str | None:
    return st.session_state.get(RUN_KEY)


def current_run() -> Run | None:
    """The run the sidebar's picker opened on this rerun (opened once; None when there is none)."""
    run_id = st.session_state.get(RUN_KEY)
    if not run_id:
        return None
    opened = st.session_state.get(_OPENED_KEY)
    if opened is not None and opened.id == run_id:
        return opened
    return _open(run_id)


def _open(run_id: str):
    """A recorded run (the server's shared copy), or a pretrained network with this session's photos."""
    return photos.pretrained_run(run_id) if photos.is_pretrained_id(run_id) else open_run(run_id)


def current_snapshot(run: Run) -> int:
    return max(0, min(st.session_state.get(SNAP_KEY, len(run) - 1), len(run) - 1))


def show_snapshot(k: int) -> None:
    """Another training-time slider (a lesson step's) moved to `k`: the same as moving the sidebar's there."""
    st.session_state[SNAP_KEY] = k
    _on_scrub()


def gone() -> str | None:
    """The run this session was looking at when it was deleted or stopped being shared with it (else None)."""
    return st.session_state.get(_GONE_KEY)


def gone_words() -> str:
    """What became of the run this session was looking at: deleted, or no longer shared with it."""
    run_id = gone() or ""
    if (runs_root() / run_id).is_dir():
        return f"The run **{run_id}** you were looking at is no longer shared with you. Pick another run."
    return f"The run **{run_id}** you were looking at has been deleted (or renamed) by its owner. Pick another run."


def picker() -> Run | None:
    """The run picker and the training-time slider (call inside the sidebar); returns the current run, or None."""
    st.session_state.pop(_OPENED_KEY, None)
    st.session_state.pop(_VISIBLE_KEY, None)
    st.session_state[_VISIBLE_KEY] = visible = visible_runs()  # yours and the shared ones: decided once per rerun
    runs = [r for r in visible if len(r) > 0]
    ids, names = [r.id for r in runs], owner.labels(runs)
    pretrained = photos.pretrained_ids()  # made current by the Photo page's buttons or a link, then listed
    link = links.run_link(ids + pretrained)
    if link is not None:
        set_current_run(*link)
    assigned = _adopt_pending(ids + pretrained)
    if st.session_state.get(RUN_KEY) in pretrained:
        st.session_state[_PRETRAINED_KEY] = True
    listed = pretrained if st.session_state.get(_PRETRAINED_KEY) else []
    if _GONE_KEY in st.session_state:
        st.warning(gone_words(), icon=":material/delete:")
    if not ids and not listed:
        st.caption("No runs yet. Train one on the **Train** page, or use the quick start on **Home**.")
        st.session_state.pop(RUN_KEY, None)
        return None
    ids += listed  # after the recorded runs, from the first time this session opened one on
    names.update({i: photos.label(i) for i in listed})
    if st.session_state.get(RUN_KEY) not in ids and _GONE_KEY not in st.session_state:
        st.session_state[RUN_KEY], assigned = ids[0], True
    # The box's own default is the current run too (not the newest), so a browser that draws it afresh (the sidebar
    # changed above it) shows the run the page shows; on the rerun that sets it, Streamlit sends the value itself.
    shown = st.session_state.get(RUN_KEY)
    run_id = st.selectbox(
        "Run",
        ids,
        key=RUN_KEY,
        format_func=lambda i: names.get(i, i),
        index=None if _GONE_KEY in st.session_state else 0 if assigned else ids.index(shown),  # gone: none
        placeholder="Pick a run",
        label_visibility="collapsed",  # "Current run" above says it; the slider stays in sight at 800 px
        help="Every analysis page shows this run: yours, and the runs shared with you (marked).",
    )
    if run_id is None:
        return None
    run = _open(run_id)  # the server's shared copy (its caches with it), opened once per rerun
    if run is None or len(run) == 0:
        st.warning("This run cannot be read.")
        return None
    st.session_state[_OPENED_KEY] = run
    _slider(run)
    return run


def _adopt_pending(ids: list[str]) -> bool:
    """Make the pending run current (or say the current one is gone); True if the current run was set here."""
    pending = st.session_state.pop(PENDING_KEY, None)
    assigned = bool(pending and pending[0] in ids)
    if assigned:
        st.session_state.pop(_GONE_KEY, None)
        st.session_state[RUN_KEY] = pending[0]
        st.session_state.pop(_SNAP_N_KEY, None)
        st.session_state[SNAP_KEY] = pending[1] if pending[1] is not None else _NEWEST
        st.session_state[_FOLLOW_KEY] = pending[1] is None
    shown = st.session_state.get(RUN_KEY)
    if shown and shown not in ids:  # deleted, renamed or no longer shared: say so rather than switch silently
        st.session_state[_GONE_KEY] = shown
        st.session_state[RUN_KEY] = None
    elif shown:
        st.session_state.pop(_GONE_KEY, None)
    return assigned


def _slider(run: Run) -> None:
    if not run.has_history:  # a pretrained network: one state, nothing to scrub
        st.caption(
            f"Trained elsewhere: no training history here, so no training-time slider. Its samples: "
            f"{len(run.titles)} photos (the samples and yours)."
        )
        links.write_run_link(run.id, 0)
        st.session_state[SNAP_KEY] = 0
        return
    n = len(run)
    links.check_snapshot(st.session_state.get(SNAP_KEY), n)
    snap = st.session_state.get(SNAP_KEY, n - 1)
    if st.session_state.get(_FOLLOW_KEY, True) and snap >= st.session_state.get(_SNAP_N_KEY, n) - 1:
        snap = n - 1  # at the end of a growing run: follow the end
    st.session_state[SNAP_KEY] = max(0, min(snap, n - 1))
    st.session_state[_SNAP_N_KEY] = n
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
    links.write_run_link(run.id, None if live and st.session_state.get(_FOLLOW_KEY, True) else k)
    if live:
        st.fragment(run_every=LIVE_EVERY)(_live)(run.id, n)
    elif st.session_state.get(_ENDED_KEY) != run.id and st.session_state.get(_LIVE_SEEN_KEY) == run.id:
        st.session_state[_ENDED_KEY] = run.id  # it was live in this session: say once that it ended
        st.success(f"Training ended ({run.status}): {n} snapshots.", icon=":material/check_circle:")


def _on_scrub() -> None:
    """The student moved the training-time slider: follow the newest snapshot only if they put it at the end."""
    n = st.session_state.get(_SNAP_N_KEY, 0)
    st.session_state[_FOLLOW_KEY] = st.session_state.get(SNAP_KEY, 0) >= n - 1


def _follow() -> None:
    st.session_state[_FOLLOW_KEY] = True
    st.session_state[SNAP_KEY] = _NEWEST  # the picker puts it at the newest snapshot


def _live(run_id: str, n_drawn: int) -> None:
    """While the run trains: a live badge, and a page rerun when a snapshot the page should follow appears."""
    st.session_state[_LIVE_SEEN_KEY] = run_id
    run = open_run(run_id)
    if run is None:
        return
    n, following = len(run), st.session_state.get(_FOLLOW_KEY, True)
    if run.status != "running" or (following and n != n_drawn):
        st.rerun(scope="app")  # a new snapshot to draw, or the run has ended: redraw the page once
    newer = n - 1 - st.session_state.get(SNAP_KEY, n - 1)
    st.markdown(":red-badge[:material/radio_button_checked: Live] training: " + f"{n} snapshots so far")
    if not following and newer > 0:
        st.caption(f"{newer} newer snapshot{'s' * (newer != 1)} than the one shown.")
        if st.button("Follow the training", key="app_follow_button", icon=":material/fast_forward:", on_click=_follow):
            st.rerun(scope="app")
