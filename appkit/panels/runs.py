"""The Runs page's panels: open, rename, download or delete the picked run; name and add an uploaded zip.

Sits between `nnlab.runs` (which does the moving and checking of folders) and `app_pages/runs.py`. The buttons act in
callbacks, before the page redraws, and leave what they did in the session for `notices()` to show once. Session keys
start with `runs_`. Imports only `caches` and `session`: rename and delete are offered on your own runs only (the
library refuses the others too), and the teacher's share switch.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from appkit.caches import runs_root
from appkit.session import owner
from appkit.session.current import RUN_KEY, set_current_run
from nnlab.runs import DamagedRun, Run, RunError, delete_run, export_zip, import_zip, rename_run
from nnlab.runs.owners import set_shared

PICK_KEY = "runs_pick"  # the run the page manages
CONFIRM_KEY = "runs_confirm_delete"  # id of the run whose deletion waits for a confirmation
ERROR_KEY, DONE_KEY = "runs_error", "runs_done"  # what the last action said, shown once


def notices() -> None:
    """What the last action did (set by the callbacks below, shown once)."""
    if msg := st.session_state.pop(ERROR_KEY, None):
        st.error(msg, icon=":material/error:")
    if msg := st.session_state.pop(DONE_KEY, None):
        st.success(msg, icon=":material/check_circle:")


def manage(run: Run) -> None:
    """Open, rename, download or delete a run that opens."""
    training = run.status == "running"
    if run.message:
        st.text(f"Its last word: {run.message}")  # plain text: a message is not Markdown
    if training:
        st.info("This run is still training: it can be opened, but not renamed, downloaded or deleted until it ends.")
    if not owner.mine(run):
        _read_only(run)
        return
    c1, c2, c3 = st.columns(3)
    with c1, st.container(border=True):
        st.markdown("**Open**")
        st.caption("Make it the current run of every analysis page.")
        _open_button(run)
    with c2, st.container(border=True):
        st.markdown("**Rename**")
        st.text_input(
            "New name",
            run.id,
            key=f"runs_new_name_{run.id}",
            help="Letters, digits, '.', '_' and '-'; at most 80 characters.",
        )
        st.button("Rename", key="runs_rename", disabled=training, on_click=_rename, args=(run.id,))
    with c3, st.container(border=True):
        _download_or_delete(run.id, run.folder, disabled=training, what=f"its {len(run)} snapshots")
    if owner.is_teacher():
        _share_switch(run, training)


def _open_button(run: Run) -> None:
    """Make the run the current run of every analysis page."""
    st.button(
        "Open this run",
        key="runs_open",
        icon=":material/visibility:",
        disabled=len(run) == 0,
        on_click=set_current_run,
        args=(run.id,),
    )


def _read_only(run: Run) -> None:
    """A run shared with this student: open or download it; it is not theirs to rename or delete."""
    st.caption(
        f"**{owner.whose(run).capitalize()}**, read-only: you can open and download it; only its owner or the "
        "teacher can rename or delete it."
    )
    c1, c2 = st.columns(2)
    with c1, st.container(border=True):
        _open_button(run)
    with c2, st.container(border=True):
        st.download_button(
            "Download as zip",
            lambda: export_zip(run.folder),
            file_name=f"{run.id}.zip",
            mime="application/zip",
            key="runs_download",
            icon=":material/download:",
            disabled=run.status == "running",
            on_click="ignore",
        )


def _share_switch(run: Run, training: bool) -> None:
    """The teacher's switch: this run shared with the whole class (read-only), or only its owner's."""
    ownerless = run.manifest.get("owner") is None
    st.toggle(
        "Shared with the class",
        value=bool(run.manifest.get("shared")) or ownerless,
        key=f"runs_share_{run.id}",
        disabled=training or ownerless,
        on_change=_share,
        args=(run.id,),
        help="Every student sees a shared run (read-only) in their run list. A run without an owner (made before "
        "owners, or on the command line) is always shared.",
    )


def manage_damaged(bad: DamagedRun) -> None:
    """A damaged run can only be looked at elsewhere (downloaded as it is) or deleted."""
    st.warning(
        "This run is damaged, so no page can show it. Download it to look at its files, or delete it.",
        icon=":material/broken_image:",
    )
    st.text(f"What is wrong: {bad.reason}")  # plain text: the reason may quote the manifest
    with st.container(border=True):
        _download_or_delete(bad.id, runs_root() / bad.id, damaged=True, disabled=False, what="its files")


def upload_form(upload) -> None:
    """A name for an uploaded run's zip (from its file name) and the button that checks and adds it."""
    stem = upload.name.rsplit(".", 1)[0]
    default = "".join(ch if ch.isalnum() or ch in "._-" else "-" for ch in stem).strip("-.")[:80] or "uploaded-run"
    name_key = f"runs_upload_name_{upload.file_id}"
    st.text_input("Name for the uploaded run", default, key=name_key)
    st.button(
        "Add this run",
        key="runs_import",
        type="primary",
        icon=":material/upload:",
        on_click=_import_upload,
        args=(upload, name_key),
    )


