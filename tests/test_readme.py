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


def test_readme_model_kind_example_registers_trains_and_replays(tmp_path, capsys):
    from nnlab import DataConfig, RecordConfig, TrainConfig, train_run
    from nnlab.cli import main
    from nnlab.models import model_kinds
    from nnlab.models import registry as models

    ns = {}
    exec(_blocks("@dataclass(frozen=True)\nclass WideConfig"), ns)
    try:
        kind = model_kinds()["wide"]
        config = kind.make((2,), 2, width=16)
        run = train_run(
            DataConfig.make("moons", n_samples=200),
            config,
            TrainConfig(batch_size=32, epochs=2),
            RecordConfig(snapshots=2, eval_size=40),
            root=tmp_path,
        )
        assert run.model_config == config and [p.name for p in run.points()] == ["hidden", "tanh", "out", "softmax"]
        assert run.points()[1].shape == (16,) and "mean/tanh" in run.snapshot(-1)
        assert main(["train", "--model", "wide", "--width", "8", "--epochs", "1", "--runs-dir", str(tmp_path)]) == 0
        assert main(["runs", "--runs-dir", str(tmp_path)]) == 0
        assert "Wide 8 (tanh)" in capsys.readouterr().out and "Wide 16 (tanh)" in run.model_config.describe()
    finally:
        models._KINDS.pop("wide", None)
