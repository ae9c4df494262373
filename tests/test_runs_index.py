"""nnlab.runs.index: the run folders on disk found by the key of their work and by the job that wrote them."""

from __future__ import annotations

import json

from nnlab.runs.index import RunIndex


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
