"""The Runs page through AppTest: the table, open, rename, delete with confirmation, download, upload."""

from __future__ import annotations

import pytest

import appkit
from nnlab.runs import export_zip
from tests import app_harness
from tests.app_harness import app_test, copy_run, errors

app_dirs, jobs = app_harness.app_dirs, app_harness.jobs  # the shared fixtures

PAGE = "app_pages/runs.py"


def test_empty_runs_page_offers_an_upload(app_dirs, jobs, monkeypatch):
    at = app_test(monkeypatch, PAGE)
    assert not errors(at) and any("No runs yet" in i.value for i in at.info)
    assert at.file_uploader(key="runs_upload") is not None


def test_table_lists_each_run_with_dataset_network_accuracy_status_and_date(app_dirs, jobs, tiny_run, monkeypatch):
    copy_run(tiny_run, app_dirs["runs"], "run-a")
    at = app_test(monkeypatch, PAGE)
    assert not errors(at), errors(at)
    (row,) = at.dataframe[0].value.to_dict("records")
    assert row["run"] == "run-a" and row["dataset"].startswith("moons") and row["network"] == "MLP 8-8 (relu)"
    assert row["accuracy"] == pytest.approx(100 * tiny_run.final_accuracy) and row["status"] == "complete"
    assert row["snapshots"] == len(tiny_run) and row["created"].year >= 2024


def test_rename_checks_the_name_and_the_current_run_follows(app_dirs, jobs, tiny_run, monkeypatch):
    copy_run(tiny_run, app_dirs["runs"], "run-a")
    at = app_test(monkeypatch, PAGE)
    at.text_input(key="runs_new_name_run-a").set_value("../escape").run()
    at.button(key="runs_rename").click().run()
    assert any("not a valid run name" in e for e in errors(at)) and (app_dirs["runs"] / "run-a").is_dir()
    at.text_input(key="runs_new_name_run-a").set_value("my-moons").run()
    at.button(key="runs_rename").click().run()
    assert not errors(at), errors(at)
    assert sorted(p.name for p in app_dirs["runs"].iterdir()) == ["my-moons"]
    assert at.session_state[appkit.RUN_KEY] == "my-moons" and at.selectbox(key="runs_pick").value == "my-moons"


def test_delete_asks_first_and_cancel_keeps_the_run(app_dirs, jobs, tiny_run, monkeypatch):
    copy_run(tiny_run, app_dirs["runs"], "run-a")
    copy_run(tiny_run, app_dirs["runs"], "run-b")
    at = app_test(monkeypatch, PAGE)
    at.selectbox(key="runs_pick").set_value("run-b").run()
    at.button(key="runs_delete").click().run()
    assert any("cannot be undone" in w.value for w in at.warning)
    at.button(key="runs_delete_no").click().run()
    assert not at.warning and (app_dirs["runs"] / "run-b").is_dir()
    at.button(key="runs_delete").click().run()
    at.button(key="runs_delete_yes").click().run()
    assert not errors(at), errors(at)
    assert sorted(p.name for p in app_dirs["runs"].iterdir()) == ["run-a"]
    assert at.sidebar.selectbox(key=appkit.RUN_KEY).options == ["run-a"]


def test_download_offers_the_run_zip(app_dirs, jobs, tiny_run, monkeypatch):
    copy_run(tiny_run, app_dirs["runs"], "run-a")
    at = app_test(monkeypatch, PAGE)
    button = at.get("download_button")[0]
    assert "Download" in button.proto.label and not button.proto.disabled


def test_upload_adds_a_valid_run_and_rejects_anything_else(app_dirs, jobs, tiny_run, monkeypatch):
    at = app_test(monkeypatch, PAGE)
    at.file_uploader(key="runs_upload").set_value(("junk.zip", b"this is not a zip", "application/zip")).run()
    at.button(key="runs_import").click().run()
    assert any("not a zip" in e for e in errors(at)) and not list(app_dirs["runs"].iterdir())
    at.file_uploader(key="runs_upload").set_value(("From Laptop.zip", export_zip(tiny_run.folder), "application/zip"))
    at.run()
    assert (
        at.text_input(key=next(k for k in at.session_state if k.startswith("runs_upload_name_"))).value == "From-Laptop"
    )
    at.button(key="runs_import").click().run()
    assert not errors(at), errors(at)
    assert [p.name for p in app_dirs["runs"].iterdir()] == ["From-Laptop"]
    assert at.session_state[appkit.RUN_KEY] == "From-Laptop"
    assert any("Added run" in s.value for s in at.success)
