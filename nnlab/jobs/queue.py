"""The fair queue's arithmetic: which waiting job starts next, and when each one is expected to start.

Beside the job registry (stage 3 for an app). Each requester may have one training running and one waiting;
a free slot goes to the longest-waiting job whose requester has nothing running. Estimated starts come from
the running jobs' own ETAs (`LiveView.eta`), each waiting job ahead taking a typical job's time. Pure
functions of plain values, so the rules are tested without processes.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence

DEFAULT_DURATION_S = 20.0  # a job's expected length before any job has finished on this server


def next_to_start(waiting_owners: Sequence[str], running_owners: Sequence[str]) -> int | None:
    """Index of the waiting job that gets a free slot: the first whose owner has no running job, else None."""
    busy = set(running_owners)
    return next((i for i, owner in enumerate(waiting_owners) if owner not in busy), None)


def start_order(waiting_owners: Sequence[str], running_owners: Sequence[str]) -> list[int]:
    """The expected start order of the waiting jobs (indices): first those whose owner has nothing running, in
    arrival order, then those waiting for their owner's own running job, in arrival order."""
    busy = set(running_owners)
    free = [i for i, owner in enumerate(waiting_owners) if owner not in busy]
    return free + [i for i, owner in enumerate(waiting_owners) if owner in busy]


def estimated_starts(
    running_etas: Sequence[float | None], slots: int, waiting: int, duration: float = DEFAULT_DURATION_S
) -> list[float]:
    """Seconds from now until each of `waiting` queued jobs starts, in queue order.

    Args:
        running_etas: seconds left of each running job (None: not started yet; counted as a whole `duration`).
        slots: how many jobs train at once.
        waiting: how many jobs wait.
        duration: the expected length of a job that has not started (the mean of the last finished ones).
    """
    if slots <= 0:
        return [float("inf")] * waiting
    free = sorted(duration if eta is None else max(float(eta), 0.0) for eta in running_etas)[:slots]
    free += [0.0] * (slots - len(free))  # idle slots are free now
    heapq.heapify(free)
    starts = []
    for _ in range(waiting):
        t = heapq.heappop(free)
        starts.append(t)
        heapq.heappush(free, t + duration)
    return starts


def wait_words(seconds: float) -> str:
    """ "about 40 s", "about 3 min" for an estimate."""
    if seconds == float("inf"):
        return "an unknown time"
    if seconds < 90:
        return f"about {max(5, round(seconds / 5) * 5):.0f} s"
    return f"about {round(seconds / 60):.0f} min"
