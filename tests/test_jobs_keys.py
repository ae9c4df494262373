"""nnlab.jobs.keys: the key that finds identical trainings, and the index of run folders by key and by job."""

from __future__ import annotations

import json
from dataclasses import replace

from nnlab.jobs import JobSpec, RunIndex, config_key
from tests.jobs_specs import spec


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
