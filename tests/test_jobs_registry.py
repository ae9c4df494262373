"""nnlab.jobs.registry: trainings in the background, each configuration trained once, a fair queue, refusals."""

from __future__ import annotations

import numpy as np
import pytest

from nnlab.jobs import JobRegistry, JobsFull, QueueFull
from nnlab.runs import Run
from tests.jobs_specs import spec, until


@pytest.fixture(scope="module")
def registry():
    reg = JobRegistry(max_running=2)
    yield reg
    reg.shutdown()


@pytest.fixture(scope="module")
def one_slot():
    reg = JobRegistry(max_running=1, max_queue=3)
    yield reg
    reg.shutdown()


def test_job_trains_in_a_worker_and_records_every_snapshot(registry, tmp_path):
    """(With `max_threads`, as the app starts jobs: the worker's thread governor is on.)"""
    job = registry.start(spec(tmp_path, max_threads=2), "tiny moons")
    assert registry.get(job.id) is job and job.label == "tiny moons"
    assert job.wait(120), "the job did not finish"
    assert job.status == "complete", job.error or job.traceback
    run = Run(job.folder)
    assert run.status == "complete" and job.folder.parent == tmp_path.resolve()
    v = job.live.view()
    assert v.step == v.total_steps == 10  # 160 training points / 32 × 2 epochs
    assert len(v.loss) == 10 and np.isfinite(v.loss).all() and len(v.epochs) == 2
    assert len(run) == v.snapshots == v.planned_snapshots == 5  # the initial state and 4 more
    np.testing.assert_allclose(run.steps()["loss"], v.loss, rtol=1e-6)
    assert [j for j in registry.jobs() if j.run_id == run.id] == [job] and job not in registry.running()
    assert sum(job.thread_seconds.values()) > 0  # the governor's booking came back with the end


def test_a_full_registry_queues_the_next_job_and_stop_keeps_what_was_recorded(registry, tmp_path):
    jobs = [registry.start(spec(tmp_path, epochs=500 + i), f"long {i}", owner=f"u{i}") for i in range(2)]
    third = registry.start(spec(tmp_path), "third", owner="u2")
    assert third.queued and registry.place(third)[0] == 1  # waiting, not refused
    third.stop()
    assert third.status == "cancelled"
    for job in jobs:
        while job.alive and job.live.view().step < 3:
            job.wait(0.05)
        job.stop()
    for job in jobs:
        assert job.wait(60) and job.status == "stopped", job.error
        run = Run(job.folder)
        assert run.status == "stopped" and run.snapshots[-1]["step"] == job.live.view().step >= 3
    assert not registry.running()


def test_ten_quick_starts_train_once_and_the_next_one_reuses_the_run(one_slot, tmp_path):
    jobs = [one_slot.start(spec(tmp_path), "quick", owner=f"student{i}") for i in range(10)]
    assert len({j.id for j in jobs}) == 1 and jobs[0].owners == [f"student{i}" for i in range(10)]
    assert jobs[0].wait(120) and jobs[0].status == "complete", jobs[0].error
    assert [p.name for p in tmp_path.iterdir()] == [jobs[0].run_id]  # one run folder
    run = Run(jobs[0].folder)
    assert run.manifest["config_key"] == spec(tmp_path).key() and run.manifest["job_id"] == jobs[0].id
    later = one_slot.start(spec(tmp_path, name="again"), "quick", owner="student11")
    assert later.reused and later.status == "complete" and later.folder == jobs[0].folder and later.wait(0)
    v = later.live.view()  # read from the run folder: what the page shows for a finished job
    assert v.step == v.total_steps == 10 and v.snapshots == 5 and len(v.loss) == 10
    assert len(list(tmp_path.iterdir())) == 1 and one_slot.find_run(jobs[0].id) == jobs[0].folder


def test_a_registry_made_after_a_restart_finds_what_ran(one_slot, tmp_path):
    """The server restarted: a new registry reuses the finished run and finds a job's run by its id."""
    job = one_slot.start(spec(tmp_path, seed=7), "before the restart", owner="A")
    assert job.wait(120) and job.status == "complete"
    fresh = JobRegistry(max_running=1, spare=False)
    try:
        assert fresh.get(job.id) is None and fresh.find_run(job.id, tmp_path) == job.folder
        again = fresh.start(spec(tmp_path, seed=7), "after the restart", owner="B")
        assert again.reused and again.folder == job.folder and fresh.finished_run(spec(tmp_path, seed=7)) == job.folder
    finally:
        fresh.shutdown()


def test_the_queue_keeps_order_positions_starts_by_itself_and_cancels(one_slot, tmp_path):
    first = one_slot.start(spec(tmp_path, epochs=2000, seed=1), "A's first", owner="A")
    b = one_slot.start(spec(tmp_path, epochs=2000, seed=2), "B's", owner="B")
    c = one_slot.start(spec(tmp_path, epochs=2000, seed=3), "C's", owner="C")
    a2 = one_slot.start(spec(tmp_path, epochs=2000, seed=4), "A's second", owner="A")
    assert first.status in ("starting", "running") and b.queued and c.queued and a2.queued
    assert one_slot.waiting() == [b, c, a2]  # A waits for A's own running job: last
    assert [one_slot.place(j)[0] for j in (b, c, a2)] == [1, 2, 3] and one_slot.place(first) is None
    assert all(one_slot.place(j)[1] >= 0 for j in (b, c, a2))
    with pytest.raises(JobsFull, match="already have a training waiting"):
        one_slot.start(spec(tmp_path, epochs=2000, seed=5), "A's third", owner="A")
    with pytest.raises(QueueFull, match=r"queue of this server is full.*Try again in about"):
        one_slot.start(spec(tmp_path, epochs=2000, seed=6), "D's", owner="D")
    c.stop()  # cancelled while waiting: nothing was trained, nothing written
    assert c.status == "cancelled" and c.wait(0) and one_slot.waiting() == [b, a2] and one_slot.place(a2)[0] == 2
    assert until(lambda: first.live.view().step >= 3)
    first.stop()
    assert first.wait(60) and first.status == "stopped"
    assert until(lambda: not b.queued, 30) and b.status in ("starting", "running")  # it started by itself
    assert one_slot.waiting() == [a2] and one_slot.place(a2)[0] == 1
    assert one_slot.cancel(a2.id, owner="A") and a2.status == "cancelled"
    b.stop()
    assert b.wait(60) and not one_slot.waiting()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([first.run_id, b.run_id])


def test_a_server_with_no_slots_refuses_in_words(tmp_path):
    reg = JobRegistry(max_running=0, spare=False)
    with pytest.raises(JobsFull, match="limit"):
        reg.start(spec(tmp_path), "none")
    reg.shutdown()
