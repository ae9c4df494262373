"""A run's sparse autoencoders travel in its zip: exported with it, imported and loaded back; an SAE that does not
fit the run (another point's width, a point the network has not, half of its files, a header that is not its entry,
sizes past the limits) is refused in words and nothing is left behind."""

from __future__ import annotations

import io
import json
import shutil
import zipfile

import pytest
import torch

from nnlab.analysis import sae
from nnlab.runs import RunError, export_zip, import_zip


@pytest.fixture
def with_sae(tiny_run, tmp_path):
    folder = tmp_path / "src" / "tiny"
    shutil.copytree(tiny_run.folder, folder)
    saved = sae.train_in_run(folder, "relu1", None, 12, 2, epochs=2)
    return folder, saved


def rezip(data: bytes, change) -> bytes:
    """The zip `data` with its members passed through `change(name, bytes) -> bytes | None` (None drops it)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            new = change(info.filename, src.read(info))
            if new is not None:
                dst.writestr(info.filename, new)
    return out.getvalue()


def test_an_sae_travels_in_the_runs_zip(with_sae, runs_root):
    folder, saved = with_sae
    data = export_zip(folder)
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert f"features/{saved.name}/sae.json" in names and f"features/{saved.name}/sae.safetensors" in names
    dst = import_zip(runs_root, data, "back")
    m, entry = sae.load_sae(dst / "features" / saved.name, d_in=8)
    original, _ = sae.load_sae(saved)
    x = torch.rand(5, 8)
    torch.testing.assert_close(m.reconstruct(x), original.reconstruct(x))
    assert [e["name"] for e in sae.list_saes(dst)] == [saved.name]


def entry_change(key, value):
    def change(name, raw):
        if name.endswith("sae.json"):
            entry = json.loads(raw)
            entry[key] = value
            return json.dumps(entry).encode()
        return raw

    return change


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (entry_change("point", "relu2x"), "names the point 'relu2x'"),
        (entry_change("snapshot", 99), "names snapshot 99"),
        (entry_change("width", 10**5), "outside the limits"),
        (entry_change("d_in", 9), "does not fit its entry"),
        (lambda name, raw: None if name.endswith("sae.safetensors") else raw, "without the other file"),
        (lambda name, raw: raw[:-4] if name.endswith("sae.safetensors") else raw, "corrupt"),
    ],
)
def test_an_sae_that_does_not_fit_is_refused_and_nothing_is_left(with_sae, runs_root, change, words):
    folder, _ = with_sae
    bad = rezip(export_zip(folder), change)
    with pytest.raises(RunError, match=words):
        import_zip(runs_root, bad, "bad")
    assert list(runs_root.iterdir()) == []


def test_an_sae_for_another_points_width_is_refused(with_sae, runs_root, tiny_run):
    folder, saved = with_sae
    entry = json.loads((saved / "sae.json").read_text())
    other = folder / "features" / "relu1-s0-w12-k2"
    shutil.copytree(saved, other)
    entry.update(point="softmax", snapshot=0)  # the output: 2 values, where the SAE reads 8
    (other / "sae.json").write_text(json.dumps(entry))
    with pytest.raises(RunError, match="8 values where the point has 2"):
        import_zip(runs_root, export_zip(folder), "bad")
    assert list(runs_root.iterdir()) == []
