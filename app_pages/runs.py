"""Runs: your runs and the shared ones in a table; open, rename, download or delete one; upload a run's zip.

A student sees and manages their own runs; the shared ones (marked) can be opened and downloaded, not renamed or
deleted; the teacher sees every run and shares one with the class here (appkit.session.owner, nnlab.runs.owners).
Damaged runs (a file missing or corrupt, a manifest that breaks the schema) are listed apart with the reason, and can
still be downloaded as they are or deleted (by the teacher, or anyone on a server without one); no other page
offers them.
"""

import streamlit as st

import appkit
from appkit.caches import runs_root
from appkit.panels import runs as runs_panel
from appkit.pickers.runs_table import RUNS_COLUMNS, runs_table
from appkit.session import owner
from appkit.session.current import RUN_KEY
from nnlab.runs import DamagedRun, export_zip, import_zip, rename_run, scan_runs

st.title("Runs")
st.caption(
    "Your runs in this server's runs folder, and those shared with you (by the teacher, a lesson, or trained "
    "before with the same settings), newest first. A run is a folder: its manifest (JSON) and its arrays "
    "(safetensors). Pick one in the sidebar to look inside it."
)

runs, damaged = scan_runs(runs_root())
runs = appkit.visible_runs(runs)
viewer = owner.viewer()
if not (viewer.teacher or viewer.keeper):
    damaged = []  # a damaged run's owner cannot be read: only the teacher sees and clears those
if not runs and not damaged:
    st.info(
        "No runs yet. Train one on the **Train** page, use the quick start on **Home**, or upload a run's zip below."
    )
else:
    if runs:
        st.dataframe(
            owner.runs_table(runs, runs_table),
            hide_index=True,
            column_config=RUNS_COLUMNS,
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
    names = owner.labels(runs) | {d.id: f"{d.id} (damaged)" for d in damaged}
    ids = list(entries)
    current = st.session_state.get(RUN_KEY)
    if st.session_state.get(runs_panel.PICK_KEY) not in ids:
        st.session_state[runs_panel.PICK_KEY] = current if current in ids else ids[0]
    run_id = st.selectbox(
        "Run",
        ids,
        key=runs_panel.PICK_KEY,
        format_func=lambda i: names.get(i, i),
    )
    picked = entries[run_id]
    if isinstance(picked, DamagedRun):
        runs_panel.manage_damaged(picked)
    else:
        runs_panel.manage(picked)
    runs_panel.notices()

st.subheader("Upload a run", anchor=False)
st.caption(
    "A zip made by **Download as zip** here, or by `nnlab` on another machine (a bigger one, say). "
    "Every file in it is checked before anything is written."
)
upload = st.file_uploader("Run zip", type=["zip"], key="runs_upload")
if upload is not None:
    runs_panel.upload_form(upload)
    if not runs and not damaged:
        runs_panel.notices()

appkit.show_code(scan_runs, rename_run, export_zip, import_zip)
