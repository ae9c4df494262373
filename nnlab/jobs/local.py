"""Local workers: one process per job (`python -m nnlab.jobs IN OUT`) on two `multiprocessing` pipes, and a spare.

The default backend of the job registry (stage 3 for an app on one server); both sides of the process are here. The
app sends the job on one pipe (and later a stop), the worker sends `run_job`'s events on the other. A pipe closing
says the other side is gone: to the app, a worker that died without a word (killed, out of memory); to the worker,
an app that went down (a restart: the run is marked interrupted, as on SIGTERM or SIGINT). Not
`multiprocessing.Process`: its spawn re-runs the parent's `__main__` in the child, and in a Streamlit server that is
the page script (Streamlit installs each script run as `__main__`). A warmed-up spare makes the next start take well
under a second; it costs an idle process (~300 MB), so it ends `spare_idle_s` after a worker was last wanted.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from multiprocessing import Pipe
from multiprocessing.connection import Connection
from pathlib import Path

from .worker import Control, run_job, warm_up

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
        env = {**os.environ, "PYTHONPATH": path}
        self.proc = subprocess.Popen(cmd, pass_fds=fds, stdin=subprocess.DEVNULL, env=env)
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
        self.spare_idle_s, self._use_spare = spare_idle_s, spare
        self._spare: _Worker | None = None
        self._wanted = 0.0  # when a worker was last wanted (warm or a start)
        self._lock = threading.Lock()

    def warm(self, wanted_now: bool = True) -> None:
        """Have a warmed-up spare ready (if spares are on) if one was wanted in the last `spare_idle_s` seconds."""
        with self._lock:
            self._wanted = time.monotonic() if wanted_now else self._wanted
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


# --- inside the worker process -----------------------------------------------------------------------------------
def _receive(inbox: Connection) -> object:
    """The next message from the app's process; None once that process is gone (its end of the pipe closed)."""
    try:
        return inbox.recv()
    except (EOFError, OSError):
        return None


def serve(inbox: Connection, events: Connection) -> None:
    """A local worker process: warm up, take one job from `inbox`, do it, send its events on `events`."""
    control, has_job = Control(), threading.Event()

    def on_signal(signum, frame) -> None:
        if not has_job.is_set():
            os._exit(0)  # no job yet (a spare worker): nothing to keep
        control.request("restart")

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)  # Ctrl-C reaches the whole process group: stop cleanly too
    warm_up()
    job = _receive(inbox)
    if not isinstance(job, dict) or "spec" not in job:
        return  # the app went away, or ended this spare
    has_job.set()

    def obey() -> None:  # a stop, or the app's process going away (a restart), reaches the work
        stop = _receive(inbox)
        control.request(str(stop.get("stop", "")) if isinstance(stop, dict) else "restart")

    threading.Thread(target=obey, daemon=True).start()

    def send(event: dict) -> None:
        try:
            events.send(event)
        except OSError:
            pass  # the app is gone (a server restart): the run folder says what happened

    run_job(job["spec"], send, control, job_id=job.get("job", ""), key=job.get("key", ""))
