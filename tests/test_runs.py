"""nnlab.runs: round trips, replay, crashes, bad folders with clear errors, and run management."""

import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from nnlab import Callback, DataConfig, MLPConfig, RecordConfig, Run, RunError, RunWriter, TrainConfig, load_dataset
from nnlab.cli import main
from nnlab.models import forward_points
from nnlab.pipeline import make_trainer
from nnlab.record import snapshot_steps
from nnlab.runs import (
    DamagedRun,
    check_name,
    delete_run,
    export_zip,
    import_zip,
    list_damaged,
    list_runs,
    new_run_folder,
    rename_run,
    scan_runs,
)

DATA = DataConfig.make("moons", n_samples=200)


def _copy(run, root, name="copy"):
    root.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copytree(run.folder, root / name))


def _edit_manifest(folder, change):
    m = json.loads((folder / "manifest.json").read_text())
    change(m)
    (folder / "manifest.json").write_text(json.dumps(m))


def _tree(root):
    return sorted(str(p.relative_to(root)) for p in Path(root).rglob("*"))


class KeepAtSnapshots(Callback):
    """Copies the model's state and its own forward pass on `x` at every snapshot step."""

    def __init__(self, x, n):
        self.x, self.n, self.states, self.outputs = x, n, [], []

    def keep(self, trainer):
        model = trainer.model
        self.states.append({k: v.detach().clone() for k, v in model.state_dict().items()})
        model.eval()
        with torch.no_grad():
            self.outputs.append({k: v.numpy().copy() for k, v in forward_points(model, self.x).items()})
        model.train()

    def on_train_start(self, trainer):
        self.steps = set(snapshot_steps(trainer.total_steps, self.n))
        self.keep(trainer)

    def on_step_end(self, trainer, loss, acc):
        if trainer.step in self.steps:
            self.keep(trainer)


def test_save_load_round_trip_and_replay_are_exact(tmp_path):
    ds = load_dataset(DATA)
    x = ds.prepare(ds.x_test[:15])
    model = MLPConfig(hidden=(6, 5), batch_norm=True, dropout=0.1)
    train = TrainConfig(batch_size=32, epochs=2, seed=4)
    keep = KeepAtSnapshots(x, 3)
    trainer, folder = make_trainer(
        DATA,
        model,
        train,
        RecordConfig(snapshots=3, eval_size=40),
        root=tmp_path,
        name="rt",
        callbacks=(keep,),
        dataset=ds,
    )
    trainer.fit()
    run = Run(folder)
    assert run.status == "complete" and folder.name.startswith("rt-")
    assert len(run) == len(keep.states) == 4
    for k in range(len(run)):
        params, buffers = run.group(k, "param"), run.group(k, "buffer")
        assert set(params) | set(buffers) == set(keep.states[k])
        for name, value in keep.states[k].items():
            assert torch.equal((params | buffers)[name], value), (k, name)
        replay = run.layer_outputs(k, x)
        assert list(replay) == list(keep.outputs[k])
        for name, value in keep.outputs[k].items():
            np.testing.assert_array_equal(replay[name], value, err_msg=f"{k} {name}")
    assert not run.model_at(1).training
    # the manifest describes the run
    assert run.data_config == DATA and run.model_config == model and run.train_config == train
    assert run.class_names == ["class 0", "class 1"]
    assert run.epochs == trainer.history and run.final_accuracy == trainer.history[-1]["test_acc"]
    assert len(run.steps()["loss"]) == trainer.total_steps == 10
    idx, labels = run.eval_set()
    np.testing.assert_array_equal(labels, ds.y_test[idx])
    assert np.bincount(labels).tolist() == [20, 20]
    assert torch.equal(run.dataset().prepare(ds.x_test), trainer.x_test)
    assert [p.name for p in run.points()] == ["dense1", "bn1", "relu1", "dense2", "bn2", "relu2", "out", "softmax"]
    assert "status='complete'" in repr(run)


