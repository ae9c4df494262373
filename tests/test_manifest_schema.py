"""nnlab.runs.schema: real manifests pass; type-confused, nested, huge, missing and truncated ones are damaged runs.

The fuzz tests start from a real manifest, mutate it with hypothesis, and check that every result is either a run
that opens and lists (and whose listed values format) or a damaged run with a reason in words, and that an upload
is either imported whole or refused with a reason, leaving nothing behind: never an exception.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import zipfile

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from nnlab.cli import main
from nnlab.runs import ManifestError, Run, RunError, export_zip, import_zip, parse_manifest, scan_runs
from nnlab.runs.schema import MAX_DEPTH, MAX_MANIFEST_BYTES, nesting_depth

FUZZ = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
DEEP = "__deep__"  # a leaf that is replaced, in the JSON text, by lists nested thousands deep

leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(),  # NaN and infinities too
    st.text(max_size=20),
    st.sampled_from(["", "x" * 30_000, "snapshots/0001.safetensors", "2024-05-01T12:00:00", "complete", DEEP]),
)
values = st.recursive(
    leaves,
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids, max_size=4),
    max_leaves=12,
)


@pytest.fixture(scope="module")
def fuzz_root(tiny_run, tmp_path_factory):
    """A runs folder holding one copy of the tiny run, whose manifest each example rewrites."""
    root = tmp_path_factory.mktemp("fuzz-runs")
    shutil.copytree(tiny_run.folder, root / "fuzz")
    return root


def _paths(value, path=()):
    """Every place in a JSON tree: (path to the container, key or index)."""
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        yield (*path, key)
        yield from _paths(item, (*path, key))


def _at(tree, path):
    for key in path:
        tree = tree[key]
    return tree


def _mutate(manifest: dict, data) -> str:
    """One to three random changes (replace, delete, add), as JSON text."""
    for _ in range(data.draw(st.integers(1, 3), label="changes")):
        paths = list(_paths(manifest))
        path = data.draw(st.sampled_from(paths), label="where")
        parent, key = _at(manifest, path[:-1]), path[-1]
        action = data.draw(st.sampled_from(["replace", "delete", "add"]), label="action")
        if action == "replace":
            parent[key] = data.draw(values, label="value")
        elif action == "delete":
            del parent[key]
        elif isinstance(parent, dict):
            parent[data.draw(st.text(max_size=12), label="new key")] = data.draw(values, label="value")
        else:
            parent.append(data.draw(values, label="value"))
    text = json.dumps(manifest)
    depth = data.draw(st.integers(MAX_DEPTH - 2, 5_000), label="depth")
    return text.replace(json.dumps(DEEP), "[" * depth + "]" * depth)


def _check_listing(root) -> str:
    """List `root` as the app and the CLI do; the one run is either open (and formats) or damaged with a reason."""
    runs, damaged = scan_runs(root)
    assert len(runs) + len(damaged) == 1
    if damaged:
        (bad,) = damaged
        assert bad.id == "fuzz" and isinstance(bad.reason, str) and bad.reason
        assert str(root) not in bad.reason  # no server path
        with pytest.raises(RunError):
            Run(root / "fuzz")
    else:
        (run,) = runs
        acc = run.final_accuracy
        assert acc is None or isinstance(acc, float | int)
        for info in run.snapshots:  # what the sidebar's caption formats
            f"{info['step']} {info['epoch']:.2f} {info.get('eval_acc') or 0:.1%}"  # noqa: B018
        assert all(isinstance(name, str) for name in run.class_names)
        assert isinstance(run.status, str) and isinstance(run.created, str) and isinstance(run.message, str)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["runs", "--runs-dir", str(root)]) == 0
    assert "fuzz" in out.getvalue()
    return "damaged" if damaged else "ok"


def test_a_real_manifest_passes_unchanged(tiny_run):
    raw = (tiny_run.folder / "manifest.json").read_bytes()
    assert parse_manifest(raw) == json.loads(raw)


def test_an_image_run_manifest_passes(tmp_path):
    from nnlab import CNNConfig, DataConfig, RecordConfig, TrainConfig, train_run

    run = train_run(  # train_run opens the run it recorded, through the schema
        DataConfig.make("digits", train_subset=100),
        CNNConfig(input_shape=(1, 8, 8), n_classes=10, channels=(2,), hidden=(4,)),
        TrainConfig(batch_size=50, epochs=1, seed=0),
        RecordConfig(snapshots=1, eval_size=20),
        root=tmp_path,
        name="cnn",
    )
    assert run.manifest["dataset"]["stats"]["shape"] == [1, 1, 1]  # per-channel statistics, as nested lists


def test_an_own_loop_manifest_passes(tiny_run):
    m = json.loads((tiny_run.folder / "manifest.json").read_bytes())
    m["model"] = {"kind": "custom", "class": "MyNet", "repr": "MyNet(\n  (fc): Linear(...)\n)"}
    m["data"] = {"name": "custom", "options": {}, "train_subset": None, "subset_seed": 0}
    m["dataset"] = {"name": "custom", "class_names": ["a", "b"], "input_shape": [2]}
    m["train"], m["did_not_learn"], m["from_the_future"] = {}, True, {"anything": [1, "two"]}
    m["epochs"].append({"epoch": 3, "step": 15, "test_acc": 0.5, "my_metric": "whatever"})
    assert parse_manifest(json.dumps(m).encode())["from_the_future"] == {"anything": [1, "two"]}


@pytest.mark.parametrize(
    "change, reason",
    [
        (lambda m: m.update(created=1), r"bad 'created': input should be a valid string"),
        (lambda m: m.update(created="yesterday"), "not a date and time"),
        (lambda m: m["snapshots"][1].update(eval_acc="high"), r"'snapshots\[1\]\.eval_acc'"),
        (lambda m: m["snapshots"][1].update(eval_acc=1.5), "fraction between 0 and 1"),
        (lambda m: m["snapshots"][1].pop("step"), r"no 'snapshots\[1\]\.step' entry"),
        (lambda m: m["model"].pop("kind"), r"no 'model\.kind' entry"),
        (lambda m: m["data"].update(name=7), r"'data\.name'"),
        (lambda m: m["data"]["options"].update(name="x"), "may not be called 'name'"),
        (lambda m: m["writer"].update(pid=[1]), r"'writer\.pid'"),
        (lambda m: m.update(status="<b>done</b>"), "short lowercase word"),
        (lambda m: m.update(message="x" * 20_001), "20,001 characters at message"),
        (lambda m: m.update(did_not_learn="yes"), "did_not_learn"),
        (lambda m: m["dataset"]["stats"].update(shape=[3]), "do not match their shape"),
        (lambda m: m.update(snapshots=m["snapshots"] * 1001), "at most 5000 items"),
        (lambda m: m.update(format_version=True), "format version True"),
    ],
)
def test_each_broken_rule_is_named_in_words(tiny_run, change, reason):
    m = json.loads((tiny_run.folder / "manifest.json").read_bytes())
    change(m)
    with pytest.raises(ManifestError, match=reason) as e:
        parse_manifest(json.dumps(m).encode())
    assert str(e.value).startswith("manifest.json ")


def test_size_and_depth_are_checked_before_parsing():
    with pytest.raises(ManifestError, match="is 4.0 MB; a manifest is at most 4 MB"):
        parse_manifest(b" " * (MAX_MANIFEST_BYTES + 1))
    for deep in (b"[" * 100_000 + b"]" * 100_000, b'{"a": ' * 50_000 + b"1" + b"}" * 50_000, b"[" * 10**6):
        with pytest.raises(ManifestError, match=r"nests [1-9]0+ levels deep; a manifest nests at most 24"):
            parse_manifest(deep)
    assert nesting_depth('{"a": "[[[[ not brackets \\" [[[", "b": [[1]]}') == 3
    with pytest.raises(ManifestError, match="not valid JSON"):
        parse_manifest(b'{"format_version": 1, "x": ' + b"9" * 5000 + b"}")  # too long for int()
    with pytest.raises(ManifestError, match="not valid Unicode"):
        parse_manifest(b'{"format_version": 1, "name": "\\ud800"}')


@FUZZ
@given(data=st.data())
def test_fuzzed_manifests_open_or_are_damaged_with_a_reason(tiny_run, fuzz_root, data):
    manifest = json.loads((tiny_run.folder / "manifest.json").read_bytes())
    (fuzz_root / "fuzz" / "manifest.json").write_text(_mutate(manifest, data))
    event(_check_listing(fuzz_root))  # both outcomes come up (see --hypothesis-show-statistics)


@FUZZ
@given(raw=st.binary(max_size=300) | st.integers(0, 10_000))
def test_fuzzed_bytes_and_truncations_are_damaged_with_a_reason(tiny_run, fuzz_root, raw):
    real = (tiny_run.folder / "manifest.json").read_bytes()
    content = real[: raw % len(real)] if isinstance(raw, int) else raw  # a manifest cut short, or any bytes
    (fuzz_root / "fuzz" / "manifest.json").write_bytes(content)
    assert _check_listing(fuzz_root) == "damaged"


@settings(FUZZ, max_examples=100)
@given(data=st.data())
def test_fuzzed_uploads_are_imported_whole_or_refused_with_a_reason(tiny_run, tmp_path_factory, data):
    manifest = json.loads((tiny_run.folder / "manifest.json").read_bytes())
    with zipfile.ZipFile(io.BytesIO(export_zip(tiny_run.folder))) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    members["manifest.json"] = _mutate(manifest, data).encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, content in members.items():
            zf.writestr(name, content)
    root = tmp_path_factory.mktemp("uploads")
    try:
        path = import_zip(root, buf.getvalue(), "upload")
    except RunError as e:
        assert str(e) and str(root) not in str(e)
        assert list(root.iterdir()) == []  # nothing written
        event("refused")
    else:
        assert Run(path).name == "upload" and [p.name for p in root.iterdir()] == ["upload"]
        event("imported")
