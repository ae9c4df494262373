"""Jobs as Ray actors: past one server, each job is a named, detached actor writing to the shared runs folder.

The registry's backend when `NNLAB_RAY_ADDRESS` is set (ray is imported only in this module's functions).
`launch(job)` creates the actor `nnlab-job-<id>` with its own CPU/GPU request (`NNLAB_RAY_CPUS`, `NNLAB_RAY_GPUS`);
it runs `worker.run_job` at once and keeps every event, which the registry fetches as it does a local worker's;
`ray.kill` ends it once its last event was taken. After an app restart a new registry finds the actors by name
(`recover`) and reads their events from the start.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from .worker import Control, run_job, warm_up

NAMESPACE = "nnlab"
PREFIX = "nnlab-job-"  # + the job's id: the actor's name
POLL_S = 0.5  # the longest an events call waits for a new event
UNCLAIMED_S = 600.0  # an actor whose end nobody took (no app running) ends itself after this long


class JobActor:
    """One job on the cluster (made a Ray actor by `RayWorkers`): it starts working when it is created."""

    def __init__(self, ticket: dict):
        self.ticket = ticket  # id, key, label, owners, submitted, spec: what a new registry needs
        self.control = Control()
        self._events: list[dict] = []
        self._new = threading.Condition()
        self._claimed = threading.Event()
        threading.Thread(target=self._work, daemon=True).start()

    def _work(self) -> None:
        warm_up(self.ticket["spec"].torch_threads)
        run_job(self.ticket["spec"], self._send, self.control, job_id=self.ticket["id"], key=self.ticket["key"])
        if not self._claimed.wait(UNCLAIMED_S):  # no app took the end: the run folder says what happened
            os._exit(0)  # a detached actor is not ended by Ray itself: give its CPU back

    def _send(self, event: dict) -> None:
        with self._new:
            self._events.append(event)
            self._new.notify_all()

    def describe(self) -> dict:
        return self.ticket

    def stop(self, reason: str = "") -> None:
        self.control.request(reason)

    def events(self, since: int) -> list[dict]:
        """The events after the first `since`, waiting up to `POLL_S` for one."""
        with self._new:
            self._new.wait_for(lambda: len(self._events) > since, timeout=POLL_S)
            new = self._events[since:]
        if any(e["event"] == "end" for e in new):
            self._claimed.set()
        return new


class _Followed:
    """A job's actor as the registry follows it (the same calls as a local worker)."""

    def __init__(self, actor, closed: threading.Event):
        self.actor, self.closed, self.error = actor, closed, ""

    def stop(self, reason: str = "") -> None:
        self.actor.stop.remote(reason)

    def events(self):
        import ray  # imported by RayWorkers already: a dictionary look-up

        seen = 0
        while not self.closed.is_set():  # this app process goes down: the actor works on, unfollowed
            try:
                new = ray.get(self.actor.events.remote(seen))
            except Exception as e:  # the actor died (its node, its process): the run folder keeps its snapshots
                self.error = f"{type(e).__name__}: {e}"[:1000]
                return
            yield from new
            seen += len(new)
            if any(e["event"] == "end" for e in new):
                ray.kill(self.actor)  # a detached actor is ended by whoever took its end
                return

    def lost(self) -> str:
        return f"The Ray actor of this job ended unexpectedly ({self.error}). The snapshots recorded so far are kept."


class RayWorkers:
    """Detached Ray actors for the job registry."""

    name = "ray"
    stops_on_shutdown = False  # an actor goes on when the app process ends; a new registry finds it (`recover`)
    spare_idle_s = 5.0  # no spare: Ray keeps its own worker processes (`warm` and `reap` do nothing)

    def __init__(self, address: str, root: Path):
        import ray  # the optional extra (requirements-ray.txt): imported only when a Ray backend is made

        import nnlab

        self.root = Path(root).resolve()
        self.cpus = float(os.environ.get("NNLAB_RAY_CPUS", "1"))
        self.gpus = float(os.environ.get("NNLAB_RAY_GPUS", "0"))
        if not ray.is_initialized():  # with this nnlab on every node
            here = {"py_modules": [str(Path(nnlab.__file__).resolve().parent)]}
            ray.init(address=address, namespace=NAMESPACE, log_to_driver=False, runtime_env=here)
        self._actor = ray.remote(JobActor)
        self._closed = threading.Event()

    def warm(self, wanted_now: bool = True) -> None: ...

    def reap(self) -> None: ...

    def launch(self, job) -> _Followed:
        """Create the job's actor (it works at once)."""
        ticket = {"id": job.id, "key": job.key, "label": job.label, "owners": job.owners, "submitted": job.created}
        # Detached: it outlives this app process, and whoever takes its end kills it. Threaded: `stop` and `events`
        # are answered while it works.
        how = dict(name=PREFIX + job.id, namespace=NAMESPACE, lifetime="detached", max_concurrency=4)
        actor = self._actor.options(**how, num_cpus=self.cpus, num_gpus=self.gpus).remote({**ticket, "spec": job.spec})
        return _Followed(actor, self._closed)

    def recover(self) -> list[tuple[dict, _Followed]]:
        """(ticket, actor) of the jobs the cluster holds for this runs folder: working, waiting for resources, or
        ended with an end nobody has taken yet (the app was down)."""
        import ray

        out = []
        for name in ray.util.list_named_actors():  # this driver's namespace: NAMESPACE
            if name.startswith(PREFIX):
                try:
                    actor = ray.get_actor(name, namespace=NAMESPACE)
                    ticket = ray.get(actor.describe.remote(), timeout=30)
                except Exception:  # ended meanwhile, or its node is gone: its run folder says what happened
                    continue
                if Path(ticket["spec"].root).resolve() == self.root:
                    out.append((ticket, _Followed(actor, self._closed)))
        return out

    def shutdown(self, jobs, timeout: float) -> None:
        """Stop following (the actors go on); the next registry recovers them."""
        self._closed.set()