KILL_SCRIPT = """
import os, sys
from nnlab import DataConfig, MLPConfig, RecordConfig, TrainConfig, make_trainer

class Die:
    def on_step_end(self, trainer, loss, acc):
        if trainer.step == 6:
            os._exit(3)

trainer, folder = make_trainer(DataConfig.make("spirals", n_samples=200, n_classes=2), MLPConfig(hidden=(4,)),
                               TrainConfig(batch_size=32, epochs=2), RecordConfig(snapshots=4, eval_size=40),
                               root=sys.argv[1], name="killed", callbacks=(Die(),))
print(folder, flush=True)
trainer.fit()
"""


def test_a_killed_process_leaves_a_run_readable_up_to_its_last_snapshot(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1]), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", KILL_SCRIPT, str(tmp_path)], capture_output=True, text=True, env=env, timeout=120
    )
    assert proc.returncode == 3, proc.stderr
    run = Run(proc.stdout.strip())
    assert run.status == "interrupted"  # the manifest says "running", but its writer is gone
    assert [s["step"] for s in run.snapshots] == [0, 2, 5]  # step 8 was never reached
    assert run.snapshot(-1)["param/dense1.weight"].shape == (4, 2)
    assert len(run.steps()["loss"]) == 5 and len(run.epochs) == 1
    assert [r.id for r in list_runs(tmp_path)] == [run.id]


def test_an_exception_in_training_marks_the_run_failed(tmp_path):
    class Boom(Callback):
        def on_step_end(self, trainer, loss, acc):
            if trainer.step == 6:
                raise MemoryError("out of memory")

    trainer, folder = make_trainer(
        DATA,
        MLPConfig(hidden=(4,)),
        TrainConfig(batch_size=32, epochs=2),
        RecordConfig(snapshots=4, eval_size=40),
        root=tmp_path,
        callbacks=(Boom(),),
    )
    with pytest.raises(MemoryError):
        trainer.fit()
    run = Run(folder)
    assert run.status == "failed" and "MemoryError: out of memory" in run.message
    assert [s["step"] for s in run.snapshots] == [0, 2, 5]


def test_stop_and_divergence_are_recorded(tmp_path):
    class StopAt(Callback):
        def on_step_end(self, trainer, loss, acc):
            if trainer.step == 3:
                trainer.stop()

    trainer, folder = make_trainer(
        DATA,
        MLPConfig(hidden=(4,)),
        TrainConfig(batch_size=32, epochs=2),
        RecordConfig(snapshots=4, eval_size=40),
        root=tmp_path,
        callbacks=(StopAt(),),
    )
    trainer.fit()
    run = Run(folder)
    assert run.status == "stopped" and [s["step"] for s in run.snapshots] == [0, 2, 3]  # a last one at the stop

    class Blow(Callback):  # what a far too large learning rate does (the config refuses one that large)
        def on_step_end(self, trainer, loss, acc):
            if trainer.step == 3:
                with torch.no_grad():
                    next(trainer.model.parameters()).fill_(float("inf"))

    trainer, folder = make_trainer(
        DATA,
        MLPConfig(hidden=(4,)),
        TrainConfig(optimizer="sgd", lr=0.1, batch_size=8),
        RecordConfig(snapshots=200, eval_size=40),
        root=tmp_path,
        callbacks=(Blow(),),
    )
    trainer.fit()
    run = Run(folder)
    assert run.status == "diverged" and "learning rate" in run.message
    assert [s["step"] for s in run.snapshots] == list(range(trainer.step + 1))  # every step before the bad one


def test_partial_files_from_a_crash_are_ignored(tiny_run, tmp_path):
    folder = _copy(tiny_run, tmp_path)
    (folder / "snapshots" / ".0005.safetensors.abc.tmp").write_bytes(b"half a file")
    _edit_manifest(folder, lambda m: m["snapshots"].pop())  # 0004 written, manifest not yet updated
    run = Run(folder)
    assert len(run) == 4 and run.snapshots[-1]["step"] == 8
    assert run.snapshot(-1)["pred"].shape == (40,)
    assert "snapshots/.0005.safetensors.abc.tmp" not in zipfile.ZipFile(io.BytesIO(export_zip(folder))).namelist()


