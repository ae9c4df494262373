"""The job registry: background work of one server, identical work done once, a fair queue, honest restarts.

Stage 3 (train) for an app. `start(spec, owner=...)` returns a `Job` at once: the finished run of the same work
(`spec.key()`), the job already doing it (joined), a new job in a free slot, or one waiting in the fair queue
(`queue.py`). Jobs run in local worker processes (`local.py`) or, when `NNLAB_RAY_ADDRESS` is set, Ray actors
(`ray_backend.py`); either way a follower thread applies the worker's events (`worker.py`) to the job.
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from ..live import CALLS, LiveMetrics
from ..runs.index import RunIndex
from ..runs.owners import NotYours, Viewer, check_may_see, share_with
from ..runs.store import RunError, read_manifest
from .queue import DEFAULT_DURATION_S, estimated_starts, next_to_start, start_order, wait_words
from .spec import FeaturesSpec, JobSpec

ACTIVE = ("queued", "starting", "running")
TRAINING = ("starting", "running")
ANONYMOUS = "anonymous"


class JobsFull(RuntimeError):
    """No job can be taken now (the server trains none, or you already wait); the message says so in words."""


class QueueFull(JobsFull):
    """The queue is at its bound (`max_queue`); the message says how long to wait."""


@dataclass(eq=False)
class Job:
    """One piece of background work. Read its fields from any thread; `stop()` ends it cleanly."""

    id: str
    spec: JobSpec | FeaturesSpec
    label: str = ""  # a human description: "moons · MLP 128-64"
    key: str = ""  # the work's key (spec.key())
    owners: list[str] = field(default_factory=list)  # who asked for it; the first is charged a slot
    created: float = field(default_factory=time.time)
    status: str = "queued"  # queued → starting → running → complete | stopped | diverged | failed | interrupted
    message: str = ""  # the trainer's words for stopped/diverged/interrupted (what happened, what to try)
    error: str = ""  # for failed: the reason in words
    traceback: str = ""  # for failed: the worker's traceback
    log: str = ""  # for failed: the log file the traceback was appended to ("" if it could not be written)
    folder: Path | None = None  # a training's run folder, once the worker created it
    output: Path | None = None  # a features job's saved autoencoder, once it ended
    reused: bool = False  # a finished run of the same configuration, opened instead of training again
    thread_seconds: dict = field(default_factory=dict)  # at the end: training seconds per torch thread count
    live: LiveMetrics = field(default_factory=LiveMetrics)
    stop_requested: bool = False
    _worker: object = field(default=None, repr=False)  # the backend's handle: stop(reason), events(), lost()
    _cancel_fn: object = field(default=None, repr=False)  # set by the registry: cancel a queued job
    _done: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def owner(self) -> str:
        return self.owners[0] if self.owners else ANONYMOUS

    @property
    def alive(self) -> bool:
        """Not ended yet: waiting, starting or working."""
        return self.status in ACTIVE

    @property
    def queued(self) -> bool:
        return self.status == "queued"

    @property
    def shared(self) -> bool:
        """Everyone's to see (a lesson preset, or asked for by nobody in particular)."""
        return getattr(self.spec, "shared", False) or self.owner == ANONYMOUS

    def visible_to(self, viewer: Viewer) -> bool:
        """The teacher sees every job, a student theirs (asked for or joined) and the shared ones."""
        return viewer.teacher or viewer.id in self.owners or self.shared

    @property
    def run_id(self) -> str | None:
        """The run folder's name (the id the runs list and the sidebar use), once created."""
        return self.folder.name if self.folder is not None else None

    def stop(self, reason: str = "") -> None:
        """Stop after the current step (the snapshots so far are kept); a waiting job is cancelled."""
        self.stop_requested = True
        if self.queued and self._cancel_fn is not None:
            self._cancel_fn(self)
        elif self._worker is not None:
            self._worker.stop(reason)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job has ended (True) or `timeout` seconds passed (False)."""
        return self._done.wait(timeout)

    def apply(self, event: dict) -> None:
        """One event of its worker (`worker.run_job`): its folder, its progress (`LiveMetrics`' own calls with their
        arguments), and how it ended."""
        kind, args = event["event"], {k: v for k, v in event.items() if k != "event"}
        if kind == "created":
            self.folder = Path(args["folder"])
        elif kind in CALLS:  # the job's LiveMetrics, called as the worker's LiveReporter was
            getattr(self.live, kind)(**args)
            self.status = "running" if kind in ("start", "progress") else self.status
        elif kind == "end":
            self.live.finish()  # now, not when the worker process has exited (that takes a moment more)
            for name in ("message", "error", "traceback", "log", "thread_seconds"):
                setattr(self, name, args.get(name, getattr(self, name)))
            self.output = Path(args["output"]) if args.get("output") else None
            self.status = args["status"]


class JobRegistry:
    """Background jobs of one server.

    Args:
        max_running: how many jobs work at once; 0 refuses every job.
        spare: keep one worker process warmed up once `warm()` was called, so that the next job starts in well under
            a second; it costs an idle process (~300 MB) and is ended after `spare_idle_s` without a start.
        keep: how many finished jobs to remember.
        max_queue: how many jobs may wait.
        spare_idle_s: seconds an unused spare is kept.
        backend: "local" or "ray" (default: "ray" when `$NNLAB_RAY_ADDRESS` is set, else "local").
        root: the runs folder a Ray registry looks in for jobs another app process started (default `runs_dir()`).
    """

    def __init__(
        self,
        max_running: int = 2,
        *,
        spare: bool = True,
        keep: int = 20,
        max_queue: int = 20,
        spare_idle_s: float = 300.0,
        backend: str | None = None,
        root: Path | str | None = None,
    ):
        self.max_running, self.keep, self.max_queue = max_running, keep, max_queue
        if (backend or ("ray" if os.environ.get("NNLAB_RAY_ADDRESS") else "local")) == "ray":
            from ..runs import runs_dir
            from .ray_backend import RayWorkers  # imports ray: only when asked for

            self.backend = RayWorkers(os.environ.get("NNLAB_RAY_ADDRESS") or "auto", Path(root or runs_dir()))
        else:
            from .local import LocalWorkers

            self.backend = LocalWorkers(spare=spare, spare_idle_s=spare_idle_s)
        self._jobs: dict[str, Job] = {}
        self._waiting: list[Job] = []  # in arrival order
        self._durations: deque[float] = deque(maxlen=10)  # seconds the last jobs took
        self._index = RunIndex()
        self._lock = threading.RLock()
        self._closed = threading.Event()
        threading.Thread(target=self._housekeeping, name="nnlab-jobs-reaper", daemon=True).start()
        for t, handle in self.backend.recover():  # Ray jobs started by an earlier app process
            job = Job(t["id"], t["spec"], t.get("label", ""), t.get("key", ""), t.get("owners", []), t["submitted"])
            job.status, job._worker = "starting", handle
            self._jobs[job.id] = job
            self._follow(job)

    def warm(self) -> None:
        """Have a worker ready now (local backend with spares on): the next `start` will not wait for one."""
        self.backend.warm()

    # --- reading --------------------------------------------------------------------
    def get(self, job_id: str | None) -> Job | None:
        return self._jobs.get(job_id) if job_id else None

    def jobs(self) -> list[Job]:
        """Every remembered job, newest first."""
        return sorted(self._jobs.values(), key=lambda j: j.created, reverse=True)

    def running(self) -> list[Job]:
        """The jobs not ended yet (working, starting or waiting), newest first."""
        return [j for j in self.jobs() if j.alive]

    def training(self) -> list[Job]:
        return [j for j in self.jobs() if j.status in TRAINING]

    def waiting(self) -> list[Job]:
        """The waiting jobs in the order they are expected to start."""
        with self._lock:
            order = start_order([j.owner for j in self._waiting], [j.owner for j in self.training()])
            return [self._waiting[i] for i in order]

    def visible(self, viewer: Viewer) -> list[Job]:
        """The jobs `viewer` may see (`Job.visible_to`), newest first."""
        return [j for j in self.jobs() if j.visible_to(viewer)]

    def may_stop(self, job: Job, viewer: Viewer) -> bool:
        """The teacher stops any job; a student only the one they asked for first (not one they joined)."""
        return viewer.teacher or (job.owner == viewer.id and not getattr(job.spec, "shared", False))

    def stop(self, job_id: str, viewer: Viewer) -> None:
        """Stop (or, waiting, cancel) a job for `viewer`; `NotYours` when they may not (see `may_stop`)."""
        job = self.get(job_id)
        if job is None or not job.visible_to(viewer):
            raise NotYours("No such job")
        if not self.may_stop(job, viewer):
            raise NotYours("This job is not yours to stop: others asked for it first, and it goes on for them")
        job.stop()

    def find_run(self, job_id: str, root: Path | str | None = None) -> Path | None:
        """The run folder that job `job_id` wrote, found on disk (for a job the server no longer knows)."""
        from ..runs import runs_dir

        job = self.get(job_id)
        return job.folder if job is not None and job.folder else self._index.for_job(root or runs_dir(), job_id)

    def finished_run(self, spec: JobSpec) -> Path | None:
        """The complete run on disk trained from `spec`'s configuration (what `start` would reuse), or None."""
        return self._index.complete(spec.root, spec.key())

    def place(self, job: Job) -> tuple[int, float] | None:
        """(position from 1, estimated seconds until it starts) of a waiting job; None for any other job."""
        order = self.waiting()
        return (order.index(job) + 1, self._starts(len(order))[order.index(job)]) if job in order else None

    # --- starting and stopping --------------------------------------------------------
    def start(
        self, spec: JobSpec | FeaturesSpec, label: str = "", owner: str = ANONYMOUS, viewer: Viewer | None = None
    ) -> Job:
        """The job for `spec`: a finished run of the same configuration, the job doing the same work, a new one or a
        waiting one. Raise `JobsFull` (in words) when `owner` already waits for another job or nothing can work,
        `QueueFull` (saying how long to wait) when the queue is full, and `NotYours` for features of a run that
        `viewer` (default: `owner`, a student) may not see."""
        if isinstance(spec, FeaturesSpec):
            check_may_see(
                spec.folder, viewer or Viewer(owner), "No such run: features are trained only on a run you may see"
            )
        elif spec.owner is None and not spec.shared and owner != ANONYMOUS:
            spec = dataclasses.replace(spec, owner=owner)  # the worker writes it into the manifest
        key = spec.key()
        with self._lock:
            same = next((j for j in self._jobs.values() if j.alive and (j.key, j.spec.root) == (key, spec.root)), None)
            if same is not None:
                if owner not in same.owners:
                    same.owners.append(owner)
                return same
            done = self._index.complete(spec.root, key) if isinstance(spec, JobSpec) else None
            if done is not None:
                return self._reused(spec, label, key, owner, done)
            if self.max_running <= 0:
                raise JobsFull("This server trains no networks at the moment (its limit is 0 at once).")
            mine = next((j for j in self._waiting if j.owner == owner), None)
            if mine is not None:
                raise JobsFull(
                    f"You already have a training waiting ({mine.label or 'queued'}). Cancel it, or wait until it "
                    "starts, then ask for another."
                )
            training = self.training()
            free = len(training) < self.max_running and owner not in {j.owner for j in training}
            if not free and len(self._waiting) >= self.max_queue:
                raise QueueFull(
                    f"The queue of this server is full: {len(self._waiting)} trainings wait already. "
                    f"Try again in {wait_words(self._starts(1)[0])}, when the next one has started."
                )
            job = Job(uuid.uuid4().hex[:10], spec, label, key, [owner], _cancel_fn=self._cancel)
            self._jobs[job.id] = job
            if free:
                self._launch(job)
            else:
                self._waiting.append(job)
            self._forget_old()
        self._warm_for_next()
        return job

    def cancel(self, job_id: str, owner: str | None = None) -> bool:
        """Take `owner`'s request for a waiting job back (the job is cancelled once nobody wants it); True if done.
        `owner` None (the teacher) cancels it for everyone; someone who did not ask for it cannot cancel it."""
        job = self.get(job_id)
        if job is None or not job.queued or (owner is not None and owner not in job.owners):
            return False
        with self._lock:
            if owner is not None and len(job.owners) > 1:
                job.owners.remove(owner)  # the others still want it
                return True
        self._cancel(job)
        return True

    def shutdown(self, timeout: float = 10.0) -> None:
        """The server goes down: stop every job (their runs are marked interrupted by a server restart, every
        snapshot kept), drop the queue, wait for the workers, end the spare."""
        self._closed.set()
        with self._lock:
            waiting, self._waiting = self._waiting, []
        for job in waiting:
            job.status, job.message = "cancelled", "The server was restarted before this training could start."
            job._done.set()
        training = self.training()
        if self.backend.stops_on_shutdown:  # a Ray actor goes on without this app process (ray_backend.py)
            for job in training:
                job.stop("restart")
        self.backend.shutdown(training, timeout)

    # --- inside ------------------------------------------------------------------------
    def _launch(self, job: Job) -> None:
        job.status = "starting"
        job._worker = self.backend.launch(job)
        self._follow(job)

    def _follow(self, job: Job) -> None:
        """Apply the job's events on a daemon thread until its worker is done, then say how it ended."""

        def follow() -> None:
            try:
                for event in job._worker.events():
                    job.apply(event)
                if job.alive and self._closed.is_set() and not self.backend.stops_on_shutdown:
                    return  # this app process goes down; the Ray actor works on, a new registry follows it
                if job.alive:
                    job.error, job.status = job._worker.lost(), "failed"
            except Exception as e:  # never leave a job that looks alive forever
                job.error, job.status = f"Following the job failed: {type(e).__name__}: {e}", "failed"
            finally:
                if hasattr(job._worker, "close"):
                    job._worker.close()
            job.live.finish()
            job._done.set()
            self._ended(job)

        threading.Thread(target=follow, name=f"nnlab-job-{job.id}", daemon=True).start()

    def _reused(self, spec: JobSpec, label: str, key: str, owner: str, folder: Path) -> Job:
        """A finished job for a run already on disk: no training, its progress read from the folder."""
        job = Job(uuid.uuid4().hex[:10], spec, label, key, [owner], status="complete", folder=folder, reused=True)
        share_with(folder, [owner] if owner != ANONYMOUS else [])  # someone else's finished run: theirs to see too
        try:
            manifest = read_manifest(folder)
        except RunError:
            manifest = {}
        job.live, job.message = LiveMetrics.of_run(folder, manifest), manifest.get("message", "")
        job._done.set()
        self._jobs[job.id] = job
        self._forget_old()
        return job

    def _cancel(self, job: Job) -> None:
        with self._lock:
            if job not in self._waiting:
                return
            self._waiting.remove(job)
            job.status, job.message = "cancelled", "Cancelled before it started."
        job._done.set()

    def _ended(self, job: Job) -> None:
        """A job is over: note how long it took, and give its slot to the next in the queue."""
        v = job.live.view()
        if job.folder is not None and len(job.owners) > 1:
            share_with(job.folder, [o for o in job.owners[1:] if o != ANONYMOUS])  # who joined it sees it, read-only
        if job.status == "complete" and v.elapsed > 0:
            self._durations.append(v.elapsed)
        if not self._closed.is_set():
            self._schedule()
            self._warm_for_next()

    def _warm_for_next(self) -> None:
        """A slot is free: have a warm worker for the next start (if one was wanted lately: `LocalWorkers.warm`)."""
        if len(self.training()) < self.max_running:
            self.backend.warm(wanted_now=False)

    def _schedule(self) -> None:
        with self._lock:
            while self._waiting and len(self.training()) < self.max_running:
                i = next_to_start([j.owner for j in self._waiting], [j.owner for j in self.training()])
                if i is None:
                    break
                self._launch(self._waiting.pop(i))

    def _starts(self, waiting: int) -> list[float]:
        """Seconds until each of `waiting` queued jobs is expected to start (see `queue.estimated_starts`)."""
        duration = sum(self._durations) / len(self._durations) if self._durations else DEFAULT_DURATION_S
        return estimated_starts([j.live.view().eta for j in self.training()], self.max_running, waiting, duration)

    def _forget_old(self) -> None:
        done = sorted((j for j in self._jobs.values() if not j.alive), key=lambda j: j.created)
        for job in done[: max(0, len(done) - self.keep)]:
            del self._jobs[job.id]

    def _housekeeping(self) -> None:
        """Every few seconds: end an unused spare worker, and start waiting jobs whose owner's job has ended."""
        while not self._closed.wait(min(5.0, max(self.backend.spare_idle_s, 0.2))):
            self.backend.reap()
            self._schedule()
