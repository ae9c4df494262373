"""Shared fixtures: an isolated runs folder, and one tiny recorded run to read (copy it before changing it)."""

from __future__ import annotations

import pytest
import torch

from nnlab import DataConfig, MLPConfig, RecordConfig, TrainConfig, train_run

# The test networks are tiny: one intra-op thread is faster than two, and two threads on a busy
# 2-core machine (a Streamlit server or browser running beside the tests) can be 100× slower per step.
torch.set_num_threads(1)


@pytest.fixture
def runs_root(tmp_path, monkeypatch):
    """An empty runs folder that `NNLAB_RUNS_DIR` points at."""
    root = tmp_path / "runs"
    root.mkdir()
    monkeypatch.setenv("NNLAB_RUNS_DIR", str(root))
    return root


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """A finished run: 2-8-8-2 MLP on 200 moons, 2 epochs of 5 steps, 4 snapshots plus the initial state.

    Shared by the whole session: read it, or `shutil.copytree(tiny_run.folder, ...)` before changing anything.
    """
    root = tmp_path_factory.mktemp("tiny-runs")
    return train_run(
        DataConfig.make("moons", n_samples=200),
        MLPConfig(hidden=(8, 8)),
        TrainConfig(batch_size=32, epochs=2, seed=0),
        RecordConfig(snapshots=4, eval_size=40),
        root=root,
        name="tiny",
    )
