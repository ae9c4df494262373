"""The worker side of a job: `run_job` does a spec's work and reports it in events; `serve` is a local worker process.

Stage 3 (train) apart from the app. `python -m nnlab.jobs IN OUT` (`local.py` starts it) warms up, takes one spec
from its inbox pipe, does the work and sends `created` / `started` / `steps` / `epoch` / `progress` / `end` (or
`error`) events; a later `{"stop": reason}` stops it after the step, keeping what was recorded. The reason
"restart", the app's process going away (the pipe closes), SIGTERM or SIGINT mark the run interrupted by a server
restart. A Ray actor (`ray_backend.py`) calls `run_job` the same way.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path

from ..failures import failure_report
from .spec import FeaturesSpec, JobSpec

STEP_FLUSH_S = 0.1  # the most time step metrics (or a features job's progress) wait before they are sent
IDLE_BEFORE_EXTRAS_S = 0.2  # a spare with no job by then imports scikit-learn too (a job arriving first skips it)
INTERRUPTED = "interrupted"  # the status of a run whose worker was stopped by a server restart
RESTART_MESSAGE = (
    "Interrupted by a server restart: the training stopped cleanly when the server went down, and every "
    "snapshot recorded until then is kept. Start it again on the Train page to train it to the end."
)


class Control:
    """A job's stop request, from whichever side asks (a message, a signal, the Ray actor's `stop`)."""

    def __init__(self):
        self.stopped = threading.Event()
        self.reason = ""  # "restart" when the server goes down: the run is marked interrupted, not stopped
        self._trainer = None

    def request(self, reason: str = "") -> None:
        """Stop after the current step; `reason` "restart" marks the run interrupted by a server restart."""
        if not self.stopped.is_set():
            self.reason = reason
        self.stopped.set()
        self._stop_trainer()

    def attach(self, trainer) -> None:
        """The trainer to stop (a stop asked for before it existed reaches it now)."""
        self._trainer = trainer
        if self.stopped.is_set():
            self._stop_trainer()

    def _stop_trainer(self) -> None:
        if self._trainer is not None:
            restart = self.reason == "restart"
            self._trainer.stop(INTERRUPTED if restart else "stopped", RESTART_MESSAGE if restart else "")


class _Reporter:
    """Training callback that sends progress to the app, step metrics batched every `STEP_FLUSH_S`."""

    def __init__(self, send, recorder):
        self.send, self.recorder = send, recorder
        self.loss: list[float | None] = []
        self.acc: list[float] = []
        self.last = self.t0 = time.monotonic()

    def flush(self, trainer) -> None:
        snapshots = self.recorder.snapshots_written if self.recorder else 0
        steps = dict(step=trainer.step, loss=self.loss, acc=self.acc, snapshots=snapshots)
        self.send(dict(event="steps", **steps, elapsed=time.monotonic() - self.t0))
        self.loss, self.acc, self.last = [], [], time.monotonic()

    def on_train_start(self, trainer) -> None:
        self.t0 = time.monotonic()
        sizes = dict(total_steps=trainer.total_steps, steps_per_epoch=trainer.steps_per_epoch)
        planned = len(self.recorder.schedule) if self.recorder else 0
        metric = trainer.task.metric_info.to_json()  # what the steps' "acc" holds, in words
        self.send(dict(event="started", **sizes, planned_snapshots=planned, metric=metric))
        self.flush(trainer)

    def on_step_end(self, trainer, loss: float, acc: float) -> None:
        self.loss.append(loss if loss == loss and abs(loss) != float("inf") else None)  # None: not a number
        self.acc.append(acc)
        if time.monotonic() - self.last > STEP_FLUSH_S:
            self.flush(trainer)

    def on_epoch_end(self, trainer, metrics: dict) -> None:
        self.flush(trainer)
        self.send({"event": "epoch", "metrics": metrics})

    def on_train_end(self, trainer) -> None:
        self.flush(trainer)


def warm_up(threads: int = 1) -> None:
    """Import what training needs and take one optimizer step, so the first real step is not slow."""
    import torch

    torch.set_num_threads(threads)
    import nnlab.pipeline  # noqa: F401  (the registry, models, recorder)

    w = torch.zeros(2, requires_grad=True)
    opt = torch.optim.Adam([w])
    (w.sum() ** 2).backward()
    opt.step()  # the first step imports torch's compile machinery lazily: pay for it now


def run_job(spec: JobSpec | FeaturesSpec, send, control: Control, *, job_id: str = "", key: str = "") -> str:
    """Do `spec`'s work, sending events through `send(dict)`; stop when `control` says so; return the final status.

    A training's `job_id` and `key` go into its run's manifest, so that the run can be found by either.
    """
    if getattr(spec, "data_dir", None) is not None:
        os.environ["NNLAB_DATA_DIR"] = spec.data_dir
    trainer = None
    try:
        for module in spec.imports:
            __import__(module)
        if isinstance(spec, FeaturesSpec):
            return _features(spec, send, control)
        from ..pipeline import make_trainer
        from ..record import Recorder
        from ..threads import ThreadGovernor

        found_by = {"job_id": job_id, "config_key": key, "owner": spec.owner, "shared": spec.shared}
        trainer, folder = make_trainer(
            spec.data,
            spec.model,
            spec.train,
            spec.record,
            root=spec.root,
            name=spec.name,
            manifest={k: v for k, v in found_by.items() if v},  # who finds it, who sees it
        )
        recorder = next((cb for cb in trainer.callbacks if isinstance(cb, Recorder)), None)
        governor = ThreadGovernor(spec.torch_threads, max(spec.max_threads, spec.torch_threads))
        trainer.callbacks += [_Reporter(send, recorder), governor]
        send({"event": "created", "folder": str(folder)})
        control.attach(trainer)
        trainer.fit()
        send({"event": "end", "status": trainer.status, "message": trainer.message, "thread_seconds": governor.seconds})
        return trainer.status
    except Exception as e:
        send({"event": "error", **failure_report(e, trainer, spec.root)})
        return "failed"


def _features(spec: FeaturesSpec, send, control: Control) -> str:
    """Train a sparse autoencoder in its run (`nnlab.analysis.sae`, imported here: only a features job needs it)."""
    from ..analysis import sae

    last = [0.0]

    def progress(share: float, words: str) -> None:
        if time.monotonic() - last[0] > STEP_FLUSH_S or share >= 1.0:
            send({"event": "progress", "share": float(share), "words": str(words)})
            last[0] = time.monotonic()

    send({"event": "progress", "share": 0.0, "words": "Reading the run's activations…"})
    kwargs = dict(progress=progress, should_stop=control.stopped.is_set, seed=spec.seed, epochs=spec.epochs)
    path = sae.train_in_run(Path(spec.folder), spec.point, spec.snapshot, spec.width, spec.k, **kwargs)
    if path is None or control.stopped.is_set():  # stopped: nothing is saved
        status, path = (INTERRUPTED if control.reason == "restart" else "stopped"), None
    else:
        status = "complete"
    send({"event": "end", "status": status, "message": "", "output": str(path) if path else ""})
    return status


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
    if not inbox.poll(IDLE_BEFORE_EXTRAS_S):  # idle: import scikit-learn (digits and blobs load through it) now
        import sklearn.datasets  # noqa: F401
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


def main(argv: list[str]) -> int:
    """`python -m nnlab.jobs IN OUT`: a worker on the two pipe ends (file descriptors) the app passed it."""
    serve(Connection(int(argv[0]), writable=False), Connection(int(argv[1]), readable=False))
    return 0
