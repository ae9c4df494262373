"""nnlab.pipeline: defaults per dataset, bad configs refused before anything is written, and real learning."""

import pytest
import torch

from nnlab import CNNConfig, DataConfig, MLPConfig, RecordConfig, Run, TrainConfig, load_dataset, train_run
from nnlab.pipeline import default_model, default_train, make_trainer


@pytest.mark.parametrize("name, target", [("moons", 0.97), ("digits", 0.95)])
def test_the_default_mlp_learns(name, target, tmp_path):
    data = DataConfig.make(name)
    ds = load_dataset(data)
    run = train_run(data, default_model(ds), default_train(ds), root=tmp_path, dataset=ds)
    assert run.train_config.epochs == 5 and run.status == "complete"
    assert run.final_accuracy >= target, [e["test_acc"] for e in run.epochs]
    assert len(run) == 51 and run.snapshots[-1]["eval_acc"] >= target - 0.03


def test_defaults_follow_the_dataset():
    digits = load_dataset("digits")
    assert default_model(digits) == MLPConfig(input_shape=(1, 8, 8), n_classes=10, hidden=(128, 64))
    assert default_model(digits, "cnn") == CNNConfig(input_shape=(1, 8, 8), n_classes=10)
    assert default_train(digits).batch_size == 32 and default_train(digits, epochs=2).epochs == 2
    moons = load_dataset("moons")
    assert default_model(moons) == MLPConfig(input_shape=(2,), n_classes=2)
    with pytest.raises(ValueError, match=r"moons \(input shape \(2,\)\) does not suit this network: A CNN needs image"):
        default_model(moons, "cnn")


def test_a_model_that_does_not_fit_the_data_is_refused_before_anything_is_written(tmp_path):
    with pytest.raises(ValueError, match=r"expects input \(1, 28, 28\) and 10 classes; moons has \(2,\) and 2"):
        make_trainer(DataConfig.make("moons"), MLPConfig(input_shape=(1, 28, 28), n_classes=10), root=tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_a_trainer_that_cannot_be_made_leaves_no_run_folder(tmp_path):
    with pytest.raises((RuntimeError, ValueError), match="cuda"):
        make_trainer(DataConfig.make("moons"), train=TrainConfig(device="cuda:7"), root=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_network_over_the_budget_is_refused_before_anything_is_written(tmp_path, monkeypatch):
    huge = MLPConfig(input_shape=(1, 8, 8), n_classes=10, hidden=(4096, 4096))  # 17 M parameters
    with pytest.raises(ValueError, match=r"17,088,522 parameters, more than this server's limit of 5,000,000"):
        make_trainer(DataConfig.make("digits"), huge, root=tmp_path)
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setenv("NNLAB_MAX_PARAMS", "100")
    with pytest.raises(ValueError, match="limit of 100 "):
        make_trainer(DataConfig.make("moons"), root=tmp_path)


def test_make_trainer_wires_data_model_and_recorder(tmp_path):
    data = DataConfig.make("digits", train_subset=100)
    trainer, folder = make_trainer(
        data,
        CNNConfig(input_shape=(1, 8, 8), n_classes=10, channels=(4,), hidden=(8,)),
        TrainConfig(batch_size=50, epochs=1, seed=3),
        RecordConfig(snapshots=2, eval_size=30),
        root=tmp_path,
        name="cnn test",
    )
    assert folder.parent == tmp_path and folder.name.startswith("cnn-test-")
    assert trainer.x_train.shape == (100, 1, 8, 8) and trainer.x_train.dtype == torch.float32
    assert trainer.x_test.shape == (359, 1, 8, 8) and trainer.y_train.dtype == torch.int64
    assert abs(float(trainer.x_train.mean())) < 0.05  # normalised with the training split's statistics
    trainer.fit()
    run = train_run(data, trainer.model.config, trainer.config, RecordConfig(snapshots=2, eval_size=30), root=tmp_path)
    assert run.model_config.kind == "cnn" and len(run) == 3 and run.status == "complete"
    assert run.manifest["dataset"]["n_train"] == 100 and run.manifest["record"]["eval_size"] == 30
    assert len(run.eval_set()[0]) == 30 and run.snapshot(-1)["mean/conv1"].shape == (10, 4)
    # the same seed and config give the same run
    assert run.steps()["loss"].tolist() == Run(folder).steps()["loss"].tolist()
