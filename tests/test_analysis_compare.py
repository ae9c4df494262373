"""Comparing runs: one run read into curves, separability and weights, and the helpers checked on known numbers."""

from __future__ import annotations

import numpy as np

from nnlab.analysis import compare as A
from nnlab.analysis.weights import norm_history


def test_a_run_becomes_curves_separability_and_weights(tiny_run):
    c = A.compare_run(tiny_run, "tiny")
    assert c.label == "tiny" and list(c.epochs) == [1, 2]
    assert c.train_loss.shape == c.test_acc.shape == (2,) and np.isfinite(c.test_acc).all()
    assert c.test_acc[-1] == tiny_run.final_accuracy
    assert c.separability is not None and c.separability.names == (
        "dense1",
        "relu1",
        "dense2",
        "relu2",
        "out",
        "softmax",
    )
    assert c.snapshot_epochs.shape == c.weight_norm.shape == c.dead_share.shape == (5,)
    snaps = [tiny_run.snapshot(k) for k in range(len(tiny_run))]
    norms = norm_history(snaps, [s["step"] for s in tiny_run.snapshots])
    np.testing.assert_allclose(c.weight_norm, np.sqrt((norms.weight_norm**2).sum(0)))
    assert ((c.dead_share >= 0) & (c.dead_share <= 1)).all()


def test_epoch_curves_keep_missing_values_as_nan():
    epochs, train_loss, test_loss, test_acc = A.epoch_curves(
        [{"epoch": 1, "train_loss": 0.9, "test_loss": 0.8, "test_acc": 0.5}, {"epoch": 2, "train_loss": 0.5}]
    )
    assert list(epochs) == [1, 2] and list(train_loss) == [0.9, 0.5]
    assert test_loss[0] == 0.8 and np.isnan(test_loss[1]) and np.isnan(test_acc[1])


def test_overall_norm_and_mean_dead_share():
    np.testing.assert_allclose(A.overall_norm(np.array([[3.0, 0.0], [4.0, 1.0]])), [5.0, 1.0])
    dead = np.array([[0.5, np.nan, np.nan], [0.1, 0.2, np.nan]])
    out = A.mean_dead(dead)
    np.testing.assert_allclose(out[:2], [0.3, 0.2])
    assert np.isnan(out[2]) and A.mean_dead(np.zeros((0, 3))).shape == (3,)
