"""The Train page through AppTest: the form, the architecture preview, and background training that survives
reruns, widget changes, page switches and a reloaded tab."""

from __future__ import annotations

import time
from dataclasses import replace

from streamlit.testing.v1 import AppTest

from appkit.session.current import RUN_KEY, SNAP_KEY
from appkit.session.owner import IDENTITY_KEY
from appkit.training import job_spec
from appkit.training.form import TRAIN_JOB_KEY
from nnlab import DataConfig, MLPConfig, RecordConfig, TrainConfig
from nnlab.runs import Run
from tests import app_harness
from tests.app_harness import APP, app_test, errors

app_dirs, jobs = app_harness.app_dirs, app_harness.jobs  # the shared fixtures

PAGE = "app_pages/train.py"


def watched(at, registry):
    return registry.get(at.session_state[TRAIN_JOB_KEY])


def page_watching(monkeypatch, job):
    """The Train page in a new session that watches `job` (as after pressing Start, or Watch)."""
    at = app_test(monkeypatch)
    at.session_state[TRAIN_JOB_KEY] = job.id
    return at.switch_page(PAGE).run()


def test_first_load_shows_the_form_and_the_architecture(app_dirs, jobs, monkeypatch):
    at = app_test(monkeypatch, PAGE)
    assert not errors(at), errors(at)
    table = at.dataframe[0].value
    assert list(table["layer"]) == ["dense1", "relu1", "dense2", "relu2", "out"]
    assert any("8,770 parameters" in c.value for c in at.caption)  # 2·128+128 + 128·64+64 + 64·2+2
    assert not at.button(key="train_start").disabled
    assert any("Nothing is training" in i.value for i in at.info)


def test_widget_changes_update_the_network_and_bad_input_is_explained(app_dirs, jobs, monkeypatch):
    at = app_test(monkeypatch, PAGE)
    at.selectbox(key="train_dataset").set_value("digits").run()
    at.segmented_control(key="train_kind").set_value("CNN").run()
    assert not errors(at), errors(at)
    assert list(at.dataframe[0].value["layer"])[:3] == ["conv1", "relu1", "pool1"]
    at.text_input(key="train_cnn_channels").set_value("8, lots").run()
    assert any("whole numbers" in e for e in errors(at)) and at.button(key="train_start").disabled
    at.text_input(key="train_cnn_channels").set_value("4").run()
    at.selectbox(key="train_optimizer").set_value("sgd").run()
    at.slider(key="train_momentum").set_value(0.5).run()
    at.segmented_control(key="train_kind").set_value("MLP").run()
    at.text_input(key="train_mlp_hidden").set_value("").run()  # no hidden layer: a linear model
    assert not errors(at) and list(at.dataframe[0].value["layer"]) == ["out"]


def test_a_network_over_the_budget_is_refused_before_it_is_built(app_dirs, jobs, monkeypatch):
    at = app_test(monkeypatch, PAGE)
    at.selectbox(key="train_dataset").set_value("digits").run()
    at.text_input(key="train_mlp_hidden").set_value("4096, 4096").run()  # 17 M parameters: 275 GB asked before
    text = " ".join(errors(at))
    assert "17,088,522 parameters" in text and "5,000,000" in text and "NNLAB_MAX_PARAMS" in text
    assert at.button(key="train_start").disabled and not at.exception and not at.dataframe
    monkeypatch.setenv("NNLAB_MAX_PARAMS", "20000000")
    at.run()
    assert not errors(at) and not at.button(key="train_start").disabled  # the server's limit decides


def test_training_survives_reruns_widget_changes_page_switches_and_a_reload(app_dirs, jobs, monkeypatch):
    at = app_test(monkeypatch, PAGE)
    at.slider(key="train_epochs").set_value(4).run()
    at.slider(key="train_snapshots").set_value(20).run()
    at.button(key="train_start").click().run()
    assert not errors(at), errors(at)
    job = watched(at, jobs)
    assert job is not None and at.query_params["job"] == job.id
    # While it trains: rerun, change widgets, visit every other page of mine, come back.
    at.run()
    at.slider(key="train_epochs").set_value(2).run()
    at.selectbox(key="train_dataset").set_value("circles").run()
    for page in ("app_pages/home.py", "app_pages/datasets.py", "app_pages/runs.py", PAGE):
        at.switch_page(page).run()
        assert not errors(at), (page, errors(at))
    assert watched(at, jobs) is job and len(jobs.jobs()) >= 1
    # A reloaded tab is a new session that only has the address: it finds the same job, starts nothing.
    reloaded = AppTest.from_file(str(APP), default_timeout=60)
    reloaded.query_params["job"] = job.id
    reloaded.session_state[IDENTITY_KEY] = at.session_state[IDENTITY_KEY]  # the cookie
    reloaded.run()
    reloaded.switch_page(PAGE).run()
    assert not errors(reloaded) and reloaded.session_state[TRAIN_JOB_KEY] == job.id
    assert any(job.label in m.value for m in reloaded.markdown)
    # ...and its form shows that job's settings (moons, 4 epochs, 20 snapshots), not the defaults or the other tab's.
    assert reloaded.selectbox(key="train_dataset").value == "moons"
    assert reloaded.slider(key="train_epochs").value == 4 and reloaded.slider(key="train_snapshots").value == 20
    assert job.wait(180), "training did not finish"
    at.run()
    assert not errors(at), errors(at)
    run = Run(job.folder)
    assert job.status == run.status == "complete"
    assert [e["epoch"] for e in run.epochs] == [1, 2, 3, 4]  # the 4 epochs it started with, not the 2 set later
    assert len(run) == 21 and run.data_config.name == "moons"  # every snapshot: the initial state and 20 more
    assert run.snapshots[-1]["step"] == job.live.view().total_steps
    assert any("Finished" in s.value for s in at.success)
    at.button(key="train_look").click().run()
    assert at.session_state[RUN_KEY] == run.id and at.session_state[SNAP_KEY] == 20


