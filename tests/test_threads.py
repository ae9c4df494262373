"""nnlab.threads: the worker's torch thread count follows how busy the rest of the machine is."""

from __future__ import annotations

import pytest

from nnlab.threads import worker_threads


# --- ThreadGovernor ------------------------------------------------------------------------------------------------
class Machine:
    """A played machine for ThreadGovernor: a clock, the machine's busy CPU seconds, and this process's own."""

    def __init__(self):
        self.t = self.busy = self.own = 0.0
        self.threads: list[int] = []

    def tick(self, seconds: float, own_cores: float, other_cores: float) -> None:
        self.t += seconds
        self.own += own_cores * seconds
        self.busy += (own_cores + other_cores) * seconds

    def governor(self, low=1, high=2):
        from nnlab.threads import ThreadGovernor

        return ThreadGovernor(
            low,
            high,
            busy_seconds=lambda: self.busy,
            own_seconds=lambda: self.own,
            clock=lambda: self.t,
            set_threads=self.threads.append,
        )


def test_thread_governor_takes_every_core_only_while_nothing_else_runs():
    m = Machine()
    g = m.governor()
    g.on_train_start()
    assert m.threads == [1]  # it starts safe
    m.tick(0.6, own_cores=1.0, other_cores=0.0)
    g.on_step_end()
    assert g.threads == 1  # one quiet window is not enough
    m.tick(0.6, own_cores=1.0, other_cores=0.05)  # a little noise is still quiet
    g.on_step_end()
    assert g.threads == 2 and m.threads == [1, 2]
    m.tick(0.1, own_cores=2.0, other_cores=1.0)
    g.on_step_end()
    assert g.threads == 2  # less than a window since the last look: nothing is decided
    m.tick(0.5, own_cores=1.0, other_cores=1.0)  # the app re-runs a page: back to one thread at once
    g.on_step_end()
    assert g.threads == 1 and m.threads == [1, 2, 1] and g.switches == 2
    m.tick(0.6, own_cores=1.0, other_cores=0.0)
    g.on_step_end()
    m.tick(0.6, own_cores=1.0, other_cores=0.5)  # busy again before the second quiet window: stays at one
    g.on_step_end()
    assert g.threads == 1
    g.on_train_end()
    assert g.seconds == pytest.approx({1: 1.2 + 1.2, 2: 0.1 + 0.5})  # every second booked once, 3 in all


def test_thread_governor_stays_put_without_a_readable_machine_or_a_choice():
    from nnlab.threads import ThreadGovernor, machine_busy_seconds

    calls = []
    blind = ThreadGovernor(1, 4, busy_seconds=lambda: None, set_threads=calls.append)
    blind.on_train_start()
    blind.on_step_end()
    assert not blind.enabled and calls == [1]
    fixed = Machine().governor(low=2, high=2)
    assert not fixed.enabled
    busy = machine_busy_seconds()
    assert busy is None or busy > 0  # Linux: seconds since boot; elsewhere: None


def test_workers_leave_one_core_to_the_app_and_share_the_rest():
    assert worker_threads(2, cpus=2) == 1 and worker_threads(1, cpus=2) == 1
    assert worker_threads(2, cpus=4) == 1 and worker_threads(1, cpus=4) == 3 and worker_threads(2, cpus=16) == 7
