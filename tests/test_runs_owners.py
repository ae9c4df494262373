"""Who sees and who changes a run (nnlab.runs.owners), and the library calls that refuse a viewer who may not."""

from __future__ import annotations

import dataclasses
import json
import shutil

import pytest

from nnlab.jobs import JobRegistry, JobSpec
from nnlab.runs import NotYours, RunError, Viewer, delete_run, export_zip, import_zip, parse_manifest, rename_run
from nnlab.runs.owners import (
    SHARED,
    SHARED_WITH_YOU,
    YOURS,
    can_see,
    check_may_see,
    may_change,
    relation,
    set_shared,
    share_with,
    visible,
)

ALICE, BOB = Viewer("alice"), Viewer("bob")
TEACHER = Viewer("t", teacher=True)


def owned(tiny_run, root, name: str, **fields) -> str:
    """A copy of the tiny run under `root` with these manifest fields."""
    shutil.copytree(tiny_run.folder, root / name)
    path = root / name / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest.update(fields)
    path.write_text(json.dumps(manifest))
    return name


def manifest(root, name):
    return json.loads((root / name / "manifest.json").read_text())


def test_the_rules_on_paper():
    mine = {"owner": "alice"}
    assert relation(mine, ALICE) == YOURS and relation(mine, BOB) is None and relation(mine, TEACHER) == "a student's"
    assert relation({}, BOB) == SHARED  # written before owners (or by the command line): shared with everyone
    assert relation({"owner": "alice", "shared": True}, BOB) == SHARED
    assert relation({"owner": "alice", "shared_with": ["bob"]}, BOB) == SHARED_WITH_YOU
    assert may_change(mine, ALICE) and not may_change(mine, BOB) and may_change(mine, TEACHER)
    assert not may_change({"owner": "alice", "shared_with": ["bob"]}, BOB)  # shared read-only
    assert not may_change({}, BOB) and may_change({}, Viewer("bob", keeper=True))  # ownerless: keeper or teacher
    assert not can_see(mine, Viewer("")) and can_see(mine, TEACHER)


def test_schema_takes_the_fields_and_refuses_a_bad_owner(tiny_run):
    raw = json.loads((tiny_run.folder / "manifest.json").read_text())
    ok = parse_manifest(json.dumps({**raw, "owner": "abc123", "shared": True, "shared_with": ["x"]}).encode())
    assert ok["owner"] == "abc123"
    with pytest.raises(ValueError, match="owner"):
        parse_manifest(json.dumps({**raw, "owner": "../../etc"}).encode())


def test_rename_and_delete_refuse_someone_elses_run(tiny_run, runs_root):
    name = owned(tiny_run, runs_root, "alices", owner="alice", shared_with=["bob"])
    with pytest.raises(NotYours, match="not yours"):
        rename_run(runs_root, name, "bobs", by=BOB)
    with pytest.raises(NotYours, match="not yours"):
        delete_run(runs_root, name, by=BOB)
    with pytest.raises(NotYours, match="No run named"):  # a stranger is not even told it exists
        delete_run(runs_root, name, by=Viewer("carol"))
    assert (runs_root / name).is_dir()
    rename_run(runs_root, name, "alices-2", by=ALICE)
    delete_run(runs_root, "alices-2", by=TEACHER)
    assert not any(runs_root.iterdir())


def test_only_who_may_see_a_folders_run_passes_the_check(tiny_run, runs_root):
    name = owned(tiny_run, runs_root, "alices", owner="alice")
    check_may_see(runs_root / name, ALICE, "no")
    check_may_see(runs_root / name, TEACHER, "no")
    with pytest.raises(NotYours, match="^not for carol$"):
        check_may_see(runs_root / name, Viewer("carol"), "not for carol")
    with pytest.raises(NotYours, match="^gone$"):
        check_may_see(runs_root / "no-such-run", TEACHER, "gone")  # a folder that cannot be read: nobody's to see


