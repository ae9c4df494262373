"""nnlab.jobs.queue: the fair queue's arithmetic (who starts next, when each waiting job is expected to start)."""

from __future__ import annotations

from nnlab.jobs.queue import estimated_starts, next_to_start, start_order, wait_words


def test_a_free_slot_goes_to_the_first_waiting_owner_with_nothing_running():
    assert next_to_start(["A", "B", "C"], running_owners=["A"]) == 1
    assert next_to_start(["A"], running_owners=["A"]) is None
    assert start_order(["A", "B", "C", "D"], running_owners=["A", "C"]) == [1, 3, 0, 2]


def test_estimated_starts_come_from_the_running_etas():
    assert estimated_starts([10.0, 30.0], slots=2, waiting=3, duration=20.0) == [10.0, 30.0, 30.0]
    assert estimated_starts([None], slots=2, waiting=2, duration=20.0) == [0.0, 20.0]  # one slot is idle
    assert estimated_starts([5.0], slots=0, waiting=1) == [float("inf")]
    assert wait_words(42) == "about 40 s" and wait_words(400) == "about 7 min"
