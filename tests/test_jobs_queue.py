"""The class-sized job registry: one training per configuration, a fair queue, honest restarts, a spare that leaves."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import replace

import pytest

from nnlab import DataConfig, MLPConfig, RecordConfig, TrainConfig
from nnlab.jobs import RESTART_MESSAGE, JobRegistry, JobsFull, JobSpec, QueueFull, RunIndex, config_key
from nnlab.jobs.queue import estimated_starts, next_to_start, start_order, wait_words
from nnlab.runs import Run


def spec(root, *, epochs=2, seed=0, name="job", **kwargs) -> JobSpec:
    """Two moons of 200 points, a 2-8-2 MLP, batches of 32 (5 steps an epoch), 4 snapshots."""
    return JobSpec.make(
        DataConfig.make("moons", n_samples=200),
        MLPConfig(hidden=(8,)),
        TrainConfig(batch_size=32, epochs=epochs, seed=seed),
        RecordConfig(snapshots=4, eval_size=40),
        root=root,
        name=name,
        **kwargs,
    )


def until(condition, timeout=60.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


# --- the key and the rules, without processes ---------------------------------------------------------------------
def test_config_key_names_the_training_not_where_or_how_fast(tmp_path):
    a = spec(tmp_path)
    assert config_key(a) == config_key(spec(tmp_path / "elsewhere", name="other", torch_threads=3, max_threads=8))
    assert config_key(a) != config_key(spec(tmp_path, seed=1)) != config_key(spec(tmp_path, epochs=3))
    assert config_key(a) != config_key(replace(a, record={**a.record, "snapshots": 5}))
    assert len(config_key(a)) == 16 and config_key(JobSpec.from_json(a.to_json())) == config_key(a)


def test_run_index_finds_complete_runs_by_key_and_runs_by_job(tmp_path):
    for name, fields in {
        "a": {"config_key": "k1", "job_id": "j1", "status": "complete", "finished": 1.0},
        "b": {"config_key": "k1", "job_id": "j2", "status": "complete", "finished": 2.0},
        "c": {"config_key": "k2", "job_id": "j3", "status": "stopped"},
    }.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "manifest.json").write_text(json.dumps(fields))
    (tmp_path / "junk").mkdir()
    index = RunIndex()
    assert index.complete(tmp_path, "k1") == tmp_path / "b"  # the newest
    assert index.complete(tmp_path, "k2") is None  # stopped is not a finished training
    assert index.for_job(tmp_path, "j3") == tmp_path / "c" and index.for_job(tmp_path, "nope") is None


def test_a_free_slot_goes_to_the_first_waiting_owner_with_nothing_running():
    assert next_to_start(["A", "B", "C"], running_owners=["A"]) == 1
    assert next_to_start(["A"], running_owners=["A"]) is None
    assert start_order(["A", "B", "C", "D"], running_owners=["A", "C"]) == [1, 3, 0, 2]


def test_estimated_starts_come_from_the_running_etas():
    assert estimated_starts([10.0, 30.0], slots=2, waiting=3, duration=20.0) == [10.0, 30.0, 30.0]
    assert estimated_starts([None], slots=2, waiting=2, duration=20.0) == [0.0, 20.0]  # one slot is idle
    assert estimated_starts([5.0], slots=0, waiting=1) == [float("inf")]
    assert wait_words(42) == "about 40 s" and wait_words(400) == "about 7 min"


# --- with real workers ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def registry():
    reg = JobRegistry(max_running=1, max_queue=3)
    yield reg
    reg.shutdown()


def test_ten_quick_starts_train_once_and_the_next_one_reuses_the_run(registry, tmp_path):
    jobs = [registry.start(spec(tmp_path), "quick", owner=f"student{i}") for i in range(10)]
    assert len({j.id for j in jobs}) == 1 and jobs[0].owners == [f"student{i}" for i in range(10)]
    assert jobs[0].wait(120) and jobs[0].status == "complete", jobs[0].error
    assert [p.name for p in tmp_path.iterdir()] == [jobs[0].run_id]  # one run folder
    run = Run(jobs[0].folder)
    assert run.manifest["config_key"] == config_key(spec(tmp_path)) and run.manifest["job_id"] == jobs[0].id
    later = registry.start(spec(tmp_path, name="again"), "quick", owner="student11")
    assert later.reused and later.status == "complete" and later.folder == jobs[0].folder and later.wait(0)
    v = later.live.view()  # read from the run folder: what the page shows for a finished job
    assert v.step == v.total_steps == 10 and v.snapshots == 5 and len(v.loss) == 10
    assert len(list(tmp_path.iterdir())) == 1 and registry.find_run(jobs[0].id) == jobs[0].folder


def test_the_queue_keeps_order_positions_starts_by_itself_and_cancels(registry, tmp_path):
    first = registry.start(spec(tmp_path, epochs=2000, seed=1), "A's first", owner="A")
    b = registry.start(spec(tmp_path, epochs=2000, seed=2), "B's", owner="B")
    c = registry.start(spec(tmp_path, epochs=2000, seed=3), "C's", owner="C")
    a2 = registry.start(spec(tmp_path, epochs=2000, seed=4), "A's second", owner="A")
    assert first.status in ("starting", "running") and b.queued and c.queued and a2.queued
    assert registry.waiting() == [b, c, a2]  # A waits for A's own running job: last
    assert [registry.place(j)[0] for j in (b, c, a2)] == [1, 2, 3] and registry.place(first) is None
    assert all(registry.place(j)[1] >= 0 for j in (b, c, a2))
    with pytest.raises(JobsFull, match="already have a training waiting"):
        registry.start(spec(tmp_path, epochs=2000, seed=5), "A's third", owner="A")
    with pytest.raises(QueueFull, match=r"queue of this server is full.*Try again in about"):
        registry.start(spec(tmp_path, epochs=2000, seed=6), "D's", owner="D")
    c.stop()  # cancelled while waiting: nothing was trained, nothing written
    assert c.status == "cancelled" and c.wait(0) and registry.waiting() == [b, a2] and registry.place(a2)[0] == 2
    assert until(lambda: first.live.view().step >= 3)
    first.stop()
    assert first.wait(60) and first.status == "stopped"
    assert until(lambda: not b.queued, 30) and b.status in ("starting", "running")  # it started by itself
    assert registry.waiting() == [a2] and registry.place(a2)[0] == 1
    assert registry.cancel(a2.id, owner="A") and a2.status == "cancelled"
    b.stop()
    assert b.wait(60) and not registry.waiting()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([first.run_id, b.run_id])


def test_a_server_with_no_slots_refuses_in_words(tmp_path):
    reg = JobRegistry(max_running=0, spare=False)
    with pytest.raises(JobsFull, match="limit"):
        reg.start(spec(tmp_path), "none")
    reg.shutdown()


def test_the_spare_worker_is_ended_when_it_does_not_pay():
    reg = JobRegistry(max_running=1, spare_idle_s=0.3)
    reg.warm()
    assert reg.backend.has_spare()
    proc = reg.backend._spare.proc
    assert until(lambda: not reg.backend.has_spare(), 20) and until(lambda: proc.poll() is not None, 10)
    reg.shutdown()


# --- restarts -------------------------------------------------------------------------------------------------------
def _interrupted(folder) -> Run:
    run = Run(folder)
    assert run.status == "interrupted" and run.message == RESTART_MESSAGE
    assert len(run) >= 2 and all((run.folder / s["file"]).is_file() for s in run.snapshots)
    run.snapshot(-1)  # the last one reads
    return run


def test_shutting_the_registry_down_marks_runs_interrupted_by_a_restart(tmp_path):
    reg = JobRegistry(max_running=1, spare=False)
    job = reg.start(spec(tmp_path, epochs=2000), "long")
    assert until(lambda: job.live.view().snapshots >= 2, 90)
    reg.shutdown()
    assert job.status == "interrupted" and job.message == RESTART_MESSAGE and not job.error
    _interrupted(job.folder)


SERVER = """
import sys, time
from nnlab import DataConfig, MLPConfig, RecordConfig, TrainConfig
from nnlab.jobs import JobRegistry, JobSpec
spec = JobSpec.make(DataConfig.make("moons", n_samples=200), MLPConfig(hidden=(8,)),
    TrainConfig(batch_size=32, epochs=2000), RecordConfig(snapshots=400, eval_size=40), root=sys.argv[1])
job = JobRegistry(1, spare=False).start(spec, "long")
while job.live.view().snapshots < 2:
    time.sleep(0.05)
print(job.id, job.folder, job.spec.root, flush=True)
time.sleep(600)
"""


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_server_stopped_by_a_signal_leaves_its_runs_interrupted_not_failed(tmp_path, signum):
    """The server process dies (SIGTERM to it alone), or Ctrl-C reaches its whole process group (SIGINT)."""
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    server = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(SERVER), str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )
    try:
        job_id, folder, _ = server.stdout.readline().split()
        if signum == signal.SIGTERM:
            server.send_signal(signum)  # the worker sees its pipe close
        else:
            os.killpg(server.pid, signum)
        server.wait(30)
        assert until(lambda: Run(folder).status != "running", 60)
        run = _interrupted(folder)
        assert run.manifest["job_id"] == job_id
        assert RunIndex().for_job(tmp_path, job_id) == run.folder  # a tab with ?job= finds it
    finally:
        if server.poll() is None:
            server.kill()
