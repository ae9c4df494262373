"""nnlab.jobs.spec: a job's configuration is typed, validated once where it is made, and arrives as itself."""

from __future__ import annotations

from dataclasses import replace
from multiprocessing import Pipe

from nnlab import DataConfig, TrainConfig
from nnlab.analysis.sae import SaeSpec
from nnlab.jobs import FeaturesSpec, JobSpec
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
    job = JobSpec(spec(tmp_path).data, TINY, spec(tmp_path).train, root=tmp_path, owner="alice")
    assert run_job(job, events.append, Control(), job_id="j2", key=job.key()) == "complete"
    assert written and all(m["job_id"] == "j2" and m["owner"] == "alice" for m in written)  # from the first write
    assert all(m["config_key"] == job.key() for m in written) and written[-1]["status"] == "complete"


# The keys an older nnlab (specs of config dicts, before typed configs) wrote into manifests for these specs.
OLD_KEYS = {"quick start": "902d609a3cc3d478", "tests.jobs_specs.spec": "bb5124df3979da56"}


def test_config_key_names_the_training_not_where_or_how_fast(tmp_path):
    a = spec(tmp_path)
    assert a.key() == spec(tmp_path / "elsewhere", name="other", torch_threads=3, max_threads=8).key()
    assert a.key() != spec(tmp_path, seed=1).key() != spec(tmp_path, epochs=3).key()
    assert a.key() != replace(a, record=replace(a.record, snapshots=5)).key()
    assert len(a.key()) == 16 and all(c in "0123456789abcdef" for c in a.key())


def test_config_key_is_the_one_runs_on_disk_were_found_by():
    """The key is the hash of the configs' saved forms, as before specs carried typed configs: runs trained
    before still count as done (the value below is the key an older nnlab wrote for this spec)."""
    assert JobSpec(DataConfig.make("moons"), root="runs").key() == OLD_KEYS["quick start"]
    assert spec("elsewhere").key() == OLD_KEYS["tests.jobs_specs.spec"]


def test_features_key_is_the_run_the_point_the_snapshot_the_width_and_k(tmp_path):
    (tmp_path / "run-a").mkdir()
    a = FeaturesSpec(str(tmp_path / "run-a"), SaeSpec("hidden.0", snapshot=None, width=64, k=4))
    assert a.key() == FeaturesSpec(str(tmp_path / "run-a"), SaeSpec("hidden.0", width=64, k=4, seed=3)).key()
    changes = [dict(point="hidden.1"), dict(snapshot=2), dict(width=128), dict(k=8)]
    others = [replace(a, sae=replace(a.sae, **change)) for change in changes]
    assert len({a.key(), *(o.key() for o in others)}) == 5
    assert a.key() != replace(a, folder=str(tmp_path / "run-b")).key()
