"""Slow pure computations (t-SNE, UMAP) on a `concurrent.futures` thread pool, keyed, with their results kept.

Beside stage 5 (analysis). A page submits `fn(*args)` under a key such as (dataset config, method, n, dims, seed);
while it runs the page shows the elapsed time and reruns; once done every later request for that key gets the
result at once. These computations spend their time in numpy and compiled code, which release the GIL.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any


class Task:
    """One background computation: its `Future`, and the times and progress a page shows."""

    def __init__(self, key: Hashable):
        self.key, self.future = key, Future()  # the pool's future replaces this one at once (`submit`)
        self.started, self.finished = time.monotonic(), None  # `started` again when a pool thread takes it
        self.share: float | None = None  # how much is done (0 to 1), for a computation that reports it
        self.stage = ""  # what it is doing now, in words

    @property
    def status(self) -> str:
        """ "running", "done" or "failed"."""
        return "running" if not self.future.done() else "failed" if self.future.exception() else "done"

    @property
    def result(self) -> Any:
        return self.future.result() if self.status == "done" else None

    @property
    def error(self) -> str:
        """ "ValueError: ..." when it failed, else ""."""
        e = self.future.exception() if self.future.done() else None
        return f"{type(e).__name__}: {e}" if e is not None else ""

    @property
    def elapsed(self) -> float:
        return (self.finished or time.monotonic()) - self.started

    def wait(self, timeout: float | None = None) -> bool:
        return not wait([self.future], timeout).not_done

    def report(self, share: float, stage: str = "") -> None:
        """Progress, told by the computation itself (`submit(..., with_progress=True)` hands it this method)."""
        self.share, self.stage = min(1.0, max(0.0, float(share))), stage


class BackgroundTasks:
    """A keyed store of background computations, at most `workers` at once, the last `keep` results kept."""

    def __init__(self, workers: int = 1, keep: int = 16):
        self.keep = keep
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="nnlab-task")
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
            if (task := self._tasks.get(key)) is not None:
                self._tasks.move_to_end(key)
                return task
            task = self._tasks[key] = Task(key)
            if with_progress:
                kwargs["progress"], task.share = task.report, 0.0
            task.future = self._pool.submit(_timed, task, fn, *args, **kwargs)
            while len(self._tasks) > self.keep:
                self._tasks.popitem(last=False)
        return task

    def shutdown(self) -> None:
        """Drop what has not started; what runs finishes (a pool thread cannot be stopped)."""
        self._pool.shutdown(wait=False, cancel_futures=True)


def _timed(task: Task, fn: Callable, *args, **kwargs) -> Any:
    task.started = time.monotonic()  # the time it waited for a pool thread does not count
    try:
        return fn(*args, **kwargs)
    finally:
        task.finished = time.monotonic()
