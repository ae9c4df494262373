"""Who owns what, through AppTest with two students' sessions (and a teacher's): B never sees A's runs or jobs and
cannot stop, rename or delete them; shared runs are marked; a deleted run says so; the teacher sees and shares."""

from __future__ import annotations

import json
import shutil

from appkit.session.current import RUN_KEY
from appkit.session.owner import IDENTITY_KEY, TEACHER_KEY, TOKEN_KEY
from appkit.training import job_spec
from appkit.training.form import TRAIN_JOB_KEY
from nnlab import DataConfig, MLPConfig, RecordConfig, TrainConfig
from tests.app_harness import APP, app_dirs, errors, jobs  # noqa: F401  (fixtures)

TOKEN = "let-me-teach"


def session(who: str, page: str | None = None, *, teacher: bool = False):
    """One browser's session as student `who` (the identity source a browser's cookie would give)."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=60)
    at.secrets["nnlab"] = {"teacher_token": TOKEN}
    at.session_state[IDENTITY_KEY] = who
    at.run()
    if teacher:
        at.sidebar.text_input(key=TOKEN_KEY).input(TOKEN).run()
    if page:
        at.switch_page(page).run()
    assert not errors(at), errors(at)
    return at


def put(tiny_run, root, name: str, **fields) -> str:
    shutil.copytree(tiny_run.folder, root / name)
    path = root / name / "manifest.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **fields}))
    return name


def run_options(at) -> list[str]:
    return list(at.sidebar.selectbox(key=RUN_KEY).options)


def test_b_sees_their_own_runs_and_the_shared_ones_marked_never_as(app_dirs, tiny_run, jobs):  # noqa: F811
    root = app_dirs["runs"]
    put(tiny_run, root, "alice-run", owner="alice")
    put(tiny_run, root, "bob-run", owner="bob")
    put(tiny_run, root, "old-run")  # written before owners: shared with everyone
    put(tiny_run, root, "lesson-run", owner="teach", shared=True)
    put(tiny_run, root, "reused-run", owner="alice", shared_with=["bob"])
    b = session("bob")
    assert sorted(run_options(b)) == [
        "bob-run",
        "lesson-run · shared",
        "old-run · shared",
        "reused-run · shared with you",
    ]
    home = b.dataframe[0].value
    assert "alice-run" not in set(home["run"]) and dict(zip(home["run"], home["whose"], strict=True)) == {
        "bob-run": "yours",
        "lesson-run": "shared",
        "old-run": "shared",
        "reused-run": "shared with you",
    }
    b.switch_page("app_pages/runs.py").run()
    assert not errors(b) and "alice-run" not in set(b.dataframe[0].value["run"])
    assert not any("alice" in o for o in b.selectbox(key="runs_pick").options)
    b.switch_page("app_pages/compare.py").run()
    assert not any("alice-run" in o for o in b.multiselect(key="compare_runs").options)
    a = session("alice", "app_pages/runs.py")
    assert "bob-run" not in set(a.dataframe[0].value["run"])


def test_b_cannot_rename_or_delete_a_run_shared_with_them(app_dirs, tiny_run, jobs):  # noqa: F811
    root = app_dirs["runs"]
    put(tiny_run, root, "reused-run", owner="alice", shared_with=["bob"])
    b = session("bob", "app_pages/runs.py")
    assert b.session_state["runs_pick"] == "reused-run"
    keys = {w.key for w in b.button}
    assert "runs_open" in keys and "runs_rename" not in keys and "runs_delete" not in keys
    assert any("read-only" in c.value for c in b.caption)
    mine = session("alice", "app_pages/runs.py")
    assert {"runs_rename", "runs_delete"} <= {w.key for w in mine.button}


def test_b_never_sees_as_training_nor_stops_it(app_dirs, jobs, monkeypatch):  # noqa: F811
    spec = job_spec(
        DataConfig.make("moons", n_samples=200),
        MLPConfig(hidden=(8,)),
        TrainConfig(batch_size=32, epochs=3000),
        RecordConfig(snapshots=200, eval_size=40),
    )
    job = jobs.start(spec, "alice's secret training", owner="alice")
    try:
        b = session("bob", "app_pages/train.py")
        shown = " ".join(e.value for e in [*b.markdown, *b.caption])
        assert "alice's secret training" not in shown and "Also training" not in shown
        assert "1 other training is running on this server" in shown
        assert not any(w.key.startswith("train_watch_") for w in b.button)
        b.query_params["job"] = job.id  # A's ?job= link, copied
        b.run()
        assert not errors(b) and any("not one of yours" in w.value for w in b.warning)
        assert "train_stop" not in {w.key for w in b.button} and job.alive
        a = session("alice")
        a.session_state[TRAIN_JOB_KEY] = job.id
        a.switch_page("app_pages/train.py").run()
        assert "train_stop" in {w.key for w in a.button}
        t = session("teacher", "app_pages/train.py", teacher=True)
        assert any(w.key == f"train_watch_{job.id}" for w in t.button)  # the teacher sees every training
        t.button(key=f"train_watch_{job.id}").click().run()
        t.button(key="train_stop").click().run()
        assert job.wait(60) and job.status == "stopped"
    finally:
        job.stop()
        job.wait(60)


def test_the_teacher_sees_every_run_and_shares_one_with_the_class(app_dirs, tiny_run, jobs):  # noqa: F811
    root = app_dirs["runs"]
    put(tiny_run, root, "alice-run", owner="alice")
    wrong = session("carol")
    wrong.sidebar.text_input(key=TOKEN_KEY).input("guess").run()
    assert not wrong.session_state[TEACHER_KEY]
    assert any("not the teacher token" in c.value for c in wrong.caption)
    assert not wrong.sidebar.selectbox  # carol has no run, and alice's is not hers to see
    t = session("teacher", "app_pages/runs.py", teacher=True)
    assert t.selectbox(key="runs_pick").options == ["alice-run · a student's"]
    assert {"runs_rename", "runs_delete"} <= {w.key for w in t.button}
    t.toggle(key="runs_share_alice-run").set_value(True).run()
    assert not errors(t) and json.loads((root / "alice-run" / "manifest.json").read_text())["shared"] is True
    assert run_options(session("bob")) == ["alice-run · shared"]


def test_a_run_deleted_while_viewed_says_so(app_dirs, tiny_run, jobs):  # noqa: F811
    root = app_dirs["runs"]
    put(tiny_run, root, "old-run")
    put(tiny_run, root, "alice-run", owner="alice", shared=True)
    b = session("bob")
    b.session_state[RUN_KEY] = "alice-run"
    b.switch_page("app_pages/class_averages.py").run()
    assert not errors(b)
    shutil.rmtree(root / "alice-run")  # its owner deleted it
    b.run()
    words = [w.value for w in b.warning]
    assert any("alice-run" in w and "has been deleted" in w for w in words), words
    assert b.session_state[RUN_KEY] is None  # not silently switched to old-run
    b.sidebar.selectbox(key=RUN_KEY).select("old-run").run()
    assert not errors(b) and not any("deleted" in w.value for w in b.warning)


def test_a_new_browser_is_asked_to_keep_its_id_in_a_cookie_by_a_script_not_a_component(app_dirs):  # noqa: F811
    """The cookie's setter must not report back to the server: a component's rerun could undo a page link clicked
    meanwhile (seen in Chromium). An id that is not anonymous (a logged-in user's) is never put in a cookie."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    who = at.session_state[IDENTITY_KEY]
    scripts = [h.proto.body for h in at.get("html") if "<script" in h.proto.body]  # not the sidebar's <style>
    assert len(scripts) == 1 and f'document.cookie = "nnlab_id={who}; max-age=31536000; path=/;' in scripts[0]
    assert not at.get("component_instance") and not at.get("bidi_component")
    logged = session("u" + "0" * 23)
    assert not [h for h in logged.get("html") if "document.cookie" in h.proto.body]
