"""Local workers: one process per job (`python -m nnlab.jobs`) on two `multiprocessing` pipes, and a warmed-up spare.

The default backend of the job registry (stage 3 for an app on one server). The spec and then a stop go in on one
pipe, the worker's events come out on the other; the pipe closing says the worker ended, also when it died without a
word (killed, out of memory). Not `multiprocessing.Process`: its spawn re-runs the parent's `__main__` in the child,
and in a Streamlit server that is the page script being run (Streamlit installs each script run as `__main__`). The
spare costs an idle process (~300 MB), so it is ended `spare_idle_s` seconds after it was last wanted (`reap`).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from multiprocessing import Pipe
from pathlib import Path

KILLED = ": it was killed, most often because the machine ran out of memory. Try a smaller network or batch size."


class _Worker:
    """A worker process and its two pipe ends: what the registry follows (`events`), stops, or (tests) kills."""

    def __init__(self):
        import nnlab

        their_in, self.inbox = Pipe(duplex=False)
        self.outbox, their_out = Pipe(duplex=False)
        fds = (their_in.fileno(), their_out.fileno())
        path = os.pathsep.join(p for p in (str(Path(nnlab.__file__).parents[1]), os.environ.get("PYTHONPATH")) if p)
        cmd = [sys.executable, "-m", "nnlab.jobs", *map(str, fds)]
        self.proc = subprocess.Popen(
            cmd, pass_fds=fds, stdin=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": path}
        )
        their_in.close()  # theirs now: each pipe closes when the worker ends
        their_out.close()

    def alive(self) -> bool:
        return self.proc.poll() is None

    def send(self, message: dict) -> None:
        try:
            self.inbox.send(message)
        except OSError:
            pass  # the worker is gone already

    def stop(self, reason: str = "") -> None:
        self.send({"stop": reason})

    def events(self):
        """The worker's events until its pipe closes (it ended, or died)."""
        try:
            while True:
                yield self.outbox.recv()
        except (EOFError, OSError):
            return

    def lost(self) -> str:
        """Words for a worker that ended without saying why: killed (SIGKILL, most often out of memory), or crashed."""
        code = self.proc.wait()
        why = KILLED if code in (-9, 137) else "."
        return f"The worker process ended unexpectedly (exit code {code}){why} The snapshots recorded so far are kept."

    def close(self, kill: bool = False) -> None:
        if kill:
            self.proc.kill()
            self.proc.wait(10)
        self.inbox.close()
        self.outbox.close()


class LocalWorkers:
    """Worker processes on this machine, with at most one idle spare."""

    name = "local"
    stops_on_shutdown = True  # the workers are this process's children: they stop with it

    def __init__(self, *, spare: bool = True, spare_idle_s: float = 300.0):
        self.spare_idle_s = spare_idle_s
        self._use_spare = spare
        self._spare: _Worker | None = None
        self._wanted = 0.0  # when a worker was last wanted (warm or a start)
        self._lock = threading.Lock()

    def warm(self, wanted_now: bool = True) -> None:
        """Have a warmed-up spare ready (if spares are on) if one was wanted in the last `spare_idle_s` seconds."""
        with self._lock:
            if wanted_now:
                self._wanted = time.monotonic()
            recently = self._wanted and time.monotonic() - self._wanted < self.spare_idle_s
            if self._use_spare and recently and not self.has_spare():
                self._spare = _Worker()

    def has_spare(self) -> bool:
        return self._spare is not None and self._spare.alive()

    def reap(self) -> None:
        """End the spare if nobody asked for a worker for `spare_idle_s` seconds."""
        with self._lock:
            if self._spare is None or time.monotonic() - self._wanted < self.spare_idle_s:
                return
            spare, self._spare = self._spare, None
        spare.close(kill=True)

    def recover(self) -> list:
        """No job outlives this process's workers: nothing to find again after a restart."""
        return []

    def launch(self, job) -> _Worker:
        """Hand `job` to the spare (or a fresh worker); the registry follows the returned worker's events."""
        with self._lock:
            worker = self._spare if self.has_spare() else _Worker()
            self._spare, self._wanted = None, time.monotonic()
        worker.send({"spec": job.spec, "job": job.id, "key": job.key})
        return worker

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
            spare.close(kill=True)