def _garbage(folder):
    (folder / "snapshots/0002.safetensors").write_bytes(b"\x00\x01 not a safetensors file" * 10)


def _truncate(folder):
    path = folder / "snapshots/0002.safetensors"
    path.write_bytes(path.read_bytes()[:-100])


@pytest.mark.parametrize(
    "damage, error",
    [
        (lambda f: (f / "manifest.json").unlink(), "Not a run folder: .copy. has no manifest.json"),
        (lambda f: (f / "manifest.json").write_text("{not json"), "not valid JSON"),
        (lambda f: (f / "manifest.json").write_bytes(b"\xff\xfe\x00"), "not valid JSON"),
        (lambda f: (f / "manifest.json").write_text("[1, 2]"), "not a JSON object"),
        (lambda f: _edit_manifest(f, lambda m: m.update(format_version=99)), "format version 99.*reads version 1"),
        (lambda f: _edit_manifest(f, lambda m: m.pop("model")), "no 'model' entry"),
        (lambda f: _edit_manifest(f, lambda m: m.update(snapshots={"a": 1})), "damaged"),
        (lambda f: _edit_manifest(f, lambda m: m.update(epochs=[1], snapshots=[None])), "damaged"),
        (
            lambda f: (f / "snapshots/0003.safetensors").unlink(),
            r"'copy' is damaged: .* snapshots/0003\.safetensors is missing",
        ),
        (lambda f: _edit_manifest(f, lambda m: m["snapshots"][1].update(file="../../etc/passwd")), "outside the run"),
        (lambda f: _edit_manifest(f, lambda m: m["snapshots"][1].update(file="/etc/passwd")), "outside the run"),
        (lambda f: _edit_manifest(f, lambda m: m["snapshots"][1].update(file="snapshots/../../x")), "outside the run"),
        (lambda f: _edit_manifest(f, lambda m: m["snapshots"][1].update(file=["snapshots/x"])), "outside the run"),
    ],
    ids=[
        "no-manifest",
        "bad-json",
        "not-utf8",
        "json-list",
        "version",
        "no-model",
        "snapshots-dict",
        "snapshot-none",
        "missing-snapshot",
        "escape-up",
        "escape-absolute",
        "escape-inside",
        "file-not-str",
    ],
)
def test_bad_run_folders_give_clear_errors(tiny_run, tmp_path, damage, error):
    folder = _copy(tiny_run, tmp_path)
    damage(folder)
    with pytest.raises(RunError, match=error):
        Run(folder)
    assert list_runs(tmp_path) == []  # listing skips it


@pytest.mark.parametrize("damage", [_garbage, _truncate], ids=["garbage", "truncated"])
def test_a_corrupt_snapshot_file_is_a_clear_error(tiny_run, tmp_path, damage):
    folder = _copy(tiny_run, tmp_path)
    damage(folder)
    run = Run(folder)  # opening is cheap: files are read on demand
    assert run.snapshot(1)["pred"].shape == (40,)
    with pytest.raises(RunError, match=r"Run 'copy' is damaged: its file snapshots/0002\.safetensors is corrupt") as e:
        run.snapshot(2)
    with pytest.raises(RunError, match="corrupt"):
        run.layer_outputs(2, torch.zeros(1, 2))
    (folder / "steps.safetensors").write_bytes(b"junk")
    assert str(folder) not in str(e.value) and "another snapshot" in str(e.value)  # no server path; what to do
    with pytest.raises(RunError, match="steps.safetensors is corrupt"):
        run.steps()