def test_stop_ends_training_and_keeps_what_was_recorded(app_dirs, jobs, monkeypatch):
    at = app_test(monkeypatch, PAGE)
    at.slider(key="train_epochs").set_value(50).run()
    at.button(key="train_start").click().run()
    job = watched(at, jobs)
    deadline = time.monotonic() + 120
    while job.live.view().step < 5 and job.alive and time.monotonic() < deadline:
        time.sleep(0.05)
    at.run()
    at.button(key="train_stop").click().run()
    assert job.wait(60) and job.status == "stopped"
    at.run()
    assert not errors(at), errors(at)
    run = Run(job.folder)
    assert run.status == "stopped" and len(run) >= 2 and run.snapshots[-1]["step"] == job.live.view().step
    assert any("Stopped at step" in i.value for i in at.info)


def test_a_diverged_run_says_what_happened_and_what_to_try(app_dirs, jobs, monkeypatch):
    spec = job_spec(
        DataConfig.make("moons", n_samples=200),
        MLPConfig(hidden=(64, 64, 64, 64)),  # SGD at the top of the learning-rate range blows it up
        TrainConfig(optimizer="sgd", lr=10, batch_size=32, epochs=2),
        RecordConfig(snapshots=4),
    )
    job = jobs.start(spec, "moons · too fast")
    assert job.wait(120) and job.status == "diverged"
    at = page_watching(monkeypatch, job)
    text = " ".join(e.value for e in at.error)
    assert "diverged" in text and "smaller" in text and not at.exception
    at.button(key="train_look").click().run()  # what was recorded before it blew up can be opened
    assert at.session_state[RUN_KEY] == job.run_id


def test_a_full_server_says_so_and_starts_nothing(app_dirs, jobs, monkeypatch):
    monkeypatch.setattr(jobs, "max_running", 0)
    at = app_test(monkeypatch, PAGE)
    at.button(key="train_start").click().run()
    assert not at.exception and any("limit" in w.value for w in at.warning)
    assert TRAIN_JOB_KEY not in at.session_state and not list(app_dirs["runs"].iterdir())


def test_a_run_that_did_not_learn_gets_advice(app_dirs, jobs, monkeypatch):
    """Adam at lr 10 on moons completes at chance: the panel says so with the advice the run recorded."""
    spec = job_spec(
        DataConfig.make("moons", n_samples=200),
        MLPConfig(hidden=(8,)),
        TrainConfig(lr=10, batch_size=32, epochs=2),
        RecordConfig(snapshots=4),
    )
    job = jobs.start(spec, "moons · adam at 10")
    assert job.wait(120) and job.status == "complete", job.error
    run = Run(job.folder)
    assert run.manifest["did_not_learn"] is True
    at = page_watching(monkeypatch, job)
    assert not at.exception and any("Finished" in s.value for s in at.success)
    advice = " ".join(w.value for w in at.warning)
    assert "learning rate 10 is probably too large" in advice and "Other usual causes" in advice
    assert advice == run.message  # the page and the manifest say the same (nnlab.analysis.learning)


def test_a_full_disk_says_so_in_words_and_what_was_recorded_can_be_opened(app_dirs, jobs, monkeypatch):
    spec = replace(
        job_spec(
            DataConfig.make("moons", n_samples=200),
            MLPConfig(hidden=(8,)),
            TrainConfig(batch_size=32, epochs=2),
            RecordConfig(snapshots=4),
        ),
        imports=("tests.full_disk_worker",),  # the worker's third snapshot file hits a full disk
    )
    job = jobs.start(spec, "moons · full disk")
    assert job.wait(120) and job.status == "failed"
    at = page_watching(monkeypatch, job)
    text = " ".join(e.value for e in at.error)
    assert not at.exception and "Training failed" in text and "The disk is full" in text and "error.log" in text
    at.button(key="train_look").click().run()  # the two snapshots before it open
    assert at.session_state[RUN_KEY] == job.run_id and len(Run(job.folder)) == 2
