"""Live progress of a training: a thread-safe store of the latest steps, epochs and loss curves (or a share done).

Stage 3 (train), a callback beside the recorder. The app's live panel reads a `LiveView` copy twice a second while
a job's worker events feed the store (`nnlab.jobs.Job.apply`). As a `Callback` the same store follows a `Trainer` in
this process; `of_run` fills one once from a finished run folder (the manifest and the steps file the recorder wrote).
`LiveReporter` is the worker's end: a training callback that sends the store's calls as events.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from .tasks import ACCURACY, Metric, metric_named
from .train import Callback

STEP_FLUSH_S = 0.1  # the most time a worker's step metrics wait before they are sent
CALLS = ("start", "add_steps", "add_epoch", "progress")  # the LiveMetrics calls a worker sends as events


@dataclass(frozen=True)
class LiveView:
    """A consistent copy of a job's progress, safe to draw from any thread."""

    step: int = 0  # optimizer steps taken
    total_steps: int = 0  # steps planned (0 until training starts)
    steps_per_epoch: int = 1
    loss: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))  # (step,) training loss per step
    acc: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))  # (step,) the task's metric per step
    epochs: tuple[dict, ...] = ()  # per-epoch metrics: epoch, train_loss, test_acc, ...
    snapshots: int = 0  # snapshots written so far
    planned_snapshots: int = 0
    elapsed: float = 0.0  # seconds since the work started
    started: bool = False
    metric: Metric = ACCURACY  # what `acc` holds: accuracy, or an autoencoder's reconstruction error
    share: float | None = None  # for work without steps (a features job): the share done, as it says
    words: str = ""  # what it is doing now, in words (a features job)

    @property
    def fraction(self) -> float:
        """Share of the work done, in [0, 1]."""
        if self.share is not None:
            return self.share
        return min(1.0, self.step / self.total_steps) if self.total_steps else 0.0

    @property
    def epoch(self) -> float:
        """Epochs done, fractional (2.5 = halfway through the third epoch)."""
        return self.step / max(self.steps_per_epoch, 1)

    @property
    def eta(self) -> float | None:
        """Seconds left at the speed so far; None before the first steps."""
        done = self.fraction
        if self.elapsed <= 0 or done <= 0 or (self.share is None and self.step < 2):
            return None
        return self.elapsed / done * (1.0 - done)