def _download_or_delete(run_id: str, folder: Path, *, damaged: bool = False, disabled: bool, what: str) -> None:
    st.markdown("**Download or delete**")
    st.download_button(
        "Download as zip",
        lambda: export_zip(folder, damaged=damaged),  # zipped only when clicked
        file_name=f"{run_id}.zip",
        mime="application/zip",
        key="runs_download",
        icon=":material/download:",
        disabled=disabled,
        on_click="ignore",
    )
    st.button(
        "Delete…",
        key="runs_delete",
        icon=":material/delete:",
        disabled=disabled,
        on_click=st.session_state.__setitem__,
        args=(CONFIRM_KEY, run_id),
    )
    if st.session_state.get(CONFIRM_KEY) == run_id:
        st.warning(f"Delete **{run_id}** and {what}? This cannot be undone.")
        y, n = st.columns(2)
        y.button("Yes, delete it", key="runs_delete_yes", type="primary", on_click=_delete, args=(run_id,))
        n.button("Cancel", key="runs_delete_no", on_click=st.session_state.pop, args=(CONFIRM_KEY, None))


# --- the callbacks: they run before the page redraws ------------------------------------------------------------
def _rename(run_id: str) -> None:
    new = st.session_state.get(f"runs_new_name_{run_id}", run_id).strip()
    if new == run_id:
        return
    try:
        rename_run(runs_root(), run_id, new, by=owner.viewer())
    except (ValueError, RunError, OSError) as e:
        st.session_state[ERROR_KEY] = f"Cannot rename: {e}"
        return
    if st.session_state.get(RUN_KEY) == run_id:
        set_current_run(new)
    st.session_state[PICK_KEY] = new
    st.session_state[DONE_KEY] = f"Renamed {run_id} to **{new}**."


def _delete(run_id: str) -> None:
    st.session_state.pop(CONFIRM_KEY, None)
    try:
        delete_run(runs_root(), run_id, by=owner.viewer())
    except (ValueError, RunError, OSError) as e:
        st.session_state[ERROR_KEY] = f"Cannot delete: {e}"
        return
    st.session_state[DONE_KEY] = f"Deleted {run_id}."


def _share(run_id: str) -> None:
    shared = bool(st.session_state.get(f"runs_share_{run_id}"))
    try:
        set_shared(runs_root() / run_id, shared, owner.viewer())
    except (RunError, OSError) as e:
        st.session_state[ERROR_KEY] = f"Cannot change its sharing: {e}"
        return
    st.session_state[DONE_KEY] = f"{run_id} is {'now shared with the class' if shared else 'no longer shared'}."


def _import_upload(upload, name_key: str) -> None:
    name = st.session_state.get(name_key, "").strip()
    try:
        folder = import_zip(runs_root(), upload.getvalue(), name, owner=owner.identity())
    except (ValueError, RunError, OSError) as e:
        st.session_state[ERROR_KEY] = f"This zip cannot be added: {e}"
        return
    set_current_run(folder.name)
    st.session_state[PICK_KEY] = folder.name
    st.session_state[DONE_KEY] = f"Added run **{folder.name}**; it is now the current run."
