"""The app's shared state: session keys, the server's cached runs, datasets and job registry, the current run.

The base of `appkit`: every other part imports from here. Caches live in `st.cache_resource`, so all sessions of one
server share them (read-only); what differs per session (the current run and snapshot) lives in `st.session_state`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import streamlit as st
import torch

from nnlab.data import DataConfig, Dataset, data_dir, load_dataset
from nnlab.jobs import BackgroundTasks, JobRegistry
from nnlab.runs import Run, RunError, list_runs, runs_dir

from . import owner

RUN_KEY = "app_run"  # session-state key: id (folder name) of the current run
SNAP_KEY = "app_snapshot"  # session-state key: index of the current snapshot
PENDING_KEY = "app_pending_run"  # (run id, snapshot or None) to select on the next rerun, before the widgets exist
SNAP_N_KEY = "app_snapshot_n"  # how many snapshots the current run had at the last rerun (to follow a growing run)
PAGES_KEY = "app_pages"  # the navigation's pages by section (for "Look inside")
QUICK_KEY = "app_quick_job"  # id of this session's quick-start job
TRAIN_JOB_KEY = "train_job"  # id of the job the Train page watches in this session
MAX_JOBS = int(os.environ.get("NNLAB_MAX_JOBS", "2"))  # trainings at once per server
LOOK_INSIDE_SECTION = "Inside the network"  # where "Look inside" goes after training
CACHE_TTL = 30 * 60  # seconds an unused cached object is kept (memory comes back after a class leaves)

# Page work in this process gets one torch thread: training runs in worker processes (see nnlab.jobs) that use
# every core while the machine is idle and leave one to the app while it is not (nnlab.jobs.threads).
CORES = torch.get_num_threads()  # torch's default: what `python -m nnlab train` uses; a worker may use as many
torch.set_num_threads(1)


def runs_root() -> Path:
    return runs_dir()


# --- cached loaders ---------------------------------------------------------------------------------------------
@st.cache_resource(max_entries=32, ttl=CACHE_TTL, show_spinner=False)
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


@st.cache_resource(max_entries=4, ttl=CACHE_TTL, show_spinner="Loading the dataset…")
def _run_dataset(folder: str) -> Dataset:
    return Run(folder).dataset()


def run_dataset(run: Run) -> Dataset:
    """The run's dataset, normalised as it was for training (shared, read-only: never mutate it)."""
    return _run_dataset(str(run.folder))


@st.cache_resource(max_entries=4, ttl=CACHE_TTL, show_spinner="Loading the dataset…")
def _load_data(config_json: str, folder: str) -> Dataset:
    return load_dataset(DataConfig.from_dict(json.loads(config_json)))


def load_data(config: DataConfig) -> Dataset:
    """A dataset by config, shared between sessions (read-only: never mutate its arrays)."""
    return _load_data(json.dumps(config.to_dict(), sort_keys=True), str(data_dir().resolve()))


@st.cache_resource(max_entries=16, ttl=CACHE_TTL, show_spinner=False)
def _snapshot_model(_run: Run, folder: str, k: int, step: int):
    return _run.model_at(k)


def snapshot_model(run: Run, k: int):
    """The network at snapshot k, shared read-only between sessions: eval mode, never trained, never hooked (copy it
    for anything that registers hooks)."""
    return _snapshot_model(run, str(run.folder), k, run.snapshots[k]["step"])


@st.cache_data(max_entries=8, ttl=CACHE_TTL, show_spinner=False)
def _network_points(_run: Run, folder: str):
    return _run.points()


def network_points(run: Run):
    """The points (name, role, layer, shape) of the run's network, from its saved config."""
    return _network_points(run, str(run.folder))


@st.cache_resource(show_spinner=False, on_release=lambda reg: reg.shutdown())
def job_registry() -> JobRegistry:
    """The server's training jobs (one registry for every session; jobs outlive pages and sessions)."""
    return JobRegistry(MAX_JOBS, spare=os.environ.get("NNLAB_SPARE_WORKER", "1") != "0")


@st.cache_resource(show_spinner=False)
def background_tasks() -> BackgroundTasks:
    """The server's slow analyses (t-SNE, UMAP) running in threads, their results kept by key."""
    return BackgroundTasks(workers=1)


# --- the current run ----------------------------------------------------------------------------------------------
def visible_runs(runs: list[Run] | None = None) -> list[Run]:
    """The runs (default: all that open, newest first) this session's student may see (appkit.owner)."""
    return owner.visible(list_runs(runs_root()) if runs is None else runs, job_registry())


def run_ids() -> list[str]:
    """The ids of the runs this session may look at: its own and the shared ones, each with a snapshot."""
    return [r.id for r in visible_runs() if len(r) > 0]


def set_current_run(run_id: str, snapshot: int | None = None) -> None:
    """Make `run_id` the current run (at `snapshot`, default the last) from the next rerun on; then st.rerun()."""
    st.session_state[PENDING_KEY] = (run_id, snapshot)


APP_ROOT = Path(__file__).resolve().parents[1]


def page_file(name: str) -> str:
    """The page script `app_pages/<name>.py` as an absolute path, for `st.Page`, `st.page_link` and `st.switch_page`.

    Streamlit resolves a relative page path from the entrypoint's folder. Absolute paths keep every link working
    whichever entrypoint started the app: `streamlit_app.py`, or `cloud/streamlit_app.py` on Community Cloud.
    """
    return str(APP_ROOT / "app_pages" / f"{name}.py")


def current_run() -> Run | None:
    run_id = st.session_state.get(RUN_KEY)
    return open_run(run_id) if run_id else None


def current_snapshot(run: Run) -> int:
    return max(0, min(st.session_state.get(SNAP_KEY, len(run) - 1), len(run) - 1))


def look_inside(run_id: str) -> None:
    """Make `run_id` the current run at its last snapshot and go to the first "Inside the network" page."""
    set_current_run(run_id)
    section = (st.session_state.get(PAGES_KEY) or {}).get(LOOK_INSIDE_SECTION)
    if section:
        st.switch_page(section[0])
    st.rerun()
