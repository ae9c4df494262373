"""A features job (a sparse autoencoder trained in a run) through the registry: the same queue, ownership, progress,
stop and identical-work key as a training. The worker runs `tests/sae_double.py`'s stand-in for
`nnlab.analysis.sae.train_spec` (its signature and contract), so these tests hold the registry's side whatever the
autoencoder does; `test_a_real_features_job...` runs the real function on a tiny run.
"""

from __future__ import annotations

import pytest

from nnlab import DataConfig, MLPConfig, RecordConfig, TrainConfig, train_run
from nnlab.analysis.sae import SaeSpec
from nnlab.jobs import FeaturesSpec, JobRegistry
from nnlab.runs import NotYours, Viewer
from tests.jobs_specs import spec, until

ALICE, BOB, TEACHER = Viewer("alice"), Viewer("bob"), Viewer("teacher", teacher=True)


@pytest.fixture(scope="module")
def alices_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    return train_run(
        DataConfig.make("moons", n_samples=100),
        MLPConfig(hidden=(4,)),
        TrainConfig(batch_size=50, epochs=1),
        RecordConfig(snapshots=2, eval_size=20),
        root=root,
        manifest={"owner": "alice"},
    )


@pytest.fixture(scope="module")
def registry():
    reg = JobRegistry(max_running=1, spare=False)
    yield reg
    reg.shutdown()


def features(run, **kwargs) -> FeaturesSpec:
    return FeaturesSpec(str(run.folder), SaeSpec("relu1", **kwargs), imports=("tests.sae_double",))


def test_a_features_job_reports_progress_is_done_once_and_saves_in_the_run(registry, alices_run):
    job = registry.start(features(alices_run, width=16, k=2), "features", owner="alice", viewer=ALICE)
    same = registry.start(features(alices_run, width=16, k=2, seed=1), "features", owner="teacher", viewer=TEACHER)
    assert same is job and job.owners == ["alice", "teacher"]  # identical work: one job, both watch it
    assert until(lambda: 0 < job.live.view().fraction < 1, 60) and job.live.view().words.startswith("step ")
    assert job.wait(60) and job.status == "complete", job.error or job.traceback
    v = job.live.view()
    assert v.fraction == 1.0 and v.words == "step 40 of 40" and v.elapsed > 0
    assert job.output.parent.parent == alices_run.folder and job.output.read_text().endswith(" 16 2 0")
    assert job.folder is None and alices_run.id not in {j.run_id for j in registry.jobs()}  # not a training of that run
    assert job in registry.visible(ALICE) and job in registry.visible(TEACHER) and job not in registry.visible(BOB)


def test_only_who_may_see_the_run_starts_features_on_it(registry, alices_run):
    with pytest.raises(NotYours, match="run you may see"):
        registry.start(features(alices_run, width=32, k=2), "bob's", owner="bob", viewer=BOB)
    with pytest.raises(NotYours):
        registry.start(features(alices_run, width=32, k=2), "bob's", owner="bob")  # a student by default
    assert not registry.running()


def test_a_features_job_waits_in_the_same_queue_and_stops_as_a_training(registry, alices_run, tmp_path):
    job = registry.start(features(alices_run, width=64, k=4), "features", owner="alice", viewer=ALICE)
    training = registry.start(spec(tmp_path), "alice's training", owner="alice")
    assert training.queued and registry.place(training)[0] == 1  # one slot, taken by her features job
    assert registry.start(features(alices_run, width=64, k=4), "joined", owner="teacher", viewer=TEACHER) is job
    assert until(lambda: job.live.view().fraction > 0, 60)
    assert registry.may_stop(job, ALICE) and registry.may_stop(job, TEACHER)  # hers, and the teacher stops anything
    assert not registry.may_stop(job, Viewer("teacher"))  # a student who joined it (here, one with that id) cannot
    with pytest.raises(NotYours, match="No such job"):
        registry.stop(job.id, BOB)  # nor can one who does not even see it
    registry.stop(job.id, ALICE)
    assert job.wait(60) and job.status == "stopped" and job.live.view().fraction < 1 and job.output is None
    assert training.wait(120) and training.status == "complete"  # the slot went to the next in the queue


def test_a_real_features_job_trains_a_sparse_autoencoder_in_a_tiny_run(registry, alices_run):
    spec_ = FeaturesSpec(str(alices_run.folder), SaeSpec("relu1", width=8, k=2, epochs=2))
    job = registry.start(spec_, "features", owner="alice", viewer=ALICE)
    assert job.wait(120) and job.status == "complete", job.error or job.traceback
    assert (job.output / "sae.safetensors").is_file() and job.output.parent.parent == alices_run.folder
    assert job.live.view().fraction == 1.0 and job.live.view().words
