"""nnlab.runs.check: an imported or dropped-in run is checked before anything is built from it (issue 25).

Crafted zips (a network of two hidden layers of 60,000 units, a dataset named '../../etc/passwd', snapshots whose
shapes do not fit the manifest's network, an unknown kind, a header that claims 14 GB) are refused with a `RunError`
in a process whose address space is capped at 3 GB, leaving no folder behind; the same runs dropped into the runs
folder open for listing and fail with a `RunError` when their network or data is asked for. Hypothesis then mutates
manifests' networks and snapshot headers: opening gives a working run or a `RunError`, never another exception.
"""

from __future__ import annotations

import io
import json
import shutil
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from nnlab.runs import Run, RunError, export_zip, import_zip
from nnlab.runs.check import DTYPE_BYTES, read_header

REPO = Path(__file__).resolve().parents[1]
FUZZ = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


def members_of(run) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(export_zip(run.folder))) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def zipped(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in members.items():
            zf.writestr(name, content)
    return buf.getvalue()


def with_manifest(members: dict[str, bytes], change) -> dict[str, bytes]:
    m = json.loads(members["manifest.json"])
    change(m)
    return {**members, "manifest.json": json.dumps(m).encode()}


def split(raw: bytes) -> tuple[dict, bytes]:
    """A safetensors file's header and its data."""
    (n,) = struct.unpack("<Q", raw[:8])
    return json.loads(raw[8 : 8 + n]), raw[8 + n :]


def joined(header: dict, data: bytes) -> bytes:
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data


def huge_header(raw: bytes) -> bytes:
    """The snapshot with its first layer's weight claimed to be 60,000 × 60,000 (14.4 GB), its data unchanged."""
    header, data = split(raw)
    header["param/dense1.weight"]["shape"] = [60_000, 60_000]
    return joined(header, data)


def set_model(**values):
    return lambda m: m["model"].update(values)


def set_data(name):
    return lambda m: m["data"].update(name=name)


# The crafted zips: (what to change, the words the RunError must hold).
CRAFTED = {
    "wide": (
        lambda ms: with_manifest(ms, set_model(hidden=[60_000, 60_000])),
        ["manifest.json declares a network (MLP 60000-60000", "3,600,", "parameters", "5,000,000 (NNLAB_MAX_PARAMS)"],
    ),
    "passwd": (
        lambda ms: with_manifest(ms, set_data("../../etc/passwd")),
        ["the dataset '../../etc/passwd', which this server does not have", "moons"],
    ),
    "shapes": (
        lambda ms: with_manifest(ms, set_model(hidden=[8, 9])),
        [
            "snapshots/0000.safetensors does not fit the manifest's network",
            "param/dense2.weight is 8×8 where the network's is 9×8",
        ],
    ),
    "kind": (
        lambda ms: with_manifest(ms, set_model(kind="transformer9")),
        ["kind 'transformer9', which this nnlab does not know", "mlp, cnn", "'custom'"],
    ),
    "header": (
        lambda ms: {**ms, "snapshots/0001.safetensors": huge_header(ms["snapshots/0001.safetensors"])},
        ["snapshots/0001.safetensors is corrupt", "param/dense1.weight"],
    ),
}

LIMITED = """
import json, resource, sys
from pathlib import Path
from nnlab.models import MLPConfig, build_model
from nnlab.runs import RunError, import_zip

resource.setrlimit(resource.RLIMIT_AS, (3 * 2**30, 3 * 2**30))  # 3 GB of address space from here on
folder, root = Path(sys.argv[1]), Path(sys.argv[2])
out = {}
try:  # the cap bites: the declared network itself cannot be built here
    build_model(MLPConfig((2,), 2, (60_000, 60_000)))
    out["control"] = "built"
except RuntimeError as e:
    out["control"] = "RuntimeError"
for path in sorted(folder.glob("*.zip")):
    try:
        import_zip(root, path.read_bytes(), path.stem)
        out[path.stem] = ["imported", ""]
    except RunError as e:
        out[path.stem] = ["RunError", str(e)]
    except BaseException as e:
        out[path.stem] = [type(e).__name__, str(e)[:300]]
out["left"] = sorted(p.name for p in root.iterdir()) if root.exists() else []
print(json.dumps(out))
"""


def test_crafted_zips_are_refused_under_a_3_gb_address_space_leaving_nothing(tiny_run, tmp_path):
    ms = members_of(tiny_run)
    zips = tmp_path / "zips"
    zips.mkdir()
    for name, (craft, _) in CRAFTED.items():
        (zips / f"{name}.zip").write_bytes(zipped(craft(ms)))
    (zips / "whole.zip").write_bytes(zipped(ms))  # the run as exported: still imports under the cap
    root = tmp_path / "runs"
    done = subprocess.run(
        [sys.executable, "-c", LIMITED, str(zips), str(root)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "NNLAB_DATA_DIR": str(tmp_path / "no-data")},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["control"] == "RuntimeError"  # 14.4 GB do not fit in 3 GB: what opening the wide run used to try
    for name, (_, words) in CRAFTED.items():
        kind, message = out[name]
        assert kind == "RunError", (name, kind, message)
        assert message.startswith("The zip's "), message
        for w in words:
            assert w in message, (name, w, message)
        assert str(tmp_path) not in message  # no server path
    assert out["whole"] == ["imported", ""]
    assert out["left"] == ["whole"]  # no folder, hidden or not, from the refused ones


@pytest.fixture
def dropped(tiny_run, tmp_path):
    """Copy the tiny run into a runs folder, as a person would drop one in, and change its manifest."""

    def drop(change, name="dropped"):
        folder = Path(shutil.copytree(tiny_run.folder, tmp_path / "runs" / name))
        m = json.loads((folder / "manifest.json").read_text())
        change(m)
        (folder / "manifest.json").write_text(json.dumps(m))
        return folder

    return drop


def test_a_dropped_in_run_over_the_budget_opens_but_its_network_is_never_built(dropped, monkeypatch):
    import nnlab.runs.run as run_module

    run = Run(dropped(set_model(hidden=[60_000, 60_000])))  # listing reads the manifest alone
    built = []
    monkeypatch.setattr(run_module, "build_model", lambda cfg: built.append(cfg))
    with pytest.raises(RunError, match=r"cannot be opened: its manifest.json declares a network .*NNLAB_MAX_PARAMS"):
        run.model_at(0)
    assert built == []
    monkeypatch.setenv("NNLAB_MAX_PARAMS", str(10**10))  # a server allowed such networks would get this far
    with pytest.raises(RunError, match="snapshots/0000.safetensors does not fit the manifest's network"):
        Run(run.folder).model_at(0)
    assert built == []


def test_a_dropped_in_run_names_what_is_missing_and_what_there_is(dropped, tiny_run):
    with pytest.raises(
        RunError, match=r"dataset '\.\./\.\./etc/passwd', which this server does not have \(it has "
    ) as e:
        Run(dropped(set_data("../../etc/passwd"), "passwd")).dataset()
    assert isinstance(e.value, KeyError) and str(e.value).startswith("Run 'passwd' was trained on data that is not")
    with pytest.raises(RunError, match=r"kind 'transformer9', which this nnlab does not know \(it knows mlp, cnn"):
        Run(dropped(set_model(kind="transformer9"), "kind")).model_at(-1)
    with pytest.raises(RunError, match="param/dense2.weight is 8×8 where the network's is 9×8"):
        Run(dropped(set_model(hidden=[8, 9]), "shapes")).model_at(1)
    with pytest.raises(RunError, match=r"has no point 'relu9'; its points are dense1, relu1, .*, out, softmax"):
        tiny_run.point("relu9")
    assert tiny_run.point("relu1").shape == (8,)
    tiny_run.check_network()  # a run nnlab trained passes: every snapshot
    assert tiny_run.model_at(-1) is not None


def test_a_snapshot_header_is_read_without_its_data(tiny_run, tmp_path):
    path = tiny_run.folder / "snapshots" / "0000.safetensors"
    tensors = read_header(path, "snapshots/0000.safetensors")
    assert tensors["param/dense1.weight"] == ("F32", (8, 2))
    assert {k.split("/")[0] for k in tensors} >= {"param", "buffer"} or "param/out.bias" in tensors
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(huge_header(path.read_bytes()))
    with pytest.raises(RunError, match=r"bad.safetensors is corrupt \(tensor 'param/dense1.weight' does not fill"):
        read_header(bad, "bad.safetensors")


# --- property-based: manifests' networks and snapshot headers ----------------------------------------------------
def opens(folder: Path) -> str:
    """Open a run as the pages do: the run, every snapshot's network, the data. 'ok' or 'refused' (a RunError)."""
    try:
        run = Run(folder)
        for k in range(len(run)):
            run.model_at(k)
        run.dataset()
    except RunError as e:
        assert str(e) and str(folder.parent) not in str(e)
        return "refused"
    return "ok"


widths = st.lists(st.integers(min_value=-2, max_value=70_000), max_size=3)
model_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 100_000),
    st.text(max_size=10),
    widths,
    st.lists(st.one_of(st.integers(0, 5), st.text(max_size=3)), max_size=3),
)
model_keys = st.sampled_from(["kind", "hidden", "input_shape", "n_classes", "activation", "dropout", "batch_norm", "x"])


