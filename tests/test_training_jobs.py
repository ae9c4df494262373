"""The job registry as the app uses it: quick starts shared by sessions, a waiting job's panel, a restarted job."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from appkit.session.current import PENDING_KEY, RUN_KEY
from appkit.training import job_spec
from appkit.training.form import TRAIN_JOB_KEY
from appkit.training.jobs import OWNER_KEY
from nnlab import DataConfig, MLPConfig, RecordConfig, TrainConfig
from nnlab.jobs import RESTART_MESSAGE, JobRegistry
from tests.app_harness import app_dirs, app_test, errors, jobs  # noqa: F401  (fixtures)


def test_the_second_quick_start_opens_the_first_ones_run_at_once(app_dirs, jobs, monkeypatch):  # noqa: F811
    first = app_test(monkeypatch)
    first.button(key="home_quick").click().run(timeout=180)
    assert not errors(first), errors(first)
    run_id = first.session_state[RUN_KEY]
    second = app_test(monkeypatch)  # another student's session
    second.button(key="home_quick").click().run(timeout=30)
    assert not errors(second) and second.session_state[RUN_KEY] == run_id
    assert [p.name for p in app_dirs["runs"].iterdir()] == [run_id]  # trained once
    assert first.session_state[OWNER_KEY] != second.session_state[OWNER_KEY]


def long_spec():
    return job_spec(
        DataConfig.make("moons", n_samples=200),
        MLPConfig(hidden=(8,)),
        TrainConfig(batch_size=32, epochs=3000),
        RecordConfig(snapshots=200, eval_size=40),
    )


def test_a_waiting_job_shows_its_place_and_can_be_cancelled(app_dirs, jobs, monkeypatch):  # noqa: F811
    monkeypatch.setattr(jobs, "max_running", 1)
    running = jobs.start(long_spec(), "someone's", owner="someone")
    quick = TrainConfig(batch_size=32, epochs=2)
    mine = jobs.start(job_spec(DataConfig.make("moons", n_samples=200), train=quick), "mine", owner="me")
    assert mine.queued
    at = app_test(monkeypatch)
    at.session_state[OWNER_KEY] = "me"
    at.session_state[TRAIN_JOB_KEY] = mine.id
    at.switch_page("app_pages/train.py").run()
    text = " ".join(i.value for i in at.info)
    assert not errors(at) and "number 1 in the queue, starts in about" in text, text
    at.button(key="train_cancel").click().run()
    assert mine.status == "cancelled" and not errors(at)
    running.stop()
    assert running.wait(60)


def _panel(job_id: str) -> None:
    from appkit.training import training_panel

    training_panel(job_id, False)


def test_a_job_interrupted_by_a_restart_says_so_and_opens_its_run(app_dirs, jobs, monkeypatch):  # noqa: F811
    old = JobRegistry(1, spare=False)  # the server before its restart
    job = old.start(long_spec(), "long")
    while job.alive and job.live.view().snapshots < 2:
        job.wait(0.05)
    old.shutdown()
    assert job.status == "interrupted" and jobs.get(job.id) is None  # the server now does not know it
    at = AppTest.from_function(_panel, args=(job.id,)).run()  # the Train page's panel for that ?job=
    text = " ".join(w.value for w in at.warning)
    assert not at.exception and "server was restarted" in text and RESTART_MESSAGE in text
    at.button(key="train_look").click().run()
    assert at.session_state[PENDING_KEY] == (job.run_id, None)  # it opens as the current run


def test_the_train_page_reloaded_with_an_unknown_job_says_what_happened(app_dirs, jobs, monkeypatch):  # noqa: F811
    at = app_test(monkeypatch)
    at.query_params["job"] = "0123456789"
    at.switch_page("app_pages/train.py").run()
    text = " ".join(w.value for w in at.warning)
    assert not errors(at) and "server was restarted" in text
    assert not any("Nothing is training" in i.value for i in at.info)
