"""nnlab.jobs.worker: what a job is, and the training a worker runs: how it stops, and how it says what happened."""

from __future__ import annotations

import pytest

from nnlab import DataConfig, MLPConfig
from nnlab.jobs import INTERRUPTED, RESTART_MESSAGE, JobRegistry, JobSpec
from nnlab.jobs.worker import Control, run_job
from nnlab.runs import Run
from tests.jobs_specs import spec


class StopAt:
    """A `send` for `run_job` that keeps the events and asks `control` to stop once `step` steps were reported."""

    def __init__(self, control: Control, step: int, reason: str):
        self.control, self.step, self.reason, self.events = control, step, reason, []

    def __call__(self, event: dict) -> None:
        self.events.append(event)
        if event["event"] == "add_steps" and event["step"] >= self.step:
            self.control.request(self.reason)


@pytest.mark.parametrize(("reason", "status"), [("", "stopped"), ("restart", INTERRUPTED)])
def test_a_stop_ends_the_training_after_the_step_and_keeps_the_run(tmp_path, reason, status):
    """In this process: a stop ends it as stopped; one for a server restart marks the run interrupted."""
    control = Control()
    send = StopAt(control, 3, reason)
    assert (
        run_job(spec(tmp_path, epochs=400, snapshots=400), send, control, job_id="0123abcd", key="00ff00ff00ff00ff")
        == status
    )
    kinds = [e["event"] for e in send.events]
    assert kinds[:2] == ["created", "start"] and kinds[-1] == "end" and send.events[-1]["status"] == status
    run = Run(send.events[0]["folder"])
    assert (
        run.status == status
        and run.manifest["job_id"] == "0123abcd"
        and run.manifest["config_key"] == "00ff00ff00ff00ff"
    )
    assert 3 <= run.snapshots[-1]["step"] < 400 * 5 and run.snapshot(-1)["pred"].shape == (40,)
    assert (run.message == RESTART_MESSAGE) == (reason == "restart")


# --- in worker processes -------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def registry():
    reg = JobRegistry(max_running=2)
    yield reg
    reg.shutdown()


DEEP = MLPConfig(hidden=(64, 64, 64, 64))  # SGD at the top of the learning-rate range (10) blows it up


def test_diverging_and_failing_jobs_say_what_happened(registry, tmp_path):
    diverges = registry.start(spec(tmp_path, optimizer="sgd", lr=10, model=DEEP), "diverges")
    broken = registry.start(JobSpec(DataConfig.make("no-such-dataset"), root=tmp_path), "broken")
    assert diverges.wait(120) and broken.wait(120)
    assert diverges.status == "diverged" and "learning rate" in diverges.message and "smaller" in diverges.message
    run = Run(diverges.folder)
    assert run.status == "diverged" and len(run) >= 1  # the snapshots before it are kept
    assert broken.status == "failed" and "no-such-dataset" in broken.error and "Traceback" in broken.traceback
    assert broken.folder is None and "errors.log in the runs folder" in broken.error
    log = tmp_path / "errors.log"
    assert broken.log == str(log) and "no-such-dataset" in log.read_text() and "Traceback" in log.read_text()


def test_a_full_disk_in_a_worker_fails_the_job_in_words_and_keeps_the_snapshots(registry, tmp_path):
    job = registry.start(spec(tmp_path, imports=("tests.full_disk_worker",)), "full disk")
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
    job = registry.start(spec(tmp_path, lr=10), "adam at lr 10")
    assert job.wait(120) and job.status == "complete", job.error
    run = Run(job.folder)
    assert run.status == "complete" and run.manifest["did_not_learn"] is True
    assert "learning rate 10 is probably too large" in run.message and job.message == run.message
