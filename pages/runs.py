"""Runs: every recorded run in a table; open, rename, download or delete one; upload a run's zip."""

import streamlit as st

import appkit
from nnlab.runs import RunError, delete_run, export_zip, import_zip, list_runs, rename_run

CONFIRM_KEY = "runs_confirm_delete"  # id of the run whose deletion waits for a confirmation

st.title("Runs")
st.caption(
    f"Every run in `{appkit.runs_root()}`, newest first. A run is a folder: its manifest (JSON) and "
    "its arrays (safetensors). Pick one in the sidebar to look inside it."
)

root = appkit.runs_root()
runs = list_runs(root)
if not runs:
    st.info(
        "No runs yet. Train one on the **Train** page, use the quick start on **Home**, or upload a run's zip below."
    )
else:
    st.dataframe(
        appkit.runs_table(runs), hide_index=True, column_config=appkit.RUNS_COLUMNS, width="stretch", key="runs_table"
    )

    st.subheader("Manage a run", anchor=False)
    ids = [r.id for r in runs]
    current = st.session_state.get(appkit.RUN_KEY)
    if st.session_state.get("runs_pick") not in ids:
        st.session_state["runs_pick"] = current if current in ids else ids[0]
    run_id = st.selectbox("Run", ids, key="runs_pick")
    run = next(r for r in runs if r.id == run_id)
    training = run.status == "running"
    if run.message:
        st.caption(f"Its last word: {run.message}")
    if training:
        st.info("This run is still training: it can be opened, but not renamed, downloaded or deleted until it ends.")

    c1, c2, c3 = st.columns(3)
    with c1, st.container(border=True):
        st.markdown("**Open**")
        st.caption("Make it the current run of every analysis page.")
        if st.button("Open this run", key="runs_open", icon=":material/visibility:", disabled=len(run) == 0):
            appkit.set_current_run(run.id)
            st.rerun()
    with c2, st.container(border=True):
        st.markdown("**Rename**")
        new_name = st.text_input(
            "New name",
            run.id,
            key=f"runs_new_name_{run.id}",
            help="Letters, digits, '.', '_' and '-'; at most 80 characters.",
        )
        if st.button("Rename", key="runs_rename", disabled=training or new_name == run.id):
            try:
                rename_run(root, run.id, new_name)
            except (ValueError, RunError, OSError) as e:
                st.error(str(e))
            else:
                st.toast(f"Renamed to {new_name}")
                if current == run.id:
                    appkit.set_current_run(new_name)
                st.session_state["runs_pick"] = new_name
                st.rerun()
    with c3, st.container(border=True):
        st.markdown("**Download or delete**")
        st.download_button(
            "Download as zip",
            lambda: export_zip(run.folder),
            file_name=f"{run.id}.zip",
            mime="application/zip",
            key="runs_download",
            icon=":material/download:",
            disabled=training,
            on_click="ignore",
        )
        if st.button("Delete…", key="runs_delete", icon=":material/delete:", disabled=training):
            st.session_state[CONFIRM_KEY] = run.id
        if st.session_state.get(CONFIRM_KEY) == run.id:
            st.warning(f"Delete **{run.id}** and its {len(run)} snapshots? This cannot be undone.")
            y, n = st.columns(2)
            if y.button("Yes, delete it", key="runs_delete_yes", type="primary"):
                st.session_state.pop(CONFIRM_KEY, None)
                try:
                    delete_run(root, run.id)
                except (ValueError, RunError, OSError) as e:
                    st.error(str(e))
                else:
                    st.toast(f"Deleted {run.id}")
                    st.rerun()
            if n.button("Cancel", key="runs_delete_no"):
                st.session_state.pop(CONFIRM_KEY, None)
                st.rerun()

st.subheader("Upload a run", anchor=False)
st.caption(
    "A zip made by **Download as zip** here, or by `nnlab` on another machine (a bigger one, say). "
    "Every file in it is checked before anything is written."
)
upload = st.file_uploader("Run zip", type=["zip"], key="runs_upload")
if upload is not None:
    stem = upload.name.rsplit(".", 1)[0]
    default = "".join(ch if ch.isalnum() or ch in "._-" else "-" for ch in stem).strip("-.")[:80] or "uploaded-run"
    name = st.text_input("Name for the uploaded run", default, key="runs_upload_name")
    if st.button("Add this run", key="runs_import", type="primary", icon=":material/upload:"):
        try:
            folder = import_zip(root, upload.getvalue(), name)
        except (ValueError, RunError, OSError) as e:
            st.error(f"This zip cannot be added: {e}")
        else:
            st.toast(f"Added run {folder.name}", icon=":material/check_circle:")
            appkit.set_current_run(folder.name)
            st.rerun()

appkit.show_code(list_runs, rename_run, export_zip, import_zip)
