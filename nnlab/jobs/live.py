"""Live progress of a training job: a thread-safe store of the latest step, epoch and loss curves.

Beside stage 3 (train). The app's live panel reads a `LiveView` copy twice a second
while the trainer (in a worker process, see `nnlab.jobs.worker`) feeds the store. As
a `Callback` the same store also follows a `Trainer` running in this process.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import numpy as np

from ..tasks import ACCURACY, Metric
from ..train import Callback


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
    elapsed: float = 0.0  # seconds since training started
    started: bool = False
    metric: Metric = ACCURACY  # what `acc` holds: accuracy, or an autoencoder's reconstruction error

    @property
    def fraction(self) -> float:
        """Share of the planned steps done, in [0, 1]."""
        return min(1.0, self.step / self.total_steps) if self.total_steps else 0.0

    @property
    def epoch(self) -> float:
        """Epochs done, fractional (2.5 = halfway through the third epoch)."""
        return self.step / max(self.steps_per_epoch, 1)

    @property
    def eta(self) -> float | None:
        """Seconds left at the speed so far; None before the first steps."""
        if self.step < 2 or not self.total_steps or self.elapsed <= 0:
            return None
        return self.elapsed / self.step * max(self.total_steps - self.step, 0)


class LiveMetrics(Callback):
    """Keeps a job's progress in memory; every method is safe to call from any thread."""

    def __init__(self):
        self._lock = threading.Lock()
        self._loss: list[float] = []
        self._acc: list[float] = []
        self._epochs: list[dict] = []
        self._info = {"step": 0, "total_steps": 0, "steps_per_epoch": 1, "snapshots": 0, "planned_snapshots": 0}
        self._metric = ACCURACY
        self._t0: float | None = None
        self._t1: float | None = None

    # --- feeding ----------------------------------------------------------------------
    def start(
        self, total_steps: int, steps_per_epoch: int, planned_snapshots: int = 0, metric: Metric | dict | None = None
    ) -> None:
        """Training has started; `metric` names the per-step metric (a `Metric` or its JSON; None: accuracy)."""
        with self._lock:
            self._metric = metric if isinstance(metric, Metric) else Metric.from_json(metric)
            self._info.update(
                total_steps=int(total_steps),
                steps_per_epoch=max(int(steps_per_epoch), 1),
                planned_snapshots=int(planned_snapshots),
            )
            self._t0 = time.monotonic()

    def add_steps(
        self, losses, accs, step: int | None = None, snapshots: int | None = None, elapsed: float | None = None
    ) -> None:
        """Append step metrics; `elapsed` is the trainer's own clock (seconds since it started), if it sent one."""
        with self._lock:
            self._loss.extend(float(v) for v in losses)
            self._acc.extend(float(v) for v in accs)
            self._info["step"] = int(step) if step is not None else len(self._loss)
            if snapshots is not None:
                self._info["snapshots"] = int(snapshots)
            if elapsed is not None and self._t1 is None:  # re-base our clock on the trainer's: no transport delay
                self._t0 = time.monotonic() - float(elapsed)

    def add_epoch(self, metrics: dict) -> None:
        with self._lock:
            self._epochs.append(dict(metrics))

    def finish(self) -> None:
        """Stop the clock (the first call counts)."""
        with self._lock:
            if self._t1 is None:
                self._t1 = time.monotonic()

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
        """A copy of the progress so far."""
        with self._lock:
            end = self._t1 if self._t1 is not None else time.monotonic()
            return LiveView(
                loss=np.asarray(self._loss, np.float32),
                acc=np.asarray(self._acc, np.float32),
                epochs=tuple(dict(e) for e in self._epochs),
                started=self._t0 is not None,
                elapsed=(end - self._t0) if self._t0 is not None else 0.0,
                metric=self._metric,
                **self._info,
            )
