"""The task's metric name travels from the Task through the job events to the training curves and the Train page.

An autoencoder's per-step metric is its reconstruction error (lower is better), a classifier's its accuracy; events
and runs from before the name was carried (no "metric") read as accuracy.
"""

from __future__ import annotations

import json

import numpy as np

from appkit.training.form import TRAIN_JOB_KEY
from nnlab import DataConfig, MLPConfig, RecordConfig, TrainConfig, train_run
from nnlab.figures.training import training_curves
from nnlab.jobs import Job, JobSpec
from nnlab.live import LiveMetrics
from nnlab.models import AEConfig
from nnlab.runs.store import read_manifest
from nnlab.tasks import ACCURACY, CLASSIFICATION, RECONSTRUCTION_ERROR, Metric, Reconstruction, metric_named
from tests import app_harness
from tests.app_harness import app_test, errors

app_dirs, jobs = app_harness.app_dirs, app_harness.jobs
AE = AEConfig(input_shape=(1, 8, 8), n_classes=10, hidden=(8,))
TINY_TRAIN = TrainConfig(batch_size=50, epochs=2, seed=0)
TINY_RECORD = RecordConfig(snapshots=2, eval_size=50)


def test_each_task_names_its_metric_and_which_way_is_better():
    assert CLASSIFICATION.metric_info == ACCURACY and ACCURACY.higher_is_better and ACCURACY.share
    task = Reconstruction()
    assert task.metric_info.key == task.metric == "error"
    assert task.metric_info.label == "reconstruction error (MSE)" and not task.metric_info.higher_is_better


def test_a_metric_survives_json_and_a_missing_one_is_accuracy():
    assert Metric.from_json(json.loads(json.dumps(RECONSTRUCTION_ERROR.to_json()))) == RECONSTRUCTION_ERROR
    assert Metric.from_json(None) == Metric.from_json({}) == ACCURACY
    assert Metric.from_json({"key": "error"}) == RECONSTRUCTION_ERROR  # only the key: the known metric's words
    assert Metric.from_json({"key": "error", "label": "MSE", "extra": 1}).label == "MSE"
    assert metric_named("acc") == ACCURACY and metric_named("f1").label == "f1"


def test_live_metrics_keep_the_events_metric_and_default_to_accuracy():
    old = LiveMetrics()
    old.start(10, 5, 2)  # an event from before the metric was named
    assert old.view().metric == ACCURACY
    job = Job("ae", None, status="starting")
    event = {"event": "start", "total_steps": 4, "steps_per_epoch": 2, "metric": RECONSTRUCTION_ERROR.to_json()}
    job.apply(event)
    job.apply({"event": "add_steps", "step": 2, "losses": [0.2, float("nan")], "accs": [0.1, 0.09]})
    v = job.live.view()
    assert v.metric == RECONSTRUCTION_ERROR and job.status == "running"
    np.testing.assert_allclose(v.acc, [0.1, 0.09])
    job.apply({"event": "_change", "step": 99})  # not one of the calls a worker sends: no other method is reached
    assert job.live.view().step == 2 and job.status == "running"
    legacy = Job("old", None, status="starting")
    legacy.apply({k: v for k, v in event.items() if k != "metric"})
    assert legacy.live.view().metric == ACCURACY


def test_an_in_process_trainer_and_a_run_folder_say_reconstruction_error(tmp_path):
    live = LiveMetrics()
    run = train_run(
        DataConfig.make("digits", train_subset=100),
        AE,
        TINY_TRAIN,
        TINY_RECORD,
        root=tmp_path,
        callbacks=[live],
    )
    v = live.view()
    assert v.metric == RECONSTRUCTION_ERROR and len(v.acc) == len(v.loss) > 0
    folder = LiveMetrics.of_run(run.folder, read_manifest(run.folder)).view()  # a reused run: read from its folder
    assert folder.metric == RECONSTRUCTION_ERROR
    np.testing.assert_allclose(folder.acc, run.steps()["error"])
    mlp = train_run(
        DataConfig.make("moons", n_samples=100), MLPConfig(hidden=(4,)), TINY_TRAIN, TINY_RECORD, root=tmp_path
    )
    assert LiveMetrics.of_run(mlp.folder, read_manifest(mlp.folder)).view().metric == ACCURACY


def test_the_curves_name_the_metric_and_its_direction():
    loss, acc = np.linspace(2, 0.1, 50), np.linspace(0.3, 1, 50)
    plain = training_curves(loss, acc, [{"epoch": 1, "test_loss": 0.9, "test_acc": 0.7}], steps_per_epoch=25)
    assert plain.layout.yaxis2.title.text == "accuracy" and plain.layout.yaxis2.tickformat == ".0%"
    assert plain.layout.yaxis.title.text == "cross-entropy loss"
    titles = [a.text for a in plain.layout.annotations]
    assert titles[0].startswith("Loss<br>") and "(lower is better)" in titles[0]
    assert titles[1].startswith("Accuracy<br>") and "(higher is better)" in titles[1]
    error = np.linspace(0.2, 0.03, 50)
    epochs = [{"epoch": 1, "test_loss": 0.1, "test_error": 0.08}, {"epoch": 2, "test_loss": 0.05, "test_error": 0.04}]
    fig = training_curves(loss, error, epochs, metric=RECONSTRUCTION_ERROR, steps_per_epoch=25)
    assert fig.layout.yaxis2.title.text == "reconstruction error (MSE)" and fig.layout.yaxis2.tickformat is None
    title = fig.layout.annotations[1].text
    assert title.startswith("Reconstruction error (MSE)<br>") and "(lower is better)" in title
    assert "accuracy" not in json.dumps(fig.to_plotly_json()["layout"])
    test_points = [t for t in fig.data if t.yaxis == "y2" and t.mode == "lines+markers"]
    assert len(test_points) == 1 and list(test_points[0].y) == [0.08, 0.04]  # the epochs' test_error, not test_acc
    assert "reconstruction error (MSE)" in fig.data[3].hovertemplate


def test_the_train_page_labels_an_autoencoders_curve(app_dirs, jobs, monkeypatch):
    spec = JobSpec(
        DataConfig.make("digits", train_subset=100),
        AE,
        TINY_TRAIN,
        TINY_RECORD,
        root=app_dirs["runs"],
        name="ae-curves",
        data_dir=str(app_dirs["data"]),
    )
    job = jobs.start(spec, "digits · autoencoder")
    assert job.wait(180) and job.status == "complete", job.error
    at = app_test(monkeypatch)
    at.session_state[TRAIN_JOB_KEY] = job.id
    at.switch_page("app_pages/train.py").run()
    assert not errors(at), errors(at)
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    curves = [s for s in specs if "yaxis2" in s["layout"]]
    assert len(curves) == 1 and curves[0]["layout"]["yaxis2"]["title"]["text"] == "reconstruction error (MSE)"
    assert any("reconstruction error (MSE) (right)" in c.value for c in at.caption)
    assert any("test reconstruction error (MSE) **" in s.value for s in at.success), [s.value for s in at.success]
