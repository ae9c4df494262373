"""Which run folders hold which work: the `config_key`, `job_id` and status of each run under a root.

Stage 4 (run folders). A job's worker writes its work's key (`JobSpec.key()`: data, model, training with its seed,
recording, plug-in modules) and its id into the run's manifest, so `RunIndex` finds a finished run of the same
configuration (trained once, reused by whoever asks next), or the run of a job the server no longer knows.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from .store import MANIFEST


class RunIndex:
    """The `config_key`, `job_id` and status of every run folder under a root, re-read only when a manifest changed.

    Manifests are read as plain JSON for these three fields (the full schema check happens when a run is opened).
    """

    def __init__(self):
        self._seen: dict[str, tuple[float, dict]] = {}  # folder → (manifest mtime, fields)

    def entries(self, root: Path | str) -> list[tuple[Path, dict]]:
        """(folder, {"config_key", "job_id", "status", "finished"}) of every readable run folder under `root`."""
        out = []
        try:
            folders = [Path(e.path) for e in os.scandir(root) if e.is_dir() and not e.name.startswith(".")]
        except OSError:
            return out
        for folder in folders:
            path = folder / MANIFEST
            try:
                mtime = path.stat().st_mtime
            except OSError:
                continue
            cached = self._seen.get(str(folder))
            if cached is None or cached[0] != mtime:
                try:
                    m = json.loads(path.read_bytes())
                    fields = {k: m.get(k) for k in ("config_key", "job_id", "status", "finished", "created")}
                except (OSError, ValueError, AttributeError):
                    continue
                cached = self._seen[str(folder)] = (mtime, fields)
            out.append((folder, cached[1]))
        return out

    def complete(self, root: Path | str, key: str) -> Path | None:
        """The newest complete run folder under `root` trained from configuration `key`, or None."""
        found = [(f, e) for f, e in self.entries(root) if e.get("config_key") == key and e.get("status") == "complete"]
        if not found:
            return None
        return max(found, key=lambda fe: fe[1].get("finished") or 0.0)[0]

    def for_job(self, root: Path | str, job_id: str) -> Path | None:
        """The run folder a job with this id wrote, or None."""
        return next((f for f, e in self.entries(root) if e.get("job_id") == job_id), None)
