"""appkit.training.form: the Train form sizes a network once per value of its config, not on every rerun, and a job's
typed spec reads back as the form's widget values."""

from __future__ import annotations

import torch

from appkit.training import form as train_form
from nnlab import CNNConfig, DataConfig, MLPConfig, RecordConfig, TrainConfig
from nnlab.jobs import JobSpec
from tests import app_harness
from tests.app_harness import app_test, errors

app_dirs, jobs = app_harness.app_dirs, app_harness.jobs  # the shared fixtures
PAGE = "app_pages/train.py"


class MetaBuilds:
    """Counts parameter tensors made on the meta device (each time the form sizes or draws a network)."""

    def __init__(self):
        self.count = 0
        self.handle = torch.nn.modules.module.register_module_parameter_registration_hook(self.hook)

    def hook(self, module, name, param) -> None:
        self.count += param is not None and param.device.type == "meta"

    def since(self, then: int) -> int:
        return self.count - then


def test_the_network_is_sized_once_per_change_of_the_form_not_per_rerun(app_dirs, jobs, monkeypatch):
    train_form._sized.clear()
    meta = MetaBuilds()
    try:
        at = app_test(monkeypatch, PAGE)
        assert not errors(at) and meta.count > 0  # the default network: sized and drawn once
        for rerun in range(3):
            before = meta.count
            at.run()
            assert meta.since(before) == 0, rerun  # reruns: nothing built again
        before = meta.count
        at.slider(key="train_epochs").set_value(3).run()  # the network did not change
        at.select_slider(key="train_batch").set_value(128).run()  # its batch memory is arithmetic on the size
        assert meta.since(before) == 0 and not errors(at)
        at.text_input(key="train_mlp_hidden").set_value("32").run()  # a new network: sized once
        assert meta.since(before) > 0 and list(at.dataframe[0].value["layer"]) == ["dense1", "relu1", "out"]
        before = meta.count
        at.run()
        assert meta.since(before) == 0
    finally:
        meta.handle.remove()


def test_a_jobs_typed_spec_reads_back_as_the_forms_values(tmp_path):
    spec = JobSpec(
        DataConfig.make("digits", train_subset=500),
        CNNConfig(input_shape=(1, 8, 8), n_classes=10, channels=(4, 8)),
        TrainConfig(optimizer="sgd", lr=0.03, momentum=0.5, batch_size=128, epochs=3, seed=7),
        RecordConfig(snapshots=20),
        root=tmp_path,
        name="mine",
    )
    values = train_form.form_values(spec)
    assert values["train_dataset"] == "digits" and values["train_subset_digits"] == 500
    assert values[train_form.KIND_KEY] == "CNN" and values["train_cnn_channels"] == "4, 8"
    assert values["train_optimizer"] == "sgd" and values["train_lr_sgd"] == 0.03 and values["train_momentum"] == 0.5
    assert values["train_batch"] == 128 and values["train_epochs"] == 3 and values["train_seed"] == 7
    assert values["train_snapshots"] == 20 and values["train_name"] == "mine"
    default = train_form.form_values(JobSpec(DataConfig.make("moons"), MLPConfig(hidden=(8,)), root=tmp_path))
    assert default["train_dataset"] == "moons" and "train_optimizer" not in default and "train_snapshots" not in default
