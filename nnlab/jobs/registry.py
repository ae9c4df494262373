"""The job registry: training runs in the background, each in its own worker process, at most N at once.

Stage 3 (train) for an app. The app keeps one `JobRegistry` per server; `start(spec)`
hands the spec to a warmed-up worker process (`nnlab.jobs.worker`) and returns a `Job`
at once; a daemon thread per job reads the worker's JSON events into the job's
`LiveMetrics`, which a live panel reads. Nothing here belongs to a session: a job goes
on when its page is left, changed or reloaded, until it ends or `stop()` is called.

Why a process and one torch thread: in one process, any busy Python thread (a page
rerun) holds the GIL that the training loop needs between torch ops. Measured on two
cores with a page-like busy thread, an epoch slowed from 1.1 s to 18 s with one torch
thread and to 43 s with two. A worker process has a GIL of its own, and one intra-op
thread leaves the second core to the app (`worker_threads` gives more on bigger machines);
while nothing else runs, the worker takes every core (`threads.ThreadGovernor`).
`bench/app_training.py` measures the result.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from ..failures import error_log_path
from .live import LiveMetrics
from .worker import JobSpec

ACTIVE = ("starting", "running")
FINISHED = ("complete", "stopped", "diverged", "failed")


def worker_threads(max_running: int, cpus: int | None = None) -> int:
    """Intra-op threads per worker: one core left to the app, the rest shared by the job slots (at least 1).

    On two cores that is 1: a second thread would compete with the app's own thread for a core, and torch's
    threads wait for each other at every op (measured: 4-10× slower epochs while the app is busy).
    """
    cpus = cpus or os.cpu_count() or 1
    return max(1, (cpus - 1) // max(max_running, 1))


class JobsFull(RuntimeError):
    """Every training slot of the server is taken; the message says so in words."""


@dataclass
class _Worker:
    proc: subprocess.Popen
    err: object  # a temporary file with the worker's stderr (its traceback if it dies)

    def stderr_tail(self, n: int = 4000) -> str:
        try:
            self.err.seek(0)
            return self.err.read().decode("utf-8", "replace")[-n:]
        except (OSError, ValueError):
            return ""


@dataclass(eq=False)
class Job:
    """One training in the background. Read its fields from any thread; `stop()` ends it cleanly."""

    id: str
    spec: JobSpec
    label: str = ""  # a human description: "moons · MLP 128-64"
    created: float = field(default_factory=time.time)
    status: str = "starting"  # starting → running → complete | stopped | diverged | failed
    message: str = ""  # the trainer's words for stopped/diverged (what happened, what to try)
    error: str = ""  # for failed: the exception in one line
    traceback: str = ""  # for failed: the worker's traceback
    log: str = ""  # for failed: the log file the traceback was appended to ("" if it could not be written)
    folder: Path | None = None  # the run folder, once the worker created it
    thread_seconds: dict = field(default_factory=dict)  # at the end: training seconds per torch thread count
    live: LiveMetrics = field(default_factory=LiveMetrics)
    stop_requested: bool = False
    _worker: _Worker | None = field(default=None, repr=False)
    _done: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def alive(self) -> bool:
        return self.status in ACTIVE

    @property
    def run_id(self) -> str | None:
        """The run folder's name (the id the runs list and the sidebar use), once created."""
        return self.folder.name if self.folder is not None else None

    def stop(self) -> None:
        """Ask the worker to stop after its current step; the snapshots recorded so far are kept."""
        self.stop_requested = True
        self._send({"cmd": "stop"})

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job has ended (True) or `timeout` seconds passed (False)."""
        return self._done.wait(timeout)

    def _send(self, msg: dict) -> None:
        try:
            self._worker.proc.stdin.write(json.dumps(msg) + "\n")
            self._worker.proc.stdin.flush()
        except (AttributeError, OSError, ValueError):
            pass  # the worker is gone already


class JobRegistry:
    """Background training jobs of one server.

    Args:
        max_running: how many jobs may train at once (more raise `JobsFull`).
        spare: once `warm()` was called (or a job started), keep one worker process started and warmed up,
            so that the next job starts in well under a second (it costs an idle process: ~300 MB).
        keep: how many finished jobs to remember.
        python: the interpreter for workers (default: this one).
    """

    def __init__(self, max_running: int = 2, *, spare: bool = True, keep: int = 20, python: str | None = None):
        self.max_running = max_running
        self.keep = keep
        self.python = python or sys.executable
        self._use_spare = spare
        self._wanted = False  # a spare is kept only once someone is about to train
        self._spare: _Worker | None = None
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def warm(self) -> None:
        """Start a spare worker now (if spares are on and a slot is free): the next `start` will not wait for one."""
        self._wanted = True
        self._ensure_spare()

    # --- reading --------------------------------------------------------------------
    def get(self, job_id: str | None) -> Job | None:
        return self._jobs.get(job_id) if job_id else None

    def jobs(self) -> list[Job]:
        """Every remembered job, newest first."""
        return sorted(self._jobs.values(), key=lambda j: j.created, reverse=True)

    def running(self) -> list[Job]:
        return [j for j in self.jobs() if j.alive]

    def job_for_run(self, run_id: str) -> Job | None:
        return next((j for j in self.jobs() if j.run_id == run_id), None)

    # --- starting and stopping --------------------------------------------------------
    def start(self, spec: JobSpec, label: str = "") -> Job:
        """Start training `spec` in the background and return its job; raise `JobsFull` when no slot is free."""
        with self._lock:
            busy = sum(j.alive for j in self._jobs.values())
            if busy >= self.max_running:
                raise JobsFull(
                    f"This server already trains {busy} network{'s' * (busy != 1)} at once, its limit. "
                    "Wait for one to finish (or stop one on the Train page), then start again."
                )
            worker = self._spare if self._spare and self._spare.proc.poll() is None else self._spawn()
            self._spare, self._wanted = None, True
            job = Job(uuid.uuid4().hex[:10], spec, label, _worker=worker)
            self._jobs[job.id] = job
            self._forget_old()
        job._send({"cmd": "run", "spec": spec.to_json()})
        threading.Thread(target=self._follow, args=(job,), name=f"nnlab-job-{job.id}", daemon=True).start()
        self._ensure_spare()
        return job

    def shutdown(self, timeout: float = 10.0) -> None:
        """Stop every job, wait for them, and end the spare worker (for tests and scripts)."""
        for job in self.running():
            job.stop()
        deadline = time.monotonic() + timeout
        for job in list(self._jobs.values()):
            if not job.wait(max(0.0, deadline - time.monotonic())) and job._worker is not None:
                job._worker.proc.kill()
        with self._lock:
            spare, self._spare, self._use_spare = self._spare, None, False
        if spare is not None:  # it holds no job: end it at once rather than after its warm-up
            spare.proc.kill()
            spare.proc.wait(timeout)
            spare.err.close()

    # --- inside ------------------------------------------------------------------------
    def _spawn(self) -> _Worker:
        import nnlab

        pkg_parent = str(Path(nnlab.__file__).resolve().parent.parent)
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(p for p in (pkg_parent, os.environ.get("PYTHONPATH")) if p),
            "PYTHONUNBUFFERED": "1",
        }
        err = tempfile.TemporaryFile()
        proc = subprocess.Popen(
            [self.python, "-m", "nnlab.jobs"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            bufsize=1,
            env=env,
        )
        return _Worker(proc, err)

    def _ensure_spare(self) -> None:
        with self._lock:
            if not (self._use_spare and self._wanted) or (self._spare and self._spare.proc.poll() is None):
                return
            if sum(j.alive for j in self._jobs.values()) < self.max_running:
                self._spare = self._spawn()

    def _forget_old(self) -> None:
        done = sorted((j for j in self._jobs.values() if not j.alive), key=lambda j: j.created)
        for job in done[: max(0, len(done) - self.keep)]:
            del self._jobs[job.id]

    def _follow(self, job: Job) -> None:
        """Read the worker's events into the job until the worker exits."""
        worker = job._worker
        try:
            for line in worker.proc.stdout:
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                _apply(job, event)
            code = worker.proc.wait()
            if job.alive:
                job.traceback = worker.stderr_tail()
                job.error = _died(job, code)
                job.status = "failed"
        finally:
            job.live.finish()
            worker.err.close()
            job._done.set()
            self._ensure_spare()


def _died(job: Job, code: int) -> str:
    """Words for a worker that exited without saying why (killed, out of memory); its stderr goes to the log."""
    killed = code in (-9, 137)
    words = f"The training process ended unexpectedly (exit code {code})" + (
        ": it was killed, most often because the machine ran out of memory. Try a smaller network or batch size."
        if killed
        else "."
    )
    log = error_log_path(job.folder, job.spec.root)
    try:
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "a", encoding="utf-8") as f:
            f.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} {words}\n{job.traceback}\n")
        job.log = str(log)
        words += f" Its last output is in {log.name} in the {'run' if job.folder else 'runs'} folder."
    except OSError:
        pass
    return words


def _apply(job: Job, event: dict) -> None:
    kind = event.get("event")
    if kind == "created":
        job.folder = Path(event["folder"])
    elif kind == "started":
        job.live.start(event["total_steps"], event["steps_per_epoch"], event.get("planned_snapshots", 0))
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
