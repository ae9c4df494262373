"""The training worker: what a job is (`JobSpec`), and `run_job`, which trains it and reports in events.

Stage 3 (train) apart from the app. `python -m nnlab.jobs` is a local worker (`local.py`): it warms up, takes one
job from its `inbox` pipe, trains it and sends `created` / `started` / `steps` / `epoch` / `end` (or `error`) on its
`events` pipe; a later `{"stop": reason}` stops it after the step, keeping what was recorded. The reason "restart",
the app's process going away (the pipe closes), SIGTERM or SIGINT mark the run interrupted by a server restart.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import traceback
from dataclasses import asdict, dataclass
from multiprocessing.connection import Connection

from ..failures import error_log_path, explain_failure, write_error_log

STEP_FLUSH_S = 0.1  # the most time step metrics wait before they are sent
IDLE_BEFORE_EXTRAS_S = 0.2  # a spare with no job by then imports scikit-learn too (a job arriving first skips it)
INTERRUPTED = "interrupted"  # the status of a run whose worker was stopped by a server restart
RESTART_MESSAGE = (
    "Interrupted by a server restart: the training stopped cleanly when the server went down, and every "
    "snapshot recorded until then is kept. Start it again on the Train page to train it to the end."
)


@dataclass(frozen=True)
class JobSpec:
    """Everything a worker needs to train one run (JSON-friendly; configs as their dicts)."""

    data: dict  # DataConfig.to_dict()
    model: dict | None = None  # asdict(MLPConfig | CNNConfig); None: the dataset's default network
    train: dict | None = None  # TrainConfig.to_dict(); None: the dataset's defaults
    record: dict | None = None  # RecordConfig.to_dict(); None: the defaults
    root: str = "runs"  # the runs folder (absolute, so the worker's cwd does not matter)
    name: str | None = None  # prefix of the run folder's name
    data_dir: str | None = None  # NNLAB_DATA_DIR for the worker (None: inherit)
    imports: tuple[str, ...] = ()  # modules to import first (your own @register_dataset loaders)
    torch_threads: int = 1  # intra-op threads of the worker (see nnlab.jobs.registry.worker_threads)
    max_threads: int = 0  # more than torch_threads: use up to this many while the machine is idle (jobs.threads)
    owner: str | None = None  # the run's owner (an anonymous id, nnlab.runs.owners); None: shared with everyone
    shared: bool = False  # shared with everyone (a lesson preset): written without an owner, the teacher's to change

    @classmethod
    def make(cls, data, model=None, train=None, record=None, *, root, **kwargs) -> JobSpec:
        """Build a spec from config objects (DataConfig, ModelConfig, TrainConfig, RecordConfig)."""
        spec = cls(
            data=data.to_dict(),
            model=asdict(model) if model is not None else None,
            train=train.to_dict() if train is not None else None,
            record=record.to_dict() if record is not None else None,
            root=str(os.path.abspath(root)),
            **kwargs,
        )
        return cls.from_json(spec.to_json())  # tuples become lists: the spec equals what the worker reads

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> JobSpec:
        d = json.loads(text)
        d["imports"] = tuple(d.get("imports", ()))
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


class Control:
    """A job's stop request, from whichever side asks (a message, a signal, the Ray actor's `stop`)."""

    def __init__(self):
        self.stopped = threading.Event()
        self.reason = ""  # "restart" when the server goes down: the run is marked interrupted, not stopped
        self.trainer = None

    def request(self, reason: str = "") -> None:
        """Stop after the current step; `reason` "restart" marks the run interrupted by a server restart."""
        if not self.stopped.is_set():
            self.reason = reason
        self.stopped.set()
        if self.trainer is not None:
            self.trainer.stop()


class _Reporter:
    """Training callback that sends progress to the app, step metrics batched every `STEP_FLUSH_S`."""

    def __init__(self, send, recorder):
        self.send, self.recorder = send, recorder
        self.loss: list[float | None] = []
        self.acc: list[float] = []
        self.last = self.t0 = time.monotonic()

    def flush(self, trainer) -> None:
        snapshots = len(self.recorder.writer.manifest["snapshots"]) if self.recorder else 0
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


def run_job(spec: JobSpec, send, control: Control, *, job_id: str = "", key: str = "") -> str:
    """Train `spec`, sending events through `send(dict)`; stop when `control` says so; return the final status.

    `job_id` and `key` (the config key) go into the run's manifest, so that the run can be found by either.
    """
    from ..data import DataConfig
    from ..models import config_from_dict
    from ..pipeline import make_trainer
    from ..record import RecordConfig, Recorder
    from ..runs.store import write_manifest
    from ..train import TrainConfig
    from .threads import ThreadGovernor

    if spec.data_dir is not None:
        os.environ["NNLAB_DATA_DIR"] = spec.data_dir
    for module in spec.imports:
        __import__(module)
    trainer = None
    try:
        trainer, folder = make_trainer(
            DataConfig.from_dict(spec.data),
            config_from_dict(spec.model) if spec.model else None,
            TrainConfig.from_dict(spec.train) if spec.train else None,
            RecordConfig(**(spec.record or {})),
            root=spec.root,
            name=spec.name,
        )
        recorder = next((cb for cb in trainer.callbacks if isinstance(cb, Recorder)), None)
        found_by = {k: v for k, v in (("job_id", job_id), ("config_key", key)) if v}
        found_by.update({k: v for k, v in (("owner", spec.owner), ("shared", spec.shared)) if v})  # who sees it
        if recorder is not None and found_by:
            recorder.writer.manifest.update(found_by)
            write_manifest(folder, recorder.writer.manifest)
        trainer.callbacks.append(_Reporter(send, recorder))
        governor = ThreadGovernor(spec.torch_threads, max(spec.max_threads, spec.torch_threads))
        trainer.callbacks.append(governor)
        send({"event": "created", "folder": str(folder)})
        control.trainer = trainer
        if control.stopped.is_set():
            trainer.stop()
        trainer.fit()
        status, message = trainer.status, trainer.message
        if status == "stopped" and control.reason == "restart" and recorder is not None:
            status, message = INTERRUPTED, RESTART_MESSAGE
            recorder.writer.manifest.update(status=status, message=message)
            write_manifest(folder, recorder.writer.manifest)
        send({"event": "end", "status": status, "message": message, "thread_seconds": governor.seconds})
        return status
    except Exception as e:
        send(failure_event(e, trainer, spec.root))
        return "failed"


def failure_event(error: Exception, trainer, root: str) -> dict:
    """The `error` event for an exception: the reason in words, the traceback, and the log it was appended to.

    A trainer that ran has already marked its run failed (with the same words) and logged the traceback in the
    run folder; an error before training started is logged in the run folder if there is one (and the run marked
    failed), else in the runs folder's `errors.log`.
    """
    from ..record import Recorder

    if trainer is not None and trainer.status == "failed":
        message = trainer.message
        log = trainer.error_log if trainer.error_log is not None and trainer.error_log.is_file() else None
    else:
        if isinstance(error, ValueError | KeyError):  # they say what is wrong in words already
            message = str(error.args[0]) if error.args else type(error).__name__
        else:
            message = explain_failure(error, 0).replace("Training ended at step 0 by", "Training could not start:")
        folder = trainer.error_log.parent if trainer is not None and trainer.error_log is not None else None
        log = write_error_log(error_log_path(folder, root), error, "a training job failed before it started")
        if log is not None:
            message += f" The traceback is in {log.name} in the {'run' if folder else 'runs'} folder."
        recorder = next((cb for cb in getattr(trainer, "callbacks", ()) if isinstance(cb, Recorder)), None)
        if recorder is not None:  # the run folder says what happened too
            recorder.writer.finish("failed", message, recorder._step_arrays())
    return {
        "event": "error",
        "error": message,
        "traceback": "".join(traceback.format_exception(error)),
        "log": str(log) if log is not None else "",
    }


def _receive(inbox: Connection) -> dict | None:
    """The next message from the app's process; None once that process is gone (its end of the pipe closed)."""
    try:
        return inbox.recv()
    except (EOFError, OSError):
        return None


def _obey(inbox: Connection, control: Control) -> None:
    """Wait for a stop (or for the app's process to go away: a restart) and pass it to the trainer."""
    msg = _receive(inbox)
    control.request(str(msg.get("stop", "")) if msg is not None else "restart")


def serve(inbox: Connection, events: Connection) -> None:
    """A local worker process: warm up, take one job from `inbox`, train it, send its events on `events`."""
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
    msg = _receive(inbox)
    if msg is None or "spec" not in msg:
        return  # the app went away, or ended this spare
    has_job.set()
    threading.Thread(target=_obey, args=(inbox, control), daemon=True).start()

    def send(event: dict) -> None:
        try:
            events.send(event)
        except OSError:
            pass  # the app is gone (a server restart): the run folder says what happened

    run_job(msg["spec"], send, control, job_id=msg.get("job", ""), key=msg.get("key", ""))


def main(argv: list[str]) -> int:
    """`python -m nnlab.jobs IN OUT`: a worker on the two pipe ends (file descriptors) the app passed it."""
    serve(Connection(int(argv[0]), writable=False), Connection(int(argv[1]), readable=False))
    return 0