def test_share_with_and_the_teachers_switch(tiny_run, runs_root):
    name = owned(tiny_run, runs_root, "alices", owner="alice")
    assert share_with(runs_root / name, ["bob", "alice", "bob"])
    assert manifest(runs_root, name)["shared_with"] == ["bob"]
    assert not share_with(runs_root / name, ["bob"])  # already
    assert not share_with(runs_root / "deleted-meanwhile", ["bob"])  # nothing to share, and nothing written
    assert not (runs_root / "deleted-meanwhile").exists()
    with pytest.raises(NotYours):
        set_shared(runs_root / name, True, ALICE)
    set_shared(runs_root / name, True, TEACHER)
    assert relation(manifest(runs_root, name), Viewer("carol")) == SHARED


def test_an_import_is_the_uploaders_and_forgets_who_saw_it_elsewhere(tiny_run, runs_root):
    name = owned(tiny_run, runs_root, "elsewhere", owner="zed", shared=True, shared_with=["y"])
    data = export_zip(runs_root / name)
    import_zip(runs_root, data, "mine", owner="bob")
    m = manifest(runs_root, "mine")
    assert m["owner"] == "bob" and "shared" not in m and "shared_with" not in m


def test_visible_filters_in_order(tiny_run, runs_root):
    from nnlab.runs import list_runs

    for name, fields in [("a", {"owner": "alice"}), ("b", {"owner": "bob"}), ("c", {})]:
        owned(tiny_run, runs_root, name, **fields)
    runs = list_runs(runs_root)
    assert sorted(r.id for r in visible(runs, BOB)) == ["b", "c"]
    assert len(visible(runs, TEACHER)) == 3


def test_registry_writes_the_owner_and_shares_a_reused_run(tmp_path, runs_root):
    """A's training is A's run; B asking for the same configuration gets it shared read-only, and cannot stop it."""
    from nnlab import DataConfig, MLPConfig, RecordConfig, TrainConfig

    spec = JobSpec(
        DataConfig.make("moons", n_samples=100),
        MLPConfig(hidden=(4,)),
        TrainConfig(batch_size=50, epochs=1),
        RecordConfig(snapshots=2, eval_size=20),
        root=runs_root,
    )
    reg = JobRegistry(1, spare=False)
    try:
        a = reg.start(spec, "a's", owner="alice")
        assert not reg.may_stop(a, BOB) and reg.may_stop(a, ALICE) and reg.may_stop(a, TEACHER)
        with pytest.raises(NotYours):
            reg.stop(a.id, BOB)
        assert a in reg.visible(ALICE) and a not in reg.visible(BOB) and a in reg.visible(TEACHER)
        assert a.wait(120) and a.status == "complete"
        assert manifest(runs_root, a.run_id)["owner"] == "alice"
        b = reg.start(spec, "b's", owner="bob")
        assert b.reused and b.run_id == a.run_id
        m = manifest(runs_root, a.run_id)
        assert m["owner"] == "alice" and m["shared_with"] == ["bob"]
        preset = reg.start(dataclasses.replace(spec, shared=True), owner="carol")
        assert preset.reused and "carol" in manifest(runs_root, a.run_id)["shared_with"]  # the key ignores sharing
    finally:
        reg.shutdown()


def test_a_waiting_job_cannot_be_cancelled_by_a_stranger(runs_root):
    from nnlab import DataConfig, TrainConfig

    reg = JobRegistry(0, spare=False)  # nothing trains: every job would wait; use one by hand instead
    try:
        reg.max_running = 1
        long = JobSpec(DataConfig.make("moons", n_samples=100), train=TrainConfig(epochs=500), root=runs_root)
        first = reg.start(long, owner="alice")
        waiting = reg.start(JobSpec(DataConfig.make("moons", n_samples=120), root=runs_root), owner="bob")
        assert waiting.queued
        assert not reg.cancel(waiting.id, owner="carol") and waiting.queued
        assert reg.cancel(waiting.id, owner="bob") and waiting.status == "cancelled"
        first.stop()
        first.wait(60)
    finally:
        reg.shutdown()


def test_a_damaged_run_is_deleted_only_by_its_keeper(runs_root, tiny_run):
    name = owned(tiny_run, runs_root, "broken")
    (runs_root / name / "manifest.json").write_text("{")
    with pytest.raises(RunError):
        delete_run(runs_root, name, by=BOB)
    delete_run(runs_root, name, by=Viewer("bob", keeper=True))
