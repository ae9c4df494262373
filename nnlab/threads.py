"""How many torch threads a training worker uses: every core while the machine is otherwise idle, few while it is not.

Measured on two cores (`bench/app_training.py`): a worker with two intra-op threads trains about 30% faster than
with one while nothing else runs, but 6-8× slower while the app re-runs a page, because torch's threads wait for each
other at every op and the one sharing a core with the app holds all of them up. One thread is safe, two are fast.
So the worker watches how busy the rest of the machine is (Linux: all busy CPU time in /proc/stat minus its own) and,
between two training steps, drops to `low` threads as soon as anything else uses a fifth of a core, and goes back to
`high` after a second of quiet. Where /proc/stat does not exist, the worker keeps `low`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

WINDOW_S = 0.5  # how often the machine is looked at
BUSY_CORES = 0.2  # other work using more than this (in cores) counts as busy
QUIET_WINDOWS = 2  # windows without other work before going back to `high`


def worker_threads(max_running: int, cpus: int | None = None) -> int:
    """Intra-op threads per training worker: one core left to the app, the rest shared by the job slots (at least 1).

    On two cores that is 1: torch's threads wait for each other at every op, and one sharing a core with the app
    holds them all up (measured: 4-10× slower epochs while the app is busy).
    """
    cpus = cpus or os.cpu_count() or 1
    return max(1, (cpus - 1) // max(max_running, 1))


def machine_busy_seconds() -> float | None:
    """CPU seconds all cores together have spent busy since boot (Linux), or None where that cannot be read."""
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()
        ticks = [int(v) for v in fields[1:9]]  # user nice system idle iowait irq softirq steal
        if fields[0] != "cpu" or len(ticks) < 5:
            return None
        return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return None


class ThreadGovernor:
    """A training callback switching torch's intra-op threads between `low` and `high` with the machine's load.

    The readers are arguments so that a test can play a machine; `switches` counts the changes made and
    `seconds` the training time spent at each thread count.
    """

    def __init__(
        self,
        low: int,
        high: int,
        *,
        busy_seconds: Callable[[], float | None] = machine_busy_seconds,
        own_seconds: Callable[[], float] = time.process_time,
        clock: Callable[[], float] = time.monotonic,
        set_threads: Callable[[int], None] | None = None,
    ):
        if set_threads is None:
            import torch

            set_threads = torch.set_num_threads
        self.low, self.high = max(1, low), max(1, low, high)
        self.busy_seconds, self.own_seconds = busy_seconds, own_seconds
        self.clock, self.set_threads = clock, set_threads
        self.threads, self.quiet, self.switches = self.low, 0, 0
        self.seconds: dict[int, float] = {}
        self._since = clock()
        self.enabled = self.high > self.low and busy_seconds() is not None
        self._mark = None

    def _reading(self) -> tuple[float, float, float] | None:
        busy = self.busy_seconds()
        return None if busy is None else (self.clock(), busy, self.own_seconds())

    def on_train_start(self, trainer=None) -> None:
        self.set_threads(self.threads)
        self._since = self.clock()
        self._mark = self._reading() if self.enabled else None

    def on_train_end(self, trainer=None) -> None:
        self._use(self.threads)  # book the time since the last change

    def on_step_end(self, trainer=None, loss: float = 0.0, acc: float = 0.0) -> None:
        if self._mark is None or self.clock() - self._mark[0] < WINDOW_S:
            return
        now = self._reading()
        if now is None:  # the machine can no longer be read: stay safe
            self._mark = None
            self._use(self.low)
            return
        (t0, busy0, own0), (t1, busy1, own1) = self._mark, now
        others = ((busy1 - busy0) - (own1 - own0)) / max(t1 - t0, 1e-9)  # cores used by everything but training
        self._mark = now
        if others > BUSY_CORES:
            self.quiet = 0
            self._use(self.low)
        else:
            self.quiet += 1
            if self.quiet >= QUIET_WINDOWS:
                self._use(self.high)

    def _use(self, threads: int) -> None:
        now = self.clock()
        self.seconds[self.threads] = self.seconds.get(self.threads, 0.0) + now - self._since
        self._since = now
        if threads != self.threads:
            self.threads = threads
            self.switches += 1
            self.set_threads(threads)
