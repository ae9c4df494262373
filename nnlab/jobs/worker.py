"""The training worker: a child process that trains one run and reports on its stdout as JSON lines.

Stage 3 (train) run apart from the app. `python -m nnlab.jobs` imports torch and
warms up, says `{"event": "ready"}`, then reads one job (a `JobSpec` as JSON) from stdin,
trains it with the recorder, and streams `started` / `steps` / `epoch` / `end` (or
`error`) events. A later `{"cmd": "stop"}` line stops the trainer cleanly: what was recorded
is kept. A `{"cmd": "stop", "reason": "restart"}` line, stdin closing (the app went away),
SIGTERM or SIGINT stop it the same way and mark the run "interrupted by a server restart".
Only JSON crosses the pipe.
"""

from __future__ import annotations

import json
import os
import select
import signal
import sys
import threading
import time
import traceback
from dataclasses import asdict, dataclass

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


class _Control:
    """Stop requests: a `stop` line or stdin closing (the parent), a signal, or a stop file (the Ray backend)."""

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

    def watch(self, stream) -> None:
        for line in stream:
            try:
                msg = json.loads(line)
                if msg.get("cmd") == "stop":
                    self.request(str(msg.get("reason", "")))
                    return
            except (ValueError, AttributeError):
                continue  # not a command: ignore it
        self.request("restart")  # EOF: the app closed the pipe, or died


class _Reporter:
    """Training callback that sends progress to the parent, step metrics batched every `STEP_FLUSH_S`."""

    def __init__(self, send, recorder):
        self.send, self.recorder = send, recorder
        self.loss: list[float] = []
        self.acc: list[float] = []
        self.last = self.t0 = time.monotonic()

    def _snapshots(self) -> int:
        return len(self.recorder.writer.manifest["snapshots"]) if self.recorder else 0

    def flush(self, trainer) -> None:
        self.send(
            {
                "event": "steps",
                "step": trainer.step,
                "loss": self.loss,
                "acc": self.acc,
                "snapshots": self._snapshots(),
                "elapsed": time.monotonic() - self.t0,
            }
        )
        self.loss, self.acc, self.last = [], [], time.monotonic()

    def on_train_start(self, trainer) -> None:
        self.t0 = time.monotonic()
        self.send(
            {
                "event": "started",
                "total_steps": trainer.total_steps,
                "steps_per_epoch": trainer.steps_per_epoch,
                "planned_snapshots": len(self.recorder.schedule) if self.recorder else 0,
                "metric": trainer.task.metric_info.to_json(),  # what the steps' "acc" holds, in words
            }
        )
        self.flush(trainer)

    def on_step_end(self, trainer, loss: float, acc: float) -> None:
        self.loss.append(loss if loss == loss and abs(loss) != float("inf") else None)  # JSON has no NaN
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


def _import_extras_while_idle(stdin) -> None:
    """Import scikit-learn (digits and blobs load through it; two moons do not) unless a job is already waiting.

    After `ready`, so a job sent to a spare that is still warming up does not wait for it."""
    try:
        waiting = select.select([stdin], [], [], IDLE_BEFORE_EXTRAS_S)[0]
    except (OSError, ValueError):  # a pipe select cannot watch (Windows): import it anyway
        waiting = []
    if not waiting:
        import sklearn.datasets  # noqa: F401


def run_job(spec: JobSpec, send, control: _Control, *, job_id: str = "", key: str = "") -> str:
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


def main() -> int:
    proto = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)  # the protocol keeps the real stdout
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # stray prints (a library's) go to stderr instead
    sys.stdout = sys.stderr

    def send(event: dict) -> None:
        try:
            proto.write(json.dumps(event) + "\n")
        except (OSError, ValueError):
            pass  # the app is gone (a server restart): the run folder says what happened

    control, has_job = _Control(), []

    def on_signal(signum, frame) -> None:
        if not has_job:
            os._exit(0)  # no job yet (a spare worker): nothing to keep
        control.request("restart")

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)  # Ctrl-C reaches the whole process group: stop cleanly too
    warm_up()
    send({"event": "ready", "pid": os.getpid()})
    _import_extras_while_idle(sys.stdin)
    line = sys.stdin.readline()
    if not line.strip():
        return 0  # closed before any job: a spare worker the app no longer needs
    has_job.append(True)
    msg = json.loads(line)
    spec = JobSpec.from_json(msg["spec"])
    threading.Thread(target=control.watch, args=(sys.stdin,), daemon=True).start()
    run_job(spec, send, control, job_id=msg.get("job", ""), key=msg.get("key", ""))
    return 0
