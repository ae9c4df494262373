"""The app's frame through AppTest: the router, the shared sidebar (run + training-time slider), the quick start."""

from __future__ import annotations

import pytest

from appkit.frame import navigation
from appkit.frame.navigation import PAGES_KEY
from appkit.session.current import PENDING_KEY, RUN_KEY, SNAP_KEY
from nnlab.runs import Run
from tests import app_harness
from tests.app_harness import app_test, copy_run, errors

app_dirs, jobs = app_harness.app_dirs, app_harness.jobs  # the shared fixtures

MY_PAGES = ["app_pages/home.py", "app_pages/datasets.py", "app_pages/train.py", "app_pages/runs.py"]


def sidebar_text(at) -> str:
    return " ".join(c.value for c in at.sidebar.caption)


def test_app_starts_on_home_with_no_runs(app_dirs, jobs, monkeypatch):
    at = app_test(monkeypatch)
    assert not errors(at)
    assert at.title[0].value.startswith("nnlab")
    assert "No runs yet" in sidebar_text(at) and not at.sidebar.selectbox
    assert at.button(key="home_quick").label == "Quick start: train on two moons"
    assert list(at.session_state[PAGES_KEY]) == list(navigation.SECTIONS)


@pytest.mark.parametrize("page", MY_PAGES)
def test_each_page_loads_with_a_run_in_the_sidebar(page, app_dirs, jobs, tiny_run, monkeypatch):
    run_id = copy_run(tiny_run, app_dirs["runs"])
    at = app_test(monkeypatch, page)
    assert not errors(at), errors(at)
    assert at.sidebar.selectbox(key=RUN_KEY).value == run_id
    assert at.sidebar.slider(key=SNAP_KEY).value == len(tiny_run) - 1  # starts at the last snapshot


def test_sidebar_slider_and_run_picker_drive_the_current_snapshot(app_dirs, jobs, tiny_run, monkeypatch):
    a = copy_run(tiny_run, app_dirs["runs"], "run-a")
    b = copy_run(tiny_run, app_dirs["runs"], "run-b")
    at = app_test(monkeypatch)
    assert "status: complete" in sidebar_text(at) and f"Step {tiny_run.snapshots[-1]['step']} " in sidebar_text(at)
    at.sidebar.slider(key=SNAP_KEY).set_value(0).run()
    assert not errors(at) and "Step 0 " in sidebar_text(at) and at.session_state[SNAP_KEY] == 0
    at.sidebar.selectbox(key=RUN_KEY).set_value(b if at.session_state[RUN_KEY] == a else a).run()
    assert not errors(at) and at.session_state[SNAP_KEY] == 0  # the slider keeps its place


def test_set_current_run_takes_effect_on_the_next_rerun(app_dirs, jobs, tiny_run, monkeypatch):
    copy_run(tiny_run, app_dirs["runs"], "run-a")
    copy_run(tiny_run, app_dirs["runs"], "run-b")
    at = app_test(monkeypatch)
    at.session_state[PENDING_KEY] = ("run-b", 1)
    at.run()
    assert at.session_state[RUN_KEY] == "run-b" and at.session_state[SNAP_KEY] == 1
    at.session_state[PENDING_KEY] = ("no-such-run", None)
    at.run()
    assert not errors(at) and at.session_state[RUN_KEY] == "run-b"


def test_a_run_that_cannot_be_read_is_skipped(app_dirs, jobs, tiny_run, monkeypatch):
    copy_run(tiny_run, app_dirs["runs"], "good")
    (app_dirs["runs"] / "broken").mkdir()
    (app_dirs["runs"] / "broken" / "manifest.json").write_text("{not json")
    at = app_test(monkeypatch)
    assert not errors(at) and at.sidebar.selectbox(key=RUN_KEY).options == ["good"]


def test_quick_start_trains_in_the_background_and_makes_it_the_current_run(app_dirs, jobs, monkeypatch):
    at = app_test(monkeypatch)
    at.button(key="home_quick").click().run(timeout=180)
    assert not errors(at), errors(at)
    run_id = at.session_state[RUN_KEY]
    assert run_id.startswith("quickstart-moons")
    run = Run(app_dirs["runs"] / run_id)
    assert run.status == "complete" and len(run) == 51 and run.final_accuracy >= 0.9
    assert at.session_state[SNAP_KEY] == 50 and "status: complete" in sidebar_text(at)
    assert any("Current run" in s.value for s in at.success)
