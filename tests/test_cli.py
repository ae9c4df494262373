"""nnlab.cli: train a run and list it from the command line; bad input gives exit code 2 and a clear message."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from nnlab import Run
from nnlab.cli import main


def test_train_then_list(tmp_path, capsys):
    runs = tmp_path / "runs"
    code = main(
        [
            "train",
            "--dataset",
            "digits",
            "--hidden",
            "64",
            "32",
            "--epochs",
            "2",
            "--snapshots",
            "4",
            "--runs-dir",
            str(runs),
        ]
    )
    out = capsys.readouterr().out.strip().splitlines()
    assert code == 0
    assert out[-2].startswith("complete: test accuracy 0.")
    folder = Path(out[-1].removeprefix("run folder: "))
    assert folder.parent == runs and folder.name.startswith("digits-mlp-")
    run = Run(folder)
    assert float(out[-2].split()[-1]) == round(run.final_accuracy, 4)
    assert run.model_config.hidden == (64, 32) and run.train_config.epochs == 2 and len(run) == 5
    assert run.final_accuracy > 0.8

    assert main(["runs", "--runs-dir", str(runs)]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert listing[0].split() == ["run", "dataset", "model", "acc", "status", "created"]
    assert listing[1].split()[:6] == [folder.name, "digits", "mlp", "64-32", f"{run.final_accuracy:.3f}", "complete"]


def test_no_runs_yet(tmp_path, capsys):
    assert main(["runs", "--runs-dir", str(tmp_path)]) == 0
    assert "No runs in" in capsys.readouterr().out


def test_bad_input_exits_2_with_a_clear_message_and_writes_nothing(tmp_path, capsys):
    assert main(["train", "--dataset", "nope", "--runs-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "error: Unknown dataset 'nope'" in err and "moons" in err and "Traceback" not in err
    assert main(["train", "--dataset", "moons", "--model", "cnn", "--runs-dir", str(tmp_path)]) == 2
    assert "error: A CNN needs image input" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--optimizer", "lbfgs", "--runs-dir", str(tmp_path)])
    assert exit_info.value.code == 2 and "invalid choice: 'lbfgs'" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_python_dash_m_nnlab(tiny_run):
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1]), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "nnlab", "runs", "--runs-dir", str(tiny_run.folder.parent)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert tiny_run.id in proc.stdout and "moons" in proc.stdout
