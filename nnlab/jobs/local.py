"""Local training workers: one process per job (`python -m nnlab.jobs`), and a warmed-up spare.

The default backend of the job registry (stage 3 for an app on one server). A worker talks over two
`multiprocessing` pipes: the job and then a stop go in, its events come out. (Not `multiprocessing.Process`: its
spawn re-runs the parent's `__main__`, which in a Streamlit server is the app script.) `launch(job, ended)` hands the
job to the spare (or a fresh worker); a daemon thread applies its events to the job's `LiveMetrics` and calls
`ended(job)` when the pipe closes, also when the process died without a word (killed, out of memory). The spare
costs an idle process (~300 MB), so it is ended after `spare_idle_s` seconds without a start (`reap`).
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from multiprocessing import Pipe
from multiprocessing.connection import Connection
from pathlib import Path

KILLED = ": it was killed, most often because the machine ran out of memory. Try a smaller network or batch size."


@dataclass
class _Worker:
    proc: subprocess.Popen
    inbox: Connection  # to the worker: {"spec", "job", "key"}, then {"stop": reason}
    events: Connection  # from the worker: the event dicts of `worker.run_job`

    @classmethod
    def spawn(cls) -> _Worker:
        import nnlab

        their_in, inbox = Pipe(duplex=False)
        events, their_out = Pipe(duplex=False)
        fds = (their_in.fileno(), their_out.fileno())
        path = os.pathsep.join(p for p in (str(Path(nnlab.__file__).parents[1]), os.environ.get("PYTHONPATH")) if p)
        cmd = [sys.executable, "-m", "nnlab.jobs", *map(str, fds)]
        proc = subprocess.Popen(cmd, pass_fds=fds, stdin=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": path})
        their_in.close()  # theirs now: each pipe closes when the worker ends
        their_out.close()
        return cls(proc, inbox, events)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def send(self, msg: dict) -> None:
        try:
            self.inbox.send(msg)
        except OSError:
            pass  # the worker is gone already

    def end(self) -> None:
        """End an idle worker at once (it holds no job) and give its memory back."""
        self.proc.kill()
        self.proc.wait(10)
        self.inbox.close()
        self.events.close()


class LocalWorkers:
    """Worker processes on this machine, with at most one idle spare."""

    name = "local"
    stops_on_shutdown = True  # the workers are this process's children: they stop with it

    def __init__(self, *, spare: bool = True, spare_idle_s: float = 300.0):
        self.spare_idle_s = spare_idle_s
        self._use_spare = spare
        self._spare: _Worker | None = None
        self._spare_since = 0.0  # when the spare was last wanted (warm or a start)
        self._lock = threading.Lock()

    # --- the spare ---------------------------------------------------------------------
    def warm(self) -> None:
        """Have a warmed-up worker ready (if spares are on), and keep it for `spare_idle_s` more seconds."""
        with self._lock:
            self._spare_since = time.monotonic()
            if self._use_spare and not self.has_spare():
                self._spare = _Worker.spawn()

    def replenish(self) -> None:
        """Start a spare again if one was wanted in the last `spare_idle_s` seconds and none is ready."""
        with self._lock:
            wanted = self._spare_since and time.monotonic() - self._spare_since < self.spare_idle_s
            if self._use_spare and wanted and not self.has_spare():
                self._spare = _Worker.spawn()

    def has_spare(self) -> bool:
        return self._spare is not None and self._spare.alive()

    def reap(self) -> bool:
        """End the spare if nobody asked for a training for `spare_idle_s` seconds; True if one was ended."""
        with self._lock:
            if self._spare is None or time.monotonic() - self._spare_since < self.spare_idle_s:
                return False
            spare, self._spare = self._spare, None
        spare.end()
        return True

    # --- jobs --------------------------------------------------------------------------
    def recover(self) -> list:
        """No job outlives this process's workers: nothing to find again after a restart."""
        return []

    def launch(self, job, ended) -> None:
        """Train `job` in a worker process; its events feed the job; `ended(job)` once the worker is done."""
        with self._lock:
            worker = self._spare if self.has_spare() else _Worker.spawn()
            self._spare, self._spare_since = None, time.monotonic()
        job._worker = worker
        job._stop_fn = lambda reason="": worker.send({"stop": reason})
        worker.send({"spec": job.spec, "job": job.id, "key": job.key})
        threading.Thread(target=_follow, args=(job, worker, ended), name=f"nnlab-job-{job.id}", daemon=True).start()

    def shutdown(self, jobs, timeout: float) -> None:
        """Wait for `jobs` (already asked to stop) up to `timeout`, kill what is left, end the spare."""
        deadline = time.monotonic() + timeout
        for job in jobs:
            if not job.wait(max(0.0, deadline - time.monotonic())) and job._worker is not None:
                job._worker.proc.kill()
                job.wait(5)  # its follower marks it failed (killed)
        with self._lock:
            spare, self._spare, self._use_spare = self._spare, None, False
        if spare is not None:
            spare.end()


def _follow(job, worker: _Worker, ended) -> None:
    """Apply the worker's events to the job until its pipe closes (it ended, or died), then say how it ended."""
    try:
        while True:
            try:
                apply_event(job, worker.events.recv())
            except (EOFError, OSError):
                break
        code = worker.proc.wait()
        if job.alive:
            job.error, job.status = died(code), "failed"
    finally:
        worker.inbox.close()
        worker.events.close()
        job.live.finish()
        job._done.set()
        ended(job)


def died(code: int | None) -> str:
    """Words for a worker that ended without saying why: killed (SIGKILL, most often out of memory), or crashed."""
    why = KILLED if code in (-9, 137) else "."
    return f"The training process ended unexpectedly (exit code {code}){why} The snapshots recorded so far are kept."


def apply_event(job, event: dict) -> None:
    """One worker event into the job: its folder, progress, and how it ended."""
    kind = event.get("event")
    if kind == "created":
        job.folder = Path(event["folder"])
    elif kind == "started":
        job.live.start(
            event["total_steps"], event["steps_per_epoch"], event.get("planned_snapshots", 0), event.get("metric")
        )
        job.status = "running"
    elif kind == "steps":
        losses = [math.nan if v is None else v for v in event["loss"]]
        job.live.add_steps(losses, event["acc"], event["step"], event.get("snapshots"), event.get("elapsed"))
    elif kind == "epoch":
        job.live.add_epoch(event["metrics"])
    elif kind == "end":
        job.live.finish()  # now, not when the worker process has exited (that takes a moment more)
        job.message = event.get("message", "")
        job.thread_seconds = {int(k): v for k, v in event.get("thread_seconds", {}).items()}
        job.status = event["status"]
    elif kind == "error":
        job.live.finish()
        job.error, job.traceback = event.get("error", ""), event.get("traceback", "")
        job.log = event.get("log", "")
        job.status = "failed"
