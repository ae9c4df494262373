"""The server's caches: runs, datasets and snapshot networks shared read-only by every session, and the job
registry; `run_cached` and `snapshot_cached` key a page's own computations on a run.

Caches live in `st.cache_resource` / `st.cache_data` (or a `Memo` for snapshot-wise values), so all sessions of one
server share them; what differs per session (the current run and snapshot) lives in `appkit.session.current`.
"""

from __future__ import annotations

import functools
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import streamlit as st
import torch

from nnlab.analysis.background import BackgroundTasks
from nnlab.data import DataConfig, Dataset, data_dir, load_dataset
from nnlab.jobs import JobRegistry
from nnlab.memo import Memo
from nnlab.runs import Run, RunError, runs_dir

MAX_JOBS = int(os.environ.get("NNLAB_MAX_JOBS", "2"))  # trainings at once per server

CACHE_TTL = 30 * 60  # seconds an unused cached object is kept (memory comes back after a class leaves)

# Page work in this process gets one torch thread: training runs in worker processes (see nnlab.jobs) that use
# every core while the machine is idle and leave one to the app while it is not (nnlab.threads).
CORES = torch.get_num_threads()  # torch's default: what `python -m nnlab train` uses; a worker may use as many
torch.set_num_threads(1)


def runs_root() -> Path:
    return runs_dir()


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
def _run_dataset(key: str, _run: Run) -> Dataset:
    return _run.dataset()


def run_dataset(run: Run) -> Dataset:
    """The run's dataset, normalised as it was for training (shared, read-only: never mutate it); a pretrained
    network's: its photos (`nnlab.runs.pretrained`)."""
    return _run_dataset(run.key, run)


def _network_key(run: Run) -> str:
    """What a run's network is cached under: its folder; a network without history (a pretrained one) is the same
    network whatever photos it was opened with: its id."""
    return run.key if run.has_history else run.id


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
    return _snapshot_model(run, _network_key(run), k, run.snapshots[k]["step"])


@st.cache_data(max_entries=8, ttl=CACHE_TTL, show_spinner=False)
def _network_points(_run: Run, folder: str):
    return _run.points()


def network_points(run: Run):
    """The points (name, role, layer, shape) of the run's network, from its saved config."""
    return _network_points(run, _network_key(run))


@st.cache_resource(show_spinner=False, on_release=lambda reg: reg.shutdown())
def job_registry() -> JobRegistry:
    """The server's training jobs (one registry for every session; jobs outlive pages and sessions), with the
    server's settings (the README's Deploy section)."""
    env = os.environ.get
    spare = env("NNLAB_SPARE_WORKER", "1") != "0"
    waiting, idle = int(env("NNLAB_MAX_QUEUE", "20")), float(env("NNLAB_SPARE_IDLE_S", "300"))
    return JobRegistry(MAX_JOBS, spare=spare, max_queue=waiting, spare_idle_s=idle)


@st.cache_resource(show_spinner=False)
def background_tasks() -> BackgroundTasks:
    """The server's slow analyses (t-SNE, UMAP) running in threads, their results kept by key."""
    return BackgroundTasks(workers=1)


# --- a page's own computations, keyed on the run ---------------------------------------------------------
@dataclass(frozen=True)
class RunStamp:
    """A run as a cache key: its folder, how many snapshots it has and when its manifest last changed."""

    folder: str
    snapshots: int
    mtime_ns: int


def run_stamp(run: Run) -> RunStamp:
    try:
        mtime = (run.folder / "manifest.json").stat().st_mtime_ns if run.has_history else 0  # a pretrained one: no file
    except OSError:
        mtime = 0
    return RunStamp(run.key, len(run), mtime)


def run_cached(*, max_entries: int = 8, show_spinner: bool | str = False, ttl: float = CACHE_TTL):
    """Decorator: cache `fn(run, *args)` per (run stamp, args) with `st.cache_data` (the run itself is not hashed)."""

    def wrap(fn):
        def cached(_run, stamp: RunStamp, *args, **kwargs):
            return fn(_run, *args, **kwargs)

        # Streamlit keys a cache by the function's module, name and source: make this wrapper's key fn's own.
        cached.__module__ = fn.__module__
        cached.__qualname__ = f"{fn.__qualname__}@{fn.__code__.co_filename}:{fn.__code__.co_firstlineno}"
        store = st.cache_data(max_entries=max_entries, show_spinner=show_spinner, ttl=ttl)(cached)

        @functools.wraps(fn)
        def call(run: Run, *args, **kwargs):
            return store(run, run_stamp(run), *args, **kwargs)

        call.clear = store.clear
        return call

    return wrap


_MEMOS: dict[str, Memo] = {}

_MEMOS_LOCK = threading.Lock()


def snapshot_cached(*, max_entries: int = 4096, ttl: float = CACHE_TTL):
    """Decorator: cache `fn(run, k, *args)` per (run, snapshot file, args) in memory shared by sessions.

    A written snapshot never changes, so a page following a training works out only the new snapshot's part of a
    figure over all snapshots. The run is keyed by its folder and creation time (a run deleted and trained again
    under the same name is another run). Values are shared, not copied: return read-only records. The arguments
    after `k` must be hashable; keyword arguments whose names start with "_" are left out of the key (as in
    Streamlit's caches), for what follows from the run and the other arguments.
    """

    def wrap(fn):
        # A page script runs again on every rerun and decorates anew: one memo per function's place in the source.
        where = f"{fn.__module__}.{fn.__qualname__}@{fn.__code__.co_filename}:{fn.__code__.co_firstlineno}"
        with _MEMOS_LOCK:
            memo = _MEMOS.setdefault(where, Memo(max_entries, ttl))

        @functools.wraps(fn)
        def call(run: Run, k: int, *args, **kwargs):
            keyed = tuple((n, v) for n, v in kwargs.items() if not n.startswith("_"))
            key = (run.key, run.manifest.get("created"), run.snapshots[k]["file"], k, args, keyed)
            return memo.get(key, lambda: fn(run, k, *args, **kwargs))

        call.clear = memo.clear
        call.memo = memo
        return call

    return wrap