class LiveMetrics(Callback):
    """Keeps a job's progress in memory as a `LiveView` replaced whole at each change; safe from any thread."""

    def __init__(self):
        self._lock = threading.Lock()
        self._view = LiveView()
        self._t0: float | None = None  # the clock: when the work started, and when it ended
        self._t1: float | None = None

    def _change(self, **fields) -> None:
        self._view = replace(self._view, **fields)

    # --- feeding ----------------------------------------------------------------------
    def start(
        self, total_steps: int, steps_per_epoch: int, planned_snapshots: int = 0, metric: Metric | dict | None = None
    ) -> None:
        """Training has started; `metric` names the per-step metric (a `Metric` or its JSON; None: accuracy)."""
        with self._lock:
            metric = metric if isinstance(metric, Metric) else Metric.from_json(metric)
            steps = dict(total_steps=int(total_steps), steps_per_epoch=max(int(steps_per_epoch), 1))
            self._change(**steps, planned_snapshots=int(planned_snapshots), metric=metric)
            self._t0 = time.monotonic()

    def add_steps(
        self, losses, accs, step: int | None = None, snapshots: int | None = None, elapsed: float | None = None
    ) -> None:
        """Append step metrics; `elapsed` is the trainer's own clock (seconds since it started), if it sent one."""
        with self._lock:
            v = self._view
            loss = np.concatenate([v.loss, np.asarray(losses, np.float32)])
            acc = np.concatenate([v.acc, np.asarray(accs, np.float32)])
            step = int(step) if step is not None else len(loss)
            self._change(loss=loss, acc=acc, step=step, snapshots=v.snapshots if snapshots is None else int(snapshots))
            if elapsed is not None and self._t1 is None:  # re-base our clock on the trainer's: no transport delay
                self._t0 = time.monotonic() - float(elapsed)

    def add_epoch(self, metrics: dict) -> None:
        with self._lock:
            self._change(epochs=(*self._view.epochs, dict(metrics)))

    def progress(self, share: float, words: str = "") -> None:
        """Work without steps says how far it is: `share` in [0, 1] and what it is doing."""
        with self._lock:
            self._change(share=min(1.0, max(0.0, float(share))), words=str(words))
            self._t0 = self._t0 if self._t0 is not None else time.monotonic()

    def finish(self) -> None:
        """Stop the clock (the first call counts)."""
        with self._lock:
            self._t1 = self._t1 if self._t1 is not None else time.monotonic()

    # --- as a Callback of an in-process Trainer ---------------------------------------
    def on_train_start(self, trainer) -> None:
        self.start(trainer.total_steps, trainer.steps_per_epoch, metric=trainer.task.metric_info)

    def on_step_end(self, trainer, loss: float, acc: float) -> None:
        self.add_steps((loss,), (acc,), trainer.step)

    def on_epoch_end(self, trainer, metrics: dict) -> None:
        self.add_epoch(metrics)

    def on_train_end(self, trainer) -> None:
        self.finish()

    # --- reading ----------------------------------------------------------------------
    def view(self) -> LiveView:
        """The progress so far (its arrays are never changed: each change makes new ones)."""
        with self._lock:
            end = self._t1 if self._t1 is not None else time.monotonic()
            elapsed = (end - self._t0) if self._t0 is not None else 0.0
            return replace(self._view, started=self._t0 is not None, elapsed=elapsed)

    @classmethod
    def of_run(cls, folder: Path, manifest: dict) -> LiveMetrics:
        """The finished progress of a run folder, read once from its `manifest` and its steps file."""
        from safetensors.numpy import load_file

        live, progress, snaps = cls(), manifest.get("progress") or {}, manifest.get("snapshots") or []
        try:
            steps = load_file(Path(folder) / "steps.safetensors")
        except Exception:  # missing or damaged: safetensors raises its own error types; the curves stay empty
            steps = {}
        key = next((k for k in steps if k != "loss"), ACCURACY.key)  # the task's metric: "acc", or "error"
        planned = progress.get("planned_snapshots") or len(snaps)
        live.start(progress.get("total_steps") or 0, progress.get("steps_per_epoch") or 1, planned, metric_named(key))
        loss, acc = steps.get("loss", []), steps.get(key, [])
        live.add_steps(loss, acc, max(len(loss), snaps[-1]["step"] if snaps else 0), len(snaps))
        for epoch in manifest.get("epochs") or ():
            live.add_epoch(epoch)
        started, finished = manifest.get("started"), manifest.get("finished")
        live._t0, live._t1 = 0.0, float(finished - started) if started and finished else 0.0
        return live


class LiveReporter(Callback):
    """The other end of `LiveMetrics`, in a job's worker: a training callback sending the calls that the app's store
    replays (`{"event": "add_steps", "losses": ..., ...}` → `live.add_steps(losses=..., ...)`), steps batched every
    `STEP_FLUSH_S`. `send(dict)`: a pipe to the app, or a Ray actor's list of events."""

    def __init__(self, send, recorder):
        self.send, self.recorder = send, recorder
        self.losses, self.accs, self.last = [], [], time.monotonic()

    def flush(self, trainer) -> None:
        snapshots = self.recorder.snapshots_written if self.recorder else 0
        steps = dict(losses=self.losses, accs=self.accs, step=trainer.step, snapshots=snapshots)
        self.send(dict(event="add_steps", **steps, elapsed=time.monotonic() - self.t0))
        self.losses, self.accs, self.last = [], [], time.monotonic()

    def on_train_start(self, trainer) -> None:
        self.t0 = time.monotonic()
        sizes = dict(total_steps=trainer.total_steps, steps_per_epoch=trainer.steps_per_epoch)
        planned = len(self.recorder.schedule) if self.recorder else 0
        metric = trainer.task.metric_info.to_json()  # what the steps' "accs" hold, in words
        self.send(dict(event="start", **sizes, planned_snapshots=planned, metric=metric))
        self.flush(trainer)

    def on_step_end(self, trainer, loss: float, acc: float) -> None:
        self.losses.append(loss)
        self.accs.append(acc)
        if time.monotonic() - self.last > STEP_FLUSH_S:
            self.flush(trainer)

    def on_epoch_end(self, trainer, metrics: dict) -> None:
        self.flush(trainer)
        self.send({"event": "add_epoch", "metrics": metrics})

    def on_train_end(self, trainer) -> None:
        self.flush(trainer)
