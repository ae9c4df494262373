"""Runs: every recorded run in a table; open, rename, download or delete one; upload a run's zip.

Damaged runs (a file missing or corrupt, a manifest that breaks the schema) are listed apart with the reason,
and can still be downloaded as they are or deleted; no other page offers them.
"""

import streamlit as st

import appkit
from nnlab.runs import DamagedRun, RunError, delete_run, export_zip, import_zip, rename_run, scan_runs

CONFIRM_KEY = "runs_confirm_delete"  # id of the run whose deletion waits for a confirmation
ERROR_KEY, DONE_KEY = "runs_error", "runs_done"  # what the last action said, shown once


def notices() -> None:
    """What the last action did (set by the callbacks below, shown once)."""
    if msg := st.session_state.pop(ERROR_KEY, None):
        st.error(msg, icon=":material/error:")
    if msg := st.session_state.pop(DONE_KEY, None):
        st.success(msg, icon=":material/check_circle:")


def rename(run_id: str) -> None:
    new = st.session_state.get(f"runs_new_name_{run_id}", run_id).strip()
    if new == run_id:
        return
    try:
        rename_run(root, run_id, new)
    except (ValueError, RunError, OSError) as e:
        st.session_state[ERROR_KEY] = f"Cannot rename: {e}"
        return
    if st.session_state.get(appkit.RUN_KEY) == run_id:
        appkit.set_current_run(new)
    st.session_state["runs_pick"] = new
    st.session_state[DONE_KEY] = f"Renamed {run_id} to **{new}**."


def delete(run_id: str) -> None:
    st.session_state.pop(CONFIRM_KEY, None)
    try:
        delete_run(root, run_id)
    except (ValueError, RunError, OSError) as e:
        st.session_state[ERROR_KEY] = f"Cannot delete: {e}"
        return
    st.session_state[DONE_KEY] = f"Deleted {run_id}."


def import_upload(upload, name_key: str) -> None:
    name = st.session_state.get(name_key, "").strip()
    try:
        folder = import_zip(root, upload.getvalue(), name)
    except (ValueError, RunError, OSError) as e:
        st.session_state[ERROR_KEY] = f"This zip cannot be added: {e}"
        return
    appkit.set_current_run(folder.name)
    st.session_state["runs_pick"] = folder.name
    st.session_state[DONE_KEY] = f"Added run **{folder.name}**; it is now the current run."


def manage(run) -> None:
    """Open, rename, download or delete a run that opens."""
    training = run.status == "running"
    if run.message:
        st.text(f"Its last word: {run.message}")  # plain text: a message is not Markdown
    if training:
        st.info("This run is still training: it can be opened, but not renamed, downloaded or deleted until it ends.")
    c1, c2, c3 = st.columns(3)
    with c1, st.container(border=True):
        st.markdown("**Open**")
        st.caption("Make it the current run of every analysis page.")
        st.button(
            "Open this run",
            key="runs_open",
            icon=":material/visibility:",
            disabled=len(run) == 0,
            on_click=appkit.set_current_run,
            args=(run.id,),
        )
    with c2, st.container(border=True):
        st.markdown("**Rename**")
        st.text_input(
            "New name",
            run.id,
            key=f"runs_new_name_{run.id}",
            help="Letters, digits, '.', '_' and '-'; at most 80 characters.",
        )
        st.button("Rename", key="runs_rename", disabled=training, on_click=rename, args=(run.id,))
    with c3, st.container(border=True):
        download_or_delete(run.id, lambda: export_zip(run.folder), disabled=training, what=f"its {len(run)} snapshots")


def manage_damaged(bad) -> None:
    """A damaged run can only be looked at elsewhere (downloaded as it is) or deleted."""
    st.warning(
        "This run is damaged, so no page can show it. Download it to look at its files, or delete it.",
        icon=":material/broken_image:",
    )
    st.text(f"What is wrong: {bad.reason}")  # plain text: the reason may quote the manifest
    with st.container(border=True):
        download_or_delete(bad.id, lambda: export_zip(root / bad.id, damaged=True), disabled=False, what="its files")


def download_or_delete(run_id: str, zip_bytes, *, disabled: bool, what: str) -> None:
    st.markdown("**Download or delete**")
    st.download_button(
        "Download as zip",
        zip_bytes,
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
        y.button("Yes, delete it", key="runs_delete_yes", type="primary", on_click=delete, args=(run_id,))
        n.button("Cancel", key="runs_delete_no", on_click=st.session_state.pop, args=(CONFIRM_KEY, None))


root = appkit.runs_root()
st.title("Runs")
st.caption(
    f"Every run in `{appkit.runs_root()}`, newest first. A run is a folder: its manifest (JSON) and "
    "its arrays (safetensors). Pick one in the sidebar to look inside it."
)

runs, damaged = scan_runs(root)
if not runs and not damaged:
    st.info(
        "No runs yet. Train one on the **Train** page, use the quick start on **Home**, or upload a run's zip below."
    )
else:
    if runs:
        st.dataframe(
            appkit.runs_table(runs),
            hide_index=True,
            column_config=appkit.RUNS_COLUMNS,
            width="stretch",
            key="runs_table",
        )
    if damaged:
        st.subheader("Damaged runs", anchor=False)
        st.caption(
            "These folders hold a run that cannot be read (a file is missing, corrupt, or breaks the manifest's "
            "rules), so no page offers them. Download one to look at it, or delete it, below."
        )
        st.dataframe(
            [{"run": d.id, "what is wrong": d.reason} for d in damaged],
            hide_index=True,
            width="stretch",
            key="runs_damaged",
        )

    st.subheader("Manage a run", anchor=False)
    entries = {r.id: r for r in runs} | {d.id: d for d in damaged}
    ids = list(entries)
    current = st.session_state.get(appkit.RUN_KEY)
    if st.session_state.get("runs_pick") not in ids:
        st.session_state["runs_pick"] = current if current in ids else ids[0]
    run_id = st.selectbox(
        "Run", ids, key="runs_pick", format_func=lambda i: f"{i} (damaged)" if isinstance(entries[i], DamagedRun) else i
    )
    picked = entries[run_id]
    if isinstance(picked, DamagedRun):
        manage_damaged(picked)
    else:
        manage(picked)
    notices()

st.subheader("Upload a run", anchor=False)
st.caption(
    "A zip made by **Download as zip** here, or by `nnlab` on another machine (a bigger one, say). "
    "Every file in it is checked before anything is written."
)
upload = st.file_uploader("Run zip", type=["zip"], key="runs_upload")
if upload is not None:
    stem = upload.name.rsplit(".", 1)[0]
    default = "".join(ch if ch.isalnum() or ch in "._-" else "-" for ch in stem).strip("-.")[:80] or "uploaded-run"
    st.text_input("Name for the uploaded run", default, key=f"runs_upload_name_{upload.file_id}")
    st.button(
        "Add this run",
        key="runs_import",
        type="primary",
        icon=":material/upload:",
        on_click=import_upload,
        args=(upload, f"runs_upload_name_{upload.file_id}"),
    )
    if not runs and not damaged:
        notices()

appkit.show_code(scan_runs, rename_run, export_zip, import_zip)
