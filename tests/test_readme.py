"""The README's Python examples run as written (the ones that need no user objects)."""

import re
from pathlib import Path

from nnlab.data import registry

README = Path(__file__).resolve().parents[1] / "README.md"


def _blocks(marker: str) -> str:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    return next(b for b in blocks if marker in b)


def test_readme_dataset_example_registers_and_loads(monkeypatch):
    ns = {}
    exec(_blocks("@register_dataset"), ns)
    try:
        from nnlab.data import load_dataset

        ds = load_dataset("xor", n_samples=100)
        assert ds.x_train.shape == (80, 2) and ds.is_2d and ds.n_classes == 2
    finally:
        registry._BUILTINS.pop("xor", None)


def test_readme_train_example_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ns = {}
    exec(_blocks("import DataConfig, MLPConfig, TrainConfig, train_run"), ns)
    run, outputs = ns["run"], ns["outputs"]
    assert run.status == "complete" and run.final_accuracy > 0.8
    assert set(outputs) == {"dense1", "relu1", "dense2", "relu2", "out", "softmax"}


def test_readme_attribution_example_runs_on_a_plain_module():
    ns = {}
    exec(_blocks("from nnlab.analysis.attribution import attribute"), ns)
    assert set(ns["maps"]) == {"saliency", "integrated_gradients", "grad_cam", "occlusion"}
    assert all(a.summed().shape == (8, 8) and a.target == 3 for a in ns["maps"].values())
