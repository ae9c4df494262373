"""Tests of nnlab.analysis.layers: one sample through hand-set networks, replay, choosing samples."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nnlab import CNNConfig, DataConfig, MLPConfig, RecordConfig, Run, TrainConfig, build_model, make_trainer
from nnlab.analysis import layers as A
from nnlab.models import forward_points


def hand_set_mlp(activation: str = "relu"):
    """2-2-2 MLP: dense1 = [[1, 0], [0, -1]], out = identity + [0, 0.5] (worked out on paper below)."""
    net = build_model(MLPConfig(input_shape=(2,), n_classes=2, hidden=(2,), activation=activation))
    with torch.no_grad():
        net.dense1.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, -1.0]]))
        net.dense1.bias.zero_()
        net.out.weight.copy_(torch.eye(2))
        net.out.bias.copy_(torch.tensor([0.0, 0.5]))
    return net.eval()


def test_hand_set_mlp_walk_worked_out_on_paper():
    # x = (1, 2): dense1 = (1, -2); ReLU → (1, 0), half the units zero; logits = (1, 0.5) → class 0.
    net = hand_set_mlp()
    walk = A.walk_sample(A.replay(net, torch.tensor([[1.0, 2.0]])), net.points(), label=1, index=7)
    assert [p.name for p in walk.points] == ["dense1", "relu1", "out"]
    dense1, relu1, out = walk.points
    np.testing.assert_allclose(dense1.values, [1, -2])
    np.testing.assert_allclose(relu1.values, [1, 0])
    np.testing.assert_allclose(out.values, [1, 0.5])
    assert relu1.off_fraction == 0.5 and dense1.off_fraction is None and out.off_fraction is None
    assert dense1.signed and out.signed and not relu1.signed  # ReLU output is drawn on a sequential scale
    p0 = 1 / (1 + np.exp(-0.5))
    np.testing.assert_allclose(walk.probs, [p0, 1 - p0], rtol=1e-6)
    assert walk.pred == 0 and walk.label == 1 and not walk.correct and walk.index == 7
    assert [(layer, [p.name for p in pts]) for layer, pts in walk.layers()] == [(1, ["dense1", "relu1"]), (2, ["out"])]


def test_other_activations_switch_off_differently():
    x = torch.tensor([[1.0, 2.0]])
    leaky = hand_set_mlp("leaky_relu")
    walk = A.walk_sample(A.replay(leaky, x), leaky.points(), label=0)
    act = walk.points[1]
    np.testing.assert_allclose(act.values, [1, -0.02])  # negative slope 0.01
    assert act.off_fraction == 0.5 and act.signed  # on the negative side, signed → diverging
    tanh = hand_set_mlp("tanh")
    walk = A.walk_sample(A.replay(tanh, x), tanh.points(), label=0)
    assert walk.points[1].off_fraction is None and walk.points[1].signed
    assert walk.correct  # tanh(1) > tanh(-2) + 0.5


def test_cnn_points_are_feature_maps_and_zero_share_counts_every_pixel():
    torch.manual_seed(0)
    net = build_model(CNNConfig(input_shape=(1, 4, 4), n_classes=3, channels=(2,), hidden=(5,))).eval()
    x = torch.randn(1, 1, 4, 4)
    walk = A.walk_sample(A.replay(net, x), net.points(), label=2)
    by = {p.name: p for p in walk.points}
    assert by["conv1"].values.shape == (2, 4, 4) and by["conv1"].is_map
    assert by["pool1"].values.shape == (2, 2, 2) and not by["pool1"].signed
    assert by["relu1"].off_fraction == pytest.approx(float((by["conv1"].values <= 0).mean()))
    assert not by["dense2"].is_map and by["out"].values.shape == (3,)
    assert [layer for layer, _ in walk.layers()] == [1, 2, 3]


def test_replay_equals_the_networks_own_forward_pass():
    net = hand_set_mlp()
    x = torch.tensor([[0.3, -1.2]])
    outs = A.replay(net, x)
    ref = forward_points(net, x)
    assert set(outs) == set(ref)
    for name, t in ref.items():
        np.testing.assert_array_equal(outs[name], t[0].detach().numpy())


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny run and the trainer whose model holds the last snapshot's weights."""
    trainer, folder = make_trainer(
        DataConfig.make("moons", n_samples=200),
        MLPConfig(hidden=(6,)),
        TrainConfig(batch_size=40, epochs=1, seed=3),
        RecordConfig(snapshots=2, eval_size=20),
        root=tmp_path_factory.mktemp("runs"),
        name="replay",
    )
    trainer.fit()
    return trainer, Run(folder)


def test_replayed_outputs_equal_the_network_at_that_snapshot(trained):
    trainer, run = trained
    ds = run.dataset()
    x = ds.prepare(ds.x_test[:1])
    model = trainer.model.eval()
    last = A.replay(run.model_at(len(run) - 1), x)
    with torch.no_grad():
        own = forward_points(model, x)
    for name in own:
        np.testing.assert_array_equal(last[name], own[name][0].numpy())
    torch.manual_seed(run.train_config.seed)  # snapshot 0 is the untrained network, rebuilt with the same seed
    first = A.replay(build_model(run.model_config).eval(), x)
    for name, v in A.replay(run.model_at(0), x).items():
        np.testing.assert_array_equal(v, first[name])
    assert not np.array_equal(first["dense1"], last["dense1"])  # training changed it


def test_misclassified_and_pools():
    eval_idx = np.array([10, 3, 7, 5])
    labels = np.array([0, 1, 1, 0])
    pred = np.array([0, 0, 1, 1], np.int32)
    wrong = A.misclassified(eval_idx, labels, pred)
    np.testing.assert_array_equal(wrong, [3, 5])
    y_test = np.array([0, 1, 1, 0, 2, 0])
    np.testing.assert_array_equal(A.sample_pool("By index", y_test), np.arange(6))
    np.testing.assert_array_equal(A.sample_pool("By class", y_test, cls=0), [0, 3, 5])
    np.testing.assert_array_equal(A.sample_pool("Misclassified", y_test, wrong=np.array([5, 3])), [3, 5])


def test_step_sample_wraps_and_enters_the_pool_from_outside():
    pool = np.array([2, 5, 9])
    assert A.step_sample(pool, 5, 1) == 9 and A.step_sample(pool, 9, 1) == 2
    assert A.step_sample(pool, 2, -1) == 9 and A.step_sample(pool, 5, -1) == 2
    assert A.step_sample(pool, 6, 1) == 9 and A.step_sample(pool, 6, -1) == 5  # between 5 and 9
    assert A.step_sample(pool, 10, 1) == 2 and A.step_sample(pool, 0, -1) == 9  # beyond the ends: wrap
    assert A.step_sample(np.array([], int), 4, 1) == 4


def test_random_sample_stays_in_the_pool_and_moves_on():
    rng = np.random.default_rng(0)
    pool = np.array([4, 8])
    assert {A.random_sample(pool, rng, current=4) for _ in range(20)} == {8}
    assert A.random_sample(np.array([4]), rng, current=4) == 4
    with pytest.raises(ValueError, match="no sample"):
        A.random_sample(np.array([], int), rng)
