"""nnlab.jobs.local: worker processes on this machine: a spare that leaves, a killed worker, a server going down."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from nnlab.jobs import RESTART_MESSAGE, JobRegistry
from nnlab.runs import Run
from nnlab.runs.index import RunIndex
from tests.jobs_specs import spec, until


def test_the_spare_worker_is_ended_when_it_does_not_pay():
    reg = JobRegistry(max_running=1, spare_idle_s=0.3)
    reg.warm()
    assert reg.backend.has_spare()
    proc = reg.backend._spare.proc
    assert until(lambda: not reg.backend.has_spare(), 20) and until(lambda: proc.poll() is not None, 10)
    reg.shutdown()


def test_a_killed_worker_fails_its_job_in_words_and_leaves_a_run_that_opens(tmp_path):
    """Out of memory, the kernel kills the worker (SIGKILL): no word from it, and the run keeps its snapshots."""
    reg = JobRegistry(max_running=1, spare=False)
    try:
        job = reg.start(spec(tmp_path, epochs=2000, snapshots=400), "long")
        assert until(lambda: job.live.view().snapshots >= 2, 90)
        job._worker.proc.kill()
        assert job.wait(30) and job.status == "failed"
        assert "killed" in job.error and "ran out of memory" in job.error and "(exit code -9)" in job.error
        assert "snapshots recorded so far are kept" in job.error
        run = Run(job.folder)  # a run whose writer is gone opens, up to its last complete snapshot
        assert run.status != "complete" and len(run) >= 2 and run.snapshot(len(run) - 1)["pred"].shape == (40,)
        assert reg.start(spec(tmp_path), "next").wait(120)  # the slot was given back
    finally:
        reg.shutdown()


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
if __name__ == "__main__":
    spec = JobSpec(DataConfig.make("moons", n_samples=200), MLPConfig(hidden=(8,)),
        TrainConfig(batch_size=32, epochs=2000), RecordConfig(snapshots=400, eval_size=40), root=sys.argv[1])
    job = JobRegistry(1, spare=False).start(spec, "long")
    while job.live.view().snapshots < 2:
        time.sleep(0.05)
    print(job.id, job.folder, job.spec.root, flush=True)
    time.sleep(600)
"""


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL])
def test_a_server_stopped_by_a_signal_leaves_its_runs_interrupted_not_failed(tmp_path, signum):
    """The server process dies (SIGTERM to it alone; SIGKILL: no last word at all), or Ctrl-C reaches its whole
    process group (SIGINT)."""
    script = tmp_path / "server.py"
    script.write_text(textwrap.dedent(SERVER))
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    server = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path / "runs")],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )
    try:
        job_id, folder, _ = server.stdout.readline().split()
        if signum == signal.SIGINT:
            os.killpg(server.pid, signum)
        else:
            server.send_signal(signum)  # the worker sees the app's process go
        server.wait(30)
        assert until(lambda: Run(folder).status != "running", 60)
        run = _interrupted(folder)
        assert run.manifest["job_id"] == job_id
        assert RunIndex().for_job(tmp_path / "runs", job_id) == run.folder  # a tab with ?job= finds it
    finally:
        if server.poll() is None:
            server.kill()