@FUZZ
@given(
    changes=st.dictionaries(model_keys, model_values, max_size=3),
    kind=st.sampled_from([None, "mlp", "cnn", "vit", "custom", "", "../x"]),
    data=st.sampled_from([None, "moons", "../../etc/passwd", "custom", ""]),
)
def test_fuzzed_manifest_networks_open_or_are_refused(tiny_run, tmp_path_factory, changes, kind, data):
    folder = Path(shutil.copytree(tiny_run.folder, tmp_path_factory.mktemp("fuzz-net") / "run"))
    m = json.loads((folder / "manifest.json").read_text())
    m["model"].update(changes)
    if kind is not None:
        m["model"]["kind"] = kind
    if data is not None:
        m["data"]["name"] = data
    (folder / "manifest.json").write_text(json.dumps(m))
    event(opens(folder))


def header_changes():
    tensor = st.fixed_dictionaries(
        {},
        optional={
            "dtype": st.sampled_from([*DTYPE_BYTES, "F33", "", 4]),
            "shape": st.lists(st.integers(-1, 70_000), max_size=3) | st.just([60_000, 60_000]) | st.text(max_size=3),
            "data_offsets": st.lists(st.integers(-1, 2**40), min_size=0, max_size=3),
        },
    )
    return st.lists(
        st.tuples(
            st.sampled_from(["param/dense1.weight", "param/out.bias", "grad/out.weight", "param/new", "x"]),
            st.one_of(tensor, st.none(), st.integers()),
        ),
        max_size=3,
    )


