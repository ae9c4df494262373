"""Trainings as Ray tasks: past one server, each job runs on a Ray cluster and writes to the shared runs folder.

The job registry's backend when `NNLAB_RAY_ADDRESS` is set (imported only then). `launch(job)` writes a ticket
`<runs>/.jobs/<id>.json` and submits one Ray task with its own CPU (or GPU) request (`NNLAB_RAY_CPUS`,
`NNLAB_RAY_GPUS`). The task trains with the same `worker.run_job` as a local worker, beats a heartbeat file, obeys
a stop file, and writes `<id>.end.json`. Everything an app replica needs is in the shared folder: progress is read
from the run folder (`FolderLive`), so any replica shows any job, and a registry created after an app restart
finds the jobs still running from their tickets (`recover`). Ray's own state is never needed to follow a job.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

from ..runs.store import atomic_write_bytes
from .folder import FolderLive
from .keys import RunIndex
from .worker import JobSpec

JOBS = ".jobs"  # under the runs folder (hidden: not a run)
BEAT_S = 2.0  # how often a task says it is alive
LOST_S = 30.0  # a task silent for this long is gone (its node died)
PENDING_S = 600.0  # a ticket without a heartbeat counts as waiting for Ray's resources this long
POLL_S = 0.3


def _write_json(path: Path, value: dict) -> None:
    atomic_write_bytes(path, json.dumps(value).encode())


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None


def train_task(spec_json: str, job_id: str, key: str) -> dict:
    """The body of the Ray task: train one spec, heartbeat, obey the stop file, leave the end file."""
    from .worker import _Control, run_job, warm_up

    spec = JobSpec.from_json(spec_json)
    jobs = Path(spec.root) / JOBS
    beat, stop, end = jobs / f"{job_id}.alive", jobs / f"{job_id}.stop", jobs / f"{job_id}.end.json"
    control, result, done = _Control(), {}, threading.Event()

    def heartbeat() -> None:
        while not done.wait(BEAT_S / 4):
            beat.touch()
            if stop.exists() and not control.stopped.is_set():
                control.request((_read_json(stop) or {}).get("reason", ""))

    def send(event: dict) -> None:
        if event.get("event") in ("end", "error"):
            result.update(event)

    beat.touch()
    threading.Thread(target=heartbeat, daemon=True).start()
    warm_up(spec.torch_threads)
    try:
        status = run_job(spec, send, control, job_id=job_id, key=key)
    finally:
        done.set()
    out = {"status": status, **{k: result.get(k, "") for k in ("message", "error", "traceback", "log")}}
    _write_json(end, out)
    return out


class RayWorkers:
    """Ray tasks for the job registry, followed through the shared runs folder."""

    name = "ray"
    stops_on_shutdown = False  # a task goes on when the app process ends; a new registry finds it (`recover`)

    def __init__(self, address: str, root: Path):
        import ray  # the optional extra (requirements-ray.txt): imported only when a Ray backend is made

        import nnlab

        self.root = Path(root).resolve()
        self.cpus = float(os.environ.get("NNLAB_RAY_CPUS", "1"))
        self.gpus = float(os.environ.get("NNLAB_RAY_GPUS", "0"))
        self._index = RunIndex()
        self._closed = threading.Event()
        if not ray.is_initialized():
            ray.init(
                address=address,
                namespace="nnlab",
                log_to_driver=False,
                runtime_env={"py_modules": [str(Path(nnlab.__file__).resolve().parent)]},  # this nnlab on every node
            )
        self._task = ray.remote(train_task)

    @property
    def jobs_dir(self) -> Path:
        return self.root / JOBS

    # --- the registry's backend interface -------------------------------------------------
    def warm(self) -> None:
        """Nothing to warm: Ray keeps its own worker processes."""

    def replenish(self) -> None:
        """Nothing to keep: Ray keeps its own worker processes."""

    def launch(self, job, ended) -> None:
        """Write the job's ticket and submit its Ray task."""
        self.jobs_dir.mkdir(parents=True, exist_ok=True)
        ticket = {"id": job.id, "key": job.key, "label": job.label, "owners": job.owners, "spec": job.spec.to_json()}
        _write_json(self.jobs_dir / f"{job.id}.json", {**ticket, "submitted": time.time()})
        job.live = FolderLive(None)
        job._ref = self._task.options(num_cpus=self.cpus, num_gpus=self.gpus, name=f"nnlab-{job.id}").remote(
            job.spec.to_json(), job.id, job.key
        )
        self.follow(job, ended)

    def follow(self, job, ended) -> None:
        """Follow the job through its files on a daemon thread; `ended(job)` once it is over."""
        job._stop_fn = lambda reason="": _write_json(self.jobs_dir / f"{job.id}.stop", {"reason": reason})
        threading.Thread(target=self._follow, args=(job, ended), name=f"nnlab-ray-{job.id}", daemon=True).start()

    def recover(self) -> list[dict]:
        """The tickets of jobs that tasks are still training (or waiting for resources for), from the shared folder."""
        out = []
        for path in sorted(self.jobs_dir.glob("*.json")) if self.jobs_dir.is_dir() else ():
            t = None if path.name.endswith(".end.json") else _read_json(path)
            if t and not (self.jobs_dir / f"{t['id']}.end.json").exists() and not self._lost(t):
                out.append(t)
        return out

    def shutdown(self, jobs, timeout: float) -> None:
        """Stop following (the tasks go on); the next registry recovers them."""
        self._closed.set()

    # --- inside ------------------------------------------------------------------------
    def _lost(self, ticket: dict) -> bool:
        beat = self.jobs_dir / f"{ticket['id']}.alive"
        try:
            return time.time() - beat.stat().st_mtime > LOST_S
        except OSError:  # no heartbeat yet: waiting for a CPU on the cluster, for a while
            return time.time() - ticket.get("submitted", 0) > PENDING_S

    def _follow(self, job, ended) -> None:
        end = self.jobs_dir / f"{job.id}.end.json"
        ticket = {"id": job.id, "submitted": job.created}
        ref = getattr(job, "_ref", None)
        import ray  # already imported by __init__: a dictionary look-up

        try:
            while not self._closed.is_set():
                if job.folder is None and (folder := self._index.for_job(job.spec.root, job.id)) is not None:
                    job.folder = job.live.folder = folder
                if job.folder is not None and job.status == "starting" and job.live.view().started:
                    job.status = "running"
                result = _read_json(end)
                if result is None and ref is not None and ray.wait([ref], timeout=0)[0]:
                    try:
                        result = ray.get(ref)
                    except Exception as e:  # the task itself died (its node, its process)
                        result = {"status": "failed", "error": f"The Ray task ended unexpectedly: {e}"[:2000]}
                if result is None and self._lost(ticket):
                    result = {"status": "failed", "error": "The Ray task that trained this run stopped answering."}
                if result is not None:
                    if job.folder is None:
                        job.folder = job.live.folder = self._index.for_job(job.spec.root, job.id)
                    job.message, job.error = result.get("message", ""), result.get("error", "")
                    job.traceback, job.log = result.get("traceback", ""), result.get("log", "")
                    job.status = result.get("status") or "failed"
                    job._done.set()
                    ended(job)
                    return
                time.sleep(POLL_S)
        except Exception as e:  # never leave a job that looks alive forever
            job.status, job.error = "failed", f"Following the Ray task failed: {type(e).__name__}: {e}"
            job._done.set()
            ended(job)