def test_list_rename_delete(tiny_run, runs_root):
    a, b = _copy(tiny_run, runs_root, "a"), _copy(tiny_run, runs_root, "b")
    _edit_manifest(b, lambda m: m.update(created="2999-01-01T00:00:00"))
    (runs_root / "not-a-run").mkdir()
    (runs_root / "stray.txt").write_text("hi")
    _copy(tiny_run, runs_root, "broken")
    (runs_root / "broken/manifest.json").write_text("{")
    assert [r.id for r in list_runs()] == ["b", "a"]  # newest first; NNLAB_RUNS_DIR is the default root
    c, d = _copy(tiny_run, runs_root, "c"), _copy(tiny_run, runs_root, "d")  # created in the same second
    _edit_manifest(c, lambda m: m.update(created="2999-01-02T00:00:00", started=2.0))
    _edit_manifest(d, lambda m: m.update(created="2999-01-02T00:00:00", started=1.0))
    assert [r.id for r in list_runs()][:3] == ["c", "d", "b"]  # the one started last comes first
    shutil.rmtree(c), shutil.rmtree(d)
    assert list_runs(runs_root / "nothing-here") == []

    before = _tree(runs_root)
    for bad in ["../x", "a/b", "", ".", "..", "-x", ".hidden", "x" * 81, "a\\b", "a\x00", "/tmp/x", "ü"]:
        with pytest.raises(ValueError, match="not a valid run name"):
            rename_run(runs_root, "a", bad)
        with pytest.raises(ValueError, match="not a valid run name"):
            delete_run(runs_root, bad)
    with pytest.raises(RunError, match="already exists"):
        rename_run(runs_root, "a", "b")
    with pytest.raises(RunError, match="No run named 'zzz'"):
        rename_run(runs_root, "zzz", "c")
    with pytest.raises(RunError, match="No run named 'not-a-run'"):
        delete_run(runs_root, "not-a-run")
    assert _tree(runs_root) == before  # nothing changed on disk

    new = rename_run(runs_root, "a", "my_run.v2")
    assert new == (runs_root / "my_run.v2").resolve() and not a.exists()
    run = Run(new)
    assert run.id == run.name == "my_run.v2" and len(run) == 5
    delete_run(runs_root, "my_run.v2")
    delete_run(runs_root, "broken")  # a broken run can be deleted
    assert sorted(p.name for p in runs_root.iterdir()) == ["b", "not-a-run", "stray.txt"]
    assert check_name("run-1.2_x") == "run-1.2_x"


def test_a_run_still_training_can_be_neither_renamed_nor_deleted(tiny_run, runs_root):
    folder = _copy(tiny_run, runs_root, "live")
    _edit_manifest(folder, lambda m: m.update(status="running"))  # written by this (live) process
    assert Run(folder).status == "running"
    with pytest.raises(RunError, match="still training"):
        rename_run(runs_root, "live", "other")
    with pytest.raises(RunError, match="still training"):
        delete_run(runs_root, "live")
    assert folder.is_dir() and not (runs_root / "other").exists()
    _edit_manifest(folder, lambda m: m["writer"].update(pid=2**22 + 12345))  # no such process
    assert Run(folder).status == "interrupted"
    delete_run(runs_root, "live")
    assert not folder.exists()


def test_new_run_folder_names_are_unique_and_safe(tmp_path):
    a = new_run_folder(tmp_path, "my run/../x")
    b = new_run_folder(tmp_path, "my run/../x")
    assert a != b and a.parent == b.parent == tmp_path
    assert a.name.startswith("my-run-..-x-") and check_name(a.name) and check_name(b.name)
    assert new_run_folder(tmp_path, "///").name.startswith("run-")


