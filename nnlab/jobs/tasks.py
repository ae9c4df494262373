"""Slow pure computations (t-SNE, UMAP) run in background threads, keyed, with their results kept.

Beside stage 5 (analysis). A page submits `fn(*args)` under a key such as
(dataset config, method, n, dims, seed); while it runs the page shows the elapsed
time and reruns; once done every later request for that key gets the result at once.
These computations spend their time in numpy and compiled code, which release the GIL.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any


@dataclass(eq=False)
class Task:
    """One background computation."""

    key: Hashable
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None
    result: Any = None
    error: str = ""  # "ValueError: ..." when it failed
    share: float | None = None  # how much is done (0 to 1), for a computation that reports it
    stage: str = ""  # what it is doing now, in words
    _done: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def status(self) -> str:
        """ "running", "done" or "failed"."""
        if not self._done.is_set():
            return "running"
        return "failed" if self.error else "done"

    @property
    def elapsed(self) -> float:
        return (self.finished or time.monotonic()) - self.started

    def wait(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)

    def report(self, share: float, stage: str = "") -> None:
        """Progress, told by the computation itself (`submit(..., with_progress=True)` hands it this method)."""
        self.share, self.stage = min(1.0, max(0.0, float(share))), stage


class BackgroundTasks:
    """A keyed store of background computations, at most `workers` at once, the last `keep` results kept."""

    def __init__(self, workers: int = 1, keep: int = 16):
        self.keep = keep
        self._slots = threading.Semaphore(workers)
        self._tasks: OrderedDict[Hashable, Task] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Task | None:
        with self._lock:
            return self._tasks.get(key)

    def forget(self, key: Hashable) -> None:
        """Drop the task for `key` (a failed one, to try again); a running one still finishes, unseen."""
        with self._lock:
            self._tasks.pop(key, None)

    def submit(self, key: Hashable, fn: Callable, *args, with_progress: bool = False, **kwargs) -> Task:
        """The task for `key`: the existing one (running, done or failed), else `fn(*args, **kwargs)` started now
        (`with_progress`: with `progress=task.report` too, so it can say how far it is)."""
        with self._lock:
            task = self._tasks.get(key)
            if task is not None:
                self._tasks.move_to_end(key)
                return task
            task = self._tasks[key] = Task(key)
            while len(self._tasks) > self.keep:
                self._tasks.popitem(last=False)
        if with_progress:
            kwargs["progress"] = task.report
            task.share = 0.0
        threading.Thread(target=self._run, args=(task, fn, args, kwargs), name="nnlab-task", daemon=True).start()
        return task

    def _run(self, task: Task, fn: Callable, args, kwargs) -> None:
        with self._slots:
            task.started = time.monotonic()  # the time it waited for a slot does not count
            try:
                task.result = fn(*args, **kwargs)
            except Exception as e:  # kept and shown by the page
                task.error = f"{type(e).__name__}: {e}"
            finally:
                task.finished = time.monotonic()
                task._done.set()
