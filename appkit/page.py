"""What every analysis page starts with: one call for its run, data, snapshot and class names, and one cache key.

`context = appkit.page("classes", "its class averages")` passes the run gate (a run, a network nnlab can rebuild,
a view this kind has, its data), and `@appkit.run_cached(...)` caches a function of the run on one `RunStamp`,
which changes when a run still training writes a new snapshot. Pages never re-open a run inside a cached function.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass

import streamlit as st

from nnlab.analysis import views
from nnlab.data import Dataset
from nnlab.memo import Memo
from nnlab.runs import Run

from . import navigation
from .sidebar import require_run, require_run_data
from .state import CACHE_TTL, current_snapshot, network_points


@dataclass(frozen=True)
class RunStamp:
    """A run as a cache key: its folder, how many snapshots it has and when its manifest last changed."""

    folder: str
    snapshots: int
    mtime_ns: int


def run_stamp(run: Run) -> RunStamp:
    try:
        mtime = (run.folder / "manifest.json").stat().st_mtime_ns
    except OSError:
        mtime = 0
    return RunStamp(str(run.folder), len(run), mtime)


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
            key = (str(run.folder), run.manifest.get("created"), run.snapshots[k]["file"], k, args, keyed)
            return memo.get(key, lambda: fn(run, k, *args, **kwargs))

        call.clear = memo.clear
        call.memo = memo
        return call

    return wrap


@dataclass(frozen=True)
class PageContext:
    """What an analysis page works on: the sidebar's run at the sidebar's snapshot, and its data."""

    run: Run
    data: Dataset | None  # None for a page that does not need the samples
    k: int  # the snapshot index the training-time slider points at
    names: list[str]  # class names

    def __iter__(self):
        """`run, ds, k, names = ctx`: what a page unpacks first."""
        return iter((self.run, self.data, self.k, self.names))

    @property
    def snapshot(self) -> dict:
        return self.run.snapshots[self.k]

    @property
    def step(self) -> int:
        return self.run.snapshots[self.k]["step"]

    @property
    def kind(self):
        return self.run.model_kind


def page(
    view: str,
    what: str,
    *,
    title: str | None = None,
    intro: str | None = None,
    needs_data: bool = True,
    needs_model: bool = True,
) -> PageContext:
    """The header, gate and preamble of an analysis page; shows why and stops when there is nothing it can show.

    Args:
        title, intro: the page's title and its opening paragraph (Markdown), drawn first.
        view: the page's view name (`nnlab.models.VIEWS`): a kind that skips it gets one sentence instead.
        what: ends "… so <what> cannot be shown" when the run's data is gone.
        needs_data: load the run's dataset (normalised as in training).
        needs_model: the run must hold a network nnlab can rebuild (not your own module).
    """
    if title:
        st.title(title)
    if intro:
        st.markdown(intro)
    run = require_run(needs_model=needs_model)
    kind = run.model_kind
    reason = kind.skip_reason(view) if kind is not None else None
    if reason:
        st.info(f"This page does not apply to a {kind.title} run: {reason}", icon=":material/info:")
        st.stop()
    needs = views.missing(view, network_points(run)) if kind is not None else None  # Home's rule too
    if needs:
        name = next((e.title for e in navigation.ENTRIES if e.view == view), "This page")
        st.info(f"{name} {needs}.", icon=":material/info:")
        st.stop()
    ds = require_run_data(what)[1] if needs_data else None
    names = list(run.class_names or (ds.class_names if ds is not None else []))
    return PageContext(run, ds, current_snapshot(run), names)