def test_export_import_round_trip(tiny_run, runs_root):
    data = export_zip(tiny_run.folder)
    names = sorted(zipfile.ZipFile(io.BytesIO(data)).namelist())
    assert names == [
        "eval.safetensors",
        "manifest.json",
        *[f"snapshots/000{i}.safetensors" for i in range(5)],
        "steps.safetensors",
    ]
    path = import_zip(runs_root, data, "imported")
    run = Run(path)
    assert run.name == "imported" and run.status == "complete" and len(run) == len(tiny_run)
    assert {k: v for k, v in run.manifest.items() if k != "name"} == {
        k: v for k, v in tiny_run.manifest.items() if k != "name"
    }
    for k in range(len(run)):
        mine, theirs = run.snapshot(k), tiny_run.snapshot(k)
        assert mine.keys() == theirs.keys() and all(torch.equal(mine[key], theirs[key]) for key in mine)
    np.testing.assert_array_equal(run.steps()["loss"], tiny_run.steps()["loss"])
    with pytest.raises(RunError, match="already exists"):
        import_zip(runs_root, data, "imported")
    with pytest.raises(ValueError, match="not a valid run name"):
        import_zip(runs_root, data, "../evil")


def _zip(members, *, compression=zipfile.ZIP_DEFLATED):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, content in members.items():
            zf.writestr(name, content)
    return buf.getvalue()


def _members(run):
    with zipfile.ZipFile(io.BytesIO(export_zip(run.folder))) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


@pytest.mark.parametrize(
    "change, error",
    [
        ("not-a-zip", "not a zip file"),
        ({"../evil": b"x"}, r"holds '\.\./evil', which is not part of a run"),
        ({"/abs.json": b"x"}, "not part of a run"),
        ({"notes.txt": b"x"}, "not part of a run"),
        ({"snapshots/0001.py": b"x"}, "not part of a run"),
        ({"snapshots/0009.safetensors": bytes(8 * 2**20)}, "zip bomb"),
        ({"manifest.json": None}, "no manifest.json"),
        ({"manifest.json": b"{oops"}, "not valid JSON"),
        ({"snapshots/0001.safetensors": b"garbage" * 50}, r"zip's snapshots/0001\.safetensors is corrupt"),
        ({"snapshots/0004.safetensors": None}, r"lacks snapshots/0004\.safetensors, which its manifest lists"),
        ({"steps.safetensors": b"junk"}, "zip's steps.safetensors is corrupt"),
        ({"eval.safetensors": b"junk"}, "zip's eval.safetensors is corrupt"),
    ],
    ids=[
        "not-zip",
        "escape",
        "absolute",
        "unexpected",
        "odd-snapshot",
        "bomb",
        "no-manifest",
        "bad-manifest",
        "corrupt-snapshot",
        "missing-snapshot",
        "corrupt-steps",
        "corrupt-eval",
    ],
)
def test_import_rejects_bad_zips_and_leaves_nothing_behind(tiny_run, runs_root, change, error):
    if change == "not-a-zip":
        data = b"PK\x03\x04 this is not really a zip"
    else:
        members = _members(tiny_run)
        for name, content in change.items():
            if content is None:
                members.pop(name)
            else:
                members[name] = content
        data = _zip(members)
    (runs_root / "existing").mkdir()
    before = _tree(runs_root)
    with pytest.raises(RunError, match=error):
        import_zip(runs_root, data, "upload")
    assert _tree(runs_root) == before


