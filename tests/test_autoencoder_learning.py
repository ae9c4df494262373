"""Autoencoders really learn: the reconstruction error falls and the probe on the code tells the classes apart.

The issue measured plain PyTorch (MLP 784-256-64-code, mirrored decoder, Adam 2e-3, batches of 64; nearest-class-mean
probe) before nnlab had autoencoders; these tests ask nnlab's own for the same on the same data: digits with a 2-D
code (probe ≥ 0.60, error at least halved) and the real MNIST test set split 8,000 / 2,000 with a 16-D code (probe
≥ 0.70), which is skipped where ../shared/data is absent.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nnlab import DataConfig, Dataset, RecordConfig, TrainConfig, train_run
from nnlab.data import register_dataset
from nnlab.data.images import read_idx_split
from nnlab.models import AEConfig

MNIST_TEST = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "mnist-test"
needs_mnist = pytest.mark.skipif(not MNIST_TEST.is_dir(), reason=f"real MNIST test set not found at {MNIST_TEST}")


def test_digits_2d_code_probe_and_falling_error(tmp_path):
    run = train_run(
        DataConfig.make("digits"),
        AEConfig(input_shape=(1, 8, 8), n_classes=10, hidden=(64, 32), code=2),
        TrainConfig(lr=2e-3, batch_size=64, epochs=60, seed=0),
        RecordConfig(snapshots=6),
        root=tmp_path,
    )
    assert run.status == "complete" and not run.manifest.get("did_not_learn")
    first, last = run.snapshot(0), run.snapshot(-1)
    assert last["latent/code"].shape == (len(run.eval_set()[1]), 2)
    start, end = float(first["latent/error"].mean()), float(last["latent/error"].mean())
    assert end <= start / 2, (start, end)
    assert run.snapshots[-1]["eval_acc"] >= 0.60  # the nearest-class-mean probe on the 2-D code
    assert run.epochs[-1]["test_error"] < run.epochs[0]["test_error"] / 1.5


@register_dataset("mnist-test-split", kind="image", description="the real MNIST test set, 8,000 / 2,000 (tests)")
def mnist_test_split() -> Dataset:
    x, y = read_idx_split(MNIST_TEST, "t10k")
    names = tuple(map(str, range(10)))
    return Dataset("mnist-test-split", x[:8000], y[:8000], x[8000:], y[8000:], names, "real MNIST test set")


@needs_mnist
def test_real_mnist_16d_code_probe(tmp_path):
    run = train_run(
        DataConfig.make("mnist-test-split"),
        AEConfig(input_shape=(1, 28, 28), n_classes=10, hidden=(256, 64), code=16),
        TrainConfig(lr=2e-3, batch_size=64, epochs=15, seed=0),
        RecordConfig(snapshots=3),
        root=tmp_path,
    )
    assert run.status == "complete"
    errors = [float(run.snapshot(k)["latent/error"].mean()) for k in (0, -1)]
    assert errors[1] < errors[0] / 4, errors
    assert run.snapshots[-1]["eval_acc"] >= 0.70, run.snapshots[-1]["eval_acc"]
    std = float(np.asarray(run.manifest["dataset"]["stats"]["std"]).ravel()[0])
    print(
        f"MNIST 16-D: error {errors[0] * std**2:.3f} → {errors[1] * std**2:.3f} per pixel², probe "
        f"{run.snapshots[-1]['eval_acc']:.3f}"
    )