@FUZZ
@given(changes=header_changes(), length=st.one_of(st.none(), st.integers(0, 2**64 - 1)), cut=st.integers(0, 64))
def test_fuzzed_snapshot_headers_open_or_are_refused(tiny_run, tmp_path_factory, changes, length, cut):
    folder = Path(shutil.copytree(tiny_run.folder, tmp_path_factory.mktemp("fuzz-header") / "run"))
    path = folder / "snapshots" / "0001.safetensors"
    header, data = split(path.read_bytes())
    for name, value in changes:
        if value is None:
            header.pop(name, None)
        elif isinstance(value, dict) and isinstance(header.get(name), dict):
            header[name].update(value)
        else:
            header[name] = value
    raw = joined(header, data[: len(data) - cut])
    if length is not None:
        raw = struct.pack("<Q", length) + raw[8:]
    path.write_bytes(raw)
    result = opens(folder)
    if not changes and length is None and cut == 0:
        assert result == "ok"
    event(result)


def test_an_imported_fuzzed_header_is_refused_or_imported_whole(tiny_run, tmp_path):
    ms = members_of(tiny_run)
    header, data = split(ms["snapshots/0002.safetensors"])
    header["param/out.weight"]["dtype"] = "F64"  # twice the bytes its offsets hold
    root = tmp_path / "runs"
    with pytest.raises(RunError, match="The zip's snapshots/0002.safetensors is corrupt"):
        import_zip(root, zipped({**ms, "snapshots/0002.safetensors": joined(header, data)}), "bad")
    assert not root.exists() or list(root.iterdir()) == []