def test_import_rejects_a_member_whose_data_does_not_match_its_checksum(tiny_run, runs_root):
    data = bytearray(export_zip(tiny_run.folder))
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as zf:
        info = zf.getinfo("snapshots/0002.safetensors")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    data[start + info.compress_size // 2] ^= 0xFF  # flip a byte inside the compressed data
    with pytest.raises(RunError, match="damaged"):
        import_zip(runs_root, bytes(data), "upload")
    assert _tree(runs_root) == []


def test_export_refuses_a_broken_run(tiny_run, tmp_path):
    folder = _copy(tiny_run, tmp_path)
    (folder / "snapshots/0001.safetensors").unlink()
    with pytest.raises(RunError, match="missing"):
        export_zip(folder)


# --- damaged runs: listed apart with the reason, never a crash, and still deleted or downloaded ------------------
def _deep(folder):
    text = (folder / "manifest.json").read_text()
    (folder / "manifest.json").write_text(text.replace('"dropout"', '"deep": ' + "[" * 50_000 + "]" * 50_000 + ', "x"'))


DAMAGES = {
    "created-int": (lambda f: _edit_manifest(f, lambda m: m.update(created=1)), "bad 'created'"),
    "deep": (_deep, "nests 50002 levels deep"),
    "truncated": (lambda f: (f / "manifest.json").write_bytes((f / "manifest.json").read_bytes()[:-40]), "not valid"),
    "missing-snapshot": (
        lambda f: (f / "snapshots/0004.safetensors").unlink(),
        "snapshots/0004.safetensors is missing",
    ),
    "no-manifest": (lambda f: (f / "manifest.json").unlink(), "has no manifest.json"),
}


@pytest.mark.parametrize("damage", DAMAGES.values(), ids=DAMAGES.keys())
def test_a_damaged_run_is_listed_apart_with_its_reason_and_can_be_deleted(tiny_run, runs_root, damage, capsys):
    change, reason = damage
    _copy(tiny_run, runs_root, "good")
    change(_copy(tiny_run, runs_root, "bad"))
    runs, damaged = scan_runs(runs_root)
    assert [r.id for r in runs] == [r.id for r in list_runs()] == ["good"]
    assert damaged == list_damaged() and [d.id for d in damaged] == ["bad"] and isinstance(damaged[0], DamagedRun)
    assert reason in damaged[0].reason and str(runs_root) not in damaged[0].reason

    assert main(["runs", "--runs-dir", str(runs_root)]) == 0  # the CLI lists both, the damaged one with its reason
    out = capsys.readouterr().out
    assert out.splitlines()[1].startswith("good ") and "1 damaged run" in out and reason in out

    names = zipfile.ZipFile(io.BytesIO(export_zip(runs_root / "bad", damaged=True))).namelist()
    assert "steps.safetensors" in names  # downloaded as it is, to look at elsewhere
    delete_run(runs_root, "bad")
    assert sorted(p.name for p in runs_root.iterdir()) == ["good"] and list_damaged() == []


def test_a_run_whose_snapshot_has_no_accuracy_still_opens(tiny_run, runs_root):
    _edit_manifest(_copy(tiny_run, runs_root, "a"), lambda m: [s.update(eval_acc=None) for s in m["snapshots"]])
    _edit_manifest(_copy(tiny_run, runs_root, "b"), lambda m: m.update(epochs=[]))
    _edit_manifest(runs_root / "b", lambda m: m["snapshots"][-1].update(eval_acc=None))
    assert Run(runs_root / "a").final_accuracy == tiny_run.final_accuracy  # from the epochs
    assert Run(runs_root / "b").final_accuracy is None


@pytest.mark.parametrize(
    "file, damage, words",
    [
        ("snapshots/0004.safetensors", os.urandom(500), "pick another snapshot or run in the sidebar"),
        ("eval.safetensors", os.urandom(500), "pick another run in the sidebar"),
        ("steps.safetensors", b"", "pick another run in the sidebar"),
    ],
)
def test_a_corrupt_file_is_one_sentence_naming_the_run_the_file_and_what_to_do(tiny_run, tmp_path, file, damage, words):
    folder = _copy(tiny_run, tmp_path, "hurt")
    (folder / file).write_bytes(damage)
    run = Run(folder)  # opening is cheap; the file is read when a page asks for it
    read = {"snapshots/0004.safetensors": lambda: run.snapshot(-1), "eval.safetensors": run.eval_set}
    with pytest.raises(RunError) as e:
        read.get(file, run.steps)()
    message = str(e.value)
    assert message.startswith(f"Run 'hurt' is damaged: its file {file} is corrupt") and words in message
    assert "delete this run on the Runs page" in message or "delete this one on the Runs page" in message
    assert str(tmp_path) not in message and message.count(". ") == 0  # one sentence, no server path


def test_import_keeps_only_the_files_its_manifest_names_and_refuses_too_many(tiny_run, runs_root):
    members = _members(tiny_run)
    extra = {f"snapshots/{i:04d}.safetensors": b"junk" for i in range(5, 40)}  # named by no snapshot
    path = import_zip(runs_root, _zip(members | extra), "kept")
    assert sorted(p.name for p in (path / "snapshots").iterdir()) == [f"{i:04d}.safetensors" for i in range(5)]
    junk = _zip({f"snapshots/{i:04d}.safetensors": b"" for i in range(10_000)} | members)
    with pytest.raises(RunError, match="holds 10,003 files; a run has at most 5,004"):
        import_zip(runs_root, junk, "junk")
    assert not (runs_root / "junk").exists()


@pytest.mark.parametrize(
    "change, error",
    [
        (lambda m: m.update(created=1), r"zip's manifest.json has a bad 'created'"),
        (lambda m: m["snapshots"][2].update(eval_acc="high"), r"zip's manifest.json has a bad 'snapshots\[2\]"),
        (lambda m: m.update(model=json.loads("[" * 27 + "1" + "]" * 27)), "nests 28 levels deep"),
    ],
    ids=["created-int", "type-confused", "deep"],
)
def test_import_refuses_a_manifest_that_breaks_the_schema(tiny_run, runs_root, change, error):
    members = _members(tiny_run)
    m = json.loads(members["manifest.json"])
    change(m)
    members["manifest.json"] = json.dumps(m).encode()
    with pytest.raises(RunError, match=error):
        import_zip(runs_root, _zip(members), "upload")
    assert _tree(runs_root) == []  # nothing written


def test_a_name_with_a_trailing_newline_is_refused(tiny_run, runs_root):
    for bad in ["x\n", "run-1\n", "a\r"]:
        with pytest.raises(ValueError, match="not a valid run name"):
            check_name(bad)
        with pytest.raises(ValueError, match="not a valid run name"):
            import_zip(runs_root, export_zip(tiny_run.folder), bad)
    assert _tree(runs_root) == []


def test_run_files_get_the_usual_permissions(tiny_run, runs_root):
    umask = os.umask(0o022)
    os.umask(umask)
    files = [p for p in tiny_run.folder.rglob("*") if p.is_file()]
    assert len(files) == 8 and {p.stat().st_mode & 0o777 for p in files} == {0o666 & ~umask}
    imported = import_zip(runs_root, export_zip(tiny_run.folder), "imported")
    assert imported.stat().st_mode & 0o777 == 0o777 & ~umask  # not mkdtemp's 0700


def test_a_run_being_written_can_be_read_as_it_grows(tmp_path):
    writer = RunWriter(tmp_path / "live", data=DATA.to_dict(), model={"kind": "custom"}, train={}, record={})
    run = Run(tmp_path / "live")
    assert run.status == "created" and len(run) == 0 and run.final_accuracy is None
    with pytest.raises(RunError, match="no snapshot yet"):
        run.snapshot(0)
    writer.start(total_steps=2)
    info = {"step": 0, "epoch": 0.0, "eval_acc": 0.5, "loss": None}
    writer.add_snapshot({"param/w": torch.ones(2)}, info, {"loss": np.zeros(0, np.float32)})
    assert run.refresh().status == "running" and len(run) == 1
    writer.add_epoch({"epoch": 1, "test_acc": 0.5})
    writer.finish("complete", "", {"loss": np.ones(2, np.float32)})
    assert run.refresh().status == "complete" and run.final_accuracy == 0.5 and run.model_config is None
    assert torch.equal(run.group(0, "param")["w"], torch.ones(2)) and run.steps()["loss"].tolist() == [1, 1]
    with pytest.raises(RunError, match="already exists and is not empty"):
        RunWriter(tmp_path / "live", data={}, model={}, train={}, record={})
