"""Trainings as Ray actors: past one server, each job is a detached actor writing to the shared runs folder.

The registry's backend when `NNLAB_RAY_ADDRESS` is set (imported only then). `launch(job)` creates the named actor
`nnlab-job-<id>` with its own CPU/GPU request (`NNLAB_RAY_CPUS`, `NNLAB_RAY_GPUS`); it trains with `worker.run_job`
at once, `stop` stops it and `result` waits for the end. Progress comes from the run folder (`FolderLive`). After an
app restart a new registry finds the actors by name (`recover`); whoever takes a result kills the actor.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from .folder import FolderLive
from .keys import RunIndex
from .worker import Control, JobSpec, run_job, warm_up

NAMESPACE = "nnlab"
PREFIX = "nnlab-job-"  # + the job's id: the actor's name
POLL_S = 0.3  # how often a follower looks at the run folder while it waits for the result
UNCLAIMED_S = 600.0  # an actor whose result nobody took (no app running) ends itself after this long
FINAL = ("complete", "stopped", "diverged", "failed", "interrupted")


class TrainingActor:
    """One training on the cluster (made a Ray actor by `RayWorkers`): it starts training when it is created."""

    def __init__(self, ticket: dict):
        self.ticket = ticket  # id, key, label, owners, spec (JSON), submitted: what a new registry needs
        self.control = Control()
        self.outcome: dict | None = None
        self.done, self.claimed = threading.Event(), threading.Event()
        threading.Thread(target=self._train, daemon=True).start()

    def _train(self) -> None:
        spec, last = JobSpec.from_json(self.ticket["spec"]), {}
        warm_up(spec.torch_threads)
        keep = last.update  # progress is read from the run folder: only the last event (end or error) is kept
        status = run_job(spec, keep, self.control, job_id=self.ticket["id"], key=self.ticket["key"])
        self.outcome = {"status": status, **{k: last.get(k, "") for k in ("message", "error", "traceback", "log")}}
        self.done.set()
        if not self.claimed.wait(UNCLAIMED_S):  # no app took it: the run folder says what happened
            os._exit(0)  # a detached actor is not ended by Ray itself: give its CPU back

    def describe(self) -> dict:
        return self.ticket

    def stop(self, reason: str = "") -> None:
        self.control.request(reason)

    def result(self) -> dict:
        """How the training ended, once it has (the caller is expected to kill the actor then)."""
        self.done.wait()
        self.claimed.set()
        return self.outcome


class RayWorkers:
    """Detached Ray actors for the job registry, followed through the shared runs folder."""

    name = "ray"
    stops_on_shutdown = False  # an actor goes on when the app process ends; a new registry finds it (`recover`)
    spare_idle_s = 5.0  # no spare: Ray keeps its own worker processes (`warm`, `replenish` and `reap` do nothing)

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
                namespace=NAMESPACE,
                log_to_driver=False,
                runtime_env={"py_modules": [str(Path(nnlab.__file__).resolve().parent)]},  # this nnlab on every node
            )
        self._actor = ray.remote(TrainingActor)

    def warm(self) -> None: ...

    def replenish(self) -> None: ...

    def reap(self) -> bool:
        return False

    def launch(self, job, ended) -> None:
        """Create the job's actor (it trains at once) and follow it."""
        ticket = {"id": job.id, "key": job.key, "label": job.label, "owners": job.owners, "submitted": job.created}
        actor = self._actor.options(
            name=PREFIX + job.id,
            namespace=NAMESPACE,
            lifetime="detached",  # it outlives this app process; whoever takes its result kills it
            max_concurrency=4,  # threaded: `stop` and `result` are answered while it trains
            num_cpus=self.cpus,
            num_gpus=self.gpus,
        ).remote({**ticket, "spec": job.spec.to_json()})
        job.live = FolderLive(None)
        self.follow(job, actor, ended)

    def follow(self, job, actor, ended) -> None:
        """Follow the actor on a daemon thread; `ended(job)` once it is over."""
        job._stop_fn = lambda reason="": actor.stop.remote(reason)
        threading.Thread(target=self._follow, args=(job, actor, ended), name=f"nnlab-ray-{job.id}", daemon=True).start()

    def recover(self) -> list[tuple[dict, object]]:
        """(ticket, actor) of the jobs the cluster holds for this runs folder: training, waiting for resources, or
        ended with a result nobody has taken yet (the app was down)."""
        import ray

        out = []
        for name in ray.util.list_named_actors():  # this driver's namespace: NAMESPACE
            if name.startswith(PREFIX):
                try:
                    actor = ray.get_actor(name, namespace=NAMESPACE)
                    ticket = ray.get(actor.describe.remote(), timeout=30)
                except Exception:  # ended meanwhile, or its node is gone: its run folder says what happened
                    continue
                if Path(JobSpec.from_json(ticket["spec"]).root).resolve() == self.root:
                    out.append((ticket, actor))
        return out

    def shutdown(self, jobs, timeout: float) -> None:
        """Stop following (the actors go on); the next registry recovers them."""
        self._closed.set()

    def _follow(self, job, actor, ended) -> None:
        import ray  # already imported by __init__: a dictionary look-up

        ref = actor.result.remote()
        try:
            while not self._closed.is_set():
                if job.folder is None and (folder := self._index.for_job(job.spec.root, job.id)) is not None:
                    job.folder = job.live.folder = folder
                if job.folder is not None and job.status == "starting" and job.live.view().started:
                    job.status = "running"
                if ray.wait([ref], timeout=POLL_S)[0]:
                    break
            else:
                return  # this app process goes down: the actor trains on
            try:
                result = ray.get(ref)
                ray.kill(actor)  # a detached actor is ended by whoever took its result
            except Exception as e:  # the actor died (its node, its process): the run folder may say how it ended
                result = self._lost(job, e)
            if job.folder is None:
                job.folder = job.live.folder = self._index.for_job(job.spec.root, job.id)
            job.message, job.error = result.get("message", ""), result.get("error", "")
            job.traceback, job.log = result.get("traceback", ""), result.get("log", "")
            job.status = result.get("status") or "failed"
        except Exception as e:  # never leave a job that looks alive forever
            job.status, job.error = "failed", f"Following the Ray actor failed: {type(e).__name__}: {e}"
        job._done.set()
        ended(job)

    def _lost(self, job, error: Exception) -> dict:
        m = FolderLive(job.folder or self._index.for_job(job.spec.root, job.id)).manifest() or {}
        if m.get("status") in FINAL:
            return {"status": m["status"], "message": m.get("message", "")}
        return {"status": "failed", "error": f"The Ray actor that trained this run ended unexpectedly: {error}"[:2000]}
