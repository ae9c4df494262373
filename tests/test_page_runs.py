"""The Runs page through AppTest: the table, open, rename, delete with confirmation, download, upload; damaged runs."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from appkit.session.current import RUN_KEY
from nnlab.runs import export_zip
from tests import app_harness
from tests.app_harness import APP, app_test, copy_run, errors

app_dirs, jobs = app_harness.app_dirs, app_harness.jobs  # the shared fixtures

PAGE = "app_pages/runs.py"


def test_empty_runs_page_offers_an_upload(app_dirs, jobs, monkeypatch):
    at = app_test(monkeypatch, PAGE)
    assert not errors(at) and any("No runs yet" in i.value for i in at.info)
    assert at.file_uploader(key="runs_upload") is not None
    shown = [e.value for e in [*at.caption, *at.markdown, *at.info]]
    assert any("this server's runs folder" in c for c in shown)
    assert not any(str(app_dirs["runs"]) in c for c in shown)  # the server's path is not shown to visitors


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
    assert at.session_state[RUN_KEY] == "my-moons" and at.selectbox(key="runs_pick").value == "my-moons"


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
    assert at.sidebar.selectbox(key=RUN_KEY).options == ["run-a"]


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
    assert at.session_state[RUN_KEY] == "From-Laptop"
    assert any("Added run" in s.value for s in at.success)


# --- damaged runs: listed apart on the Runs page, never offered elsewhere, explained on every page ---------------
ALL_PAGES = sorted(str(p.relative_to(APP.parent)) for p in (APP.parent / "app_pages").glob("*.py"))


def _edit(folder, change):
    m = json.loads((folder / "manifest.json").read_text())
    change(m)
    (folder / "manifest.json").write_text(json.dumps(m))


def test_a_damaged_run_is_listed_with_its_reason_and_can_be_downloaded_and_deleted(
    app_dirs, jobs, tiny_run, monkeypatch
):
    copy_run(tiny_run, app_dirs["runs"], "good")
    _edit(app_dirs["runs"] / copy_run(tiny_run, app_dirs["runs"], "poisoned"), lambda m: m.update(created=1))
    at = app_test(monkeypatch, PAGE)
    assert not errors(at), errors(at)
    assert at.sidebar.selectbox(key=RUN_KEY).options == ["good"]  # never offered to the analysis pages
    assert [r["run"] for r in at.dataframe[0].value.to_dict("records")] == ["good"]
    (bad,) = at.dataframe[1].value.to_dict("records")
    assert bad["run"] == "poisoned" and "bad 'created'" in bad["what is wrong"]
    assert str(app_dirs["runs"]) not in bad["what is wrong"]

    at.selectbox(key="runs_pick").set_value("poisoned").run()
    assert not errors(at), errors(at)
    assert any("damaged" in w.value for w in at.warning) and any("bad 'created'" in t.value for t in at.text)
    assert not at.get("download_button")[0].proto.disabled
    at.button(key="runs_delete").click().run()
    at.button(key="runs_delete_yes").click().run()
    assert not errors(at), errors(at)
    assert sorted(p.name for p in app_dirs["runs"].iterdir()) == ["good"] and len(at.dataframe) == 1


def test_an_upload_that_breaks_the_schema_is_refused_with_the_reason(app_dirs, jobs, tiny_run, monkeypatch):
    with zipfile.ZipFile(io.BytesIO(export_zip(tiny_run.folder))) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    m = json.loads(members["manifest.json"])
    m["created"] = 1
    members["manifest.json"] = json.dumps(m).encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    at = app_test(monkeypatch, PAGE)
    at.file_uploader(key="runs_upload").set_value(("poisoned.zip", buf.getvalue(), "application/zip")).run()
    at.button(key="runs_import").click().run()
    assert [e for e in errors(at)] == [
        "This zip cannot be added: The zip's manifest.json has a bad 'created': input should be a valid string"
    ]
    assert not list(app_dirs["runs"].iterdir()) and not at.exception


def test_a_run_message_is_plain_text_not_markdown(app_dirs, jobs, tiny_run, monkeypatch):
    _edit(app_dirs["runs"] / copy_run(tiny_run, app_dirs["runs"], "a"), lambda m: m.update(message="**loud** [x](y)"))
    at = app_test(monkeypatch, PAGE)
    assert any(t.value == "Its last word: **loud** [x](y)" for t in at.text)
    assert not any("loud" in c.value for c in [*at.caption, *at.markdown])


def test_a_snapshot_without_accuracy_shows_a_dash_in_the_sidebar(app_dirs, jobs, tiny_run, monkeypatch):
    _edit(
        app_dirs["runs"] / copy_run(tiny_run, app_dirs["runs"], "a"), lambda m: m["snapshots"][-1].update(eval_acc=None)
    )
    at = app_test(monkeypatch)
    assert not errors(at), errors(at)
    assert any("accuracy - · status: complete" in c.value for c in at.sidebar.caption)


@pytest.mark.parametrize(
    "file, read_by_a_page",
    [("snapshots/0004.safetensors", True), ("eval.safetensors", True), ("steps.safetensors", False)],
)
def test_a_corrupt_run_file_is_one_sentence_on_every_page_never_a_traceback(
    app_dirs, jobs, tiny_run, monkeypatch, file, read_by_a_page
):
    run_id = copy_run(tiny_run, app_dirs["runs"], "hurt")
    (app_dirs["runs"] / run_id / file).write_bytes(bytes(range(256)) * 4)
    expected = f"Run 'hurt' is damaged: its file {file} is corrupt"
    explained = []
    for page in ALL_PAGES:
        at = app_test(monkeypatch, page)
        assert not at.exception, (page, [e.value for e in at.exception])
        for e in errors(at):
            assert e.startswith(expected) and str(app_dirs["runs"]) not in e, (page, e)
            explained.append(page)
    assert bool(explained) == read_by_a_page  # the pages that read the file say so; no page reads the step losses


def test_compare_leaves_out_a_run_it_cannot_read(app_dirs, jobs, tiny_run, monkeypatch):
    for name in ("a", "b", "hurt"):
        copy_run(tiny_run, app_dirs["runs"], name)
    (app_dirs["runs"] / "hurt" / "snapshots/0002.safetensors").write_bytes(b"junk" * 100)
    at = app_test(monkeypatch)
    at.session_state["compare_runs"] = ["hurt", "a", "b"]
    at.switch_page("app_pages/compare.py").run()
    assert not errors(at), errors(at)
    assert any("Run 'hurt' is damaged" in w.value and "left out" in w.value for w in at.warning)
    assert len(at.get("plotly_chart")) == 3  # the comparison of the other two
