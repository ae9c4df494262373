"""Local training workers: one child process per job (`python -m nnlab.jobs`), and a warmed-up spare.

The default backend of the job registry (stage 3 for an app on one server). `launch(job, ended)` hands the
job to the spare worker (or a fresh one) and follows its JSON events into the job's `LiveMetrics` on a
daemon thread; `ended(job)` is called once it is over. The spare costs an idle process (~300 MB), so it is
ended after `spare_idle_s` seconds without a training being asked for (`reap`).
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
from dataclasses import dataclass
from pathlib import Path

from ..failures import error_log_path


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

    def send(self, msg: dict) -> None:
        try:
            self.proc.stdin.write(json.dumps(msg) + "\n")
            self.proc.stdin.flush()
        except (AttributeError, OSError, ValueError):
            pass  # the worker is gone already


class LocalWorkers:
    """Worker processes on this machine, with at most one idle spare."""

    name = "local"
    stops_on_shutdown = True  # the workers are this process's children: they stop with it

    def __init__(self, *, python: str | None = None, spare: bool = True, spare_idle_s: float = 300.0):
        self.python = python or sys.executable
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
            if self._use_spare and not (self._spare and self._spare.proc.poll() is None):
                self._spare = self._spawn()

    def replenish(self) -> None:
        """Start a spare again if one was wanted in the last `spare_idle_s` seconds and none is ready."""
        with self._lock:
            wanted = self._spare_since and time.monotonic() - self._spare_since < self.spare_idle_s
            if self._use_spare and wanted and not self.has_spare():
                self._spare = self._spawn()

    def has_spare(self) -> bool:
        return self._spare is not None and self._spare.proc.poll() is None

    def reap(self) -> bool:
        """End the spare if nobody asked for a training for `spare_idle_s` seconds; True if one was ended."""
        with self._lock:
            if self._spare is None or time.monotonic() - self._spare_since < self.spare_idle_s:
                return False
            spare, self._spare = self._spare, None
        _end(spare)
        return True

    # --- jobs --------------------------------------------------------------------------
    def launch(self, job, ended) -> None:
        """Train `job` in a worker process; its events feed the job; `ended(job)` once the worker is done."""
        with self._lock:
            worker = self._spare if self.has_spare() else self._spawn()
            self._spare = None
            self._spare_since = time.monotonic()
        job._worker = worker
        job._stop_fn = lambda reason="": worker.send({"cmd": "stop", "reason": reason})
        worker.send({"cmd": "run", "spec": job.spec.to_json(), "job": job.id, "key": job.key})
        args = (job, worker, ended)
        threading.Thread(target=self._follow, args=args, name=f"nnlab-job-{job.id}", daemon=True).start()

    def shutdown(self, jobs, timeout: float) -> None:
        """Wait for `jobs` (already asked to stop) up to `timeout`, kill what is left, end the spare."""
        deadline = time.monotonic() + timeout
        for job in jobs:
            if not job.wait(max(0.0, deadline - time.monotonic())) and job._worker is not None:
                job._worker.proc.kill()
                job.wait(5)  # its follow thread marks it failed (killed)
        with self._lock:
            spare, self._spare, self._use_spare = self._spare, None, False
        if spare is not None:
            _end(spare)

    # --- inside --------------------------------------------------------------------------
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

    def _follow(self, job, worker: _Worker, ended) -> None:
        """Read the worker's events into the job until the worker exits."""
        try:
            for line in worker.proc.stdout:
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                apply_event(job, event)
            code = worker.proc.wait()
            if job.alive:
                job.traceback = worker.stderr_tail()
                job.error = died(job, code)
                job.status = "failed"
        finally:
            job.live.finish()
            worker.err.close()
            job._done.set()
            ended(job)


def _end(worker: _Worker) -> None:
    """End an idle worker at once (it holds no job) and give its memory back."""
    worker.proc.kill()
    worker.proc.wait(10)
    worker.err.close()


def died(job, code: int) -> str:
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
