"""Live progress read from a run folder itself: the manifest and the steps file the recorder writes.

Beside stage 4 (run folders). A job trained elsewhere (a Ray task on another node, writing to shared storage)
or already finished (a reused run) has no events to follow; `FolderLive.view()` gives the same `LiveView` as
`LiveMetrics`, from what is on disk. It re-reads only when the manifest changed, so many tabs can poll it.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import numpy as np

from ..runs.store import MANIFEST
from ..tasks import ACCURACY, metric_named
from .live import LiveView


class FolderLive:
    """A `LiveMetrics` look-alike over a run folder (`folder` may be set later, once the job created it)."""

    def __init__(self, folder: Path | None = None):
        self.folder = folder
        self._lock = threading.Lock()
        self._mtime: float | None = None
        self._view = LiveView()

    def finish(self) -> None:
        """Nothing to stop: the folder's own times say how long it took."""

    def manifest(self) -> dict | None:
        """The folder's manifest as JSON (None before it exists or while it cannot be read)."""
        try:
            return json.loads((Path(self.folder) / MANIFEST).read_bytes()) if self.folder else None
        except (OSError, ValueError):
            return None

    def view(self) -> LiveView:
        if self.folder is None:
            return self._view
        with self._lock:
            try:
                mtime = (Path(self.folder) / MANIFEST).stat().st_mtime
            except OSError:
                return self._view
            if mtime != self._mtime:
                m = self.manifest()
                if m is not None:
                    self._view, self._mtime = _view_of(Path(self.folder), m), mtime
            return self._view


def _view_of(folder: Path, m: dict) -> LiveView:
    """The progress a manifest and its steps file show."""
    progress = m.get("progress") or {}
    snaps = m.get("snapshots") or []
    loss = acc = np.zeros(0, np.float32)
    metric = ACCURACY
    try:
        from safetensors.numpy import load_file

        steps = load_file(folder / "steps.safetensors")
        loss = steps.get("loss", loss)
        key = next((k for k in steps if k != "loss"), ACCURACY.key)  # the task's metric: "acc", or "error"
        metric, acc = metric_named(key), steps.get(key, acc)
    except Exception:  # not written yet, or replaced as we read it: safetensors raises its own error types
        pass
    step = max(len(loss), snaps[-1]["step"] if snaps else 0)
    started = m.get("started")
    running = m.get("status") in ("created", "running")
    end = m.get("finished") or (time.time() if running else (snaps[-1].get("time") if snaps else None))
    elapsed = (end - started) if started and end else 0.0
    return LiveView(
        step=int(step),
        total_steps=int(progress.get("total_steps") or 0),
        steps_per_epoch=max(int(progress.get("steps_per_epoch") or 1), 1),
        loss=np.asarray(loss, np.float32),
        acc=np.asarray(acc, np.float32),
        epochs=tuple(dict(e) for e in m.get("epochs") or ()),
        snapshots=len(snaps),
        planned_snapshots=int(progress.get("planned_snapshots") or 0),
        elapsed=max(float(elapsed), 0.0),
        started=started is not None,
        metric=metric,
    )
