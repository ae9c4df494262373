"""Runs recorded before model kinds became plug-ins open, list their points and replay as they did
(to float32's rounding on any CPU).

The folders in tests/fixtures/runs-v1 were written by nnlab at commit d4c0f4b (see their README), with what that
code computed from them.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from nnlab import Run
from nnlab.models import CNNConfig, MLPConfig
from tests.app_harness import app_test, errors

FIXTURES = Path(__file__).parent / "fixtures" / "runs-v1"


@pytest.fixture
def old_runs(tmp_path, monkeypatch):
    """A copy of the old runs as the app's runs folder (the digits data is bundled with scikit-learn)."""
    root = tmp_path / "runs"
    shutil.copytree(FIXTURES, root, ignore=shutil.ignore_patterns("README.md"))
    monkeypatch.setenv("NNLAB_RUNS_DIR", str(root))
    monkeypatch.setenv("NNLAB_DATA_DIR", str(tmp_path / "data"))
    return {name: Run(root / name) for name in ("mlp-v1", "cnn-v1")}


@pytest.mark.parametrize("name, config", [("mlp-v1", MLPConfig), ("cnn-v1", CNNConfig)])
def test_an_old_run_opens_and_replays_as_recorded(old_runs, name, config):
    run = old_runs[name]
    assert run.status == "complete" and len(run) == 2
    assert type(run.model_config) is config and run.model_kind.name == config().kind
    expected = json.loads((run.folder / "expected-points.json").read_text())
    assert [[p.name, p.role, p.layer, list(p.shape)] for p in run.points()] == expected
    saved = load_file(str(run.folder / "expected.safetensors"))
    outs = run.layer_outputs(len(run) - 1, saved["x"])
    assert set(outs) == {k.removeprefix("out/") for k in saved if k.startswith("out/")}
    # float32 on another CPU sums in another order (the vector width decides it): one ulp, ~3e-8 relative, apart.
    # 1e-5 relative to each point's own scale holds on any CPU and is far below what a real change moves: the other
    # snapshot (a wrong snapshot, or weights from another init) is checked below to miss by more than 1e-2.
    for key, value in outs.items():
        expected_value = saved[f"out/{key}"]
        scale = max(1.0, float(expected_value.abs().max()))
        torch.testing.assert_close(torch.from_numpy(value), expected_value, rtol=1e-5, atol=1e-5 * scale)
    first = run.layer_outputs(0, saved["x"])  # the untrained network: what a wrong snapshot would replay
    logits = next(p.name for p in run.points() if p.role == "logits")
    assert float((torch.from_numpy(first[logits]) - saved[f"out/{logits}"]).abs().max()) > 1e-2


@pytest.mark.parametrize("page", ["app_pages/walkthrough.py", "app_pages/class_averages.py", "app_pages/runs.py"])
def test_an_old_run_shows_on_the_pages(old_runs, monkeypatch, page):
    at = app_test(monkeypatch)
    at.session_state["app_run"] = "cnn-v1"
    at.switch_page(page).run()
    assert not errors(at), errors(at)
