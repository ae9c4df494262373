"""Background work: the live metrics store, job specs, background tasks, and real training jobs in worker processes."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest

from nnlab import DataConfig, MLPConfig, RecordConfig, TrainConfig
from nnlab.jobs import BackgroundTasks, JobRegistry, JobSpec, LiveMetrics, worker_threads
from nnlab.runs import Run

TINY = dict(model=MLPConfig(hidden=(8,)), record=RecordConfig(snapshots=4, eval_size=40))


def tiny_spec(root, *, epochs=2, lr=3e-3, optimizer="adam", n=200, model=TINY["model"], **kwargs) -> JobSpec:
    """Two moons of `n` points, a 2-8-2 MLP, batches of 32, 4 snapshots."""
    return JobSpec.make(
        DataConfig.make("moons", n_samples=n),
        model,
        TrainConfig(optimizer=optimizer, lr=lr, batch_size=32, epochs=epochs),
        TINY["record"],
        root=root,
        name="job",
        **kwargs,
    )


# --- LiveMetrics ---------------------------------------------------------------------------------------------------
def test_live_metrics_view_reports_progress_epochs_and_eta():
    live = LiveMetrics()
    assert live.view().fraction == 0 and live.view().eta is None and not live.view().started
    live.start(total_steps=10, steps_per_epoch=5, planned_snapshots=3)
    live.add_steps([1.0, 0.8], [0.5, 0.6], step=2, snapshots=1)
    live.add_steps([0.6], [0.7], step=3)
    live.add_epoch({"epoch": 1, "test_acc": 0.9})
    v = live.view()
    assert v.step == 3 and v.fraction == pytest.approx(0.3) and v.epoch == pytest.approx(0.6)
    np.testing.assert_allclose(v.loss, [1.0, 0.8, 0.6])
    np.testing.assert_allclose(v.acc, [0.5, 0.6, 0.7])
    assert v.snapshots == 1 and v.planned_snapshots == 3 and v.epochs == ({"epoch": 1, "test_acc": 0.9},)
    assert v.eta is not None and v.eta >= 0


def test_live_metrics_elapsed_follows_the_trainers_clock():
    live = LiveMetrics()
    live.start(100, 10)
    live.add_steps([1.0] * 50, [0.5] * 50, step=50, elapsed=10.0)  # the trainer says: 50 steps in 10 s
    v = live.view()
    assert 10.0 <= v.elapsed < 11.0 and v.eta == pytest.approx(v.elapsed, rel=0.1)  # as long again for the rest
    live.finish()
    assert live.view().elapsed == pytest.approx(live.view().elapsed)


def test_live_metrics_view_is_a_copy():
    live = LiveMetrics()
    live.start(4, 2)
    live.add_steps([1.0], [0.0], step=1)
    v = live.view()
    live.add_steps([2.0], [1.0], step=2)
    assert len(v.loss) == 1 and len(live.view().loss) == 2


def test_live_metrics_take_steps_from_many_threads():
    live = LiveMetrics()
    live.start(4000, 100)
    threads = [threading.Thread(target=lambda: [live.add_steps([1.0], [1.0]) for _ in range(1000)]) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(live.view().loss) == 4000


# --- JobSpec -------------------------------------------------------------------------------------------------------
def test_job_spec_round_trips_through_json(tmp_path):
    spec = tiny_spec(tmp_path, imports=("json",), data_dir=str(tmp_path))
    again = JobSpec.from_json(spec.to_json())
    assert again == spec
    assert json.loads(spec.to_json())["model"]["hidden"] == [8]
    assert again.root == str(tmp_path.resolve())


def test_workers_leave_one_core_to_the_app_and_share_the_rest():
    assert worker_threads(2, cpus=2) == 1 and worker_threads(1, cpus=2) == 1
    assert worker_threads(2, cpus=4) == 1 and worker_threads(1, cpus=4) == 3 and worker_threads(2, cpus=16) == 7


# --- BackgroundTasks -----------------------------------------------------------------------------------------------
def test_background_task_runs_once_per_key_and_keeps_its_result():
    tasks, calls = BackgroundTasks(), []

    def work(x):
        calls.append(x)
        return x * 2

    first = tasks.submit(("k", 1), work, 21)
    assert first.wait(10) and first.status == "done" and first.result == 42
    assert tasks.submit(("k", 1), work, 99) is first and calls == [21]
    assert tasks.get(("k", 2)) is None


def test_background_task_failure_is_kept_until_forgotten():
    tasks = BackgroundTasks()

    def boom():
        raise ValueError("no good")

    task = tasks.submit("k", boom)
    task.wait(10)
    assert task.status == "failed" and task.error == "ValueError: no good"
    assert tasks.submit("k", lambda: 1) is task  # not retried behind the user's back
    tasks.forget("k")
    again = tasks.submit("k", lambda: 1)
    assert again.wait(10) and again.result == 1


def test_background_tasks_keep_only_the_newest():
    tasks = BackgroundTasks(keep=2)
    for k in range(3):
        tasks.submit(k, lambda: None).wait(10)
    assert tasks.get(0) is None and tasks.get(2) is not None


# --- JobRegistry with real workers ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def registry():
    reg = JobRegistry(max_running=2)
    yield reg
    reg.shutdown()


def test_job_trains_in_a_worker_and_records_every_snapshot(registry, tmp_path):
    """(With `max_threads`, as the app starts jobs: the worker's thread governor is on.)"""
    job = registry.start(tiny_spec(tmp_path, max_threads=2), "tiny moons")
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
    assert registry.job_for_run(run.id) is job and job not in registry.running()


def test_a_full_registry_queues_the_next_job_and_stop_keeps_what_was_recorded(registry, tmp_path):
    jobs = [registry.start(tiny_spec(tmp_path, epochs=500 + i), f"long {i}", owner=f"u{i}") for i in range(2)]
    third = registry.start(tiny_spec(tmp_path), "third", owner="u2")
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


DEEP = MLPConfig(hidden=(64, 64, 64, 64))  # SGD at the top of the learning-rate range (10) blows it up


def test_diverging_and_failing_jobs_say_what_happened(registry, tmp_path):
    diverges = registry.start(tiny_spec(tmp_path, optimizer="sgd", lr=10, model=DEEP), "diverges")
    broken = registry.start(JobSpec.make(DataConfig.make("no-such-dataset"), root=tmp_path), "broken")
    assert diverges.wait(120) and broken.wait(120)
    assert diverges.status == "diverged" and "learning rate" in diverges.message and "smaller" in diverges.message
    run = Run(diverges.folder)
    assert run.status == "diverged" and len(run) >= 1  # the snapshots before it are kept
    assert broken.status == "failed" and "no-such-dataset" in broken.error and "Traceback" in broken.traceback
    assert broken.folder is None and "errors.log in the runs folder" in broken.error
    log = tmp_path / "errors.log"
    assert broken.log == str(log) and "no-such-dataset" in log.read_text() and "Traceback" in log.read_text()


def test_a_full_disk_in_a_worker_fails_the_job_in_words_and_keeps_the_snapshots(registry, tmp_path):
    job = registry.start(tiny_spec(tmp_path, imports=("tests.full_disk_worker",)), "full disk")
    assert job.wait(120)
    assert job.status == "failed" and job.error.startswith("The disk is full: the run could not be written at step")
    assert "No space left on device" in job.error and str(tmp_path) not in job.error  # no server path in words
    assert job.error.endswith("The traceback is in error.log.") and job.log == str(job.folder / "error.log")
    log = (job.folder / "error.log").read_text()
    assert "Traceback (most recent call last)" in log and "OSError: [Errno 28]" in log
    run = Run(job.folder)
    assert run.status == "failed" and run.message == job.error
    assert len(run) == 2 and run.snapshot(1)["pred"].shape == (40,)  # the two written before the third failed


def test_a_job_that_did_not_learn_completes_with_advice(registry, tmp_path):
    job = registry.start(tiny_spec(tmp_path, lr=10), "adam at lr 10")
    assert job.wait(120) and job.status == "complete", job.error
    run = Run(job.folder)
    assert run.status == "complete" and run.manifest["did_not_learn"] is True
    assert "learning rate 10 is probably too large" in run.message and job.message == run.message


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
        from nnlab.jobs.threads import ThreadGovernor

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
    from nnlab.jobs.threads import ThreadGovernor, machine_busy_seconds

    calls = []
    blind = ThreadGovernor(1, 4, busy_seconds=lambda: None, set_threads=calls.append)
    blind.on_train_start()
    blind.on_step_end()
    assert not blind.enabled and calls == [1]
    fixed = Machine().governor(low=2, high=2)
    assert not fixed.enabled
    busy = machine_busy_seconds()
    assert busy is None or busy > 0  # Linux: seconds since boot; elsewhere: None
