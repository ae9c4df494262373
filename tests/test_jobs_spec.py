"""nnlab.jobs.spec: a job's configuration is typed, validated once where it is made, and arrives as itself."""

from __future__ import annotations

from multiprocessing import Pipe

from nnlab import DataConfig, TrainConfig
from nnlab.jobs import JobSpec
from nnlab.jobs.worker import Control, run_job
from nnlab.runs import Run, store
from tests.jobs_specs import TINY, spec


def test_a_spec_crosses_the_process_boundary_as_itself_validated_once(tmp_path, monkeypatch):
    checks = []
    validate = TrainConfig.validate
    monkeypatch.setattr(TrainConfig, "validate", lambda self: checks.append(self) or validate(self))
    job = spec(tmp_path, imports=("json",), data_dir=str(tmp_path))
    assert len(checks) == 1  # when the TrainConfig was made
    theirs, ours = Pipe()
    ours.send(job)  # what a local worker receives (multiprocessing's own serialisation; a Ray actor's likewise)
    again = theirs.recv()
    assert again == job and isinstance(again.train, TrainConfig) and isinstance(again.data, DataConfig)
    assert again.model == TINY and again.root == str(tmp_path.resolve()) and len(checks) == 1

    events = []
    assert run_job(again, events.append, Control(), job_id="j1", key=again.key()) == "complete"
    assert len(checks) == 1  # the worker and make_trainer take it as it is
    run = Run(events[0]["folder"])
    assert run.manifest["train"] == job.train.to_dict() and run.manifest["data"] == job.data.to_dict()
    assert run.manifest["record"] == job.record.to_dict() and run.model_config == TINY


def test_only_the_recorder_writes_the_manifest_and_it_starts_with_who_finds_it(tmp_path, monkeypatch):
    written = []
    write = store.write_manifest
    monkeypatch.setattr(store, "write_manifest", lambda folder, m: written.append(dict(m)) or write(folder, m))
    events = []
    job = JobSpec.make(spec(tmp_path).data, TINY, spec(tmp_path).train, root=tmp_path, owner="alice")
    assert run_job(job, events.append, Control(), job_id="j2", key=job.key()) == "complete"
    assert written and all(m["job_id"] == "j2" and m["owner"] == "alice" for m in written)  # from the first write
    assert all(m["config_key"] == job.key() for m in written) and written[-1]["status"] == "complete"
