"""nnlab.jobs.keys: the key that finds identical trainings, and the index of run folders by key and by job."""

from __future__ import annotations

import json
from dataclasses import replace

from nnlab import DataConfig
from nnlab.jobs import FeaturesSpec, JobSpec, RunIndex, config_key
from tests.jobs_specs import spec

# The keys an older nnlab (specs of config dicts, before typed configs) wrote into manifests for these specs.
OLD_KEYS = {"quick start": "902d609a3cc3d478", "tests.jobs_specs.spec": "bb5124df3979da56"}


def test_config_key_names_the_training_not_where_or_how_fast(tmp_path):
    a = spec(tmp_path)
    assert config_key(a) == config_key(spec(tmp_path / "elsewhere", name="other", torch_threads=3, max_threads=8))
    assert config_key(a) != config_key(spec(tmp_path, seed=1)) != config_key(spec(tmp_path, epochs=3))
    assert config_key(a) != config_key(replace(a, record=replace(a.record, snapshots=5)))
    assert len(config_key(a)) == 16 and config_key(a) == a.key()


def test_config_key_is_the_one_runs_on_disk_were_found_by():
    """The key is the hash of the configs' saved forms, as before specs carried typed configs: runs trained
    before still count as done (the value below is the key an older nnlab wrote for this spec)."""
    assert JobSpec.make(DataConfig.make("moons"), root="runs").key() == OLD_KEYS["quick start"]
    assert spec("elsewhere").key() == OLD_KEYS["tests.jobs_specs.spec"]


def test_features_key_is_the_run_the_point_the_snapshot_the_width_and_k(tmp_path):
    (tmp_path / "run-a").mkdir()
    a = FeaturesSpec(str(tmp_path / "run-a"), "hidden.0", snapshot=None, width=64, k=4)
    assert a.key() == FeaturesSpec(str(tmp_path / "run-a"), "hidden.0", width=64, k=4, seed=3).key()
    others = [replace(a, point="hidden.1"), replace(a, snapshot=2), replace(a, width=128), replace(a, k=8)]
    assert len({a.key(), *(o.key() for o in others)}) == 5
    assert a.key() != replace(a, folder=str(tmp_path / "run-b")).key()


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
