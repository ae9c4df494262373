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
    assert listing[1].split()[:7] == [
        folder.name,
        "digits",
        "MLP",
        "64-32",
        "(relu)",
        f"{run.final_accuracy:.3f}",
        "complete",
    ]


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


@pytest.mark.parametrize(
    "args, words",
    [
        (["--optimizer", "sgd", "--lr", "1e308"], "learning rate 1e+308 is outside 1e-07..10"),
        (["--lr", "nan"], "learning rate nan is outside"),
        (["--batch-size", "0"], "batch_size 0 is outside 1..1,048,576"),
        (["--epochs", "0"], "epochs 0 is outside 1..10,000"),
        (["--momentum", "1"], "momentum 1.0 is outside [0, 1)"),
        (["--weight-decay", "-1"], "weight_decay -1.0 is outside 0..1"),
        (["--snapshots", "0"], "snapshots 0 is outside 1..1,000"),
        (["--device", "gpu"], "Unknown device 'gpu'"),
    ],
)
def test_out_of_range_training_settings_are_one_line_and_exit_2(tmp_path, capsys, args, words):
    assert main(["train", "--dataset", "moons", *args, "--runs-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {words}") and err.count("\n") == 1 and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []  # refused before anything was written


TINY = ["--dataset", "moons", "--samples", "200", "--hidden", "8", "--epochs", "2", "--batch-size", "32"]


def test_a_full_disk_prints_one_line_with_the_log_and_keeps_the_snapshots(tmp_path, capsys, monkeypatch):
    from tests.full_disk import fill_up

    fill_up(monkeypatch, at=3)  # the third snapshot file cannot be written
    assert main(["train", *TINY, "--snapshots", "4", "--runs-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    line = err.strip().splitlines()[-1]  # after the progress bar
    assert line.startswith("error: The disk is full: the run could not be written at step")
    assert err.count("error:") == 1 and "Traceback" not in err
    log = Path(line.rsplit("(", 1)[1].rstrip(")"))
    assert log.name == "error.log" and log.parent.parent == tmp_path
    assert "Traceback (most recent call last)" in log.read_text() and "No space left on device" in log.read_text()
    run = Run(log.parent)
    assert run.status == "failed" and "disk is full" in run.message and "error.log" in run.message
    assert len(run) == 2 and run.snapshot(1)["pred"].shape == (200 // 5,)  # the two before the full disk


def test_an_unexpected_error_before_training_is_one_line_with_a_log_in_the_runs_folder(tmp_path, capsys, monkeypatch):
    def broken_disk(config):
        raise PermissionError(13, "Permission denied", "/somewhere/datasets")

    monkeypatch.setattr("nnlab.cli.load_dataset", broken_disk)
    assert main(["train", *TINY, "--runs-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: PermissionError: ") and err.count("\n") == 1 and "Traceback" not in err
    assert f"({tmp_path / 'errors.log'})" in err
    assert "Traceback" in (tmp_path / "errors.log").read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["errors.log"]  # a file: never listed as a run


def test_a_run_that_did_not_learn_is_complete_with_a_warning(tmp_path, capsys):
    """Adam at lr 10 (the top of the range; 1000 is refused) on 200 moons: complete, exit 0, and a warning."""
    code = main(["train", *TINY, "--lr", "10", "--snapshots", "2", "--runs-dir", str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 0 and out.strip().splitlines()[-2].startswith("complete: test accuracy")
    warning = err.strip().splitlines()[-1]
    assert warning.startswith("warning: the network did not learn.")
    assert "learning rate 10 is probably too large" in warning
    run = Run(Path(out.strip().splitlines()[-1].removeprefix("run folder: ")))
    assert run.status == "complete" and run.manifest["did_not_learn"] is True and run.message in warning


def test_model_settings_are_checked_by_the_kind_before_training(tmp_path, capsys):
    assert main(["train", "--dataset", "digits", "--hidden", "0", "--runs-dir", str(tmp_path)]) == 2
    assert "error: Every hidden width must be a whole number from 1 to 65,536; got 0" in capsys.readouterr().err
    assert main(["train", "--dataset", "digits", "--channels", "4", "--runs-dir", str(tmp_path)]) == 2
    assert "error: channels: not a setting of the MLP (it has hidden, activation" in capsys.readouterr().err
    assert main(["train", "--dataset", "digits", "--hidden", "4096", "4096", "--runs-dir", str(tmp_path)]) == 2
    assert "more than this server's limit of 5,000,000 (NNLAB_MAX_PARAMS)" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_every_registered_kind_is_a_model_choice(capsys):
    from nnlab.models import model_kinds

    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = capsys.readouterr().out
    assert all(name in out for name in model_kinds()) and "--channels" in out and "--batch-norm" in out
