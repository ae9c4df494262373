"""Superposition measures against their definitions on hand-set weights, and a seeded toy model that keeps m
features when they are dense and more than m when they are sparse (nnlab.analysis.superposition)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nnlab import RecordConfig, TrainConfig
from nnlab.analysis import superposition
from nnlab.data import DataConfig
from nnlab.models import MLPConfig, ToyConfig
from nnlab.pipeline import train_run

# Five features in a plane: 0 and 1 on the axes (alone), 2 and 3 an antipodal pair on the diagonal, 4 dropped.
D = 1 / math.sqrt(2)
W = np.array([[1.0, 0.0, D, -D, 0.0], [0.0, 2.0, D, -D, 0.0]])  # (m=2, n=5)


def test_gram_and_norms_of_hand_set_weights():
    g = superposition.gram(W)
    assert g.shape == (5, 5)
    np.testing.assert_allclose(np.diag(g), [1, 4, 1, 1, 0], atol=1e-12)
    assert g[0, 1] == 0  # orthogonal
    np.testing.assert_allclose(g[2, 3], -1.0, atol=1e-12)  # antipodal: Wᵢ·Wⱼ = −1
    np.testing.assert_allclose(g[0, 2], D, atol=1e-12)
    np.testing.assert_allclose(g, g.T)
    np.testing.assert_allclose(superposition.feature_norms(W), [1, 2, 1, 1, 0], atol=1e-12)


def test_superposition_measure_is_its_definition():
    got = superposition.superposition(W)
    expected = []
    for i in range(5):
        norm = np.linalg.norm(W[:, i])
        unit = W[:, i] / norm if norm > 0 else np.zeros(2)
        expected.append(sum((unit @ W[:, j]) ** 2 for j in range(5) if j != i))
    np.testing.assert_allclose(got, expected, atol=1e-12)
    # by hand: feature 0 sees (·, 0, D, −D, 0)² → 1, feature 1 the same; feature 2 sees (D, 2D, ·, −1, 0)² → 3.5
    np.testing.assert_allclose(got[:4], [1.0, 1.0, 3.5, 3.5], atol=1e-12)
    assert got[4] == 0  # a dropped feature has no direction


def test_features_alone_in_their_direction_have_no_superposition():
    w = np.array([[1.0, 0.0, 0.0], [0.0, 0.5, 0.0]])  # feature 2 dropped
    np.testing.assert_allclose(superposition.superposition(w), 0, atol=1e-12)
    np.testing.assert_allclose(superposition.dimensionality(w), [1, 1, 0], atol=1e-12)


def test_dimensionality_of_an_antipodal_pair_is_one_half():
    w = np.array([[1.0, -1.0]])  # m=1: two features share the one dimension, pointing opposite ways
    np.testing.assert_allclose(superposition.dimensionality(w), [0.5, 0.5], atol=1e-12)


def test_info_counts_represented_and_superposed_features():
    info = superposition.info_of(W, np.zeros(5), step=7)
    assert (info.dims, info.n_features, info.step) == (2, 5, 7)
    assert info.represented.tolist() == [True, True, True, True, False]
    assert info.n_represented == 4
    assert info.n_superposed == 4  # each of 0..3 has others along its direction (the diagonal pair leans on both)
    alone = superposition.info_of(np.array([[1.0, 0.0, 0.1], [0.0, 1.0, 0.0]]))
    assert (alone.n_represented, alone.n_superposed) == (2, 0)


def train_toy(runs_root, sparsity: float):
    """A seeded toy model: 5 features into 2 dimensions, 500 Adam steps (a few seconds)."""
    return train_run(
        DataConfig.make("sparse-features", n_features=5, sparsity=sparsity, n_samples=3000, seed=0),
        ToyConfig(input_shape=(5,), n_classes=6, dims=2),
        TrainConfig(lr=0.02, epochs=10, batch_size=64, seed=0),
        RecordConfig(snapshots=3, eval_size=200),
        root=runs_root,
    )


def test_dense_features_keep_m_sparse_features_superpose(runs_root):
    dense = superposition.superposition_info(train_toy(runs_root, 0.0), -1)
    # dense: the 2 most important features get a dimension each (norm ≈ 1, orthogonal), the other 3 are dropped
    np.testing.assert_allclose(dense.norms[:2], 1.0, atol=0.1)  # trained weights: a tolerance, not equality
    assert dense.norms[2:].max() < 0.2
    assert dense.n_represented == 2 and dense.n_superposed == 0
    sparse = superposition.superposition_info(train_toy(runs_root, 0.95), -1)
    assert sparse.n_represented > 2  # more features than dimensions
    assert sparse.n_superposed >= 3
    assert sparse.superposition[sparse.represented].min() > 0.1


def test_history_and_refusal_for_other_kinds(runs_root):
    run = train_toy(runs_root, 0.0)
    steps, norms = superposition.norms_history(run)
    assert steps.tolist() == [s["step"] for s in run.snapshots] and norms.shape == (len(run), 5)
    np.testing.assert_allclose(norms[-1], superposition.superposition_info(run, len(run) - 1).norms, atol=1e-6)
    assert superposition.applies(run)
    mlp = train_run(
        DataConfig.make("sparse-features", n_features=5, n_samples=200),
        MLPConfig(input_shape=(5,), n_classes=6, hidden=(4,)),
        TrainConfig(epochs=1),
        RecordConfig(snapshots=1, eval_size=20),
        root=runs_root,
    )
    assert not superposition.applies(mlp)
    with pytest.raises(ValueError, match="toy model"):
        superposition.superposition_info(mlp, 0)


def test_mixed_unit_is_the_live_unit_with_the_most_classes_at_its_top():
    labels = np.array([0, 1, 2, 0, 1, 2])
    values = np.array(
        [
            # unit 0: top 3 are samples 0, 3, 1 → classes {0, 1}; unit 1: top 3 are 0, 1, 2 → three classes;
            # unit 2: dead; unit 3: top 3 are 5, 4, 3 → three classes too, equally pure: the lower index wins
            [9.0, 3.0, 0.0, 0.1],
            [5.0, 2.9, 0.0, 0.2],
            [1.0, 2.8, 0.0, 0.3],
            [8.0, 0.0, 0.0, 0.4],
            [0.0, 0.0, 0.0, 0.5],
            [0.0, 0.0, 0.0, 0.6],
        ]
    )
    found = superposition.mixed_unit(values, labels, top=3)
    assert (found.unit, found.classes, found.top) == (1, 3, 3)
    assert found.purity == pytest.approx(1 / 3)
    assert superposition.mixed_unit(values[:, :1], labels, top=3).purity == pytest.approx(2 / 3)
    assert superposition.mixed_unit(np.zeros((6, 2)), labels) is None
